/* SPDX-License-Identifier: MIT */
/* test_plivo_sig.c - Plivo V2/V3 and Vobiz V2/V3 signature checks against every
 * "plivo_v3", "plivo_v2", "plivo_v1_legacy" and "vobiz" case of
 * tests/data/signature_vectors.json, plus anchors computed with plivo (npm)
 * 4.79.0's own construct_*_url/get_signature_v3 and accepted by its
 * validateV3Signature/validateSignature for shapes the file does not carry. */
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

#include "hooks/plivo_sig.h"
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

/* A vector's "params" object as the form-urlencoded body Plivo would send, parsed
 * by form_parse as the server parses it; *encoded gets the body. */
static void params_to_form(struct arena *a, const char *id, json_t *params, struct form *out,
			   const char **encoded)
{
	char *body = arena_strdup(a, "");
	const char *key;
	json_t *val;
	json_object_foreach(params, key, val) {
		CHECK(id, json_is_string(val));
		vectors_body_add(a, &body, key, json_string_value(val));
	}
	CHECK(id, form_parse(a, body, strlen(body), out) == 0);
	if (encoded != NULL)
		*encoded = body;
}

static void form_of(struct arena *a, const char *body, struct form *f)
{
	assert_int_equal(form_parse(a, body, strlen(body), f), 0);
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool jtrue(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static void b64_hmac256(const char *key, const char *msg, size_t len, char out[45])
{
	uint8_t mac[32];
	hmac_sha256(key, strlen(key), msg, len, mac);
	base64_encode(mac, sizeof(mac), out);
}

/* plivo-python's second UTF-8 pass, written independently of plivo_sig.c. */
static char *utf8_again(struct arena *a, const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *out = arena_alloc(a, 2 * n + 1);
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
	*len = o;
	return out;
}

/* ------------------------------------------------------------ plivo_v3 */

/* Every way sig must stop matching. base_only: sig is a Vobiz-docs V3 signature,
 * which covers the base URL and the nonce only (query, method and fields are free). */
static void check_v3_negatives(struct arena *a, const char *id, const char *method,
			       const char *url, const struct form *form, const char *nonce,
			       const char *token, const char *sig, bool base_only)
{
	/* When Plivo's string is just base "." nonce (no query, no fields), the same
	 * signature is also a Vobiz-docs one, and Vobiz then lets query and fields vary. */
	bool plain = false;
	if (url != NULL && method != NULL) {
		size_t len;
		const char *q = strchr(url, '?');
		char *base = q != NULL ? arena_strndup(a, url, (size_t)(q - url)) : (char *)url;
		char *docs = plivo_sig_v3_message("POST", base, NULL, nonce, &len);
		char *plivo = plivo_sig_v3_message(method, url, form, nonce, &len);
		plain = docs != NULL && plivo != NULL && strcmp(docs, plivo) == 0;
		free(docs);
		free(plivo);
	}
	for (int fl = PLIVO_SIG_PLIVO; fl <= PLIVO_SIG_VOBIZ; fl++) {
		bool fields_free = base_only || (plain && fl == PLIVO_SIG_VOBIZ);
		/* negative_control_wrong_nonce_rejected */
		char *nonce2 = arena_printf(a, "%s", nonce);
		nonce2[0] = nonce2[0] == '9' ? '8' : '9';
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce2, sig));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, NULL, sig));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, "", sig));
		/* wrong key, missing key */
		char *token2 = arena_printf(a, "%sx", token);
		CHECK(id, !plivo_sig_v3_check(fl, token2, method, url, form, nonce, sig));
		CHECK(id, !plivo_sig_v3_check(fl, "", method, url, form, nonce, sig));
		CHECK(id, !plivo_sig_v3_check(fl, NULL, method, url, form, nonce, sig));
		/* missing or mangled signature */
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce, NULL));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce, ""));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce, ","));
		char *flipped = arena_printf(a, "%s", sig);
		flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce, flipped));
		/* the libraries split on ',' and compare whole values: no trimming */
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce,
					      arena_printf(a, "bogus, %s", sig)));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, form, nonce,
					      arena_printf(a, "%s ", sig)));
		/* tampered URL: path, port, scheme, query */
		const char *q = strchr(url, '?');
		CHECK(id, !plivo_sig_v3_check(fl, token, method,
					      q != NULL ? arena_printf(a, "%.*sx%s", (int)(q - url),
								       url, q)
							: arena_printf(a, "%sx", url),
					      form, nonce, sig));
		if (strncmp(url, "https://", 8) == 0) {
			CHECK(id, !plivo_sig_v3_check(fl, token, method,
						      arena_printf(a, "http://%s", url + 8), form, nonce,
						      sig));
			const char *slash = strchr(url + 8, '/');
			CHECK(id, slash != NULL);
			CHECK(id, !plivo_sig_v3_check(
					  fl, token, method,
					  arena_printf(a, "%.*s:443%s", (int)(slash - url), url, slash),
					  form, nonce, sig));
		}
		CHECK(id, !plivo_sig_v3_check(fl, token, "PUT", url, form, nonce, sig));
		CHECK(id, !plivo_sig_v3_check(fl, token, NULL, url, form, nonce, sig));
		CHECK(id, !plivo_sig_v3_check(fl, token, method, NULL, form, nonce, sig));
		if (fields_free)
			continue;
		CHECK(id, !plivo_sig_v3_check(fl, token, method,
					      arena_printf(a, "%s%sextra=1", url, q ? "&" : "?"), form,
					      nonce, sig));
		if (form == NULL || form->n == 0)
			continue; /* GET and POST sign the same string when there are no fields */
		/* the other method */
		CHECK(id, !plivo_sig_v3_check(fl, token, strcmp(method, "GET") == 0 ? "POST" : "GET",
					      url, form, nonce, sig));
		/* tampered body: an extra field, a changed value, a dropped field */
		struct form_field *f = arena_alloc(a, (form->n + 1) * sizeof(*f));
		memcpy(f, form->fields, form->n * sizeof(*f));
		f[form->n].key = "Tampered";
		f[form->n].value = "1";
		struct form extra = {f, form->n + 1};
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, &extra, nonce, sig));
		struct form_field *g = arena_alloc(a, form->n * sizeof(*g));
		memcpy(g, form->fields, form->n * sizeof(*g));
		g[0].value = arena_printf(a, "%s1", g[0].value);
		struct form changed = {g, form->n};
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, &changed, nonce, sig));
		struct form fewer = {form->fields, form->n - 1};
		CHECK(id, !plivo_sig_v3_check(fl, token, method, url, &fewer, nonce, sig));
	}
}

