/* SPDX-License-Identifier: MIT */
/* vault.h - the only place real phone numbers (and carrier secrets) are readable.
 * AES-256-GCM with a fresh random nonce per seal and associated data that binds a
 * ciphertext to its row, plus a keyed blind index (HMAC-SHA256) so a caller can be
 * found without decrypting anything. Keys live in a key file created on first
 * start with mode 0600. The encryption key has versions (rotation): a sealed
 * value's first byte names the version that sealed it, new seals use the current
 * one. A loaded vault is immutable and thread-safe. */
#ifndef MASKD_VAULT_H
#define MASKD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAULT_PLAIN_MAX 4608                     /* longest plaintext sealed (CREDS_MAX_LEN fits) */
#define VAULT_OVERHEAD (1 + 12 + 16)             /* version byte, nonce, tag */
#define VAULT_SEALED_MAX (VAULT_PLAIN_MAX + VAULT_OVERHEAD)
#define VAULT_BIDX_LEN 32                        /* hex chars of a blind index (128 bits) */
#define VAULT_VERSION_MAX 255                    /* encryption key versions are 1..255 */

struct vault;

/* Loads the keys from path, creating the file (mode 0600, two fresh 256-bit keys)
 * when it does not exist. Returns 0 and *out (caller frees with vault_free), or a
 * negative maskd_err with a message in err (never containing key material):
 * unreadable file, wrong format, or a file readable by group/others. */
int vault_load(const char *path, struct vault **out, char *err, size_t err_len);
void vault_free(struct vault *v);

/* The version new seals use: the key file's current=, else its highest. */
int vault_current_version(const struct vault *v);
/* Whether the key file holds encryption key version (1..VAULT_VERSION_MAX). */
bool vault_has_version(const struct vault *v, int version);
/* The key version a sealed blob names, 0 when it is too short to be one (an
 * erased or purged value is empty). Reads no key. */
int vault_sealed_version(const uint8_t *sealed, size_t len);

/* Rewrites the key file at path (through path.new and a rename; mode 0600):
 * ADD adds version highest+1 with a fresh key and makes it current; STAGE adds
 * it and leaves current as it is (several nodes: give every node the new key
 * before any seals with it); ACTIVATE makes the highest version current; DROP
 * removes every version below drop_below (which must not exceed current; the
 * caller checks that nothing is sealed with them). *version gets the version
 * added, made current, or current after a drop. Returns 0 or MASKD_EINVAL with
 * a message in err that never contains key material. Not safe against another
 * process rewriting the same file at the same moment. */
enum vault_rotate { VAULT_ROTATE_ADD, VAULT_ROTATE_STAGE, VAULT_ROTATE_ACTIVATE, VAULT_ROTATE_DROP };
int vault_file_rotate(const char *path, enum vault_rotate how, int drop_below, int *version, char *err,
		      size_t err_len);

/* Seals plain (NUL-terminated, at most VAULT_PLAIN_MAX bytes) bound to ad (e.g. the
 * row id; may be "" but not NULL). Writes version|nonce|ciphertext|tag to out
 * (cap >= strlen(plain) + VAULT_OVERHEAD) and its length to *out_len.
 * Seals with the current key version. Returns 0 or MASKD_ETOOBIG. */
int vault_seal(const struct vault *v, const char *plain, const char *ad, uint8_t *out, size_t cap,
	       size_t *out_len);

/* Opens a sealed blob made with the same ad into plain (cap bytes, NUL added),
 * with the key version the blob names. Returns 0, MASKD_ECRYPTO (wrong key,
 * wrong ad, tampered, or a version the key file does not hold: that one is also
 * logged, naming the version only) or MASKD_ETOOBIG. */
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
