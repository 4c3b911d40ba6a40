/* SPDX-License-Identifier: MIT */
/* test_twilio_sig.c - Twilio / SignalWire signature checks against every "twilio"
 * and "signalwire_scheme_a" case of tests/data/signature_vectors.json
 * (computed by the carriers' own libraries), plus the anchor values of the
 * official libraries' test suites that the file does not carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hooks/twilio_sig.h"
#include "util/arena.h"
#include "util/crypto.h"
#include "util/form.h"
#include "vectors.h"


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

/* Turns a vector's "params" (string or array of strings per key) into a
 * form-urlencoded body in key order, then parses it with form_parse, as the
 * server would. Values given as arrays become repeated keys in array order. */
static void params_to_form(struct arena *a, const char *id, json_t *params, const char *extra_key,
			   const char *extra_value, struct form *out, const char **body_out)
{
	char *body = arena_strdup(a, "");
	const char *key;
	json_t *val;
	json_object_foreach(params, key, val) {
		if (json_is_string(val)) {
			vectors_body_add(a, &body, key, json_string_value(val));
		} else if (json_is_array(val)) {
			size_t i;
			json_t *item;
			json_array_foreach(val, i, item) {
				CHECK(id, json_is_string(item));
				vectors_body_add(a, &body, key, json_string_value(item));
			}
		} else {
			fail_msg("%s: param %s is neither string nor array", id, key);
		}
	}
	if (extra_key != NULL)
		vectors_body_add(a, &body, extra_key, extra_value);
	CHECK(id, form_parse(a, body, strlen(body), out) == 0);
	if (body_out != NULL)
		*body_out = body;
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool jtrue(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* ------------------------------------------------------------ the vector file */

static void check_twilio_case(json_t *c)
{
	const char *id = jstr(c, "id");
	const char *token = jstr(c, "token");
	const char *url = jstr(c, "url");
	const char *signed_url = jstr(c, "signed_url");
	const char *sig = jstr(c, "signature");
	const char *sts = jstr(c, "string_to_sign");
	json_t *params = json_object_get(c, "params");
	json_t *sw = json_object_get(c, "signalwire_compat");
	CHECK("twilio case", id != NULL);
	CHECK(id, token != NULL && url != NULL && signed_url != NULL && sig != NULL && sts != NULL);
	CHECK(id, json_is_object(params));
	print_message("[ vector   ] twilio %s\n", id);

	struct arena a = ARENA_INIT;
	struct form form;
	const char *form_body;
	params_to_form(&a, id, params, NULL, NULL, &form, &form_body);
	const char *body = jstr(c, "body");
	bool json_body = body != NULL;
	if (!json_body)
		body = form_body;
	size_t body_len = strlen(body);

	/* The file is self-consistent: the signature is the HMAC of string_to_sign. */
	uint8_t mac[20];
	char b64[29];
	hmac_sha1(token, strlen(token), sts, strlen(sts), mac);
	base64_encode(mac, sizeof(mac), b64);
	CHECK(id, strcmp(b64, sig) == 0);
	if (jstr(c, "known_expected") != NULL)
		CHECK(id, strcmp(jstr(c, "known_expected"), sig) == 0);

	/* We build the same string the library signed, for the URL it signed. */
	char out[29];
	twilio_sig_compute(TWILIO_SIG_TWILIO, token, signed_url, &form, out);
	CHECK(id, strcmp(out, sig) == 0);
	if (json_body && jstr(c, "body_sha256_hex") != NULL) {
		uint8_t d[32];
		char hex[65];
		sha256(body, body_len, d);
		hex_encode(d, sizeof(d), hex);
		CHECK(id, strcmp(hex, jstr(c, "body_sha256_hex")) == 0);
	}

	/* Accepted for the URL the server reconstructs, as the library accepted it. */
	CHECK(id, jtrue(c, "node_validateRequest"));
	CHECK(id, twilio_sig_check(TWILIO_SIG_TWILIO, token, url, &form, body, body_len, sig));

	/* SignalWire's compatibility library, same key: its own signature and Twilio's. */
	CHECK(id, json_is_object(sw));
	const char *sw_sig = jstr(sw, "signature");
	CHECK(id, sw_sig != NULL);
	char sw_out[29];
	twilio_sig_compute(TWILIO_SIG_SIGNALWIRE, token, signed_url, &form, sw_out);
	CHECK(id, strcmp(sw_out, sw_sig) == 0);
	CHECK(id, twilio_sig_check(TWILIO_SIG_SIGNALWIRE, token, url, &form, body, body_len, sw_sig));
	if (jtrue(sw, "same_as_twilio"))
		CHECK(id, strcmp(sw_sig, sig) == 0);
	if (jtrue(sw, "validateRequest_accepts_twilio_signature"))
		CHECK(id, twilio_sig_check(TWILIO_SIG_SIGNALWIRE, token, url, &form, body, body_len,
					   sig));

	/* Negative controls. */
	for (int fl = TWILIO_SIG_TWILIO; fl <= TWILIO_SIG_SIGNALWIRE; fl++) {
		const char *s = fl == TWILIO_SIG_TWILIO ? sig : sw_sig;
		char wrong_key[128];
		snprintf(wrong_key, sizeof(wrong_key), "%sx", token);
		CHECK(id, !twilio_sig_check(fl, wrong_key, url, &form, body, body_len, s));
		CHECK(id, !twilio_sig_check(fl, token, url, &form, body, body_len, NULL));
		CHECK(id, !twilio_sig_check(fl, token, url, &form, body, body_len, ""));
		CHECK(id, !twilio_sig_check(fl, "", url, &form, body, body_len, s));

		char flipped[29];
		memcpy(flipped, s, sizeof(flipped));
		flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
		CHECK(id, !twilio_sig_check(fl, token, url, &form, body, body_len, flipped));
		char shorter[29];
		memcpy(shorter, s, sizeof(shorter));
		shorter[27] = '\0';
		CHECK(id, !twilio_sig_check(fl, token, url, &form, body, body_len, shorter));
		char longer[31];
		snprintf(longer, sizeof(longer), "%s=", s);
		CHECK(id, !twilio_sig_check(fl, token, url, &form, body, body_len, longer));

		char *other_url = arena_printf(&a, "%sx", url);
		CHECK(id, !twilio_sig_check(fl, token, other_url, &form, body, body_len, s));

		if (json_body) {
			/* bodySHA256: the signature still matches the URL, the body no longer does. */
			char *tampered = arena_printf(&a, "%s ", body);
			CHECK(id, !twilio_sig_check(fl, token, url, &form, tampered, strlen(tampered),
						    s));
			CHECK(id, !twilio_sig_check(fl, token, url, &form, NULL, 0, s));
			continue;
		}
		CHECK(id, jtrue(c, "negative_control_tampered_param_rejected"));
		struct form extra;
		params_to_form(&a, id, params, "Tampered", "1", &extra, NULL);
		CHECK(id, !twilio_sig_check(fl, token, url, &extra, body, body_len, s));
		if (form.n > 0) {
			struct form_field *f = arena_alloc(&a, form.n * sizeof(*f));
			memcpy(f, form.fields, form.n * sizeof(*f));
			f[0].value = arena_printf(&a, "%s1", f[0].value);
			struct form changed = {f, form.n};
			CHECK(id, !twilio_sig_check(fl, token, url, &changed, body, body_len, s));
			struct form fewer = {form.fields, form.n - 1};
			CHECK(id, !twilio_sig_check(fl, token, url, &fewer, body, body_len, s));
		}
	}
	arena_free(&a);
}

static void test_vectors_twilio(void **state)
{
	json_t *cases = json_object_get(vectors, "twilio");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_twilio_case(c);
	print_message("[ vectors  ] %zu twilio cases checked\n", json_array_size(cases));
}

static void test_vectors_signalwire_scheme_a(void **state)
{
	json_t *cases = json_object_get(vectors, "signalwire_scheme_a");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	struct form none = {NULL, 0};
	json_array_foreach(cases, i, c) {
		const char *id = jstr(c, "id");
		const char *key = jstr(c, "key");
		const char *url = jstr(c, "url");
		const char *body = jstr(c, "body");
		const char *sig = jstr(c, "signature_hex_sha1");
		CHECK("scheme_a case", id != NULL);
		CHECK(id, key != NULL && url != NULL && body != NULL && sig != NULL);
		print_message("[ vector   ] signalwire_scheme_a %s\n", id);
		size_t blen = strlen(body);
		CHECK(id, strlen(sig) == 40);

		CHECK(id, twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, url, &none, body, blen, sig));
		/* Twilio has no scheme A. */
		CHECK(id, !twilio_sig_check(TWILIO_SIG_TWILIO, key, url, &none, body, blen, sig));

		char upper[41];
		for (size_t k = 0; k < 41; k++)
			upper[k] = (sig[k] >= 'a' && sig[k] <= 'f') ? (char)(sig[k] - 32) : sig[k];
		/* The libraries compare the hex strings, lowercase. */
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, url, &none, body, blen, upper));
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, url, &none, body, blen - 1, sig));
		char wrong_key[128];
		snprintf(wrong_key, sizeof(wrong_key), "%sx", key);
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, wrong_key, url, &none, body, blen,
					    sig));
		char other_url[512];
		snprintf(other_url, sizeof(other_url), "%s/", url);
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, other_url, &none, body, blen,
					    sig));
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, url, &none, body, blen, NULL));
		CHECK(id, !twilio_sig_check(TWILIO_SIG_SIGNALWIRE, key, url, &none, body, blen, ""));

		/* The SHA-256 variant of the file is the same message under HMAC-SHA256. */
		const char *v256 = jstr(c, "sha256_variant_hex");
		if (v256 != NULL) {
			size_t ul = strlen(url);
			char msg[4096];
			CHECK(id, ul + blen < sizeof(msg));
			memcpy(msg, url, ul);
			memcpy(msg + ul, body, blen);
			uint8_t mac[32];
			char hex[65];
			hmac_sha256(key, strlen(key), msg, ul + blen, mac);
			hex_encode(mac, sizeof(mac), hex);
			CHECK(id, strcmp(hex, v256) == 0);
		}
	}
	print_message("[ vectors  ] %zu signalwire_scheme_a cases checked\n",
		      json_array_size(cases));
}

