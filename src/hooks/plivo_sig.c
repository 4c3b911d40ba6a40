/* SPDX-License-Identifier: MIT */
/* plivo_sig.c - Plivo and Vobiz V2/V3 webhook signatures; see plivo_sig.h and
 * docs/internals/signatures.md. Builds the string each official library (or, for
 * Vobiz V3, each documented reading) signs, HMAC-SHA256s it with the auth token and
 * compares base64 strings in constant time. The URL is never re-encoded; only its
 * query is decoded, because plivo-node decodes it before signing. */
#include "plivo_sig.h"
#include "sigutil.h"
#include "../util/arena.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PLIVO_SIG_READINGS 2 /* at most two strings to sign per flavour */

/* ------------------------------------------------------------ URL pieces */

/* Offsets into the URL the carrier called. The base URL is scheme "://" host[:port]
 * path: plivo-node's uri-parser drops the userinfo, the query and the fragment. */
struct plivo_url {
	size_t scheme_end; /* just past "://" */
	size_t host;       /* start of host[:port], after any userinfo */
	size_t path_end;   /* end of the path: the '?', the '#' or the end */
	const char *query; /* after '?', NULL when there is none */
	size_t query_len;  /* up to '#' */
};

static bool plivo_url_split(const char *url, struct plivo_url *u)
{
	struct sigutil_authority a;
	if (!sigutil_authority_split(url, &a))
		return false;
	u->scheme_end = a.scheme_len + 3;
	u->host = a.host;
	size_t auth_end = a.end;
	u->path_end = auth_end + strcspn(url + auth_end, "?#");
	u->query = NULL;
	u->query_len = 0;
	if (url[u->path_end] == '?') {
		u->query = url + u->path_end + 1;
		u->query_len = strcspn(u->query, "#");
	}
	return true;
}

static void plivo_base_append(struct buf *b, const char *url, const struct plivo_url *u)
{
	buf_append(b, url, u->scheme_end);
	buf_append(b, url + u->host, u->path_end - u->host);
}

/* ------------------------------------------------------------ sorted fields */

/* The fields of f1 and f2 (either may be NULL) in one sorted array the caller
 * frees; NULL when both are empty. */
static struct sigutil_field *plivo_sorted(const struct form *f1, const struct form *f2, size_t *n)
{
	size_t n1 = f1 != NULL ? f1->n : 0, n2 = f2 != NULL ? f2->n : 0;
	*n = n1 + n2;
	if (*n == 0)
		return NULL;
	struct sigutil_field *kv = xmalloc(*n * sizeof(*kv));
	for (size_t i = 0; i < *n; i++) {
		const struct form_field *f = i < n1 ? &f1->fields[i] : &f2->fields[i - n1];
		kv[i].key = f->key;
		kv[i].value = f->value;
		kv[i].order = i;
	}
	qsort(kv, *n, sizeof(*kv), sigutil_field_cmp);
	return kv;
}

/* "k=v&k=v..." (as_query) or "kvkv..." for the sorted fields of f1 and f2. */
static void plivo_fields_append(struct buf *b, const struct form *f1, const struct form *f2,
				bool as_query)
{
	size_t n;
	struct sigutil_field *kv = plivo_sorted(f1, f2, &n);
	for (size_t i = 0; i < n; i++) {
		if (as_query && i > 0)
			buf_append(b, "&", 1);
		buf_puts(b, kv[i].key);
		if (as_query)
			buf_append(b, "=", 1);
		buf_puts(b, kv[i].value);
	}
	free(kv);
}

/* ------------------------------------------------------------ signing */

static void plivo_b64_hmac(const char *token, const char *msg, size_t msg_len,
			   char out[PLIVO_SIG_LEN + 1])
{
	uint8_t mac[32];
	hmac_sha256(token, strlen(token), msg, msg_len, mac);
	size_t n = base64_encode(mac, sizeof(mac), out);
	assert(n == PLIVO_SIG_LEN);
	(void)n;
}

/* plivo-python's reading: it turns the assembled UTF-8 bytes back into one
 * character per byte and encodes them as UTF-8 again, so every byte >= 0x80
 * becomes two. Returns a fresh string the caller frees. */
