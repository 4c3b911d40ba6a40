/* SPDX-License-Identifier: MIT */
/* test_json.c - the API's JSON edge: content type, syntax errors with line and
 * column, depth cap, unknown fields and typed field readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/json.h"

static json_t *parse(const char *ct, const char *body, struct api_error *e)
{
	struct http_header h = {"Content-Type", ct};
	struct http_request req = {.method = "POST", .body = body, .body_len = strlen(body), .headers = &h,
				   .n_headers = ct ? 1 : 0};
	memset(e, 0, sizeof(*e));
	return json_body(&req, e);
}

static void content_type(void **state)
{
	struct api_error e;
	assert_null(parse(NULL, "{}", &e));
	assert_int_equal(e.status, 415);
	assert_null(parse("text/plain", "{}", &e));
	assert_int_equal(e.status, 415);
	assert_null(parse("application/jsonx", "{}", &e));
	assert_int_equal(e.status, 415);
	json_t *j = parse("application/json; charset=utf-8", "{}", &e);
	assert_non_null(j);
	json_decref(j);
}

static void syntax_errors_have_line_and_column(void **state)
{
	struct api_error e;
	assert_null(parse("application/json", "{\n  \"name\": ,\n}", &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "invalid_json");
	assert_non_null(strstr(e.message, "line 2 column"));
	assert_null(parse("application/json", "[1,2]", &e));
	assert_string_equal(e.code, "invalid_json");
	assert_null(parse("application/json", "{\"a\":1,\"a\":2}", &e)); /* duplicate keys */
	assert_int_equal(e.status, 400);
}

static void depth_cap(void **state)
{
	struct api_error e;
	char deep[256] = "{\"a\":";
	size_t n = strlen(deep);
	for (int i = 0; i < 20; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	assert_null(parse("application/json", deep, &e));
	assert_non_null(strstr(e.message, "deeper"));
	/* brackets inside strings do not count */
	json_t *j = parse("application/json", "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[\"}", &e);
	assert_non_null(j);
	json_decref(j);
}

static void fields(void **state)
{
	struct api_error e = {0};
	json_t *o = json_pack("{s:s,s:i,s:s}", "name", "x", "ttl", 5, "bogus", "y");
	static const char *const allowed[] = {"name", "ttl", NULL};
	assert_false(json_only_fields(o, "", allowed, &e));
	assert_string_equal(e.code, "unknown_field");
	assert_non_null(strstr(e.message, "bogus"));
	const char *s;
	assert_true(json_string_field(o, "", "name", true, 10, &s, &e));
	assert_string_equal(s, "x");
	assert_false(json_string_field(o, "", "missing", true, 10, &s, &e));
	assert_string_equal(e.code, "missing_field");
	assert_false(json_string_field(o, "p[0]", "ttl", false, 10, &s, &e));
	assert_string_equal(e.code, "invalid_field");
	assert_non_null(strstr(e.message, "p[0].ttl"));
	bool present;
	int64_t v;
	assert_true(json_int_field(o, "", "ttl", 0, 10, &present, &v, &e));
	assert_true(present);
	assert_int_equal(v, 5);
	assert_false(json_int_field(o, "", "ttl", 6, 10, &present, &v, &e));
	assert_false(json_string_field(o, "", "name", false, 0, &s, &e)); /* too long */
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(content_type),
		cmocka_unit_test(syntax_errors_have_line_and_column),
		cmocka_unit_test(depth_cap),
		cmocka_unit_test(fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
