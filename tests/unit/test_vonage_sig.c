/* SPDX-License-Identifier: MIT */
/* test_vonage_sig.c - Vonage signed-webhook JWT and SMS "sig" checks against every
 * "vonage_jwt" and "vonage_sms_sig" case of tests/data/signature_vectors.json
 * (tokens built by jsonwebtoken 9, accepted by @vonage/jwt 1.14.0; SMS signatures
 * accepted by @vonage/sms 1.21.0), anchors from those libraries for what the file
 * lacks, and own-code tokens for the refusals: alg none/RS256, payload_hash, iat. */
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
#include <openssl/evp.h>

#include "hooks/vonage_sig.h"
#include "util/arena.h"
#include "util/crypto.h"
#include "util/err.h"
#include "vectors.h"
#include "util/form.h"

#define MAX_AGE 300
#define MAX_SKEW 60

static json_t *vectors;

static int group_setup(void **state)
{
	crypto_init();
	vectors = vectors_load();
	if (vectors == NULL)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	json_decref(vectors);
	return 0;
}

/* ------------------------------------------------------------ helpers */

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static char *b64url(struct arena *a, const void *data, size_t n)
{
	char *out = arena_alloc(a, 4 * (n / 3 + 1) + 1);
	size_t len = base64_encode(data, n, out);
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static char *b64url_str(struct arena *a, const char *s)
{
	return b64url(a, s, strlen(s));
}

/* Own code: header "." payload "." base64url(HMAC-SHA256(secret, ...)), the JSON
 * texts used verbatim. */
static char *make_jwt(struct arena *a, const char *header_json, const char *payload_json,
		      const char *secret)
{
	char *hp = arena_printf(a, "%s.%s", b64url_str(a, header_json), b64url_str(a, payload_json));
	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), hp, strlen(hp), mac);
	return arena_printf(a, "%s.%s", hp, b64url(a, mac, sizeof(mac)));
}

static char *bearer(struct arena *a, const char *jwt)
{
	return arena_printf(a, "Bearer %s", jwt);
}

static char *sha256_hex(struct arena *a, const char *s, size_t n)
{
	uint8_t d[32];
	sha256(s, n, d);
	char *hex = arena_alloc(a, 65);
	hex_encode(d, sizeof(d), hex);
	return hex;
}

static int check_jwt(const char *secret, const char *auth, const char *method, const char *body,
		     int64_t now, const char **detail)
{
	return vonage_sig_check_jwt(secret, auth, method, body, body != NULL ? strlen(body) : 0, now,
				    MAX_AGE, MAX_SKEW, NULL, detail);
}

/* ------------------------------------------------------------ vonage_jwt vectors */

/* jsonwebtoken 9.0.0 jwt.sign(case.claims, secret, {algorithm: "HS256"}) for the
 * file's vonage-voice-event-json claims, iat included; @vonage/jwt 1.14.0
 * verifySignature: true, and false with secret + "x" (development run). */
static const char *const anchor_jwt_with_iat =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MzU3ODcwODcsImp0aSI6ImMwZmZlZTAwLTAwMDAtNDA"
	"wMC04MDAwLTAwMTczNTc4NzA4NyIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjJjM2YyODE3NjZkZTkxZTU"
	"wODNjZmU0ZDU3ZTMwMmQzNGE2ODYxNDIzNzhlNDc4YzU5NjgyNzhiYjYwM2YwNzkiLCJhcGlfa2V5IjoiYWJjZDEyMzQ"
	"iLCJhcHBsaWNhdGlvbl9pZCI6ImFhYWFhYWFhLWJiYmItY2NjYy1kZGRkLTAxMjM0NTY3ODlhYiJ9.cxgN_C_pzeTmf4S"
	"eV7-5Apu83nf8TtFJfzqwbU8Ubio";