static void check_plivo_v3_case(json_t *c)
{
	const char *id = jstr(c, "id");
	const char *method = jstr(c, "method");
	const char *url = jstr(c, "url");
	const char *nonce = jstr(c, "nonce");
	const char *token = jstr(c, "token");
	const char *sts = jstr(c, "string_to_sign");
	const char *sig = jstr(c, "signature");
	json_t *params = json_object_get(c, "params");
	json_t *py = json_object_get(c, "python");
	CHECK("plivo_v3 case", id != NULL);
	CHECK(id, method != NULL && url != NULL && nonce != NULL && token != NULL && sts != NULL &&
			  sig != NULL);
	CHECK(id, json_is_object(params) && json_is_object(py));
	print_message("[ vector   ] plivo_v3 %s\n", id);
	bool get = strcmp(method, "GET") == 0;

	struct arena a = ARENA_INIT;
	struct form form;
	const char *encoded;
	params_to_form(&a, id, params, &form, &encoded);

	/* The file is self-consistent: the signature is the HMAC of string_to_sign. */
	char b64[45];
	b64_hmac256(token, sts, strlen(sts), b64);
	CHECK(id, strcmp(b64, sig) == 0);

	/* We build the string plivo-node signed, from the library's own inputs
	 * (for GET: url with its original query, plus Plivo's params). */
	size_t len;
	char *msg = plivo_sig_v3_message(method, url, &form, nonce, &len);
	CHECK(id, msg != NULL);
	CHECK(id, len == strlen(sts) && strcmp(msg, sts) == 0);
	free(msg);

	/* Accepted as plivo-node's validateV3Signature accepted it, alone and in a
	 * multi-signature header. */
	CHECK(id, jtrue(c, "node_validateV3Signature"));
	CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce, sig));
	CHECK(id, jtrue(c, "node_validate_multi_sig_header"));
	CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce,
				     arena_printf(&a, "bogus,%s", sig)));
	CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce,
				     arena_printf(&a, "%s,bogus", sig)));
	/* Vobiz's Go SDK is a port of plivo-go: the same string for these inputs. */
	CHECK(id, plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce, sig));

	if (get) {
		/* What the server really receives for GET: Plivo's params appended to
		 * the query, no form body. */
		const char *full = arena_printf(&a, "%s%s%s", url, strchr(url, '?') ? "&" : "?",
						encoded);
		msg = plivo_sig_v3_message(method, full, NULL, nonce, &len);
		CHECK(id, msg != NULL && strcmp(msg, sts) == 0);
		free(msg);
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, full, NULL, nonce, sig));
		struct form none = {NULL, 0};
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, full, &none, nonce, sig));
		check_v3_negatives(&a, id, method, full, NULL, nonce, token, sig, false);
	}

	/* plivo-python: its own string and signature. It re-encodes the assembled
	 * string, so it differs from node only when a value is not ASCII. */
	const char *py_sts = jstr(py, "plivo_python_string_to_sign");
	const char *py_sig = jstr(py, "plivo_python_signature");
	CHECK(id, py_sts != NULL && py_sig != NULL);
	size_t again_len;
	char *again = utf8_again(&a, py_sts, &again_len);
	b64_hmac256(token, again, again_len, b64);
	CHECK(id, strcmp(b64, py_sig) == 0);
	CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce, py_sig));
	bool same = jtrue(c, "python_signature_equals_node");
	CHECK(id, same == (strcmp(py_sig, sig) == 0));
	CHECK(id, same == jtrue(py, "plivo_python_validates_node_signature"));
	if (!same) {
		/* Node and python disagree (non-ASCII): we accept either, and python's
		 * double encoding only for Plivo - Vobiz's Go SDK signs raw bytes. */
		CHECK(id, !plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce,
					      py_sig));
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce,
					     arena_printf(&a, "%s,%s", py_sig, sig)));
		check_v3_negatives(&a, id, method, url, &form, nonce, token, py_sig, false);
	}

	check_v3_negatives(&a, id, method, url, &form, nonce, token, sig, false);
	arena_free(&a);
}

