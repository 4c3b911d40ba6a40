/* SPDX-License-Identifier: MIT */
/* test_console.c - web/console.h: a directory loaded into the table (types by
 * extension, dot-files and unknown types skipped, no index.html refused), and
 * console_handle(): paths outside /console left alone, the redirect, index,
 * types, ETag and 304, the security headers, traversal and escapes refused with
 * 400 before any lookup, unknown names 404, other methods 405, no console 404. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crypto.h"
#include "util/err.h"
#include "web/console.h"

struct fixture {
	char dir[64];
	struct console *c;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/maskd-console-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/js", fx->dir);
	mkdir(sub, 0700);
	write_file(fx->dir, "index.html", "<!doctype html><title>maskd</title>");
	write_file(fx->dir, "console.css", "body{margin:0}");
	write_file(fx->dir, "js/app.js", "export const x = 1;");
	write_file(fx->dir, ".secret.js", "hidden");
	write_file(fx->dir, "notes.md", "not served");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	console_free(fx->c);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* One request through console_handle(); the answer in *res (body freed by the caller). */
static bool serve(const struct console *c, const char *method, const char *path, const char *inm,
		  struct http_response *res)
{
	struct http_header h = {"If-None-Match", inm};
	struct http_request req = {.method = method, .target = path, .path = path, .query = "",
				   .body = "", .headers = &h, .n_headers = inm != NULL ? 1 : 0};
	memset(res, 0, sizeof(*res));
	res->status = 500;
	buf_init(&res->body);
	return console_handle(c, &req, res);
}

static const char *header_of(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->n_headers; i++)
		if (strcmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

static void test_load(void **state)
{
	struct fixture *fx = *state;
	char err[256] = "";
	assert_int_equal(console_load(fx->dir, &fx->c, err, sizeof(err)), 0);
	assert_int_equal(console_file_count(fx->c), 3); /* index, css, js/app.js */
	struct console *none = NULL;
	assert_int_equal(console_load("/nonexistent-maskd-dir", &none, err, sizeof(err)), MASKD_EINVAL);
	assert_null(none);
	assert_non_null(strstr(err, "/nonexistent-maskd-dir"));
	char js[128];
	snprintf(js, sizeof(js), "%s/js", fx->dir);
	assert_int_equal(console_load(js, &none, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "no index.html"));
	assert_string_equal(console_dir_pick("/some/where"), "/some/where");
}

static void test_serve(void **state)
{
	struct fixture *fx = *state;
	char err[256];
	assert_int_equal(console_load(fx->dir, &fx->c, err, sizeof(err)), 0);
	struct http_response res;

	assert_false(serve(fx->c, "GET", "/consoleX", NULL, &res));
	assert_int_equal(res.status, 500);
	buf_free(&res.body);
	assert_false(serve(fx->c, "GET", "/v1/services", NULL, &res));
	buf_free(&res.body);

	assert_true(serve(fx->c, "GET", "/console", NULL, &res));
	assert_int_equal(res.status, 301);
	assert_string_equal(header_of(&res, "Location"), "/console/");
	buf_free(&res.body);

	assert_true(serve(fx->c, "GET", "/console/", NULL, &res));
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/html; charset=utf-8");
	assert_memory_equal(res.body.data, "<!doctype html>", 15);
	assert_string_equal(header_of(&res, "Content-Security-Policy"), CONSOLE_CSP);
	assert_string_equal(header_of(&res, "Cache-Control"), "no-cache");
	const char *etag = header_of(&res, "ETag");
	assert_non_null(etag);
	assert_int_equal(strlen(etag), 34);
	char tag[40];
	snprintf(tag, sizeof(tag), "%s", etag);
	buf_free(&res.body);

	assert_true(serve(fx->c, "GET", "/console/index.html", tag, &res));
	assert_int_equal(res.status, 304);
	assert_int_equal(res.body.len, 0);
	buf_free(&res.body);
	assert_true(serve(fx->c, "GET", "/console/index.html", "\"other\"", &res));
	assert_int_equal(res.status, 200);
	buf_free(&res.body);

	assert_true(serve(fx->c, "HEAD", "/console/js/app.js", NULL, &res));
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/javascript; charset=utf-8");
	buf_free(&res.body);
	assert_true(serve(fx->c, "GET", "/console/console.css", NULL, &res));
	assert_string_equal(res.content_type, "text/css; charset=utf-8");
	buf_free(&res.body);

	static const char *const refused[] = {"/console/../meson.build", "/console/js/../index.html",
					      "/console/%2e%2e/x.js", "/console/js//app.js", "/console/./index.html",
					      "/console/js\\app.js", "/console/..", "/console//etc/passwd"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_true(serve(fx->c, "GET", refused[i], NULL, &res));
		assert_int_equal(res.status, 400);
		buf_free(&res.body);
	}
	static const char *const missing[] = {"/console/.secret.js", "/console/notes.md", "/console/nope.js",
					      "/console/js"};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		assert_true(serve(fx->c, "GET", missing[i], NULL, &res));
		assert_int_equal(res.status, 404);
		buf_free(&res.body);
	}
	assert_true(serve(fx->c, "POST", "/console/index.html", NULL, &res));
	assert_int_equal(res.status, 405);
	assert_string_equal(header_of(&res, "Allow"), "GET, HEAD");
	buf_free(&res.body);

	assert_true(serve(NULL, "GET", "/console/", NULL, &res));
	assert_int_equal(res.status, 404);
	assert_non_null(strstr(res.body.data, "MASKD_CONSOLE_DIR"));
	buf_free(&res.body);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