/* ------------------------------------------------------------ library anchors */

/* From twilio-python/-node/-ruby test suites (PROVIDERS.md §3.1): token 12345. */
#define ANCHOR_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define ANCHOR_BODY                                                                              \
	"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%"   \
	"2B18005551212"

static void anchor_form(struct arena *a, const char *body, struct form *f)
{
	assert_int_equal(form_parse(a, body, strlen(body), f), 0);
}

static void test_anchor_ports(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	anchor_form(&a, ANCHOR_BODY, &f);
	const char *b = ANCHOR_BODY;
	size_t bl = strlen(b);
	for (int fl = TWILIO_SIG_TWILIO; fl <= TWILIO_SIG_SIGNALWIRE; fl++) {
		/* as given */
		assert_true(twilio_sig_check(fl, "12345", ANCHOR_URL, &f, b, bl,
					     "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
		/* https, no port: signed with :443 */
		assert_true(twilio_sig_check(fl, "12345", ANCHOR_URL, &f, b, bl,
					     "kvajT1Ptam85bY51eRf/AJRuM3w="));
		/* https:1234 received, signed without the port */
		assert_true(twilio_sig_check(fl, "12345",
					     "https://mycompany.com:1234/myapp.php?foo=1&bar=2", &f,
					     b, bl, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
		/* http:1234 received and signed with the port */
		assert_true(twilio_sig_check(fl, "12345",
					     "http://mycompany.com:1234/myapp.php?foo=1&bar=2", &f,
					     b, bl, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
		/* http, no port: signed with :80 */
		assert_true(twilio_sig_check(fl, "12345",
					     "http://mycompany.com/myapp.php?foo=1&bar=2", &f, b, bl,
					     "0ZXoZLH/DfblKGATFgpif+LLRf4="));
		/* http signature for the https URL: scheme is not a variant */
		assert_false(twilio_sig_check(fl, "12345", ANCHOR_URL, &f, b, bl,
					      "0ZXoZLH/DfblKGATFgpif+LLRf4="));
		/* a port is never swapped for another one */
		assert_false(twilio_sig_check(fl, "12345",
					      "http://mycompany.com:1235/myapp.php?foo=1&bar=2", &f,
					      b, bl, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
		/* :443 on an http URL is not a default port to add */
		assert_false(twilio_sig_check(fl, "12345",
					      "http://mycompany.com/myapp.php?foo=1&bar=2", &f, b, bl,
					      "kvajT1Ptam85bY51eRf/AJRuM3w="));
	}
	arena_free(&a);
}

static void test_anchor_repeated_keys(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	const char *b = "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
	anchor_form(&a, b, &f);
	size_t bl = strlen(b);
	char out[29];
	twilio_sig_compute(TWILIO_SIG_TWILIO, "12345", ANCHOR_URL, &f, out);
	assert_string_equal(out, "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
	twilio_sig_compute(TWILIO_SIG_SIGNALWIRE, "12345", ANCHOR_URL, &f, out);
	assert_string_equal(out, "eMV0TTCyejiqoUSkV7IwWuk0CRc=");
	assert_true(twilio_sig_check(TWILIO_SIG_TWILIO, "12345", ANCHOR_URL, &f, b, bl,
				     "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
	assert_true(twilio_sig_check(TWILIO_SIG_SIGNALWIRE, "12345", ANCHOR_URL, &f, b, bl,
				     "eMV0TTCyejiqoUSkV7IwWuk0CRc="));
	/* Each flavour rejects the other's ordering. */
	assert_false(twilio_sig_check(TWILIO_SIG_TWILIO, "12345", ANCHOR_URL, &f, b, bl,
				      "eMV0TTCyejiqoUSkV7IwWuk0CRc="));
	assert_false(twilio_sig_check(TWILIO_SIG_SIGNALWIRE, "12345", ANCHOR_URL, &f, b, bl,
				      "IK+Dwps556ElfBT0I3Rgjkr1wJU="));

	/* Twilio's result does not depend on the order the values came in. */
	struct form g;
	anchor_form(&a, "Digits=1234&SidAccount=AC123&Digits=5678&Sid=CA123", &g);
	twilio_sig_compute(TWILIO_SIG_TWILIO, "12345", ANCHOR_URL, &g, out);
	assert_string_equal(out, "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
	arena_free(&a);
}

static void test_body_sha256(void **state)
{
	struct arena a = ARENA_INIT;
	struct form none = {NULL, 0};
	/* Empty JSON body: the hash of "" and a signature over the URL alone. */
	const char *url = "https://h.example/cb?bodySHA256="
			  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	char sig[29];
	twilio_sig_compute(TWILIO_SIG_TWILIO, "tok", url, &none, sig);
	for (int fl = TWILIO_SIG_TWILIO; fl <= TWILIO_SIG_SIGNALWIRE; fl++) {
		assert_true(twilio_sig_check(fl, "tok", url, &none, NULL, 0, sig));
		assert_true(twilio_sig_check(fl, "tok", url, &none, "", 0, sig));
		assert_false(twilio_sig_check(fl, "tok", url, &none, "{}", 2, sig));
		/* Form fields are ignored when the URL carries bodySHA256. */
		struct form f;
		anchor_form(&a, "a=1", &f);
		assert_true(twilio_sig_check(fl, "tok", url, &f, "", 0, sig));
	}
	/* Upper-case hex in the URL does not match (the libraries compare strings). */
	const char *upper = "https://h.example/cb?bodySHA256="
			    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	twilio_sig_compute(TWILIO_SIG_TWILIO, "tok", upper, &none, sig);
	assert_false(twilio_sig_check(TWILIO_SIG_TWILIO, "tok", upper, &none, "", 0, sig));
	/* An empty bodySHA256 value never matches a hash. */
	const char *empty = "https://h.example/cb?x=1&bodySHA256=&y=2";
	twilio_sig_compute(TWILIO_SIG_TWILIO, "tok", empty, &none, sig);
	assert_false(twilio_sig_check(TWILIO_SIG_TWILIO, "tok", empty, &none, "", 0, sig));
	/* A parameter that merely starts with the name is not it. */
	const char *lookalike = "https://h.example/cb?bodySHA2560=x";
	twilio_sig_compute(TWILIO_SIG_TWILIO, "tok", lookalike, &none, sig);
	assert_true(twilio_sig_check(TWILIO_SIG_TWILIO, "tok", lookalike, &none, "", 0, sig));
	arena_free(&a);
}

static void test_url_shapes(void **state)
{
	struct form none = {NULL, 0};
	char sig[29];
	static const struct {
		const char *received;
		const char *signed_as;
	} cases[] = {
		{"https://u:p@h.example/x?a=1", "https://u:p@h.example:443/x?a=1"},
		{"https://u:p@h.example:8443/x", "https://u:p@h.example/x"},
		{"https://[2001:db8::1]/x", "https://[2001:db8::1]:443/x"},
		{"http://[2001:db8::1]:8080/x", "http://[2001:db8::1]/x"},
		{"https://h.example?a=1", "https://h.example:443?a=1"},
		{"HTTPS://h.example/", "HTTPS://h.example:443/"},
		{"https://h.example", "https://h.example:443"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		twilio_sig_compute(TWILIO_SIG_TWILIO, "k", cases[i].signed_as, &none, sig);
		if (!twilio_sig_check(TWILIO_SIG_TWILIO, "k", cases[i].received, &none, NULL, 0, sig))
			fail_msg("%s signed as %s not accepted", cases[i].received,
				 cases[i].signed_as);
	}
	/* Not a URL: only the string as given. */
	twilio_sig_compute(TWILIO_SIG_TWILIO, "k", "/relative?a=1", &none, sig);
	assert_true(twilio_sig_check(TWILIO_SIG_TWILIO, "k", "/relative?a=1", &none, NULL, 0, sig));
	/* The URL is never re-encoded: %20 and a space are different URLs. */
	twilio_sig_compute(TWILIO_SIG_TWILIO, "k", "https://h.example/a?s=s%201", &none, sig);
	assert_false(
		twilio_sig_check(TWILIO_SIG_TWILIO, "k", "https://h.example/a?s=s 1", &none, NULL, 0, sig));
	assert_false(
		twilio_sig_check(TWILIO_SIG_TWILIO, "k", "https://h.example/a?s=s+1", &none, NULL, 0, sig));
}

static void test_sorting(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	/* Bytewise: uppercase before lowercase, "A" before "AB"; empty values keep their key. */
	anchor_form(&a, "b=2&a=1&B=3&AB=&A=0", &f);
	char out[29], want[29];
	uint8_t mac[20];
	const char *msg = "https://h/xA0ABB3a1b2";
	hmac_sha1("k", 1, msg, strlen(msg), mac);
	base64_encode(mac, sizeof(mac), want);
	twilio_sig_compute(TWILIO_SIG_TWILIO, "k", "https://h/x", &f, out);
	assert_string_equal(out, want);
	twilio_sig_compute(TWILIO_SIG_SIGNALWIRE, "k", "https://h/x", &f, out);
	assert_string_equal(out, want);

	/* More fields than fit the on-stack sort buffer. */
	char *body = arena_strdup(&a, "");
	for (int i = 199; i >= 0; i--)
		body = arena_printf(&a, "%sk%03d=v&", body, i);
	anchor_form(&a, body, &f);
	assert_int_equal(f.n, 200);
	char *m = arena_strdup(&a, "https://h/x");
	for (int i = 0; i < 200; i++)
		m = arena_printf(&a, "%sk%03dv", m, i);
	hmac_sha1("k", 1, m, strlen(m), mac);
	base64_encode(mac, sizeof(mac), want);
	twilio_sig_compute(TWILIO_SIG_TWILIO, "k", "https://h/x", &f, out);
	assert_string_equal(out, want);
	assert_true(twilio_sig_check(TWILIO_SIG_SIGNALWIRE, "k", "https://h/x", &f, NULL, 0, want));
	arena_free(&a);
}

static void test_missing_inputs(void **state)
{
	struct form none = {NULL, 0};
	char sig[29];
	/* A key that was never configured validates nothing, not even its own signature. */
	twilio_sig_compute(TWILIO_SIG_TWILIO, "", "https://h/x", &none, sig);
	for (int fl = TWILIO_SIG_TWILIO; fl <= TWILIO_SIG_SIGNALWIRE; fl++) {
		assert_false(twilio_sig_check(fl, "", "https://h/x", &none, NULL, 0, sig));
		assert_false(twilio_sig_check(fl, NULL, "https://h/x", &none, NULL, 0, sig));
		assert_false(twilio_sig_check(fl, "k", NULL, &none, NULL, 0, sig));
	}
	uint8_t mac[20];
	char hex[41];
	hmac_sha1("", 0, "https://h/x", 11, mac);
	hex_encode(mac, sizeof(mac), hex);
	assert_false(twilio_sig_check(TWILIO_SIG_SIGNALWIRE, "", "https://h/x", &none, NULL, 0, hex));
	/* NULL params is an empty form. */
	twilio_sig_compute(TWILIO_SIG_TWILIO, "k", "https://h/x", NULL, sig);
	assert_true(twilio_sig_check(TWILIO_SIG_TWILIO, "k", "https://h/x", NULL, NULL, 0, sig));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_twilio),
		cmocka_unit_test(test_vectors_signalwire_scheme_a),
		cmocka_unit_test(test_anchor_ports),
		cmocka_unit_test(test_anchor_repeated_keys),
		cmocka_unit_test(test_body_sha256),
		cmocka_unit_test(test_url_shapes),
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_missing_inputs),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