static void test_vectors_plivo_v3(void **state)
{
	json_t *cases = json_object_get(vectors, "plivo_v3");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_plivo_v3_case(c);
	print_message("[ vectors  ] %zu plivo_v3 cases checked\n", json_array_size(cases));
}

/* ------------------------------------------------------------ plivo_v2 */

static void check_v2_negatives(struct arena *a, const char *id, const char *url,
			       const char *nonce, const char *token, const char *sig)
{
	CHECK(id, !plivo_sig_v2_check(token, url, arena_printf(a, "%s1", nonce), sig));
	CHECK(id, !plivo_sig_v2_check(token, url, "", sig));
	CHECK(id, !plivo_sig_v2_check(token, url, NULL, sig));
	CHECK(id, !plivo_sig_v2_check(arena_printf(a, "%sx", token), url, nonce, sig));
	CHECK(id, !plivo_sig_v2_check("", url, nonce, sig));
	CHECK(id, !plivo_sig_v2_check(NULL, url, nonce, sig));
	CHECK(id, !plivo_sig_v2_check(token, url, nonce, NULL));
	CHECK(id, !plivo_sig_v2_check(token, url, nonce, ""));
	CHECK(id, !plivo_sig_v2_check(token, NULL, nonce, sig));
	CHECK(id, !plivo_sig_v2_check(token, arena_printf(a, "%sx", url), nonce, sig));
	/* V2 is one value compared whole (validateSignature uses ==). */
	CHECK(id, !plivo_sig_v2_check(token, url, nonce, arena_printf(a, "bogus,%s", sig)));
	char *flipped = arena_printf(a, "%s", sig);
	flipped[7] = flipped[7] == 'A' ? 'B' : 'A';
	CHECK(id, !plivo_sig_v2_check(token, url, nonce, flipped));
	if (strncmp(url, "https://", 8) == 0)
		CHECK(id, !plivo_sig_v2_check(token, arena_printf(a, "http://%s", url + 8), nonce, sig));
}

