/*
 * siphash.h - SipHash-2-4 with a 128-bit output (Aumasson and Bernstein,
 * "SipHash: a fast short-input PRF", 2012): a keyed function for tables and
 * caches whose keys come from clients.  Without the 16-byte key nobody can
 * predict an output or find two inputs that share one, so a client can
 * neither crowd a table nor make its input pass for another's.  Not a
 * replacement for a cryptographic hash where no secret key exists.
 */
#ifndef NXX_CORE_SIPHASH_H
#define NXX_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 128-bit SipHash-2-4 of in[0..len) under key[0..16) into out[0..16). */
void nxx_siphash128(const unsigned char key[16], const void *in, size_t len, unsigned char out[16]);

#endif
