/* SPDX-License-Identifier: MIT */
/* vault.c - the key file, AES-256-GCM sealing and the blind index; see vault.h and
 * docs/internals/vault.md. The key file holds text lines "enc=<64 hex>" (version
 * 1), "enc.N=<64 hex>" (version N), "current=N", "idx=<64 hex>" (blind-index
 * version 1), "idx.N=<64 hex>", "index_current=N" and "derive=<64 hex>",
 * created with O_EXCL and mode 0600 and refused when group or others have any
 * permission on it. No error message ever quotes the file's content. Rotation
 * adds a version of either key (vault_file_rotate). Keys are never read from
 * the environment. */
#include "vault.h"
#include "../util/crypto.h"
#include "../util/crypto_internal.h"
#include "../util/err.h"
#include "../util/log.h"
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
#define VAULT_FILE_MAX 65536 /* a key file of every version of both keys is about 38,000 bytes */

struct vault {
	uint8_t enc[VAULT_VERSION_MAX + 1][VAULT_KEY_LEN]; /* AES-256-GCM key of each version */
	bool have[VAULT_VERSION_MAX + 1];                  /* which versions the file holds */
	int current;                                       /* the version new seals use */
	uint8_t idx[VAULT_VERSION_MAX + 1][VAULT_KEY_LEN]; /* HMAC-SHA256 key of each blind-index version */
	bool have_idx[VAULT_VERSION_MAX + 1];
	int idx_current;                                   /* the version new blind indexes use */
	uint8_t derive[VAULT_KEY_LEN];                     /* vault_derive's key (derive=, else idx version 1) */
	bool have_derive;
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

/* Reads the decimal version or current number of a "enc.N=" / "current=N" line
 * from p[0..n): 1..VAULT_VERSION_MAX, else -1. */
static int parse_version(const char *p, size_t n)
{
	if (n == 0 || n > 3 || p[0] == '0')
		return -1;
	int v = 0;
	for (size_t k = 0; k < n; k++) {
		if (p[k] < '0' || p[k] > '9')
			return -1;
		v = v * 10 + (p[k] - '0');
	}
	return v <= VAULT_VERSION_MAX ? v : -1;
}

/* Parses the key file's lines (any order; blank lines and '#' comments allowed):
 * "enc=<64 hex>" (version 1), "enc.N=<64 hex>", "idx=<64 hex>", "current=N".
 * Without current= the highest version is current. Messages name the line and
 * the version, never a key. */
static int vault_parse(struct vault *v, const char *path, const char *text, size_t len, char *err,
		       size_t err_len)
{
	bool have_current = false, have_idx_current = false;
	int current = 0, idx_current = 0;
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
		const char *eq = memchr(line, '=', ll);
		size_t name_len = eq != NULL ? (size_t)(eq - line) : ll;
		const char *val = eq != NULL ? eq + 1 : line + ll;
		size_t val_len = ll - name_len - (eq != NULL ? 1 : 0);
		if (eq != NULL && name_len == 7 && memcmp(line, "current", 7) == 0) {
			if (have_current)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu repeats current=", path, line_no);
			current = parse_version(val, val_len);
			if (current < 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu: current= needs a version 1..%d",
						  path, line_no, VAULT_VERSION_MAX);
			have_current = true;
			continue;
		}
		if (eq != NULL && name_len == 13 && memcmp(line, "index_current", 13) == 0) {
			if (have_idx_current)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu repeats index_current=", path, line_no);
			idx_current = parse_version(val, val_len);
			if (idx_current < 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu: index_current= needs a version 1..%d",
						  path, line_no, VAULT_VERSION_MAX);
			have_idx_current = true;
			continue;
		}
		uint8_t *dst;
		bool *seen;
		int version = 0;
		const char *kind = "key";
		if (eq != NULL && name_len == 3 && memcmp(line, "idx", 3) == 0) {
			dst = v->idx[1];
			seen = &v->have_idx[1];
			kind = "idx";
			version = 1;
		} else if (eq != NULL && name_len > 4 && memcmp(line, "idx.", 4) == 0) {
			version = parse_version(line + 4, name_len - 4);
			if (version < 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu: idx.N= needs a version 1..%d",
						  path, line_no, VAULT_VERSION_MAX);
			dst = v->idx[version];
			seen = &v->have_idx[version];
			kind = "idx";
		} else if (eq != NULL && name_len == 6 && memcmp(line, "derive", 6) == 0) {
			dst = v->derive;
			seen = &v->have_derive;
			kind = "derive";
		} else if (eq != NULL && name_len == 3 && memcmp(line, "enc", 3) == 0) {
			version = 1;
		} else if (eq != NULL && name_len > 4 && memcmp(line, "enc.", 4) == 0) {
			version = parse_version(line + 4, name_len - 4);
			if (version < 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu: enc.N= needs a version 1..%d",
						  path, line_no, VAULT_VERSION_MAX);
		} else {
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu is not enc=<hex>, enc.N=<hex>, "
					  "idx=<hex>, idx.N=<hex>, derive=<hex>, current=N or index_current=N",
					  path, line_no);
		}
		if (version > 0 && strcmp(kind, "key") == 0) {
			dst = v->enc[version];
			seen = &v->have[version];
		}
		if (*seen) {
			if (strcmp(kind, "idx") == 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu repeats %.*s=", path, line_no,
						  (int)(name_len < 8 ? name_len : 8), line);
			if (version > 0)
				return vault_fail(err, err_len, MASKD_EINVAL,
						  "key file %s is malformed: line %zu repeats %s version %d", path,
						  line_no, kind, version);
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu repeats derive=", path, line_no);
		}
		if (val_len != 2 * VAULT_KEY_LEN || hex_decode(val, val_len, dst, VAULT_KEY_LEN) != VAULT_KEY_LEN)
			return vault_fail(err, err_len, MASKD_EINVAL,
					  "key file %s is malformed: line %zu: %.*s= needs exactly %d hex digits",
					  path, line_no, (int)(name_len < 8 ? name_len : 8), line, 2 * VAULT_KEY_LEN);
		*seen = true;
	}
	int highest = 0, idx_highest = 0;
	for (int k = 1; k <= VAULT_VERSION_MAX; k++) {
		if (v->have[k])
			highest = k;
		if (v->have_idx[k])
			idx_highest = k;
	}
	if (highest == 0 || idx_highest == 0)
		return vault_fail(err, err_len, MASKD_EINVAL, "key file %s is malformed: missing the %s= line",
				  path, highest == 0 ? "enc" : "idx");
	if (have_current && !v->have[current])
		return vault_fail(err, err_len, MASKD_EINVAL,
				  "key file %s is malformed: current=%d names a key version the file does not hold",
				  path, current);
	if (have_idx_current && !v->have_idx[idx_current])
		return vault_fail(err, err_len, MASKD_EINVAL,
				  "key file %s is malformed: index_current=%d names an idx version the file does not hold",
				  path, idx_current);
	if (!v->have_derive && !v->have_idx[1])
		return vault_fail(err, err_len, MASKD_EINVAL,
				  "key file %s is malformed: without idx= (index version 1) it needs a derive= line", path);
	if (!v->have_derive)
		memcpy(v->derive, v->idx[1], VAULT_KEY_LEN);
	v->current = have_current ? current : highest;
	v->idx_current = have_idx_current ? idx_current : idx_highest;
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