static void test_vectors_plivo_v2(void **state)
{
	json_t *cases = json_object_get(vectors, "plivo_v2");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		const char *id = jstr(c, "id");
		const char *url = jstr(c, "url");
		const char *nonce = jstr(c, "nonce");
		const char *token = jstr(c, "token");
		const char *sts = jstr(c, "string_to_sign");
		const char *sig = jstr(c, "signature");
		CHECK("plivo_v2 case", id != NULL);
		CHECK(id, url != NULL && nonce != NULL && token != NULL && sts != NULL && sig != NULL);
		print_message("[ vector   ] plivo_v2 %s\n", id);
		struct arena a = ARENA_INIT;
		char b64[45];
		b64_hmac256(token, sts, strlen(sts), b64);
		CHECK(id, strcmp(b64, sig) == 0);
		char out[PLIVO_SIG_LEN + 1];
		CHECK(id, plivo_sig_v2_compute(token, url, nonce, out));
		CHECK(id, strcmp(out, sig) == 0);
		CHECK(id, jtrue(c, "node_validateSignature"));
		CHECK(id, plivo_sig_v2_check(token, url, nonce, sig));
		/* The query and fragment are not signed. */
		CHECK(id, plivo_sig_v2_check(token, arena_printf(&a, "%s?a=1&b=2#frag", url), nonce,
					     sig));
		CHECK(id, jtrue(c, "negative_control_rejected"));
		check_v2_negatives(&a, id, url, nonce, token, sig);
		arena_free(&a);
	}
	print_message("[ vectors  ] %zu plivo_v2 cases checked\n", json_array_size(cases));
}

static void test_vectors_plivo_v1_legacy(void **state)
{
	/* V1 (X-Plivo-Signature, HMAC-SHA1) is not implemented: the file carries no
	 * case for it. Fail loudly if one appears, so it gets a test and code. */
	json_t *cases = json_object_get(vectors, "plivo_v1_legacy");
	assert_true(json_is_array(cases));
	if (json_array_size(cases) != 0)
		fail_msg("plivo_v1_legacy now has %zu cases: implement and test V1",
			 json_array_size(cases));
	print_message("[ vectors  ] plivo_v1_legacy: no cases in the file (V1 not checked)\n");
}

/* ------------------------------------------------------------ vobiz */

static void test_vectors_vobiz(void **state)
{
	json_t *cases = json_object_get(vectors, "vobiz");
	assert_true(json_is_array(cases));
	assert_true(json_array_size(cases) > 0);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		const char *id = jstr(c, "id");
		const char *method = jstr(c, "method");
		const char *url = jstr(c, "url");
		const char *nonce = jstr(c, "nonce");
		const char *token = jstr(c, "token");
		json_t *params = json_object_get(c, "params");
		json_t *v2 = json_object_get(c, "v2");
		json_t *docs = json_object_get(c, "v3_per_vobiz_docs");
		json_t *gosdk = json_object_get(c, "v3_per_vobiz_go_sdk_plivo_style");
		CHECK("vobiz case", id != NULL);
		CHECK(id, method != NULL && url != NULL && nonce != NULL && token != NULL);
		CHECK(id, json_is_object(params) && json_is_object(v2) && json_is_object(docs) &&
				  json_is_object(gosdk));
		print_message("[ vector   ] vobiz %s\n", id);
		struct arena a = ARENA_INIT;
		struct form form;
		params_to_form(&a, id, params, &form, NULL);
		char b64[45];

		/* V2: byte-identical to Plivo V2; accepted by plivo-node validateSignature. */
		const char *v2_sts = jstr(v2, "string_to_sign"), *v2_sig = jstr(v2, "signature");
		CHECK(id, v2_sts != NULL && v2_sig != NULL);
		b64_hmac256(token, v2_sts, strlen(v2_sts), b64);
		CHECK(id, strcmp(b64, v2_sig) == 0);
		CHECK(id, jtrue(v2, "accepted_by_plivo_validateSignature"));
		char out[PLIVO_SIG_LEN + 1];
		CHECK(id, plivo_sig_v2_compute(token, url, nonce, out) && strcmp(out, v2_sig) == 0);
		CHECK(id, plivo_sig_v2_check(token, url, nonce, v2_sig));
		check_v2_negatives(&a, id, url, nonce, token, v2_sig);

		/* V3 per the Vobiz docs: own code, no official library exists. */
		const char *d_sts = jstr(docs, "string_to_sign"), *d_sig = jstr(docs, "signature");
		CHECK(id, d_sts != NULL && d_sig != NULL);
		CHECK(id, strstr(jstr(docs, "source"), "own code") != NULL);
		b64_hmac256(token, d_sts, strlen(d_sts), b64);
		CHECK(id, strcmp(b64, d_sig) == 0);
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce, d_sig));
		/* The docs reading signs neither query nor params: a GET, an added query
		 * or other fields keep it valid... */
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method,
					     arena_printf(&a, "%s?any=thing", url), NULL, nonce, d_sig));
		/* ...but it is not a Plivo reading. */
		CHECK(id, !plivo_sig_v3_check(PLIVO_SIG_PLIVO, token, method, url, &form, nonce, d_sig));
		check_v3_negatives(&a, id, method, url, NULL, nonce, token, d_sig, true);

		/* V3 per Vobiz-Go-SDK (plivo-go port), string computed with plivo-node
		 * internals: unverified which one the service sends; both accepted. */
		const char *g_sts = jstr(gosdk, "string_to_sign"), *g_sig = jstr(gosdk, "signature");
		CHECK(id, g_sts != NULL && g_sig != NULL);
		b64_hmac256(token, g_sts, strlen(g_sts), b64);
		CHECK(id, strcmp(b64, g_sig) == 0);
		size_t len;
		char *msg = plivo_sig_v3_message(method, url, &form, nonce, &len);
		CHECK(id, msg != NULL && strcmp(msg, g_sts) == 0);
		free(msg);
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce, g_sig));
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce,
					     arena_printf(&a, "%s,%s", d_sig, g_sig)));
		check_v3_negatives(&a, id, method, url, &form, nonce, token, g_sig, false);

		/* A V2 signature is not a V3 one and vice versa. */
		CHECK(id, !plivo_sig_v3_check(PLIVO_SIG_VOBIZ, token, method, url, &form, nonce, v2_sig));
		CHECK(id, !plivo_sig_v2_check(token, url, nonce, d_sig));
		arena_free(&a);
	}
	print_message("[ vectors  ] %zu vobiz cases checked\n", json_array_size(cases));
}

