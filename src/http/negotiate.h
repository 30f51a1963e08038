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

#endif
