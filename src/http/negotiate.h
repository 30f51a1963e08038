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
 * wins over "*"; "x-gzip" counts as "gzip"; identity is acceptable (1000)
 * unless the field names it, or "*", with q=0; an absent field (has_field 0)
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
