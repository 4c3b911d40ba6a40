/* SPDX-License-Identifier: MIT */
/* crypto.c - HMAC, SHA-256, RNG and encodings over OpenSSL 3 EVP; see crypto.h.
 * The algorithms are fetched once by crypto_init(); each thread then keeps its
 * own MAC and digest contexts (created on first use, freed at thread exit), so a
 * webhook's HMAC costs no fetch and no allocation of a context.
 * Does no key management: callers own their keys (vault.c, twilio_sig.c). */
#include "crypto.h"
#include "crypto_internal.h"
#include "xmalloc.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static EVP_MAC *mac_hmac;
static EVP_MD *md_sha1;
static EVP_MD *md_sha256;
static EVP_CIPHER *cipher_aes256gcm;

/* Per-thread contexts; the pthread key only exists to free them at thread exit. */
struct crypto_tls {
	EVP_MAC_CTX *hmac_sha1;
	EVP_MAC_CTX *hmac_sha256;
	EVP_MD_CTX *sha256;
};

static pthread_key_t tls_key;
static _Thread_local struct crypto_tls *tls;

static void crypto_tls_free(void *p)
{
	struct crypto_tls *t = p;
	EVP_MAC_CTX_free(t->hmac_sha1);
	EVP_MAC_CTX_free(t->hmac_sha256);
	EVP_MD_CTX_free(t->sha256);
	free(t);
}

void crypto_init(void)
{
	if (mac_hmac != NULL)
		return;
	mac_hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	md_sha1 = EVP_MD_fetch(NULL, OSSL_DIGEST_NAME_SHA1, NULL);
	md_sha256 = EVP_MD_fetch(NULL, OSSL_DIGEST_NAME_SHA2_256, NULL);
	cipher_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (mac_hmac == NULL || md_sha1 == NULL || md_sha256 == NULL || cipher_aes256gcm == NULL)
		fatal("crypto_init: OpenSSL could not fetch HMAC, SHA1, SHA256 or AES-256-GCM");
	if (pthread_key_create(&tls_key, crypto_tls_free) != 0)
		fatal("crypto_init: pthread_key_create failed");
}

static void require_init(const char *fn)
{
	if (mac_hmac == NULL)
		fatal("%s called before crypto_init()", fn);
}

const EVP_CIPHER *crypto_aes256gcm(void)
{
	require_init("crypto_aes256gcm");
	return cipher_aes256gcm;
}

static EVP_MAC_CTX *hmac_ctx_new(const char *digest)
{
	char name[16];
	snprintf(name, sizeof(name), "%s", digest);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_hmac);
	if (ctx == NULL)
		fatal("EVP_MAC_CTX_new failed");
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_CTX_set_params(ctx, params) != 1)
		fatal("EVP_MAC_CTX_set_params(digest) failed");
	return ctx;
}

static struct crypto_tls *tls_get(void)
{
	if (tls != NULL)
		return tls;
	struct crypto_tls *t = xcalloc(1, sizeof(*t));
	t->hmac_sha1 = hmac_ctx_new(OSSL_DIGEST_NAME_SHA1);
	t->hmac_sha256 = hmac_ctx_new(OSSL_DIGEST_NAME_SHA2_256);
	t->sha256 = EVP_MD_CTX_new();
	if (t->sha256 == NULL)
		fatal("EVP_MD_CTX_new failed");
	if (pthread_setspecific(tls_key, t) != 0)
		fatal("pthread_setspecific failed");
	tls = t;
	return t;
}

static void hmac_run(EVP_MAC_CTX *ctx, const void *key, size_t key_len, const void *msg,
		     size_t msg_len, uint8_t *out, size_t out_len)
{
	static const uint8_t empty_key[1];
	size_t got = 0;
	/* A NULL key would mean "reuse the previous key": always pass a pointer. */
	if (key == NULL || key_len == 0) {
		key = empty_key;
		key_len = 0;
	}
	if (EVP_MAC_init(ctx, key, key_len, NULL) != 1 ||
	    EVP_MAC_update(ctx, msg_len ? msg : empty_key, msg_len) != 1 ||
	    EVP_MAC_final(ctx, out, &got, out_len) != 1 || got != out_len)
		fatal("HMAC failed");
}

void hmac_sha1(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[20])
{
	require_init("hmac_sha1");
	hmac_run(tls_get()->hmac_sha1, key, key_len, msg, msg_len, out, 20);
}

void hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[32])
{
	require_init("hmac_sha256");
	hmac_run(tls_get()->hmac_sha256, key, key_len, msg, msg_len, out, 32);
}

void sha256(const void *msg, size_t len, uint8_t out[32])
{
	require_init("sha256");
	EVP_MD_CTX *ctx = tls_get()->sha256;
	unsigned int got = 0;
	if (EVP_DigestInit_ex2(ctx, md_sha256, NULL) != 1 || EVP_DigestUpdate(ctx, msg, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &got) != 1 || got != 32)
		fatal("SHA-256 failed");
}

void random_bytes(void *out, size_t n)
{
	uint8_t *p = out;
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (RAND_bytes(p, chunk) != 1)
			fatal("RAND_bytes failed");
		p += chunk;
		n -= (size_t)chunk;
	}
}

bool ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	if (a_len != b_len)
		return false;
	if (a_len == 0)
		return true;
	return CRYPTO_memcmp(a, b, a_len) == 0;
}

/* ---------------------------------------------------------------- encodings */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict: length a multiple of 4, padding only at the end, no whitespace, and the
 * unused bits of the last group zero (so every input has one encoding). */
long base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 != 0)
		return -1;
	size_t pad = 0;
	if (n >= 1 && in[n - 1] == '=')
		pad++;
	if (n >= 2 && in[n - 2] == '=')
		pad++;
	size_t outlen = n / 4 * 3 - pad;
	if (outlen > cap || outlen > LONG_MAX)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v[4];
		for (size_t k = 0; k < 4; k++) {
			if (last && k >= 4 - pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		if (last && pad == 2 && (w & 0xffff) != 0)
			return -1;
		if (last && pad == 1 && (w & 0xff) != 0)
			return -1;
		out[o++] = (uint8_t)(w >> 16);
		if (!(last && pad == 2))
			out[o++] = (uint8_t)(w >> 8);
		if (!(last && pad >= 1))
			out[o++] = (uint8_t)w;
	}
	assert(o == outlen);
	return (long)o;
}