static void check_vonage_jwt_case(json_t *c)
{
	const char *id = jstr(c, "id");
	const char *body = jstr(c, "body");
	const char *secret = jstr(c, "secret");
	const char *hash = jstr(c, "payload_hash");
	const char *jwt = jstr(c, "jwt");
	json_t *claims = json_object_get(c, "claims");
	json_t *iat_j = json_object_get(c, "iat");
	CHECK("vonage_jwt case", id != NULL);
	CHECK(id, body != NULL && secret != NULL && hash != NULL && jwt != NULL);
	CHECK(id, json_is_object(claims) && json_is_integer(iat_j));
	print_message("[ vector   ] vonage_jwt %s\n", id);
	struct arena a = ARENA_INIT;
	int64_t iat = json_integer_value(iat_j);
	size_t blen = strlen(body);
	const char *detail;
	struct vonage_jwt_claims out;

	/* The file is self-consistent: payload_hash is the body's hex SHA-256. */
	CHECK(id, json_is_true(json_object_get(c, "payload_hash_matches_body")));
	CHECK(id, strcmp(sha256_hex(&a, body, blen), hash) == 0);
	CHECK(id, strcmp(jstr(claims, "payload_hash"), hash) == 0);

	/* The file's token carries every claim of "claims" except iat (jsonwebtoken
	 * was evidently run with noTimestamp). @vonage/jwt accepted it because it
	 * enforces no age; we require iat, so the token's signature verifies (a
	 * wrong secret gives another answer) but the token is refused for its age. */
	CHECK(id, json_is_true(json_object_get(c, "vonage_verifySignature")));
	CHECK(id, vonage_sig_check_jwt(secret, bearer(&a, jwt), "POST", body, blen, iat, MAX_AGE,
				       MAX_SKEW, &out, &detail) == MASKD_EINVAL);
	CHECK(id, strcmp(detail, "jwt has no integer iat") == 0);
	CHECK(id, json_is_false(json_object_get(c, "vonage_verifySignature_wrong_secret")));
	const char *wrong = arena_printf(&a, "%sx", secret);
	CHECK(id, vonage_sig_check_jwt(wrong, bearer(&a, jwt), "POST", body, blen, iat, MAX_AGE,
				       MAX_SKEW, NULL, &detail) == MASKD_ECRYPTO);
	CHECK(id, strstr(detail, "signature") != NULL);

	/* The same claims with iat, signed by jsonwebtoken (anchor) and by us: accepted. */
	json_t *payload = json_deep_copy(claims);
	char *payload_text = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
	const char *header_text = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *own = make_jwt(&a, header_text, payload_text, secret);
	const char *tokens[] = {anchor_jwt_with_iat, own};
	for (size_t t = 0; t < 2; t++) {
		const char *auth = bearer(&a, tokens[t]);
		memset(&out, 0xAA, sizeof(out));
		CHECK(id, vonage_sig_check_jwt(secret, auth, "POST", body, blen, iat, MAX_AGE,
					       MAX_SKEW, &out, &detail) == 0);
		CHECK(id, strcmp(detail, "ok") == 0);
		CHECK(id, out.iat == iat && out.payload_hash_checked);
		CHECK(id, strcmp(out.jti, jstr(claims, "jti")) == 0);
		CHECK(id, strcmp(out.api_key, jstr(claims, "api_key")) == 0);
		CHECK(id, strcmp(out.application_id, jstr(claims, "application_id")) == 0);

		/* iat window: max_age back, max_skew forward, inclusive. */
		CHECK(id, check_jwt(secret, auth, "POST", body, iat + MAX_AGE, NULL) == 0);
		CHECK(id, check_jwt(secret, auth, "POST", body, iat + MAX_AGE + 1, &detail) ==
				  MASKD_EINVAL);
		CHECK(id, strcmp(detail, "jwt iat too old") == 0);
		CHECK(id, check_jwt(secret, auth, "POST", body, iat + 86400, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, auth, "POST", body, iat - MAX_SKEW, NULL) == 0);
		CHECK(id, check_jwt(secret, auth, "POST", body, iat - MAX_SKEW - 1, &detail) ==
				  MASKD_EINVAL);
		CHECK(id, strcmp(detail, "jwt iat in the future") == 0);
		CHECK(id, vonage_sig_check_jwt(secret, auth, "POST", body, blen, iat, 0, 0, NULL,
					       NULL) == 0);
		CHECK(id, vonage_sig_check_jwt(secret, auth, "POST", body, blen, iat + 1, 0, 0, NULL,
					       NULL) == MASKD_EINVAL);

		/* Tampered body: payload_hash no longer matches. */
		char *tampered = arena_printf(&a, "%s ", body);
		CHECK(id, check_jwt(secret, auth, "POST", tampered, iat, &detail) == MASKD_ECRYPTO);
		CHECK(id, strstr(detail, "payload_hash") != NULL);
		CHECK(id, check_jwt(secret, auth, "POST", NULL, iat, NULL) == MASKD_ECRYPTO);
		CHECK(id, vonage_sig_check_jwt(secret, auth, "POST", body, blen - 1, iat, MAX_AGE,
					       MAX_SKEW, NULL, NULL) == MASKD_ECRYPTO);
		/* GET (answer webhook, no body): payload_hash is not checked. */
		CHECK(id, vonage_sig_check_jwt(secret, auth, "GET", NULL, 0, iat, MAX_AGE, MAX_SKEW,
					       &out, NULL) == 0);
		CHECK(id, !out.payload_hash_checked);

		/* Wrong key, no key. */
		CHECK(id, check_jwt(wrong, auth, "POST", body, iat, NULL) == MASKD_ECRYPTO);
		CHECK(id, check_jwt("", auth, "POST", body, iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(NULL, auth, "POST", body, iat, NULL) == MASKD_EINVAL);

		/* Missing or mangled header. */
		CHECK(id, check_jwt(secret, NULL, "POST", body, iat, &detail) == MASKD_EINVAL);
		CHECK(id, strstr(detail, "Bearer") != NULL);
		CHECK(id, check_jwt(secret, tokens[t], "POST", body, iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, arena_printf(&a, "Basic %s", tokens[t]), "POST", body,
				    iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, arena_printf(&a, "Bearer%s", tokens[t]), "POST", body,
				    iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, arena_printf(&a, "bEARER  %s", tokens[t]), "POST", body,
				    iat, NULL) == 0);
		CHECK(id, check_jwt(secret, arena_printf(&a, "Bearer %s ", tokens[t]), "POST", body,
				    iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, arena_printf(&a, "Bearer %s=", tokens[t]), "POST", body,
				    iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, arena_printf(&a, "Bearer %s.x", tokens[t]), "POST", body,
				    iat, NULL) == MASKD_EINVAL);
		char *flipped = arena_printf(&a, "Bearer %s", tokens[t]);
		char *last = flipped + strlen(flipped) - 5;
		*last = *last == 'A' ? 'B' : 'A';
		CHECK(id, check_jwt(secret, flipped, "POST", body, iat, NULL) == MASKD_ECRYPTO);
		CHECK(id, check_jwt(secret, "Bearer ", "POST", body, iat, NULL) == MASKD_EINVAL);
		CHECK(id, check_jwt(secret, auth, NULL, body, iat, NULL) == MASKD_EINVAL);
	}
	free(payload_text);
	json_decref(payload);
	arena_free(&a);
}

static void test_vectors_vonage_jwt(void **state)
{
	json_t *cases = json_object_get(vectors, "vonage_jwt");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_vonage_jwt_case(c);
	print_message("[ vectors  ] %zu vonage_jwt cases checked\n", json_array_size(cases));
}

/* ------------------------------------------------------------ own-code tokens */

#define SECRET "vonageSignatureSecret0123456789abcdef"
#define NOW 1735787087
#define BODY "{\"status\":\"answered\"}"

/* Own code: the alg is pinned to HS256, whatever the token's signature is. */
static void test_alg_pinned(void **state)
{
	struct arena a = ARENA_INIT;
	const char *payload = arena_printf(&a, "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW,
					   sha256_hex(&a, BODY, strlen(BODY)));
	const char *detail;
	assert_int_equal(check_jwt(SECRET, bearer(&a, make_jwt(&a, "{\"alg\":\"HS256\"}", payload,
								 SECRET)),
				   "POST", BODY, NOW, NULL),
			 0);
	static const char *refused[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS384\"}",		      "{\"alg\":\"HS512\"}",
		"{\"alg\":\"ES256\"}",		      "{\"alg\":\"hs256\"}",
		"{\"alg\":\"HS256 \"}",		      "{\"typ\":\"JWT\"}",
		"{\"alg\":null}",		      "{\"alg\":256}",
		"{\"alg\":[\"HS256\"]}",	      "{\"alg\":\"HS256\",\"alg\":\"none\"}",
		"{\"alg\":\"none\",\"alg\":\"HS256\"}",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		/* Signed correctly with the secret (the RS256/HS256 confusion attack). */
		const char *jwt = make_jwt(&a, refused[i], payload, SECRET);
		if (check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, &detail) != MASKD_EINVAL)
			fail_msg("header %s accepted", refused[i]);
		assert_true(strcmp(detail, "jwt alg is not HS256") == 0 ||
			    strcmp(detail, "jwt header is not a JSON object") == 0);
	}
	/* alg none with the empty signature it calls for. */
	const char *none = arena_printf(&a, "%s.%s.", b64url_str(&a, "{\"alg\":\"none\"}"),
					b64url_str(&a, payload));
	assert_int_equal(check_jwt(SECRET, bearer(&a, none), "POST", BODY, NOW, NULL), MASKD_EINVAL);
	/* HS256 header, empty signature: a signature that does not match. */
	const char *empty = arena_printf(&a, "%s.%s.", b64url_str(&a, "{\"alg\":\"HS256\"}"),
					 b64url_str(&a, payload));
	assert_int_equal(check_jwt(SECRET, bearer(&a, empty), "POST", BODY, NOW, NULL),
			 MASKD_ECRYPTO);
	arena_free(&a);
}

