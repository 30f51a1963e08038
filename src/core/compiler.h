/*
 * compiler.h - attributes for the request path (gcc and clang).
 */
#ifndef NXX_CORE_COMPILER_H
#define NXX_CORE_COMPILER_H

/*
 * A rarely taken path kept out of line: its locals (buffers, variables whose
 * address is passed on) would otherwise enlarge the frame of the hot
 * function it is called from, and give it a stack guard on every call.
 */
#define NXX_COLD __attribute__((cold, noinline))

/* Out of line without being unlikely (a slow path taken now and then). */
#define NXX_NOINLINE __attribute__((noinline))

/* Inline even where the compiler's estimate says no: a short step of a
 * loop on the request path, whose call would cost as much as its work. */
#define NXX_INLINE inline __attribute__((always_inline))

#endif