/* ------------------------------------------------------------ library anchors */

#define ANCHOR_TOKEN "ZWRiYzdhNDNmODQ1MjgxMzNhYWIzYjEyZDdiM2Nh"

/* Computed with plivo (npm) 4.79.0 construct_get_url/construct_post_url +
 * get_signature_v3 and accepted by its validateV3Signature (not in the file). */
static const struct {
	const char *name;
	const char *method;
	const char *url;
	const char *body; /* POST form fields, urlencoded */
	const char *nonce;
	const char *sts;
	const char *sig;
} v3_anchors[] = {
	{"post-query-and-params-port", "POST",
	 "https://proxy.example.org:8443/plivo/dial-action?session=abc&leg=b",
	 "CallUUID=c0ffee00-0000-4000-8000-000000000004&DialStatus=completed&DialALegUUID=a1&"
	 "DialBLegUUID=b1",
	 "12345678901234567890",
	 "https://proxy.example.org:8443/plivo/dial-action?leg=b&session=abc.CallUUIDc0ffee00-0000-"
	 "4000-8000-000000000004DialALegUUIDa1DialBLegUUIDb1DialStatuscompleted.12345678901234567890",
	 "M535bkjwTijqepIoyT55dPyk/cgiGLYy90O4hjc+Psk="},
	{"post-query-no-params", "POST", "https://proxy.example.org/plivo/status?interaction=i-42",
	 "", "11111111111111111111",
	 "https://proxy.example.org/plivo/status?interaction=i-42.11111111111111111111",
	 "iztmljG+fk5RyBnMplAxv0KAKnwwYX+J4yqJAbrbXuA="},
	{"get-decoded-repeated-empty", "GET",
	 "https://proxy.example.org/plivo/answer?z&tag=a+b&tag=%C3%BCml&From=12125550123&CallUUID=u-1",
	 "", "22222222222222222222",
	 "https://proxy.example.org/plivo/answer?CallUUID=u-1&From=12125550123&tag=a b&tag=\xc3\xbcml&"
	 "z=.22222222222222222222",
	 "f2SfoNtYg0W8/VChny4e7Vj/5/vo/WN4SIFVONk7a/Y="},
	{"post-repeated-and-empty", "POST", "https://proxy.example.org/plivo/answer",
	 "Digits=9&CallUUID=u-2&Digits=1&Empty=&Digits=5", "44444444444444444444",
	 "https://proxy.example.org/plivo/answer?CallUUIDu-2Digits1Digits5Digits9Empty."
	 "44444444444444444444",
	 "fL3yceXRAFPIgkxHrn1JWAGXhOcCJb+dYh0QRtrgOAw="},
	{"get-nothing", "GET", "https://proxy.example.org/plivo/answer", "", "55555555555555555555",
	 "https://proxy.example.org/plivo/answer.55555555555555555555",
	 "ZfoekCjzrjTA2FuB2KsThKa6+oFCUZXvSVj9aO9slQw="},
};

