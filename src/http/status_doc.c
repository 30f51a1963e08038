/*
 * status_doc.c - renders the status registry for people: the text of
 * `nxx explain CODE` / `nxx explain --all`, the codes sent today
 * (`nxx explain --sent`, read by the integration suite's census), and
 * docs/status-codes.md (`nxx explain --all --markdown`, run by `make docs`).  Everything printed
 * comes from the table in status.c, so the docs cannot disagree with the code.
 */
#include "http/status_doc.h"

#include "http/status.h"

#include "core/banned.h"

static const char *yes_no(unsigned flags, unsigned flag)
{
    return (flags & flag) ? "yes" : "no";
}

/* Who sends it, in words: the flags first, then the text that backs them. */
static const char *sent_by(const struct nxx_status_info *si)
{
    if (si->flags & NXX_SF_SERVE)
        return "yes: nxx serve, and the library";
    if (si->flags & NXX_SF_LIBRARY)
        return "yes, by the library: a program embedding libnxx sets it up (nxx serve cannot yet)";
    if (si->flags & NXX_SF_NEVER)
        return "never";
    return "not sent yet";
}

static void explain_entry(FILE *out, const struct nxx_status_info *si)
{
    fprintf(out, "%d %s\n", si->code, si->reason);
    fprintf(out, "  class:                %dxx %s\n", si->code / 100, nxx_status_class(si->code));
    fprintf(out, "  may carry content:    %s\n", yes_no(si->flags, NXX_SF_BODY));
    fprintf(out, "  cacheable by default: %s\n", yes_no(si->flags, NXX_SF_CACHEABLE));
    fprintf(out, "  defined in:           %s\n", si->rfc);
    fprintf(out, "  what it means:        %s\n", si->summary);
    fprintf(out, "  sent by nxx:          %s\n", sent_by(si));
    if (si->sent_when[0])
        fprintf(out, "  when nxx sends it:    %s\n", si->sent_when);
    if (si->planned[0])
        fprintf(out, "  planned:              %s\n", si->planned);
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

void nxx_status_sent_list(FILE *out)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    for (size_t i = 0; i < n; i++)
        if (t[i].flags & NXX_SF_LIBRARY)
            fprintf(out, "%d %s\n", t[i].code, (t[i].flags & NXX_SF_SERVE) ? "serve" : "library");
}

void nxx_status_count(struct nxx_status_counts *c)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);
    *c = (struct nxx_status_counts){ n, 0, 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        if (t[i].flags & NXX_SF_SERVE)
            c->serve++;
        else if (t[i].flags & NXX_SF_LIBRARY)
            c->library++;
        else if (t[i].flags & NXX_SF_NEVER)
            c->never++;
        else
            c->not_yet++;
    }
}

/*
 * One table cell.  An unescaped '|' would start a new column, and a line
 * break would end the row, so both are neutralised whatever the table holds.
 */
static void md_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

static void md_cell(FILE *out, const char *s)
{
    fputs(" ", out);
    md_text(out, s);
    fputs(" |", out);
}

/* What sends it today, then what SPEC.md says will and is not built yet. */
static void md_when(FILE *out, const struct nxx_status_info *si)
{
    fputs(" ", out);
    md_text(out, si->sent_when);
    if (si->planned[0]) {
        fputs(si->sent_when[0] ? " Not yet: " : "Not yet: ", out);
        md_text(out, si->planned);
    }
    fputs(" |", out);
}

void nxx_status_markdown(FILE *out)
{
    size_t n = 0;
    const struct nxx_status_info *t = nxx_status_table(&n);

    struct nxx_status_counts c;
    nxx_status_count(&c);

    fputs("# HTTP status codes\n\n", out);
    fputs("Every status code nxx knows, with whether and when nxx sends it. This file is\n"
          "generated from the status registry in `src/http/status.c` by `make docs`\n"
          "(`nxx explain --all --markdown`) and must not be edited by hand;\n"
          "`nxx explain CODE` prints one entry in full.\n\n",
          out);
    fprintf(out,
            "Of these %zu codes, nxx sends %zu today, each by a real mechanism: %zu from\n"
            "`nxx serve` (and so from the library), and %zu more only from a program that\n"
            "embeds libnxx and sets up the handler or policy that sends it. %zu are not sent\n"
            "yet (their row keeps what will send them) and %zu never. `nxx explain --sent`\n"
            "lists the codes sent today; the integration suite fails if it does not make nxx\n"
            "send every one of them.\n\n",
            c.total, c.serve + c.library, c.serve, c.library, c.not_yet, c.never);
    fputs("| code | reason | class | body | cacheable | RFC | sent by | when nxx sends it |\n",
          out);
    fputs("|---:|---|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct nxx_status_info *si = &t[i];
        fprintf(out, "| %d |", si->code);
        md_cell(out, si->reason);
        md_cell(out, nxx_status_class(si->code));
        md_cell(out, yes_no(si->flags, NXX_SF_BODY));
        md_cell(out, yes_no(si->flags, NXX_SF_CACHEABLE));
        md_cell(out, si->rfc);
        md_cell(out, nxx_status_sender(si->code));
        md_when(out, si);
        fputc('\n', out);
    }
    fputs("\n- body: a response with this status may carry content (RFC 9110 §6.4.1).\n"
          "- cacheable: heuristically cacheable by default (RFC 9110 §15.1, RFC 9111 §4.2.2).\n"
          "- sent by: `nxx serve` as its options configure it (and the library);\n"
          "  `library`: only a program embedding libnxx, through the engine or a handler or\n"
          "  policy it sets up (`nxx serve` has no option for it yet); `not yet`; `never`.\n"
          "- when nxx sends it: the situations that send it today, then (\"Not yet:\") those\n"
          "  SPEC.md describes that are not built yet.\n",
          out);
}
