/*
 * extension.h - RFC 2774 extension declarations (Man, C-Man, Opt, C-Opt),
 * parsed for the require-extension policy and its fuzz target.
 */
#ifndef NXX_POLICY_EXTENSION_H
#define NXX_POLICY_EXTENSION_H

#include "nxx.h"
#include "http/field.h"

/*
 * The next ext-decl of a Man/C-Man/Opt/C-Opt value (RFC 2774 §3):
 *     ext-decl  = <"> ( absoluteURI | field-name ) <"> [ namespace ]
 *     namespace = ";" "ns" "=" header-prefix      header-prefix = 2*DIGIT
 * Returns 1 with *uri (the text between the quotes; a view, no escapes
 * allowed inside) and *ns (the prefix's value, or -1 without one), 0 at the
 * end of the list, -1 when the element is malformed.  The cursor is the
 * caller's (nxx_field_iter_init over the field value).
 */
int nxx_ext_decl_next(struct nxx_field_iter *it, nxx_str *uri, int *ns);

#endif