static void test_anchor_v3(void **state)
{
	for (size_t i = 0; i < sizeof(v3_anchors) / sizeof(v3_anchors[0]); i++) {
		const char *id = v3_anchors[i].name;
		struct arena a = ARENA_INIT;
		struct form f;
		form_of(&a, v3_anchors[i].body, &f);
		size_t len;
		char *msg = plivo_sig_v3_message(v3_anchors[i].method, v3_anchors[i].url, &f,
						 v3_anchors[i].nonce, &len);
		CHECK(id, msg != NULL);
		if (strcmp(msg, v3_anchors[i].sts) != 0)
			fail_msg("%s: built %s", id, msg);
		free(msg);
		CHECK(id, plivo_sig_v3_check(PLIVO_SIG_PLIVO, ANCHOR_TOKEN, v3_anchors[i].method,
					     v3_anchors[i].url, &f, v3_anchors[i].nonce,
					     v3_anchors[i].sig));
		check_v3_negatives(&a, id, v3_anchors[i].method, v3_anchors[i].url, &f,
				   v3_anchors[i].nonce, ANCHOR_TOKEN, v3_anchors[i].sig, false);
		arena_free(&a);
	}
}

static void test_anchor_v2_port(void **state)
{
	/* plivo (npm) 4.79.0 validateSignature keeps the port, drops the query. */
	const char *sig = "3VA0YwfqRcTA3jNhKN8GfClg1aIWKzM/forDXEJypEQ=";
	const char *nonce = "66666666666666666666";
	assert_true(plivo_sig_v2_check(ANCHOR_TOKEN, "https://proxy.example.org:8443/plivo/sms?x=1",
				       nonce, sig));
	assert_false(plivo_sig_v2_check(ANCHOR_TOKEN, "https://proxy.example.org/plivo/sms?x=1",
					nonce, sig));
	assert_false(plivo_sig_v2_check(ANCHOR_TOKEN, "https://proxy.example.org:8444/plivo/sms",
					nonce, sig));
}

/* ------------------------------------------------------------ own code */