/* ------------------------------------------------------------ versions */

int vault_current_version(const struct vault *v)
{
	assert(v != NULL);
	return v->current;
}

bool vault_has_version(const struct vault *v, int version)
{
	assert(v != NULL);
	return version >= 1 && version <= VAULT_VERSION_MAX && v->have[version];
}

int vault_sealed_version(const uint8_t *sealed, size_t len)
{
	return sealed == NULL || len < VAULT_OVERHEAD ? 0 : sealed[0];
}

int vault_index_current(const struct vault *v)
{
	assert(v != NULL);
	return v->idx_current;
}

int vault_index_previous(const struct vault *v)
{
	assert(v != NULL);
	for (int k = 1; k < v->idx_current; k++)
		if (v->have_idx[k])
			return k;
	return 0;
}

int vault_index_staged(const struct vault *v)
{
	assert(v != NULL);
	for (int k = VAULT_VERSION_MAX; k > v->idx_current; k--)
		if (v->have_idx[k])
			return k;
	return 0;
}

int vault_index_other(const struct vault *v)
{
	int previous = vault_index_previous(v);
	return previous > 0 ? previous : vault_index_staged(v);
}

static bool is_lower_hex(const char *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!((p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f')))
			return false;
	return true;
}

int vault_bidx_version(const char *bidx)
{
	if (bidx == NULL)
		return 0;
	size_t n = strlen(bidx);
	if (n == VAULT_BIDX_HEX)
		return is_lower_hex(bidx, n) ? 1 : 0;
	const char *dot = memchr(bidx, '.', n < 4 ? n : 4);
	if (dot == NULL || n - (size_t)(dot - bidx) - 1 != VAULT_BIDX_HEX || !is_lower_hex(dot + 1, VAULT_BIDX_HEX))
		return 0;
	int version = parse_version(bidx, (size_t)(dot - bidx));
	return version >= 2 ? version : 0;
}

/* Appends "name=<hex of key>\n" to text at *at (cap checked by the caller's sizing). */
static void put_key_line(char *text, size_t *at, const char *name, const uint8_t key[VAULT_KEY_LEN])
{
	size_t n = strlen(name);
	memcpy(text + *at, name, n);
	text[*at + n] = '=';
	hex_encode(key, VAULT_KEY_LEN, text + *at + n + 1);
	*at += n + 1 + 2 * VAULT_KEY_LEN;
	text[(*at)++] = '\n';
}

/* Writes v as a key file to path through path.new, fsync and rename, so a crash
 * leaves the old file or the new one, never half of one. */
static int vault_store(const struct vault *v, const char *path, char *err, size_t err_len)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return vault_fail(err, err_len, MASKD_EINVAL, "key file path %s is too long", path);
	char *text = xmalloc(VAULT_FILE_MAX);
	size_t at = 0;
	at += (size_t)snprintf(text, VAULT_FILE_MAX, "# maskd vault keys (docs/OPERATIONS.md, key rotation)\ncurrent=%d\n",
			       v->current);
	/* without index_current= the highest version is current: a staged one must not be */
	if (v->idx_current != 1 || vault_index_staged(v) > 0)
		at += (size_t)snprintf(text + at, VAULT_FILE_MAX - at, "index_current=%d\n", v->idx_current);
	if (v->have_derive)
		put_key_line(text, &at, "derive", v->derive);
	for (int k = 1; k <= VAULT_VERSION_MAX; k++) {
		if (!v->have_idx[k])
			continue;
		char name[8];
		snprintf(name, sizeof(name), k == 1 ? "idx" : "idx.%d", k);
		put_key_line(text, &at, name, v->idx[k]);
	}
	for (int k = 1; k <= VAULT_VERSION_MAX; k++) {
		if (!v->have[k])
			continue;
		char name[8];
		snprintf(name, sizeof(name), k == 1 ? "enc" : "enc.%d", k);
		put_key_line(text, &at, name, v->enc[k]);
	}
	assert(at < VAULT_FILE_MAX);
	unlink(tmp); /* a leftover of an interrupted rotation */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write_all(fd, text, at) && fsync(fd) == 0;
	int saved = errno;
	OPENSSL_cleanse(text, VAULT_FILE_MAX);
	free(text);
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(tmp);
		return vault_fail(err, err_len, MASKD_EINVAL, "cannot write key file %s: %s", path, strerror(saved));
	}
	/* the rename itself is durable once the directory is */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int vault_file_rotate(const char *path, enum vault_rotate how, int drop_below, int *version, char *err,
		      size_t err_len)
{
	assert(path != NULL && version != NULL);
	*version = 0;
	struct vault *v = NULL;
	int rc = vault_load(path, &v, err, err_len);
	if (rc < 0)
		return rc;
	int highest = 0, idx_highest = 0;
	for (int k = 1; k <= VAULT_VERSION_MAX; k++) {
		if (v->have[k])
			highest = k;
		if (v->have_idx[k])
			idx_highest = k;
	}
	switch (how) {
	case VAULT_ROTATE_INDEX_ADD:
	case VAULT_ROTATE_INDEX_STAGE:
		if (idx_highest > v->idx_current) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s already stages idx version %d: make it current with "
					"rotate-keys --index-activate first", path, idx_highest);
			goto out;
		}
		if (how == VAULT_ROTATE_INDEX_STAGE && vault_index_previous(v) > 0) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s still holds idx version %d below the current one: finish that "
					"rotation with rotate-keys --index-drop first", path, vault_index_previous(v));
			goto out;
		}
		if (idx_highest == VAULT_VERSION_MAX) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s already holds idx version %d, the last one", path, idx_highest);
			goto out;
		}
		if (!v->have_derive) { /* the callback secrets keep the key they were derived from */
			memcpy(v->derive, v->idx[1], VAULT_KEY_LEN);
			v->have_derive = true;
		}
		random_bytes(v->idx[idx_highest + 1], VAULT_KEY_LEN);
		v->have_idx[idx_highest + 1] = true;
		if (how == VAULT_ROTATE_INDEX_ADD)
			v->idx_current = idx_highest + 1;
		*version = idx_highest + 1;
		break;
	case VAULT_ROTATE_INDEX_ACTIVATE:
		if (idx_highest == v->idx_current) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s stages no idx version (the current one, %d, is the highest): "
					"nothing to activate (rotate-keys --index-stage first)", path, v->idx_current);
			goto out;
		}
		v->idx_current = idx_highest;
		*version = idx_highest;
		break;
	case VAULT_ROTATE_INDEX_DROP:
		assert(drop_below >= 1);
		if (drop_below > v->idx_current) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s: the current idx version %d cannot be dropped", path, v->idx_current);
			goto out;
		}
		for (int k = 1; k < drop_below; k++) {
			OPENSSL_cleanse(v->idx[k], VAULT_KEY_LEN);
			v->have_idx[k] = false;
		}
		*version = v->idx_current;
		break;
	case VAULT_ROTATE_ADD:
	case VAULT_ROTATE_STAGE:
		if (highest == VAULT_VERSION_MAX) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s already holds key version %d, the last one", path, highest);
			goto out;
		}
		random_bytes(v->enc[highest + 1], VAULT_KEY_LEN);
		v->have[highest + 1] = true;
		if (how == VAULT_ROTATE_ADD)
			v->current = highest + 1;
		*version = highest + 1;
		break;
	case VAULT_ROTATE_ACTIVATE:
		v->current = highest;
		*version = highest;
		break;
	case VAULT_ROTATE_DROP:
		assert(drop_below >= 1);
		if (drop_below > v->current) {
			rc = vault_fail(err, err_len, MASKD_EINVAL,
					"key file %s: the current key version %d cannot be dropped", path, v->current);
			goto out;
		}
		for (int k = 1; k < drop_below; k++) {
			OPENSSL_cleanse(v->enc[k], VAULT_KEY_LEN);
			v->have[k] = false;
		}
		*version = v->current;
		break;
	}
	rc = vault_store(v, path, err, err_len);
