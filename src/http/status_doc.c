/*
 * status_doc.c - renders the status registry for people: the text of
 * `nxx explain CODE` / `nxx explain --all`, and docs/status-codes.md
 * (`nxx explain --all --markdown`, run by `make docs`).  Everything printed
 * comes from the table in status.c, so the docs cannot disagree with the code.
 */
#include "http/status_doc.h"

#include "http/status.h"

#include "core/banned.h"

static const char *yes_no(unsigned flags, unsigned flag)
{
    return (flags & flag) ? "yes" : "no";
}

static void explain_entry(FILE *out, const struct nxx_status_info *si)
{
    fprintf(out, "%d %s\n", si->code, si->reason);
    fprintf(out, "  class:                %dxx %s\n", si->code / 100, nxx_status_class(si->code));
    fprintf(out, "  may carry content:    %s\n", yes_no(si->flags, NXX_SF_BODY));
    fprintf(out, "  cacheable by default: %s\n", yes_no(si->flags, NXX_SF_CACHEABLE));
    fprintf(out, "  defined in:           %s\n", si->rfc);
    fprintf(out, "  what it means:        %s\n", si->summary);
    fprintf(out, "  when nxx sends it:    %s\n", si->sent_when);
}

int nxx_status_explain(FILE *out, int code)
{
    const struct nxx_status_info *si = nxx_status_get(code);
    if (!si)
        return -1;
    explain_entry(out, si);
    return 0;
}

void nxx_status_explain_all(FILE *out)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputc('\n', out);
        explain_entry(out, &t[i]);
    }
}

/*
 * One table cell.  An unescaped '|' would start a new column, and a line
 * break would end the row, so both are neutralised whatever the table holds.
 */
static void md_cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
    fputs(" |", out);
}

void nxx_status_markdown(FILE *out)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);

    fputs("# HTTP status codes\n\n", out);
    fputs("Every status code nxx knows, with when nxx sends it. This file is generated from\n"
          "the status registry in `src/http/status.c` by `make docs`\n"
          "(`nxx explain --all --markdown`) and must not be edited by hand;\n"
          "`nxx explain CODE` prints one entry in full.\n\n",
          out);
    fputs("| code | reason | class | body | cacheable | RFC | when nxx sends it |\n", out);
    fputs("|---:|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct nxx_status_info *si = &t[i];
        fprintf(out, "| %d |", si->code);
        md_cell(out, si->reason);
        md_cell(out, nxx_status_class(si->code));
        md_cell(out, yes_no(si->flags, NXX_SF_BODY));
        md_cell(out, yes_no(si->flags, NXX_SF_CACHEABLE));
        md_cell(out, si->rfc);
        md_cell(out, si->sent_when);
        fputc('\n', out);
    }
    fputs("\n- body: a response with this status may carry content (RFC 9110 §6.4.1).\n"
          "- cacheable: heuristically cacheable by default (RFC 9110 §15.1, RFC 9111 §4.2.2).\n",
          out);
}
