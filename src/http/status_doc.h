/*
 * status_doc.h - human-readable renderings of the status registry
 * (src/http/status.h), used by `nxx explain` and `make docs`.
 */
#ifndef NXX_HTTP_STATUS_DOC_H
#define NXX_HTTP_STATUS_DOC_H

#include <stdio.h>

/*
 * Print the registry entry for code as text: code, reason, class, whether it
 * may carry content, whether it is cacheable by default, the defining RFC,
 * what it means and when nxx sends it.  Returns 0, or -1 (printing nothing)
 * if code is not registered.  Write errors are left in ferror(out).
 */
int nxx_status_explain(FILE *out, int code);

/* Every registry entry, in code order, as nxx_status_explain() prints it. */
void nxx_status_explain_all(FILE *out);

/*
 * The complete docs/status-codes.md: title, a do-not-edit note, and one
 * Markdown table row per registry entry ('|' in cells escaped).
 */
void nxx_status_markdown(FILE *out);

#endif
