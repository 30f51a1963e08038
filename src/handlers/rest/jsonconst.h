/*
 * jsonconst.h - jansson's object iterators take a non-const json_t although
 * they only read; this is the one place the const is dropped, for reading.
 */
#ifndef NXX_REST_JSONCONST_H
#define NXX_REST_JSONCONST_H

#include <jansson.h>

static inline json_t *nxx_json_readable(const json_t *v)
{
    union {
        const json_t *c;
        json_t *m;
    } u = { .c = v };
    return u.m;
}

#endif
