/* SPDX-License-Identifier: MIT */
/* vault.h - the only place real phone numbers (and carrier secrets) are readable.
 * AES-256-GCM with a fresh random nonce per seal and associated data that binds a
 * ciphertext to its row, plus a keyed blind index (HMAC-SHA256) so a caller can be
 * found without decrypting anything. Keys live in a key file created on first
 * start with mode 0600. A loaded vault is immutable and thread-safe. */
#ifndef MASKD_VAULT_H
#define MASKD_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_PLAIN_MAX 1024                     /* longest plaintext sealed */
#define VAULT_OVERHEAD (1 + 12 + 16)             /* version byte, nonce, tag */
#define VAULT_SEALED_MAX (VAULT_PLAIN_MAX + VAULT_OVERHEAD)
#define VAULT_BIDX_LEN 32                        /* hex chars of a blind index (128 bits) */

struct vault;

/* Loads the keys from path, creating the file (mode 0600, two fresh 256-bit keys)
 * when it does not exist. Returns 0 and *out (caller frees with vault_free), or a
 * negative maskd_err with a message in err (never containing key material):
 * unreadable file, wrong format, or a file readable by group/others. */
int vault_load(const char *path, struct vault **out, char *err, size_t err_len);
void vault_free(struct vault *v);

/* Seals plain (NUL-terminated, at most VAULT_PLAIN_MAX bytes) bound to ad (e.g. the
 * row id; may be "" but not NULL). Writes version|nonce|ciphertext|tag to out
 * (cap >= strlen(plain) + VAULT_OVERHEAD) and its length to *out_len.
 * Returns 0 or MASKD_ETOOBIG. */
int vault_seal(const struct vault *v, const char *plain, const char *ad, uint8_t *out, size_t cap,
	       size_t *out_len);

/* Opens a sealed blob made with the same ad into plain (cap bytes, NUL added).
 * Returns 0, MASKD_ECRYPTO (wrong key, wrong ad, tampered) or MASKD_ETOOBIG. */
int vault_unseal(const struct vault *v, const uint8_t *sealed, size_t len, const char *ad,
		 char *plain, size_t cap);

/* Keyed blind index of an E.164 string: lowercase hex of the first 16 bytes of
 * HMAC-SHA256(index_key, e164). out holds VAULT_BIDX_LEN + 1 bytes. */
void vault_blind_index(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1]);

/* A secret derived from the vault's index key for (purpose, id), e.g. the key
 * that signs a service's callbacks: lowercase hex of HMAC-SHA256(index_key,
 * "\0" purpose "\0" id), VAULT_DERIVED_LEN chars. Stable for a key file;
 * never equal to a blind index input. purpose and id together < 250 bytes. */
#define VAULT_DERIVED_LEN 64
void vault_derive(const struct vault *v, const char *purpose, const char *id, char out[VAULT_DERIVED_LEN + 1]);

#endif
