/* SPDX-License-Identifier: MIT */
/* vault.c - the key file, AES-256-GCM sealing and the blind index; see vault.h and
 * docs/internals/vault.md. The key file is two text lines, "enc=<64 hex>" and
 * "idx=<64 hex>", created with O_EXCL and mode 0600 and refused when group or
 * others have any permission on it. No error message ever quotes the file's
 * content. Does not rotate keys and does not read them from the environment. */
#include "vault.h"
#include "../util/crypto.h"
#include "../util/crypto_internal.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define VAULT_KEY_LEN 32
#define VAULT_NONCE_LEN 12
#define VAULT_TAG_LEN 16
#define VAULT_VERSION 1
#define VAULT_FILE_MAX 4096 /* a well-formed key file is 138 bytes */

struct vault {
	uint8_t enc[VAULT_KEY_LEN]; /* AES-256-GCM key */
	uint8_t idx[VAULT_KEY_LEN]; /* HMAC-SHA256 key of the blind index */
};

static int vault_fail(char *err, size_t err_len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int vault_fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
	if (err != NULL && err_len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ------------------------------------------------------------ the key file */

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Creates path with two fresh keys. Returns 0, 1 when the file appeared in the
 * meantime (another process won the race; read it instead), or an error. */
static int vault_create(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 1;
	if (fd < 0)
		return vault_fail(err, err_len, MASKD_EINVAL, "cannot create key file %s: %s", path,
				  strerror(errno));

	uint8_t keys[2 * VAULT_KEY_LEN];
	char text[2 * (4 + 2 * VAULT_KEY_LEN + 1) + 1];
	random_bytes(keys, sizeof(keys));
	memcpy(text, "enc=", 4);
	hex_encode(keys, VAULT_KEY_LEN, text + 4);
	memcpy(text + 68, "\nidx=", 5);
	hex_encode(keys + VAULT_KEY_LEN, VAULT_KEY_LEN, text + 73);
	text[137] = '\n';
	text[138] = '\0';
	OPENSSL_cleanse(keys, sizeof(keys));

	/* A umask cannot widen 0600, but one that drops the owner's read bit would
	 * leave a file we cannot read back. */
	bool ok = fchmod(fd, 0600) == 0 && write_all(fd, text, 138) && fsync(fd) == 0;
	int saved = errno;
	OPENSSL_cleanse(text, sizeof(text));
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(path);
		return vault_fail(err, err_len, MASKD_EINVAL, "cannot write key file %s: %s", path,
				  strerror(saved));
	}
	return 0;
}

/* Reads at most VAULT_FILE_MAX bytes of an already opened key file. */
static int vault_read(int fd, const char *path, char *buf, size_t cap, size_t *len, char *err,
		      size_t err_len)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vault_fail(err, err_len, MASKD_EINVAL, "cannot read key file %s: %s",
					  path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap)
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: larger than %d bytes", path,
					  VAULT_FILE_MAX - 1);
	}
	*len = n;
	return 0;
}

/* Parses "enc=<64 hex>\nidx=<64 hex>\n" (either order; blank lines and '#'
 * comments allowed). Messages name the line, never its content. */
static int vault_parse(struct vault *v, const char *path, const char *text, size_t len, char *err,
		       size_t err_len)
{
	bool have_enc = false, have_idx = false;
	size_t line_no = 0;
	size_t i = 0;
	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - i;
		i += ll + 1;
		line_no++;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		uint8_t *dst;
		bool *seen;
		if (ll >= 4 && memcmp(line, "enc=", 4) == 0) {
			dst = v->enc;
			seen = &have_enc;
		} else if (ll >= 4 && memcmp(line, "idx=", 4) == 0) {
			dst = v->idx;
			seen = &have_idx;
		} else {
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu is not enc=<hex> or "
					  "idx=<hex>",
					  path, line_no);
		}
		if (*seen)
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu repeats %.3s=", path,
					  line_no, line);
		if (ll - 4 != 2 * VAULT_KEY_LEN ||
		    hex_decode(line + 4, ll - 4, dst, VAULT_KEY_LEN) != VAULT_KEY_LEN)
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu: %.3s= needs exactly "
					  "%d hex digits",
					  path, line_no, line, 2 * VAULT_KEY_LEN);
		*seen = true;
	}
	if (!have_enc || !have_idx)
		return vault_fail(err, err_len, MASKD_EINVAL,
				  "key file %s is malformed: missing the %s= line", path,
				  !have_enc ? "enc" : "idx");
	return 0;
}

