/* SPDX-License-Identifier: MIT */
/* test_crypto.c - known-answer tests for HMAC-SHA1/256 (RFC 2202, RFC 4231) and
 * SHA-256, base64 (RFC 4648) and hex in both directions with their refusals,
 * ct_equal, the RNG, and HMACs from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/crypto.h"
#include "util/crypto_internal.h"

static int group_setup(void **state)
{
	crypto_init();
	crypto_init(); /* a second call is harmless */
	return 0;
}

static void expect_hex(const uint8_t *got, size_t n, const char *want)
{
	char hex[129];
	assert_true(2 * n < sizeof(hex));
	hex_encode(got, n, hex);
	assert_string_equal(hex, want);
}

static void test_hmac_sha1_rfc2202(void **state)
{
	uint8_t key[80], mac[20];
	memset(key, 0x0b, 20);
	hmac_sha1(key, 20, "Hi There", 8, mac);
	expect_hex(mac, 20, "b617318655057264e28bc0b6fb378c8ef146be00");
	hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac);
	expect_hex(mac, 20, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	/* A key longer than the block is hashed first. */
	memset(key, 0xaa, 80);
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha1(key, 80, m, strlen(m), mac);
	expect_hex(mac, 20, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
	/* Empty key and message. */
	hmac_sha1("", 0, "", 0, mac);
	expect_hex(mac, 20, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
	hmac_sha1(NULL, 0, NULL, 0, mac);
	expect_hex(mac, 20, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
	/* A cached context must not keep the previous key. */
	hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hmac_sha1("", 0, "", 0, mac);
	expect_hex(mac, 20, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
}

static void test_hmac_sha256_rfc4231(void **state)
{
	uint8_t key[131], mac[32];
	memset(key, 0x0b, 20);
	hmac_sha256(key, 20, "Hi There", 8, mac);
	expect_hex(mac, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	expect_hex(mac, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, 131);
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key, 131, m, strlen(m), mac);
	expect_hex(mac, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	hmac_sha256("", 0, "", 0, mac);
	expect_hex(mac, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_sha256(void **state)
{
	uint8_t d[32];
	sha256("abc", 3, d);
	expect_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	expect_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256(m, strlen(m), d);
	expect_hex(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_base64(void **state)
{
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		uint8_t back[8];
		size_t n = strlen(plain[i]);
		assert_int_equal(base64_encode((const uint8_t *)plain[i], n, out), strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		assert_int_equal(base64_decode(enc[i], strlen(enc[i]), back, sizeof(back)), (long)n);
		assert_memory_equal(back, plain[i], n);
		/* Exactly enough room is enough; one byte less is not. */
		assert_int_equal(base64_decode(enc[i], strlen(enc[i]), back, n), (long)n);
		if (n > 0)
			assert_int_equal(base64_decode(enc[i], strlen(enc[i]), back, n - 1), -1);
	}
	uint8_t all[256], back[256];
	char out[4 * 86 + 1];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	size_t n = base64_encode(all, 256, out);
	assert_int_equal(n, 344);
	assert_int_equal(base64_decode(out, n, back, sizeof(back)), 256);
	assert_memory_equal(all, back, 256);

	static const char *bad[] = {
		"Zg=",  "Zg", "Z", "Zg=a", "Z===", "====", "Zh==", "Zm9=", "Zm9v\n", "Zm9*",
		"Zg==Zg==", "Zm 9", "Zm9v====", "-_8=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (base64_decode(bad[i], strlen(bad[i]), back, sizeof(back)) != -1)
			fail_msg("accepted %s", bad[i]);
}

static void test_hex(void **state)
{
	uint8_t in[] = {0x00, 0x01, 0xab, 0xff}, out[4];
	char s[9];
	hex_encode(in, 4, s);
	assert_string_equal(s, "0001abff");
	assert_int_equal(hex_decode("0001abff", 8, out, 4), 4);
	assert_memory_equal(in, out, 4);
	assert_int_equal(hex_decode("0001ABFF", 8, out, 4), 4);
	assert_memory_equal(in, out, 4);
	assert_int_equal(hex_decode("", 0, out, 0), 0);
	assert_int_equal(hex_decode("0001abff", 8, out, 3), -1);
	assert_int_equal(hex_decode("0001abf", 7, out, 4), -1);
	assert_int_equal(hex_decode("0001abfg", 8, out, 4), -1);
	assert_int_equal(hex_decode("0x01", 4, out, 4), -1);
	assert_int_equal(hex_decode(" 001", 4, out, 4), -1);
	hex_encode(in, 0, s);
	assert_string_equal(s, "");
}

static void test_ct_equal(void **state)
{
	assert_true(ct_equal("abc", 3, "abc", 3));
	assert_false(ct_equal("abc", 3, "abd", 3));
	assert_false(ct_equal("abc", 3, "ab", 2));
	assert_false(ct_equal("abc", 3, "abcd", 4));
	assert_true(ct_equal("", 0, "", 0));
	assert_true(ct_equal(NULL, 0, "x", 0));
	assert_false(ct_equal("\0", 1, "\1", 1));
}

static void test_random_bytes(void **state)
{
	uint8_t a[32], b[32], zero[32] = {0};
	random_bytes(a, sizeof(a));
	random_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	random_bytes(a, 0);
}

static void test_cipher_exposed(void **state)
{
	const EVP_CIPHER *c = crypto_aes256gcm();
	assert_non_null(c);
	assert_int_equal(EVP_CIPHER_get_key_length(c), 32);
	assert_int_equal(EVP_CIPHER_get_iv_length(c), 12);
	assert_ptr_equal(c, crypto_aes256gcm());
}

#define THREADS 4
#define ROUNDS 2000

struct hmac_job {
	char key[16];
	uint8_t want1[20];   /* computed on the main thread */
	uint8_t want256[32];
	bool ok;
};

static void *hmac_worker(void *arg)
{
	struct hmac_job *j = arg;
	uint8_t mac[32];
	j->ok = true;
	for (int i = 0; i < ROUNDS; i++) {
		hmac_sha1(j->key, strlen(j->key), "msg", 3, mac);
		if (memcmp(mac, j->want1, 20) != 0)
			j->ok = false;
		hmac_sha256(j->key, strlen(j->key), "msg", 3, mac);
		if (memcmp(mac, j->want256, 32) != 0)
			j->ok = false;
		sha256("msg", 3, mac);
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];
	struct hmac_job jobs[THREADS];
	for (int i = 0; i < THREADS; i++) {
		snprintf(jobs[i].key, sizeof(jobs[i].key), "key%d", i);
		hmac_sha1(jobs[i].key, strlen(jobs[i].key), "msg", 3, jobs[i].want1);
		hmac_sha256(jobs[i].key, strlen(jobs[i].key), "msg", 3, jobs[i].want256);
	}
	assert_memory_not_equal(jobs[0].want1, jobs[1].want1, 20);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hmac_worker, &jobs[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(jobs[i].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_sha1_rfc2202),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_cipher_exposed),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
