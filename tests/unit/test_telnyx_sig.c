/* SPDX-License-Identifier: MIT */
/* test_telnyx_sig.c - Telnyx Ed25519 webhook checks against every "telnyx" case of
 * tests/data/signature_vectors.json (signed by node crypto, verified by
 * telnyx (npm) 7.24.0 TelnyxWebhook.verify), with the file's own clock results
 * (ts, ts+300, ts+/-301, tampered body), plus own-code cases signed here with the
 * file's seed: unicode and empty bodies, header shapes, replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "hooks/telnyx_sig.h"
#include "util/crypto.h"
#include "util/err.h"
#include "vectors.h"

static json_t *vectors;
static uint8_t seed_sk[crypto_sign_SECRETKEYBYTES]; /* from the file's private seed */
static char seed_pk_b64[45];

static int group_setup(void **state)
{
	crypto_init();
	if (sodium_init() < 0)
		return -1;
	vectors = vectors_load();
	if (vectors == NULL)
		return -1;
	json_t *first = json_array_get(json_object_get(vectors, "telnyx"), 0);
	const char *seed_hex = json_string_value(json_object_get(first, "private_seed_hex"));
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	if (seed_hex == NULL || hex_decode(seed_hex, strlen(seed_hex), seed, sizeof(seed)) != 32)
		return -1;
	crypto_sign_seed_keypair(pk, seed_sk, seed);
	base64_encode(pk, sizeof(pk), seed_pk_b64);
	return 0;
}

static int group_teardown(void **state)
{
	json_decref(vectors);
	return 0;
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Own code: signs ts "|" body with the file's seed; out holds 89 bytes. */
static void sign_with_seed(const char *ts, const char *body, size_t body_len, char out[89])
{
	size_t tl = strlen(ts);
	unsigned char *msg = malloc(tl + 1 + body_len + 1);
	assert_non_null(msg);
	memcpy(msg, ts, tl);
	msg[tl] = '|';
	if (body_len > 0)
		memcpy(msg + tl + 1, body, body_len);
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, msg, tl + 1 + body_len, seed_sk);
	free(msg);
	base64_encode(sig, sizeof(sig), out);
}

/* ------------------------------------------------------------ the vector file */

