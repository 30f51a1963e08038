/*
 * mime.h - Content-Type of a file from its name's extension.
 *
 * A built-in table covers the types a web site serves; a mime.types file
 * (the /etc/mime.types format) can add to it and override it at start-up.
 */
#ifndef NXX_HANDLERS_MIME_H
#define NXX_HANDLERS_MIME_H

#include <stddef.h>

#include "nxx.h"

/*
 * The Content-Type field value for path[0..len), chosen by the final
 * extension of its last segment, compared case-insensitively: "a.tar.gz"
 * gives application/gzip.  A name without an extension, one whose only dot
 * leads it (".htaccess"), one ending in '.', or an unknown extension gives
 * "application/octet-stream".
 *
 * Textual types carry "; charset=utf-8": text/..., the XML types
 * (application/xml, ...+xml, including image/svg+xml) and the javascript
 * types; .js and .mjs are "text/javascript; charset=utf-8" (RFC 9239).
 * JSON types (application/json, ...+json) carry no charset: RFC 8259 §11
 * defines none, JSON is UTF-8 by definition.
 *
 * The result is a view of static or module-owned memory, valid until
 * nxx_mime_free().  No allocation; safe to call from any number of threads
 * once loading is over.
 */
nxx_str nxx_mime_type(const char *path, size_t len);

/*
 * Read a mime.types file: lines of "type/subtype ext ext ...", '#' starting
 * a comment, blank lines ignored.  Its entries are added to the built-in
 * table and override it; within and across files the last mention of an
 * extension wins.  Types that are textual by the rule above get
 * "; charset=utf-8" appended.  Lines whose type is not a valid
 * "token/token" are skipped, and so are extensions that contain a '.' or
 * are longer than 31 bytes (a lookup only ever sees a final extension).
 *
 * Call at start-up, before any thread calls nxx_mime_type(); it is not
 * thread-safe.  Returns 0, -errno when the file cannot be opened or read
 * (-ENOENT for a missing file, which a caller passing "/etc/mime.types"
 * ignores), or NXX_ENOMEM.  Entries read before an error stay loaded.
 */
int nxx_mime_load(const char *file);

/* Forget all loaded entries (the built-in table remains); frees their memory. */
void nxx_mime_free(void);

#endif