out:
	vault_free(v);
	return rc;
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
	out[0] = (uint8_t)v->current;
	random_bytes(nonce, VAULT_NONCE_LEN);

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		fatal("EVP_CIPHER_CTX_new failed");
	int n = 0, fin = 0;
	if (EVP_EncryptInit_ex2(ctx, crypto_aes256gcm(), v->enc[v->current], nonce, NULL) != 1 ||
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
	if (len < VAULT_OVERHEAD || len - VAULT_OVERHEAD > VAULT_PLAIN_MAX)
		return MASKD_ECRYPTO;
	if (!v->have[sealed[0]]) {
		/* an operator's mistake (a version dropped too early), not an attack on
		 * one row: say which version, never what the row holds */
		log_error("vault: a value is sealed with key version %d, which the key file does not hold",
			  sealed[0]);
		return MASKD_ECRYPTO;
	}
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
	if (EVP_DecryptInit_ex2(ctx, crypto_aes256gcm(), v->enc[sealed[0]], nonce, NULL) != 1 ||
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

int vault_blind_index_at(const struct vault *v, int version, const char *e164, char out[VAULT_BIDX_LEN + 1])
{
	assert(v != NULL && e164 != NULL && out != NULL);
	out[0] = '\0';
	if (version < 1 || version > VAULT_VERSION_MAX || !v->have_idx[version])
		return MASKD_EINVAL;
	uint8_t mac[32];
	hmac_sha256(v->idx[version], VAULT_KEY_LEN, e164, strlen(e164), mac);
	int at = version == 1 ? 0 : snprintf(out, VAULT_BIDX_LEN + 1, "%d.", version);
	hex_encode(mac, VAULT_BIDX_HEX / 2, out + at);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int vault_blind_index_other(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1])
{
	assert(v != NULL && e164 != NULL && out != NULL);
	out[0] = '\0';
	int other = vault_index_other(v);
	return other > 0 && vault_blind_index_at(v, other, e164, out) == 0 ? 1 : 0;
}

void vault_blind_index(const struct vault *v, const char *e164, char out[VAULT_BIDX_LEN + 1])
{
	assert(v != NULL && e164 != NULL);
	int rc = vault_blind_index_at(v, v->idx_current, e164, out);
	assert(rc == 0);
	(void)rc;
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
	hmac_sha256(v->derive, sizeof(v->derive), msg, 2 + p + n, mac);
	hex_encode(mac, sizeof(mac), out);
}
