/*
 * mergepatch.h - JSON Merge Patch (RFC 7396) over jansson values.
 */
#ifndef NXX_REST_MERGEPATCH_H
#define NXX_REST_MERGEPATCH_H

#include <jansson.h>

/*
 * Apply patch to target per RFC 7396 §2 and return the result (a new
 * reference; target and patch are not modified).  A non-object patch
 * replaces the target; null members delete.  NULL on out of memory.
 */
json_t *nxx_merge_patch(const json_t *target, const json_t *patch);

#endif
