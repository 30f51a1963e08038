/*
 * date.h - HTTP dates (RFC 9110 §5.6.7).  Generated as IMF-fixdate; parsed in
 * all three formats a recipient must accept.
 */
#ifndef NXX_HTTP_DATE_H
#define NXX_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

#define NXX_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Write the IMF-fixdate of t (seconds since the epoch) to out[0..29], NUL after. */
size_t nxx_date_format(int64_t t, char out[NXX_DATE_LEN + 1]);

/* Common Log Format time "06/Nov/1994:08:49:37 +0000" (26 chars), NUL after. */
size_t nxx_date_clf(int64_t t, char out[27]);

/* ISO 8601 "1994-11-06T08:49:37Z" (20 chars), NUL after. */
size_t nxx_date_iso(int64_t t, char out[21]);

/*
 * Parse an HTTP-date: IMF-fixdate, obsolete RFC 850 or asctime.  Returns 0
 * and *t, or -1 if it is not a valid date (callers then ignore the field, as
 * RFC 9110 §13.1.3/§13.1.4 require).
 */
int nxx_date_parse(const char *s, size_t len, int64_t *t);

#endif
