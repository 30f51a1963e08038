/*
 * negotiate.h - proactive negotiation helpers (RFC 9110 §12): q-values of
 * Accept-Encoding, Accept, Accept-Language and Accept-Charset.
 */
#ifndef NXX_HTTP_NEGOTIATE_H
#define NXX_HTTP_NEGOTIATE_H

#include "nxx.h"

/*
 * The q-value (0..1000) Accept-Encoding gives to coding ("br", "gzip",
 * "identity"), following RFC 9110 §12.5.3: an exact token (case-insensitive)
 * wins over "*"; "x-gzip" counts as "gzip"; identity, when the field
 * neither names it nor has "*", is acceptable with the lowest weight (1),
 * below every listed coding (and 1000 when the field lists nothing usable);
 * "identity;q=0" or "*;q=0" refuse it; an absent field (has_field 0)
 * means every coding is acceptable but identity is preferred (return 1000
 * for identity, 1 for others); an empty field value means only identity.
 * Malformed elements are skipped.
 */
int nxx_accept_encoding_q(nxx_str field, int has_field, const char *coding);

/*
 * q-value (0..1000) of media type "type/subtype" under an Accept field,
 * using the most specific matching range (exact > type/wildcard > full
 * wildcard; RFC 9110 §12.5.1); media-type parameters other than q are
 * compared only when the range has them.  Absent field (has_field 0):
 * 1000.
 */
int nxx_accept_q(nxx_str field, int has_field, const char *type);

/*
 * q-value (0..1000) Accept-Language gives to the language tag lang ("en",
 * "pt-BR") by RFC 4647 §3.3.1 basic filtering (RFC 9110 §12.5.4): a range
 * covers a tag it equals or that continues it after a '-' ("en" covers
 * "en-GB"), "*" covers every tag, and the most specific covering range
 * decides.  When no range covers it, a range it is a prefix of ("en-GB"
 * for "en", RFC 4647 §3.4 truncation) gives that range's q minus 0.001.
 * Compared without case.  Absent field, or one with no usable element:
 * 1000.
 */
int nxx_accept_language_q(nxx_str field, int has_field, const char *lang);

/* The directives of a Negotiate field (RFC 2295 §8.4) a server acts on. */
enum {
    NXX_NEG_TRANS = 1,       /* "trans": the client takes part in transparent negotiation */
    NXX_NEG_VLIST = 2,       /* "vlist": send the variant list (Alternates) */
    NXX_NEG_GUESS_SMALL = 4, /* "guess-small": the server may choose if it is small */
    NXX_NEG_RVSA = 8,        /* "1.0" (RFC 2296) or "*": the server may choose by RVSA/1.0 */
};
unsigned nxx_negotiate_flags(nxx_str field);

#endif
