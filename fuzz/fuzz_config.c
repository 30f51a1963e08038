/*
 * fuzz_config.c - libFuzzer target for the configuration file: arbitrary
 * bytes through the YAML reader and the key table (src/config/yaml.c),
 * and every document that reads into a generation built the way `nxx
 * check` builds it (roots opened, nothing bound, no store opened, never
 * run), then freed.
 *
 * Invariants besides "no crash, no leak, no hang, no sanitizer report":
 *  - reading returns 0 or 2; a refusal says why in one line that starts
 *    with the file's name (FILE:LINE:COL: or FILE:);
 *  - a document that reads builds or is refused the same way;
 *  - reading is deterministic: the same bytes read twice give the same
 *    verdict and message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.yaml"

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_config: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_message(const char *err)
{
    REQUIRE(err[0] != '\0');
    REQUIRE(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
    REQUIRE(strchr(err, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nxx_log_level = -1; /* what a build would log is not the point here */
    char err[2048] = "", again[2048] = "";
    struct nxx_cfg_doc *doc = NULL, *doc2 = NULL;
    int rc = nxx_cfg_read_yaml(NAME, (const char *)data, size, &doc, err, sizeof(err));
    int rc2 = nxx_cfg_read_yaml(NAME, (const char *)data, size, &doc2, again, sizeof(again));
    REQUIRE(rc == 0 || rc == 2);
    REQUIRE(rc == rc2);
    nxx_cfg_free(doc2);
    if (rc) {
        REQUIRE(doc == NULL);
        check_message(err);
        REQUIRE(strcmp(err, again) == 0);
        return 0;
    }
    REQUIRE(doc != NULL);
    struct nxx_options o;
    nxx_options_from_doc(&o, doc);
    nxx_server *srv = nxx_server_new(&o.cfg);
    if (srv) {
        err[0] = '\0';
        if (nxx_cfg_install(srv, doc, &o, NXX_CFG_MODE_CHECK, err, sizeof(err)) != 0)
            check_message(err);
        nxx_server_free(srv);
    }
    nxx_cfg_free(doc);
    return 0;
}