static void check_telnyx_case(json_t *c)
{
	const char *id = jstr(c, "id");
	const char *ts = jstr(c, "timestamp");
	const char *body = jstr(c, "body");
	const char *pk = jstr(c, "public_key_b64");
	const char *signed_message = jstr(c, "signed_message");
	const char *sig = jstr(c, "signature");
	json_t *headers = json_object_get(c, "headers");
	CHECK("telnyx case", id != NULL);
	CHECK(id, ts != NULL && body != NULL && pk != NULL && signed_message != NULL && sig != NULL);
	CHECK(id, json_is_object(headers));
	print_message("[ vector   ] telnyx %s\n", id);
	size_t blen = strlen(body);
	const char *detail = NULL;

	/* The file is self-consistent: headers, message, key and deterministic signature. */
	CHECK(id, strcmp(jstr(headers, "telnyx-signature-ed25519"), sig) == 0);
	CHECK(id, strcmp(jstr(headers, "telnyx-timestamp"), ts) == 0);
	char want_msg[8192];
	snprintf(want_msg, sizeof(want_msg), "%s|%s", ts, body);
	CHECK(id, strcmp(want_msg, signed_message) == 0);
	CHECK(id, strcmp(pk, seed_pk_b64) == 0);
	char resigned[89];
	sign_with_seed(ts, body, blen, resigned);
	CHECK(id, strcmp(resigned, sig) == 0);
	uint8_t key[TELNYX_SIG_KEY_LEN];
	CHECK(id, telnyx_sig_key_parse(pk, key) == 0);

	char *end;
	long long t = strtoll(ts, &end, 10);
	CHECK(id, *end == '\0' && t > 0);

	/* The clock results telnyx-node gave. */
	CHECK(id, json_is_true(json_object_get(c, "verify_at_same_time")));
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t, &detail) == 0);
	CHECK(id, strcmp(detail, "ok") == 0);
	CHECK(id, json_is_true(json_object_get(c, "verify_at_plus_300s")));
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t + 300, NULL) == 0);
	/* Own code: the window is symmetric, so -300 passes too. */
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t - 300, NULL) == 0);
	CHECK(id, strstr(jstr(c, "verify_at_plus_301s"), "rejected") != NULL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t + 301, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "window") != NULL);
	CHECK(id, strstr(jstr(c, "verify_at_minus_301s"), "rejected") != NULL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t - 301, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "window") != NULL);
	/* A replay days later, and a clock far off. */
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, t + 86400, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, 0, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, INT64_MAX, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts, INT64_MIN, NULL) == MASKD_EINVAL);

	/* Tampered body (the file's control: one extra byte), and other edits. */
	CHECK(id, strstr(jstr(c, "verify_tampered_body"), "rejected") != NULL);
	char *tampered = malloc(blen + 2);
	CHECK(id, tampered != NULL);
	memcpy(tampered, body, blen);
	tampered[blen] = ' ';
	tampered[blen + 1] = '\0';
	CHECK(id, telnyx_sig_check(pk, tampered, blen + 1, sig, ts, t, &detail) == MASKD_ECRYPTO);
	CHECK(id, strstr(detail, "signature") != NULL);
	CHECK(id, telnyx_sig_check(pk, body, blen - 1, sig, ts, t, NULL) == MASKD_ECRYPTO);
	tampered[0] = (char)(tampered[0] ^ 1);
	CHECK(id, telnyx_sig_check(pk, tampered, blen, sig, ts, t, NULL) == MASKD_ECRYPTO);
	free(tampered);
	CHECK(id, telnyx_sig_check(pk, NULL, 0, sig, ts, t, NULL) == MASKD_ECRYPTO);

	/* The timestamp is signed: moving it (and the clock with it) breaks the signature. */
	char ts2[32];
	snprintf(ts2, sizeof(ts2), "%lld", t + 1);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts2, t + 1, NULL) == MASKD_ECRYPTO);
	/* Same value, other text: signed byte for byte. */
	snprintf(ts2, sizeof(ts2), "0%s", ts);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, ts2, t, NULL) == MASKD_ECRYPTO);

	/* Wrong key: another valid key, and keys that are not keys. */
	uint8_t other_pk[32], other_sk[64], other_seed[32];
	memset(other_seed, 7, sizeof(other_seed));
	crypto_sign_seed_keypair(other_pk, other_sk, other_seed);
	char other_b64[45];
	base64_encode(other_pk, sizeof(other_pk), other_b64);
	CHECK(id, telnyx_sig_check(other_b64, body, blen, sig, ts, t, NULL) == MASKD_ECRYPTO);
	CHECK(id, telnyx_sig_check(NULL, body, blen, sig, ts, t, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check("", body, blen, sig, ts, t, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check("4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6RuEa==", body, blen, sig, ts,
				   t, NULL) == MASKD_EINVAL);

	/* Missing headers. */
	CHECK(id, telnyx_sig_check(pk, body, blen, NULL, ts, t, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "signature") != NULL);
	CHECK(id, telnyx_sig_check(pk, body, blen, "", ts, t, NULL) == MASKD_EINVAL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, NULL, t, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "timestamp") != NULL);
	CHECK(id, telnyx_sig_check(pk, body, blen, sig, "", t, NULL) == MASKD_EINVAL);

	/* Malformed signature headers: strict padded base64 of 64 bytes. */
	char bad[100];
	snprintf(bad, sizeof(bad), "%.86s", sig); /* padding stripped */
	CHECK(id, telnyx_sig_check(pk, body, blen, bad, ts, t, NULL) == MASKD_EINVAL);
	snprintf(bad, sizeof(bad), "%sAAAA", sig);
	CHECK(id, telnyx_sig_check(pk, body, blen, bad, ts, t, NULL) == MASKD_EINVAL);
	snprintf(bad, sizeof(bad), " %s", sig);
	CHECK(id, telnyx_sig_check(pk, body, blen, bad, ts, t, NULL) == MASKD_EINVAL);
	snprintf(bad, sizeof(bad), "%s", sig);
	for (char *p = bad; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	if (strcmp(bad, sig) != 0)
		CHECK(id, telnyx_sig_check(pk, body, blen, bad, ts, t, NULL) == MASKD_EINVAL);
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == 'A' ? 'B' : 'A'; /* decodes, does not verify */
	CHECK(id, telnyx_sig_check(pk, body, blen, bad, ts, t, NULL) == MASKD_ECRYPTO);
}

static void test_vectors_telnyx(void **state)
{
	json_t *cases = json_object_get(vectors, "telnyx");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_telnyx_case(c);
	/* One case's signature does not verify another's message. */
	if (json_array_size(cases) > 1) {
		json_t *a = json_array_get(cases, 0), *b = json_array_get(cases, 1);
		const char *body = jstr(b, "body");
		long long t = strtoll(jstr(b, "timestamp"), NULL, 10);
		assert_int_equal(telnyx_sig_check(jstr(b, "public_key_b64"), body, strlen(body),
						  jstr(a, "signature"), jstr(b, "timestamp"), t, NULL),
				 MASKD_ECRYPTO);
	}
	print_message("[ vectors  ] %zu telnyx cases checked\n", json_array_size(cases));
}

/* ------------------------------------------------------------ own code */

/* Own code (signed here with the file's seed, no library run): bodies the file's
 * summary promises but does not carry. */
static void test_own_bodies(void **state)
{
	const char *ts = "1700000456";
	char sig[89];
	static const char unicode[] = "{\"data\":{\"payload\":{\"text\":\"Gr\xc3\xbc\xc3\x9f"
				      "e \xf0\x9f\x91\x8b\"}}}";
	sign_with_seed(ts, unicode, strlen(unicode), sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, unicode, strlen(unicode), sig, ts,
					  1700000456, NULL),
			 0);
	/* Empty body: message is "ts|"; NULL and "" are the same empty body. */
	sign_with_seed(ts, "", 0, sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, NULL, 0, sig, ts, 1700000456, NULL), 0);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, "", 0, sig, ts, 1700000456, NULL), 0);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, "x", 1, sig, ts, 1700000456, NULL),
			 MASKD_ECRYPTO);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, NULL, 3, sig, ts, 1700000456, NULL),
			 MASKD_EINVAL);
	/* Raw bytes, NUL included: body_len counts, not strlen. */
	static const char bin[] = {'a', '\0', 'b', '|', '\xff'};
	sign_with_seed(ts, bin, sizeof(bin), sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, bin, sizeof(bin), sig, ts, 1700000456, NULL),
			 0);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, bin, 1, sig, ts, 1700000456, NULL),
			 MASKD_ECRYPTO);
	/* A large body. */
	size_t big_len = 1 << 20;
	char *big = malloc(big_len);
	assert_non_null(big);
	memset(big, 'z', big_len);
	sign_with_seed(ts, big, big_len, sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, big, big_len, sig, ts, 1700000456, NULL), 0);
	big[big_len / 2] = 'y';
	assert_int_equal(telnyx_sig_check(seed_pk_b64, big, big_len, sig, ts, 1700000456, NULL),
			 MASKD_ECRYPTO);
	free(big);
}