/* Own code: payload_hash present, absent, mismatched, malformed. */
static void test_payload_hash(void **state)
{
	struct arena a = ARENA_INIT;
	const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *hash = sha256_hex(&a, BODY, strlen(BODY));
	struct vonage_jwt_claims out;
	const char *detail;

	/* Upper-case hex is the same hash. */
	char *upper = arena_strdup(&a, hash);
	for (char *p = upper; *p; p++)
		*p = (*p >= 'a' && *p <= 'f') ? (char)(*p - 32) : *p;
	const char *jwt = make_jwt(
		&a, hdr, arena_printf(&a, "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW, upper), SECRET);
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, NULL), 0);

	/* Absent: accepted, and the caller can see the body was not bound. */
	jwt = make_jwt(&a, hdr, arena_printf(&a, "{\"iat\":%d}", NOW), SECRET);
	assert_int_equal(vonage_sig_check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, strlen(BODY),
					      NOW, MAX_AGE, MAX_SKEW, &out, NULL),
			 0);
	assert_false(out.payload_hash_checked);
	assert_string_equal(out.jti, "");

	/* Hash of another body: a correctly signed token for a different request. */
	jwt = make_jwt(&a, hdr,
		       arena_printf(&a, "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW,
				    sha256_hex(&a, "{}", 2)),
		       SECRET);
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, &detail),
			 MASKD_ECRYPTO);
	assert_string_equal(detail, "body does not match jwt payload_hash");
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "POST", "{}", NOW, NULL), 0);
	/* Empty body: the hash of "". */
	jwt = make_jwt(&a, hdr,
		       arena_printf(&a, "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW,
				    sha256_hex(&a, "", 0)),
		       SECRET);
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "POST", NULL, NOW, NULL), 0);
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "DELETE", "", NOW, NULL), 0);

	static const char *bad[] = {
		"\"\"", "\"abc\"", "null", "42", "[]",
		"\"2c3f281766de91e5083cfe4d57e302d34a686142378e478c5968278bb603f07\"",
		"\"2c3f281766de91e5083cfe4d57e302d34a686142378e478c5968278bb603f0799\"",
		"\"zc3f281766de91e5083cfe4d57e302d34a686142378e478c5968278bb603f079\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jwt = make_jwt(&a, hdr, arena_printf(&a, "{\"iat\":%d,\"payload_hash\":%s}", NOW, bad[i]),
			       SECRET);
		if (check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, &detail) != MASKD_EINVAL)
			fail_msg("payload_hash %s accepted", bad[i]);
		assert_string_equal(detail, "jwt payload_hash is not hex SHA-256");
		/* ...and ignored for GET, where nothing is hashed. */
		assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "GET", NULL, NOW, NULL), 0);
	}
	arena_free(&a);
}

