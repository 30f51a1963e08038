/*
 * static.h - the file handler's pieces other handlers share: the WebDAV
 * handler serves GET and HEAD of its resources through the same code (open
 * confined to the root, validators, conditional requests, ranges) and
 * computes the same strong ETags for its properties and If headers.
 */
#ifndef NXX_HANDLERS_STATIC_H
#define NXX_HANDLERS_STATIC_H

#include <stddef.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "nxx.h"

struct static_root;

/*
 * A root as nxx_scope_files() builds it.  written: another handler changes
 * files under it, so the open-file cache revalidates on every lookup instead
 * of once a second (a GET right after a PUT sees the new content).  NULL on
 * error with *err set (NXX_EINVAL, NXX_ENOMEM, -errno of opening root).
 */
struct static_root *nxx_static_root_new(const nxx_static_config *cfg, int written, int *err);

/*
 * A root built with written set: the writer counts its writes in *changes
 * (bumped after each change is on disk and before it is answered), and a
 * cached entry is then revalidated only when the count has moved since it
 * was checked, or once a second (for changes made outside the writer).
 * changes outlives sr.
 */
void nxx_static_root_changes(struct static_root *sr, const atomic_ullong *changes);
void nxx_static_root_free(void *sr);

/* The file handler itself (an nxx_handler_fn whose ud is a static_root). */
int nxx_static_serve(nxx_req *req, void *sr);

/* The strong ETag of a file ("\"ino-size-mtime\"", quotes included) into
 * buf; its length, or 0 when cap is too small. */
size_t nxx_static_etag(const struct stat *st, char *buf, size_t cap);

#endif