/* Own code (no library run): URL shapes around the base URL. */
static void test_url_shapes(void **state)
{
	struct arena a = ARENA_INIT;
	struct form none = {NULL, 0};
	size_t len;
	static const struct {
		const char *url;
		const char *method;
		const char *want;
	} cases[] = {
		/* userinfo and fragment are dropped, as plivo-node's uri-parser drops them */
		{"https://u:p@h.example:8443/a?x=1#frag", "GET", "https://h.example:8443/a?x=1.n"},
		{"https://h.example", "POST", "https://h.example.n"},
		{"https://h.example?b=2&a=1", "POST", "https://h.example?a=1&b=2.n"},
		{"https://h.example/a?", "POST", "https://h.example/a.n"},
		{"https://h.example/a?&&", "GET", "https://h.example/a.n"},
		{"https://h.example/%7Ea?s=%7E", "GET", "https://h.example/%7Ea?s=~.n"},
		{"HTTPS://H.example/A", "POST", "HTTPS://H.example/A.n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *msg = plivo_sig_v3_message(cases[i].method, cases[i].url, &none, "n", &len);
		if (msg == NULL || strcmp(msg, cases[i].want) != 0)
			fail_msg("%s: built %s, want %s", cases[i].url, msg ? msg : "(null)",
				 cases[i].want);
		assert_int_equal(len, strlen(cases[i].want));
		free(msg);
	}
	/* Not absolute, or a query that does not decode: nothing to sign. */
	assert_null(plivo_sig_v3_message("POST", "/plivo/answer", &none, "n", &len));
	assert_null(plivo_sig_v3_message("POST", "https://", &none, "n", &len));
	assert_null(plivo_sig_v3_message("GET", "https://h/a?x=%zz", &none, "n", &len));
	assert_null(plivo_sig_v3_message("GET", "https://h/a?x=%00", &none, "n", &len));
	assert_null(plivo_sig_v3_message("get", "https://h/a", &none, "n", &len));
	char out[PLIVO_SIG_LEN + 1];
	assert_false(plivo_sig_v2_compute("k", "/relative", "n", out));

	/* GET: query fields and params sort together (plivo-node concatenates both). */
	struct form f;
	form_of(&a, "b=2&a=3", &f);
	char *msg = plivo_sig_v3_message("GET", "https://h/x?a=1", &f, "n", &len);
	assert_string_equal(msg, "https://h/x?a=1&a=3&b=2.n");
	free(msg);
	/* POST: bytewise order, uppercase first; the query keeps "k=v", params "kv". */
	form_of(&a, "b=2&a=1&B=3&AB=&A=0", &f);
	msg = plivo_sig_v3_message("POST", "https://h/x?z=1", &f, "n", &len);
	assert_string_equal(msg, "https://h/x?z=1.A0ABB3a1b2.n");
	free(msg);
	arena_free(&a);
}

/* Own code: python's reading covers non-ASCII only; ASCII input has one reading. */
static void test_non_ascii_readings(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	form_of(&a, "CallerName=Zo%C3%AB", &f);
	const char *url = "https://h.example/a";
	size_t len;
	char *msg = plivo_sig_v3_message("POST", url, &f, "7", &len);
	assert_string_equal(msg, "https://h.example/a?CallerNameZo\xc3\xab.7");
	char node[45], py[45];
	b64_hmac256("tok", msg, len, node);
	size_t again_len;
	char *again = utf8_again(&a, msg, &again_len);
	assert_string_equal(again, "https://h.example/a?CallerNameZo\xc3\x83\xc2\xab.7");
	b64_hmac256("tok", again, again_len, py);
	free(msg);
	assert_true(plivo_sig_v3_check(PLIVO_SIG_PLIVO, "tok", "POST", url, &f, "7", node));
	assert_true(plivo_sig_v3_check(PLIVO_SIG_PLIVO, "tok", "POST", url, &f, "7", py));
	assert_true(plivo_sig_v3_check(PLIVO_SIG_VOBIZ, "tok", "POST", url, &f, "7", node));
	assert_false(plivo_sig_v3_check(PLIVO_SIG_VOBIZ, "tok", "POST", url, &f, "7", py));
	/* A triple encoding is nobody's reading. */
	char *triple = utf8_again(&a, again, &again_len);
	char tr[45];
	b64_hmac256("tok", triple, again_len, tr);
	assert_false(plivo_sig_v3_check(PLIVO_SIG_PLIVO, "tok", "POST", url, &f, "7", tr));
	arena_free(&a);
}

/* Own code: many fields (heap sort path) and a long multi-signature header. */
static void test_many_fields(void **state)
{
	struct arena a = ARENA_INIT;
	char *body = arena_strdup(&a, "");
	for (int i = 199; i >= 0; i--)
		body = arena_printf(&a, "%sk%03d=v&", body, i);
	struct form f;
	form_of(&a, body, &f);
	char *want = arena_strdup(&a, "https://h/x?");
	for (int i = 0; i < 200; i++)
		want = arena_printf(&a, "%sk%03dv", want, i);
	want = arena_printf(&a, "%s.n", want);
	size_t len;
	char *msg = plivo_sig_v3_message("POST", "https://h/x", &f, "n", &len);
	assert_string_equal(msg, want);
	free(msg);
	char sig[45];
	b64_hmac256("k", want, strlen(want), sig);
	char *header = arena_strdup(&a, "");
	for (int i = 0; i < 20; i++)
		header = arena_printf(&a, "%sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,", header);
	header = arena_printf(&a, "%s%s", header, sig);
	assert_true(plivo_sig_v3_check(PLIVO_SIG_PLIVO, "k", "POST", "https://h/x", &f, "n", header));
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_plivo_v3),
		cmocka_unit_test(test_vectors_plivo_v2),
		cmocka_unit_test(test_vectors_plivo_v1_legacy),
		cmocka_unit_test(test_vectors_vobiz),
		cmocka_unit_test(test_anchor_v3),
		cmocka_unit_test(test_anchor_v2_port),
		cmocka_unit_test(test_url_shapes),
		cmocka_unit_test(test_non_ascii_readings),
		cmocka_unit_test(test_many_fields),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