/* Own code: iat, exp and nbf. */
static void test_times(void **state)
{
	struct arena a = ARENA_INIT;
	const char *hdr = "{\"alg\":\"HS256\"}";
	static const struct {
		const char *payload;
		int want;
	} cases[] = {
		{"{\"iat\":1735787087}", 0},
		{"{}", MASKD_EINVAL},
		{"{\"iat\":\"1735787087\"}", MASKD_EINVAL},
		{"{\"iat\":1735787087.0}", MASKD_EINVAL},
		{"{\"iat\":null}", MASKD_EINVAL},
		{"{\"iat\":-9223372036854775808}", MASKD_EINVAL},
		{"{\"iat\":9223372036854775807}", MASKD_EINVAL},
		{"{\"iat\":1735787087,\"exp\":1735787088}", 0},
		{"{\"iat\":1735787087,\"exp\":1735787087}", 0}, /* within max_skew */
		{"{\"iat\":1735787087,\"exp\":1735787000}", MASKD_EINVAL},
		{"{\"iat\":1735787087,\"exp\":\"never\"}", MASKD_EINVAL},
		{"{\"iat\":1735787087,\"nbf\":1735787087}", 0},
		{"{\"iat\":1735787087,\"nbf\":1735787200}", MASKD_EINVAL},
		{"{\"iat\":1735787087,\"nbf\":true}", MASKD_EINVAL},
		{"{\"iat\":1735787087,\"iat\":1735787087}", MASKD_EINVAL}, /* duplicate key */
		{"[1735787087]", MASKD_EINVAL},
		{"\"iat\"", MASKD_EINVAL},
		{"not json", MASKD_EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *jwt = make_jwt(&a, hdr, cases[i].payload, SECRET);
		int rc = check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, NULL);
		if (rc != cases[i].want)
			fail_msg("payload %s: got %d, want %d", cases[i].payload, rc, cases[i].want);
	}
	/* Window arguments the caller got wrong. */
	const char *jwt = make_jwt(&a, hdr, "{\"iat\":1735787087}", SECRET);
	const char *auth = bearer(&a, jwt);
	size_t bl = strlen(BODY);
	assert_int_equal(vonage_sig_check_jwt(SECRET, auth, "POST", BODY, bl, NOW, -1, 0, NULL, NULL),
			 MASKD_EINVAL);
	assert_int_equal(vonage_sig_check_jwt(SECRET, auth, "POST", BODY, bl, NOW, 0, -1, NULL, NULL),
			 MASKD_EINVAL);
	assert_int_equal(vonage_sig_check_jwt(SECRET, auth, "POST", BODY, bl, NOW, INT64_MAX, 0,
					      NULL, NULL),
			 MASKD_EINVAL);
	assert_int_equal(vonage_sig_check_jwt(SECRET, auth, "POST", BODY, bl, INT64_MIN, 0, 0, NULL,
					      NULL),
			 MASKD_EINVAL);
	assert_int_equal(vonage_sig_check_jwt(SECRET, auth, "POST", NULL, 5, NOW, 0, 0, NULL, NULL),
			 MASKD_EINVAL);
	arena_free(&a);
}

