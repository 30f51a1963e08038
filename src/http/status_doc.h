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
 * what it means, who sends it today and when, and what will send it.  Returns 0, or -1 (printing
 * nothing) if code is not registered.  Write errors are left in ferror(out).
 */
int nxx_status_explain(FILE *out, int code);

/* Every registry entry, in code order, as nxx_status_explain() prints it. */
void nxx_status_explain_all(FILE *out);

/* The codes sent today, one a line: "CODE serve" (nxx serve, and the
 * library) or "CODE library" (only a program embedding libnxx). */
void nxx_status_sent_list(FILE *out);

/* How many registered codes are sent by whom (the summary of the docs). */
struct nxx_status_counts {
    size_t total, serve, library, not_yet, never;
};
void nxx_status_count(struct nxx_status_counts *c);

/*
 * The complete docs/status-codes.md: title, a do-not-edit note, how many
 * codes are sent and by whom, and one Markdown table row per registry
 * entry ('|' in cells escaped).
 */
void nxx_status_markdown(FILE *out);

#endif
