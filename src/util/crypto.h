/* SPDX-License-Identifier: MIT */
/* crypto.h - the few primitives maskd uses, over OpenSSL 3 EVP.
 * crypto_init() fetches the algorithms once at start (fetching per call doubles
 * the cost of an HMAC); every other function is thread-safe after it. */
#ifndef MASKD_CRYPTO_H
#define MASKD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hex.h" /* hex_encode() and hex_decode() lived here; their callers still get them */

/* Call once from main() before any thread starts; aborts (fatal) on failure. */
void crypto_init(void);

/* out must hold 20 / 32 bytes. */
void hmac_sha1(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[20]);
void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32]);
void sha256(const void *msg, size_t len, uint8_t out[32]);

/* Cryptographically secure random bytes; aborts if the RNG fails. */
void random_bytes(void *out, size_t n);

/* Constant-time equality of two byte strings (false when lengths differ; the
 * length itself is not secret). */
bool ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* Standard base64 with padding. out must hold 4*ceil(n/3)+1; returns length. */
size_t base64_encode(const uint8_t *in, size_t n, char *out);
/* Returns decoded length, or -1 on bad input or if out (cap bytes) is too small. */
long base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