/* Own code: token shapes and caps. */
static void test_token_shapes(void **state)
{
	struct arena a = ARENA_INIT;
	struct vonage_jwt_claims out;
	/* Long claims are not copied out (but do not fail the token). */
	char jti[VONAGE_CLAIM_MAX + 2];
	memset(jti, 'j', sizeof(jti) - 1);
	jti[sizeof(jti) - 1] = '\0';
	const char *jwt = make_jwt(&a, "{\"alg\":\"HS256\"}",
				   arena_printf(&a,
						"{\"iat\":%d,\"jti\":\"%s\",\"api_key\":\"%.*s\","
						"\"application_id\":7}",
						NOW, jti, VONAGE_CLAIM_MAX, jti),
				   SECRET);
	assert_int_equal(vonage_sig_check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, strlen(BODY),
					      NOW, MAX_AGE, MAX_SKEW, &out, NULL),
			 0);
	assert_string_equal(out.jti, "");
	assert_int_equal(strlen(out.api_key), VONAGE_CLAIM_MAX);
	assert_string_equal(out.application_id, "");

	/* Over the cap: refused before any parsing. */
	char *pad = arena_alloc(&a, VONAGE_JWT_MAX + 1);
	memset(pad, 'p', VONAGE_JWT_MAX);
	pad[VONAGE_JWT_MAX] = '\0';
	jwt = make_jwt(&a, "{\"alg\":\"HS256\"}", arena_printf(&a, "{\"iat\":%d,\"x\":\"%s\"}", NOW, pad),
		       SECRET);
	const char *detail;
	assert_int_equal(check_jwt(SECRET, bearer(&a, jwt), "POST", BODY, NOW, &detail), MASKD_EINVAL);
	assert_string_equal(detail, "jwt too long");

	static const char *bad[] = {
		"a.b", "a.b.c.d", ".b.c", "a..c", "a.b.c", "e30.e30.", "e3=.e30.x", "e30.e30.x y",
		"e30!.e30.x", "eyJhbGciOiJIUzI1NiJ9.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"eyJhbGciOiJIUzI1NiJ9A.e30.x", /* header length 4n+1 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = check_jwt(SECRET, bearer(&a, bad[i]), "POST", BODY, NOW, NULL);
		if (rc == 0)
			fail_msg("token %s accepted", bad[i]);
	}
	arena_free(&a);
}