int vault_load(const char *path, struct vault **out, char *err, size_t err_len)
{
	assert(path != NULL && out != NULL);
	*out = NULL;
	if (err != NULL && err_len > 0)
		err[0] = '\0';

	int fd = -1;
	for (int attempt = 0; fd < 0; attempt++) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != ENOENT || attempt > 0)
			return vault_fail(err, err_len, MASKD_EINVAL, "cannot open key file %s: %s",
					  path, strerror(errno));
		int rc = vault_create(path, err, err_len);
		if (rc < 0)
			return rc;
	}

	int rc;
	struct stat st;
	char text[VAULT_FILE_MAX];
	size_t len = 0;
	struct vault *v = NULL;
	if (fstat(fd, &st) != 0) {
		rc = vault_fail(err, err_len, MASKD_EINVAL, "cannot stat key file %s: %s", path,
				strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vault_fail(err, err_len, MASKD_EINVAL, "key file %s is not a regular file",
				path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		rc = vault_fail(err, err_len, MASKD_EINVAL,
				"key file %s has mode %04o: group and others must have no access "
				"(chmod 600 it)",
				path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	rc = vault_read(fd, path, text, sizeof(text), &len, err, err_len);
	if (rc != 0)
		goto fail;
	v = xcalloc(1, sizeof(*v));
	rc = vault_parse(v, path, text, len, err, err_len);
	if (rc != 0)
		goto fail;
	OPENSSL_cleanse(text, sizeof(text));
	close(fd);
	*out = v;
	return 0;

fail:
	OPENSSL_cleanse(text, sizeof(text));
	vault_free(v);
	close(fd);
	return rc;
}

void vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	OPENSSL_cleanse(v, sizeof(*v));
	free(v);
}

/* ------------------------------------------------------------ sealing */

int vault_seal(const struct vault *v, const char *plain, const char *ad, uint8_t *out, size_t cap,
	       size_t *out_len)
{
	assert(v != NULL && plain != NULL && ad != NULL && out != NULL && out_len != NULL);
	size_t plen = strnlen(plain, VAULT_PLAIN_MAX + 1);
	if (plen > VAULT_PLAIN_MAX || cap < plen + VAULT_OVERHEAD)
		return MASKD_ETOOBIG;
	size_t ad_len = strlen(ad);
	if (ad_len > INT32_MAX)
		return MASKD_ETOOBIG;

	uint8_t *nonce = out + 1;
	uint8_t *ct = nonce + VAULT_NONCE_LEN;
	uint8_t *tag = ct + plen;
	out[0] = VAULT_VERSION;
	random_bytes(nonce, VAULT_NONCE_LEN);

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		fatal("EVP_CIPHER_CTX_new failed");
	int n = 0, fin = 0;
	if (EVP_EncryptInit_ex2(ctx, crypto_aes256gcm(), v->enc, nonce, NULL) != 1 ||
	    (ad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)ad, (int)ad_len) != 1) ||
	    EVP_EncryptUpdate(ctx, ct, &n, (const uint8_t *)plain, (int)plen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, VAULT_TAG_LEN, tag) != 1)
		fatal("AES-256-GCM seal failed");
	assert((size_t)(n + fin) == plen);
	EVP_CIPHER_CTX_free(ctx);
	*out_len = plen + VAULT_OVERHEAD;
	return 0;
}

int vault_unseal(const struct vault *v, const uint8_t *sealed, size_t len, const char *ad,
		 char *plain, size_t cap)
{
	assert(v != NULL && sealed != NULL && ad != NULL && plain != NULL);
	if (len < VAULT_OVERHEAD || sealed[0] != VAULT_VERSION ||
	    len - VAULT_OVERHEAD > VAULT_PLAIN_MAX)
		return MASKD_ECRYPTO;
	size_t ct_len = len - VAULT_OVERHEAD;
	if (cap < ct_len + 1)
		return MASKD_ETOOBIG;
	size_t ad_len = strlen(ad);
	if (ad_len > INT32_MAX)
		return MASKD_ECRYPTO;

	const uint8_t *nonce = sealed + 1;
	const uint8_t *ct = nonce + VAULT_NONCE_LEN;
	uint8_t tag[VAULT_TAG_LEN];
	memcpy(tag, ct + ct_len, VAULT_TAG_LEN);

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		fatal("EVP_CIPHER_CTX_new failed");
	int n = 0, fin = 0;
	if (EVP_DecryptInit_ex2(ctx, crypto_aes256gcm(), v->enc, nonce, NULL) != 1 ||
	    (ad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)ad, (int)ad_len) != 1) ||
	    EVP_DecryptUpdate(ctx, (uint8_t *)plain, &n, ct, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, VAULT_TAG_LEN, tag) != 1)
		fatal("AES-256-GCM unseal failed");
	/* Final is where the tag is checked; until it passes the output is not ours to show. */
	bool authentic = EVP_DecryptFinal_ex(ctx, (uint8_t *)plain + n, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!authentic) {
		OPENSSL_cleanse(plain, cap);
		return MASKD_ECRYPTO;
	}
	assert((size_t)(n + fin) == ct_len);
	plain[ct_len] = '\0';
	return 0;
}

void vault_blind_index(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1])
{
	assert(v != NULL && e164 != NULL);
	uint8_t mac[32];
	hmac_sha256(v->idx, sizeof(v->idx), e164, strlen(e164), mac);
	hex_encode(mac, VAULT_BIDX_LEN / 2, out);
}

void vault_derive(const struct vault *v, const char *purpose, const char *id, char out[VAULT_DERIVED_LEN + 1])
{
	assert(v != NULL && purpose != NULL && id != NULL);
	/* A NUL-led message can never be a blind-index input (a C string). */
	uint8_t msg[256];
	size_t p = strlen(purpose), n = strlen(id);
	assert(1 + p + 1 + n <= sizeof(msg));
	msg[0] = '\0';
	memcpy(msg + 1, purpose, p);
	msg[1 + p] = '\0';
	memcpy(msg + 2 + p, id, n);
	uint8_t mac[32];
	hmac_sha256(v->idx, sizeof(v->idx), msg, 2 + p + n, mac);
	hex_encode(mac, sizeof(mac), out);
}