static char *plivo_utf8_again(const char *s, size_t n, size_t *out_len)
{
	char *out = xmalloc(2 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			out[o++] = (char)c;
		} else {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

static bool plivo_has_non_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* True when any comma-separated value of header equals one of the expected
 * signatures. Every comparison runs; none of them leaks more than a length. */
static bool plivo_header_matches(const char *header, char expect[][PLIVO_SIG_LEN + 1],
				 size_t n_expect)
{
	bool ok = false;
	const char *p = header;
	for (;;) {
		size_t len = strcspn(p, ",");
		for (size_t i = 0; i < n_expect; i++)
			ok |= ct_equal(expect[i], PLIVO_SIG_LEN, p, len);
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return ok;
}

static bool plivo_nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ------------------------------------------------------------ V2 */

bool plivo_sig_v2_compute(const char *token, const char *url, const char *nonce,
			  char out[PLIVO_SIG_LEN + 1])
{
	assert(token != NULL && url != NULL && nonce != NULL);
	struct plivo_url u = {0};
	if (!plivo_url_split(url, &u))
		return false;
	struct buf b;
	buf_init(&b);
	plivo_base_append(&b, url, &u);
	buf_puts(&b, nonce);
	plivo_b64_hmac(token, b.data, b.len, out);
	buf_free(&b);
	return true;
}

bool plivo_sig_v2_check(const char *token, const char *url, const char *nonce,
			const char *signature)
{
	/* An unset credential must never validate a signature made with "". */
	if (!plivo_nonempty(token) || !plivo_nonempty(nonce) || !plivo_nonempty(signature) ||
	    url == NULL)
		return false;
	char expect[PLIVO_SIG_LEN + 1];
	if (!plivo_sig_v2_compute(token, url, nonce, expect))
		return false;
	return ct_equal(expect, PLIVO_SIG_LEN, signature, strlen(signature));
}

/* ------------------------------------------------------------ V3 */

char *plivo_sig_v3_message(const char *method, const char *url, const struct form *params,
			   const char *nonce, size_t *len)
{
	assert(len != NULL);
	if (method == NULL || url == NULL || nonce == NULL)
		return NULL;
	bool get = strcmp(method, "GET") == 0;
	if (!get && strcmp(method, "POST") != 0)
		return NULL;
	struct plivo_url u = {0};
	if (!plivo_url_split(url, &u))
		return NULL;
	struct arena a = ARENA_INIT;
	struct form query = {NULL, 0};
	if (u.query != NULL && form_parse(&a, u.query, u.query_len, &query) != 0) {
		arena_free(&a);
		return NULL;
	}
	size_t n_params = params != NULL ? params->n : 0;

	struct buf b;
	buf_init(&b);
	plivo_base_append(&b, url, &u);
	if (get) {
		/* Plivo appended its fields to the query; all of them sort together. */
		if (query.n + n_params > 0) {
			buf_append(&b, "?", 1);
			plivo_fields_append(&b, &query, params, true);
		}
	} else {
		if (query.n > 0 || n_params > 0)
			buf_append(&b, "?", 1);
		plivo_fields_append(&b, &query, NULL, true);
		if (query.n > 0 && n_params > 0)
			buf_append(&b, ".", 1);
		plivo_fields_append(&b, params, NULL, false);
	}
	buf_append(&b, ".", 1);
	buf_puts(&b, nonce);
	arena_free(&a);
	return buf_steal(&b, len);
}

bool plivo_sig_v3_check(enum plivo_sig_flavor fl, const char *token, const char *method,
			const char *url, const struct form *params, const char *nonce,
			const char *signature)
{
	if (!plivo_nonempty(token) || !plivo_nonempty(nonce) || !plivo_nonempty(signature))
		return false;
	size_t len;
	char *msg = plivo_sig_v3_message(method, url, params, nonce, &len);
	if (msg == NULL)
		return false;

	char expect[PLIVO_SIG_READINGS][PLIVO_SIG_LEN + 1];
	size_t n_expect = 0;
	plivo_b64_hmac(token, msg, len, expect[n_expect++]);
	if (fl == PLIVO_SIG_PLIVO && plivo_has_non_ascii(msg, len)) {
		size_t again_len;
		char *again = plivo_utf8_again(msg, len, &again_len);
		plivo_b64_hmac(token, again, again_len, expect[n_expect++]);
		free(again);
	} else if (fl == PLIVO_SIG_VOBIZ) {
		struct plivo_url u = {0};
		bool split = plivo_url_split(url, &u);
		assert(split); /* plivo_sig_v3_message() accepted url */
		(void)split;
		struct buf b;
		buf_init(&b);
		plivo_base_append(&b, url, &u);
		buf_append(&b, ".", 1);
		buf_puts(&b, nonce);
		plivo_b64_hmac(token, b.data, b.len, expect[n_expect++]);
		buf_free(&b);
	}
	free(msg);
	return plivo_header_matches(signature, expect, n_expect);
}