/* ------------------------------------------------------------ vonage_sms_sig */

/* The vector's params (plus sig, first, when given, and one more field when
 * given) as Vonage would send them, parsed by form_parse. */
static void sms_form(struct arena *a, const char *id, json_t *params, const char *sig,
		     const char *extra_key, const char *extra_value, struct form *out)
{
	char *body = arena_strdup(a, "");
	if (sig != NULL)
		vectors_body_add(a, &body, "sig", sig);
	const char *key;
	json_t *val;
	json_object_foreach(params, key, val) {
		CHECK(id, json_is_string(val));
		vectors_body_add(a, &body, key, json_string_value(val));
	}
	if (extra_key != NULL)
		vectors_body_add(a, &body, extra_key, extra_value);
	CHECK(id, form_parse(a, body, strlen(body), out) == 0);
}

/* The file's string_to_sign under the named method, with OpenSSL directly. */
static void sms_digest(const char *alg, const char *secret, const char *sts, char out[129])
{
	uint8_t d[64];
	size_t dl = 0;
	if (strcmp(alg, "md5hash") == 0) {
		assert_int_equal(EVP_Q_digest(NULL, "MD5", NULL, sts, strlen(sts), d, &dl), 1);
	} else {
		const char *md = strcmp(alg, "md5hmac") == 0	? "MD5"
				 : strcmp(alg, "sha1hmac") == 0 ? "SHA1"
				 : strcmp(alg, "sha256hmac") == 0 ? "SHA256"
								  : "SHA512";
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, secret, strlen(secret),
					  (const unsigned char *)sts, strlen(sts), d, sizeof(d), &dl));
	}
	hex_encode(d, dl, out);
}