/* Own code: the timestamp header as telnyx-node parses it (/^\d+$/, safe integer). */
static void test_timestamp_shapes(void **state)
{
	const char *body = "{}";
	char sig[89];
	/* Leading zeros are digits; the header text is what was signed. */
	sign_with_seed("01700000000", body, 2, sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "01700000000", 1700000000, NULL),
			 0);
	static const char *bad[] = {
		"+1700000000", "-1700000000", " 1700000000", "1700000000 ", "1.7e9", "0x6553F100",
		"1700000000.5", "17000000OO", "99999999999999999999", "9007199254740992",
		"000000000000000000000000000000001700000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *detail;
		sign_with_seed(bad[i], body, 2, sig);
		if (telnyx_sig_check(seed_pk_b64, body, 2, sig, bad[i], 1700000000, &detail) !=
		    MASKD_EINVAL)
			fail_msg("timestamp \"%s\" accepted", bad[i]);
		assert_string_equal(detail, "telnyx-timestamp is not a Unix time");
	}
	/* The largest safe integer parses; it is simply far outside the window. */
	sign_with_seed("9007199254740991", body, 2, sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "9007199254740991",
					  9007199254740991LL, NULL),
			 0);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "9007199254740991", 1700000000,
					  NULL),
			 MASKD_EINVAL);
	/* Zero is a valid, very old, timestamp. */
	sign_with_seed("0", body, 2, sig);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "0", 300, NULL), 0);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "0", 301, NULL), MASKD_EINVAL);
	assert_int_equal(telnyx_sig_check(seed_pk_b64, body, 2, sig, "0", -300, NULL), 0);
}

static void test_key_parse(void **state)
{
	uint8_t key[TELNYX_SIG_KEY_LEN], want[TELNYX_SIG_KEY_LEN];
	memset(key, 0xAA, sizeof(key));
	assert_int_equal(telnyx_sig_key_parse(seed_pk_b64, key), 0);
	assert_int_equal(base64_decode(seed_pk_b64, 44, want, sizeof(want)), 32);
	assert_memory_equal(key, want, sizeof(key));
	static const char *bad[] = {
		"",
		"4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6RuEaE",	  /* unpadded */
		"4AmqlHVAJnNTnz_aRLqdBwCKnRvzeSnJ_DvoK6RuEaE=",	  /* base64url */
		"4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6RuEaE=\n", /* trailing newline */
		"4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6RuEaEAAA==", /* 34 bytes */
		"4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6Ru",	  /* 30 bytes */
		"4AmqlHVAJnNTnz/aRLqdBwCKnRvzeSnJ/DvoK6RuEaF=",	  /* non-zero padding bits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(key, 0xAA, sizeof(key));
		if (telnyx_sig_key_parse(bad[i], key) != MASKD_EINVAL)
			fail_msg("key \"%s\" accepted", bad[i]);
		for (size_t k = 0; k < sizeof(key); k++)
			assert_int_equal(key[k], 0xAA); /* untouched on failure */
	}
	assert_int_equal(telnyx_sig_key_parse(NULL, key), MASKD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_telnyx),
		cmocka_unit_test(test_own_bodies),
		cmocka_unit_test(test_timestamp_shapes),
		cmocka_unit_test(test_key_parse),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
