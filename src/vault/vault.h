/* SPDX-License-Identifier: MIT */
/* vault.h - the only place real phone numbers (and carrier secrets) are readable.
 * AES-256-GCM with a fresh random nonce per seal and associated data that binds a
 * ciphertext to its row, plus a keyed blind index (HMAC-SHA256) so a caller can be
 * found without decrypting anything. Keys live in a key file created on first
 * start with mode 0600. The encryption key has versions (rotation): a sealed
 * value's first byte names the version that sealed it, new seals use the current
 * one. The blind-index key has versions too (idx= is version 1, idx.N= version N,
 * index_current= the one new indexes use): an index made with version N >= 2 is
 * spelled "N." and the hex, version 1's is the bare hex, so every index stored
 * before the first index rotation stays valid. A loaded vault is immutable and
 * thread-safe. */
#ifndef MASKD_VAULT_H
#define MASKD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAULT_PLAIN_MAX 4608                     /* longest plaintext sealed (CREDS_MAX_LEN fits) */
#define VAULT_OVERHEAD (1 + 12 + 16)             /* version byte, nonce, tag */
#define VAULT_SEALED_MAX (VAULT_PLAIN_MAX + VAULT_OVERHEAD)
#define VAULT_BIDX_HEX 32                        /* hex chars of a blind index (128 bits) */
#define VAULT_BIDX_LEN (4 + VAULT_BIDX_HEX)      /* longest spelling: "255." and the hex */
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

/* The blind-index key version new indexes use (index_current=, else the highest
 * idx version), and the other one still held (the lowest below current), 0 when
 * the file holds only the current one: while it is non-zero, lookups by a real
 * number consult both (docs/internals/blind-index-rotation.md). */
int vault_index_current(const struct vault *v);
int vault_index_previous(const struct vault *v);
/* The staged blind-index version (rotate-keys --index-stage: held, above the
 * current one, not used for new indexes), 0 when none. */
int vault_index_staged(const struct vault *v);
/* The version lookups consult after the current one: the previous version,
 * else the staged one (another node may have activated it and index with it
 * already), 0 when the file holds only the current one. The file never holds
 * both: --index-stage refuses while a previous version is held. */
int vault_index_other(const struct vault *v);
/* The blind-index version a stored index names: 1 for the bare hex, N for "N.",
 * 0 for anything else (a purged row's "purged:", ""). */
int vault_bidx_version(const char *bidx);

/* Rewrites the key file at path (through path.new and a rename; mode 0600):
 * ADD adds version highest+1 with a fresh key and makes it current; STAGE adds
 * it and leaves current as it is (several nodes: give every node the new key
 * before any seals with it); ACTIVATE makes the highest version current; DROP
 * removes every version below drop_below (which must not exceed current; the
 * caller checks that nothing is sealed with them). *version gets the version
 * added, made current, or current after a drop. Returns 0 or MASKD_EINVAL with
 * a message in err that never contains key material. Not safe against another
 * process rewriting the same file at the same moment. */
enum vault_rotate { VAULT_ROTATE_ADD, VAULT_ROTATE_STAGE, VAULT_ROTATE_ACTIVATE, VAULT_ROTATE_DROP,
	/* the blind-index key: INDEX_ADD adds idx version highest+1 and makes it
	 * index_current (the first time, it also copies the idx= key to derive=,
	 * which vault_derive then uses for good); INDEX_DROP removes every idx
	 * version below drop_below (<= the index current; the caller checks that
	 * no row carries them); INDEX_STAGE adds idx version highest+1 and
	 * leaves index_current as it is (several nodes: every node holds it, and
	 * routes rows indexed with it, before any indexes with it), refused when
	 * a version is staged already or one below the current is still held;
	 * INDEX_ACTIVATE makes the staged version index_current, refused when
	 * none is staged. INDEX_ADD is refused while a version is staged. */
	VAULT_ROTATE_INDEX_ADD, VAULT_ROTATE_INDEX_DROP, VAULT_ROTATE_INDEX_STAGE, VAULT_ROTATE_INDEX_ACTIVATE };
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

/* Keyed blind index of an E.164 string with the current index version:
 * lowercase hex of the first 16 bytes of HMAC-SHA256(index_key, e164), after
 * "N." when the version N is not 1. out holds VAULT_BIDX_LEN + 1 bytes. */
void vault_blind_index(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1]);
/* The same with index version `version`, which the file must hold (returns 0),
 * else MASKD_EINVAL and out "". */
int vault_blind_index_at(const struct vault *v, int version, const char *e164, char out[VAULT_BIDX_LEN + 1]);
/* The same with the other index version a rotation consults (vault_index_other):
 * 1 and out set, or 0 and out "" when the vault holds no other version. */
int vault_blind_index_other(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1]);

/* A secret derived from the vault's derivation key for (purpose, id), e.g. the
 * key that signs a service's callbacks: lowercase hex of HMAC-SHA256(key, "\0"
 * purpose "\0" id), VAULT_DERIVED_LEN chars. The key is the file's derive= line,
 * else its idx= (index version 1) key: a fixed key that the blind-index
 * rotation does not change, so the secrets stay the same for good. Never
 * equal to a blind index input. purpose and id together < 250 bytes. */
#define VAULT_DERIVED_LEN 64
void vault_derive(const struct vault *v, const char *purpose, const char *id, char out[VAULT_DERIVED_LEN + 1]);

#endif