static void check_sms_case(const char *id, const char *alg_name, json_t *params,
			   const char *secret, const char *sts, const char *sig)
{
	struct arena a = ARENA_INIT;
	enum vonage_sms_sig_alg alg;
	CHECK(id, vonage_sms_sig_alg_parse(alg_name, &alg) == 0);
	const char *detail;

	/* The file is self-consistent: sig is the digest of string_to_sign. */
	if (sts != NULL) {
		char d[129];
		sms_digest(alg_name, secret, sts, d);
		CHECK(id, strcmp(d, sig) == 0);
	}
	const char *ts_text = json_string_value(json_object_get(params, "timestamp"));
	CHECK(id, ts_text != NULL);
	int64_t ts = strtoll(ts_text, NULL, 10);

	struct form f;
	sms_form(&a, id, params, sig, NULL, NULL, &f);
	char out[VONAGE_SMS_SIG_MAX + 1];
	CHECK(id, vonage_sms_sig_compute(alg, secret, &f, out) == 0);
	CHECK(id, strcmp(out, sig) == 0);
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts, 300, &detail) == 0);
	CHECK(id, strcmp(detail, "ok") == 0);
	/* Compared case-insensitively, as @vonage/sms does. */
	char *upper = arena_strdup(&a, sig);
	for (char *p = upper; *p; p++)
		*p = (*p >= 'a' && *p <= 'f') ? (char)(*p - 32) : *p;
	struct form fu;
	sms_form(&a, id, params, upper, NULL, NULL, &fu);
	CHECK(id, vonage_sms_sig_check(alg, secret, &fu, ts, 300, NULL) == 0);

	/* The freshness window (signed timestamp), both ways, inclusive. */
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts + 300, 300, NULL) == 0);
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts - 300, 300, NULL) == 0);
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts + 301, 300, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "window") != NULL);
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts - 301, 300, NULL) == MASKD_EINVAL);
	CHECK(id, vonage_sms_sig_check(alg, secret, &f, ts, -1, NULL) == MASKD_EINVAL);

	/* Wrong key, other method, no key. */
	const char *wrong = arena_printf(&a, "%sx", secret);
	CHECK(id, vonage_sms_sig_check(alg, wrong, &f, ts, 300, &detail) == MASKD_ECRYPTO);
	CHECK(id, strstr(detail, "sig") != NULL);
	for (int other = VONAGE_SMS_MD5HASH; other <= VONAGE_SMS_SHA512HMAC; other++)
		if (other != (int)alg)
			CHECK(id, vonage_sms_sig_check(other, secret, &f, ts, 300, NULL) != 0);
	CHECK(id, vonage_sms_sig_check(alg, "", &f, ts, 300, NULL) == MASKD_EINVAL);
	CHECK(id, vonage_sms_sig_check(alg, NULL, &f, ts, 300, NULL) == MASKD_EINVAL);

	/* Tampered fields: extra, changed, dropped. */
	struct form g;
	sms_form(&a, id, params, sig, "extra", "1", &g);
	CHECK(id, vonage_sms_sig_check(alg, secret, &g, ts, 300, NULL) == MASKD_ECRYPTO);
	struct form_field *ch = arena_alloc(&a, f.n * sizeof(*ch));
	memcpy(ch, f.fields, f.n * sizeof(*ch));
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(ch[i].key, "text") == 0)
			ch[i].value = arena_printf(&a, "%s!", ch[i].value);
	struct form changed = {ch, f.n};
	CHECK(id, vonage_sms_sig_check(alg, secret, &changed, ts, 300, NULL) == MASKD_ECRYPTO);
	/* '&' and '=' in values are signed as '_': swapping them is not tampering. */
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(ch[i].key, "text") == 0)
			ch[i].value = "Hello _ welcome_yes";
	if (strcmp(json_string_value(json_object_get(params, "text")), "Hello & welcome=yes") == 0)
		CHECK(id, vonage_sms_sig_check(alg, secret, &changed, ts, 300, NULL) == 0);
	struct form_field *fw = arena_alloc(&a, f.n * sizeof(*fw));
	size_t nf = 0;
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(f.fields[i].key, "msisdn") != 0)
			fw[nf++] = f.fields[i];
	CHECK(id, nf == f.n - 1);
	struct form fewer = {fw, nf};
	CHECK(id, vonage_sms_sig_check(alg, secret, &fewer, ts, 300, NULL) == MASKD_ECRYPTO);

	/* Missing or repeated sig, repeated key, missing timestamp. */
	struct form nosig;
	sms_form(&a, id, params, NULL, NULL, NULL, &nosig);
	CHECK(id, vonage_sms_sig_check(alg, secret, &nosig, ts, 300, &detail) == MASKD_EINVAL);
	CHECK(id, strcmp(detail, "missing sig") == 0);
	struct form emptysig;
	sms_form(&a, id, params, "", NULL, NULL, &emptysig);
	CHECK(id, vonage_sms_sig_check(alg, secret, &emptysig, ts, 300, NULL) == MASKD_EINVAL);
	struct form twosig;
	sms_form(&a, id, params, sig, "sig", sig, &twosig);
	CHECK(id, vonage_sms_sig_check(alg, secret, &twosig, ts, 300, NULL) == MASKD_EINVAL);
	struct form rep;
	sms_form(&a, id, params, sig, "to", "447700900001", &rep);
	CHECK(id, vonage_sms_sig_check(alg, secret, &rep, ts, 300, &detail) == MASKD_EINVAL);
	CHECK(id, vonage_sms_sig_compute(alg, secret, &rep, out) == MASKD_EINVAL);
	struct form_field *nt = arena_alloc(&a, f.n * sizeof(*nt));
	size_t m = 0;
	for (size_t i = 0; i < f.n; i++)
		if (strcmp(f.fields[i].key, "timestamp") != 0)
			nt[m++] = f.fields[i];
	struct form no_ts = {nt, m};
	CHECK(id, vonage_sms_sig_check(alg, secret, &no_ts, ts, 300, &detail) == MASKD_EINVAL);
	CHECK(id, strstr(detail, "timestamp") != NULL);
	CHECK(id, vonage_sms_sig_check(alg, secret, NULL, ts, 300, NULL) == MASKD_EINVAL);
	/* A sig that is not hex, or of another length. */
	struct form nothex;
	sms_form(&a, id, params, arena_printf(&a, "%.*sg", (int)strlen(sig) - 1, sig), NULL, NULL,
		 &nothex);
	CHECK(id, vonage_sms_sig_check(alg, secret, &nothex, ts, 300, NULL) == MASKD_ECRYPTO);
	struct form longer;
	sms_form(&a, id, params, arena_printf(&a, "%s0", sig), NULL, NULL, &longer);
	CHECK(id, vonage_sms_sig_check(alg, secret, &longer, ts, 300, NULL) == MASKD_ECRYPTO);
	arena_free(&a);
}

static void test_vectors_vonage_sms_sig(void **state)
{
	json_t *cases = json_object_get(vectors, "vonage_sms_sig");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		const char *id = jstr(c, "id");
		CHECK("vonage_sms_sig case", id != NULL);
		print_message("[ vector   ] vonage_sms_sig %s\n", id);
		CHECK(id, json_is_true(json_object_get(c, "vonage_sms_verifySignature")));
		const char *alg = jstr(c, "algorithm_name"), *secret = jstr(c, "secret");
		const char *sts = jstr(c, "string_to_sign"), *sig = jstr(c, "sig");
		json_t *params = json_object_get(c, "params");
		CHECK(id, alg != NULL && secret != NULL && sts != NULL && sig != NULL);
		CHECK(id, json_is_object(params));
		check_sms_case(id, alg, params, secret, sts, sig);
	}
	print_message("[ vectors  ] %zu vonage_sms_sig cases checked\n", json_array_size(cases));
}

/* md5hmac and sha512hmac for the file's first params/secret: computed in a
 * development run and accepted by @vonage/sms 1.21.0 verifySignature (in either
 * case); the file's summary counts five SMS cases but carries three. */
static void test_anchor_sms_other_methods(void **state)
{
	json_t *c = json_array_get(json_object_get(vectors, "vonage_sms_sig"), 0);
	assert_non_null(c);
	json_t *params = json_object_get(c, "params");
	const char *secret = jstr(c, "secret");
	check_sms_case("anchor-md5hmac", "md5hmac", params, secret, NULL,
		       "775500891518d5fd7bde154523f8461e");
	check_sms_case("anchor-sha512hmac", "sha512hmac", params, secret, NULL,
		       "deed531914680971958216a84bbc67d78449aa8f6ded1ef4494aef30cc620613fa5e2179dd6d"
		       "19c094fe93b4e5ff37e67f9aff198b2a70e6c3fc9e776b187932");
}

static void test_sms_alg_parse(void **state)
{
	enum vonage_sms_sig_alg alg;
	assert_int_equal(vonage_sms_sig_alg_parse("MD5HASH", &alg), 0);
	assert_int_equal(alg, VONAGE_SMS_MD5HASH);
	assert_int_equal(vonage_sms_sig_alg_parse("sha512hmac", &alg), 0);
	assert_int_equal(alg, VONAGE_SMS_SHA512HMAC);
	assert_int_equal(vonage_sms_sig_alg_parse("sha256", &alg), MASKD_EINVAL);
	assert_int_equal(vonage_sms_sig_alg_parse("", &alg), MASKD_EINVAL);
	assert_int_equal(vonage_sms_sig_alg_parse(NULL, &alg), MASKD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_vonage_jwt),
		cmocka_unit_test(test_alg_pinned),
		cmocka_unit_test(test_payload_hash),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_token_shapes),
		cmocka_unit_test(test_vectors_vonage_sms_sig),
		cmocka_unit_test(test_anchor_sms_other_methods),
		cmocka_unit_test(test_sms_alg_parse),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
