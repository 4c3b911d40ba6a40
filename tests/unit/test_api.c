/* SPDX-License-Identifier: MIT */
/* test_api.c - the native API through the handler app.c gives http/ (app_dispatch),
 * without a socket: requests built in memory, a real store on a temporary SQLite
 * file and a real vault. Services, numbers, and a session created, got, listed,
 * patched and deleted; the error paths (bad JSON 400, too deep JSON 400, unknown
 * id 404, missing or wrong key 401, wrong method 405, a refused PATCH writes
 * nothing, 429 past the per-key rate); /healthz, /readyz, /metrics and 404 beside
 * the API. Every answer is scanned for the real numbers in all their spellings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "flow/stats.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/limiter.h"
#include "vault/vault.h"

#define KEY "mk_test_admin_key"
#define R0 "+14152372010"
#define R1 "+14152372011"
#define R2 "+14152372012"

static const char *const reals[] = {R0, R1, R2};

struct fixture {
	char dir[64];
	char db[128];
	char key[128];
	struct vault *vault;
	struct store *st;
	struct app app;
};

struct answer {
	int status;
	char *text;  /* the body, NUL-terminated (free) */
	json_t *json; /* parsed body when it is JSON, else NULL */
	char retry_after[16];
};

static void answer_free(struct answer *a)
{
	free(a->text);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

/* Fails when text holds a real number as +E.164, as digits, or as the national number. */
static void assert_no_real_number(const char *text, const char *where)
{
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		const char *spellings[3] = {reals[i], reals[i] + 1, reals[i] + 2};
		for (int s = 0; s < 3; s++)
			if (strstr(text, spellings[s]) != NULL)
				fail_msg("%s: the answer holds the real number %s: %s", where, spellings[s], text);
	}
}

/* One request through app_dispatch(): key NULL = no Authorization header; body
 * NULL = none (else sent as application/json). Every answer is privacy-scanned. */
static void call(struct fixture *f, const char *method, const char *target, const char *body, const char *key,
		 struct answer *out)
{
	struct arena a = ARENA_INIT;
	struct http_header h[2];
	size_t nh = 0;
	if (key != NULL)
		h[nh++] = (struct http_header){"Authorization", arena_printf(&a, "Bearer %s", key)};
	if (body != NULL)
		h[nh++] = (struct http_header){"Content-Type", "application/json"};
	const char *q = strchr(target, '?');
	struct http_request req = {
		.method = method,
		.target = target,
		.path = q != NULL ? arena_strndup(&a, target, (size_t)(q - target)) : target,
		.query = q != NULL ? q + 1 : "",
		.body = body != NULL ? body : "",
		.body_len = body != NULL ? strlen(body) : 0,
		.headers = h,
		.n_headers = nh,
		.arena = &a,
	};
	struct http_response res = {.status = 500};
	buf_init(&res.body);
	app_dispatch(&f->app, &req, &res);
	memset(out, 0, sizeof(*out));
	out->status = res.status;
	out->text = strdup(res.body.data != NULL ? res.body.data : "");
	if (res.content_type != NULL && strncmp(res.content_type, "application/json", 16) == 0)
		out->json = json_loads(out->text, 0, NULL);
	if (res.retry_after != NULL)
		snprintf(out->retry_after, sizeof(out->retry_after), "%s", res.retry_after);
	buf_free(&res.body);
	arena_free(&a);
	char where[256];
	snprintf(where, sizeof(where), "%s %s -> %d", method, target, out->status);
	assert_no_real_number(out->text, where);
}

/* call() with the admin key; asserts the status; returns the parsed JSON (owned by a). */
static json_t *ok(struct fixture *f, const char *method, const char *target, const char *body, int status,
		  struct answer *a)
{
	call(f, method, target, body, KEY, a);
	if (a->status != status)
		fail_msg("%s %s: expected %d, got %d: %s", method, target, status, a->status, a->text);
	return a->json;
}

/* Asserts an API error answer: status, error.code, and that the message names `mention`. */
static void error_is(struct answer *a, int status, const char *code, const char *mention)
{
	if (a->status != status)
		fail_msg("expected %d %s, got %d: %s", status, code, a->status, a->text);
	assert_non_null(a->json);
	json_t *e = json_object_get(a->json, "error");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	const char *msg = json_string_value(json_object_get(e, "message"));
	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	if (mention != NULL && strstr(msg, mention) == NULL)
		fail_msg("error message \"%s\" does not name %s", msg, mention);
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (s == NULL)
		fail_msg("no string \"%s\" in %s", key, json_dumps(obj, JSON_COMPACT));
	return s;
}

static int setup(void **state)
{
	static int crypto_ready;
	if (!crypto_ready) {
		crypto_init();
		crypto_ready = 1;
	}
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/maskd-test-api-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "sqlite:%s/maskd.db", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/vault.key", f->dir);
	char err[256];
	if (vault_load(f->key, &f->vault, err, sizeof(err)) != 0 ||
	    store_open(f->db, f->vault, &f->st, err, sizeof(err)) != 0) {
		print_error("setup: %s\n", err);
		return -1;
	}
	f->app.store = f->st;
	f->app.vault = f->vault;
	f->app.public_url = "https://maskd.example";
	f->app.limiter = app_limiter_new(1024);
	sha256(KEY, strlen(KEY), f->app.admin_key_hash);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	limiter_free(f->app.limiter);
	store_close(f->st);
	vault_free(f->vault);
	char path[192];
	snprintf(path, sizeof(path), "%s/maskd.db", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/maskd.db-wal", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/maskd.db-shm", f->dir);
	unlink(path);
	unlink(f->key);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A service with three pool numbers; its id into svc_id. */
static void service_with_pool(struct fixture *f, char svc_id[64])
{
	struct answer a;
	json_t *s = ok(f, "POST", "/v1/services", "{\"name\":\"Rides\"}", 201, &a);
	snprintf(svc_id, 64, "%s", str(s, "id"));
	assert_int_equal(strncmp(svc_id, "svc_", 4), 0);
	answer_free(&a);
	char target[128];
	snprintf(target, sizeof(target), "/v1/services/%s/numbers", svc_id);
	static const char *const pool[] = {"+14155550100", "+14155550101", "+14155550102"};
	for (int i = 0; i < 3; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"number\":\"%s\"}", pool[i]);
		json_t *n = ok(f, "POST", target, body, 201, &a);
		assert_string_equal(str(n, "number"), pool[i]); /* proxy numbers are not secret */
		answer_free(&a);
	}
}

/* ------------------------------------------------------------------ tests */

static void test_beside_the_api(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	call(f, "GET", "/healthz", NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.text, "ok\n");
	answer_free(&a);
	call(f, "GET", "/readyz", NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	answer_free(&a);
	assert_int_equal(stats_refresh(f->st), 0); /* the sweeper's job in the daemon */
	call(f, "GET", "/metrics", NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.text, "# TYPE maskd_webhooks_total counter\n"));
	assert_non_null(strstr(a.text, "maskd_webhooks_total{dialect=\"twilio\",outcome=\"bridge\"} "));
	assert_non_null(strstr(a.text, "\n# TYPE maskd_sessions_open gauge\nmaskd_sessions_open 0\n"));
	assert_non_null(strstr(a.text, "\nmaskd_services 0\n"));
	answer_free(&a);
	call(f, "GET", "/nope", NULL, KEY, &a);
	assert_int_equal(a.status, 404);
	answer_free(&a);
}

static void test_services_and_numbers(void **state)
{
	struct fixture *f = *state;
	char svc[64], target[128];
	service_with_pool(f, svc);
	struct answer a;
	snprintf(target, sizeof(target), "/v1/services/%s", svc);
	json_t *s = ok(f, "GET", target, NULL, 200, &a);
	assert_string_equal(str(s, "name"), "Rides");
	answer_free(&a);
	json_t *list = json_object_get(ok(f, "GET", "/v1/services", NULL, 200, &a), "services");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), svc);
	answer_free(&a);
	snprintf(target, sizeof(target), "/v1/services/%s/numbers", svc);
	list = json_object_get(ok(f, "GET", target, NULL, 200, &a), "numbers");
	assert_int_equal(json_array_size(list), 3);
	answer_free(&a);
	/* the same number again: 409, nothing added */
	call(f, "POST", target, "{\"number\":\"+1 415 555 0100\"}", KEY, &a);
	error_is(&a, 409, "conflict", NULL);
	answer_free(&a);
	list = json_object_get(ok(f, "GET", target, NULL, 200, &a), "numbers");
	assert_int_equal(json_array_size(list), 3);
	answer_free(&a);
}

static void test_session_life(void **state)
{
	struct fixture *f = *state;
	char svc[64], target[160];
	service_with_pool(f, svc);
	struct answer a, b;
	snprintf(target, sizeof(target), "/v1/services/%s/sessions", svc);
	json_t *s = ok(f, "POST", target,
		       "{\"unique_name\":\"order-1\",\"ttl\":3600,\"participants\":[{\"number\":\"" R0
		       "\",\"label\":\"Rider\"},{\"number\":\"" R1 "\",\"label\":\"Driver\"}]}",
		       201, &a);
	char ses[64];
	snprintf(ses, sizeof(ses), "%s", str(s, "id"));
	assert_int_equal(strncmp(ses, "ses_", 4), 0);
	assert_string_equal(str(s, "status"), "open");
	assert_string_equal(str(s, "unique_name"), "order-1");
	json_t *parts = json_object_get(s, "participants");
	assert_int_equal(json_array_size(parts), 2);
	assert_string_equal(str(json_array_get(parts, 0), "number"), "+1******2010");
	assert_string_equal(str(json_array_get(parts, 1), "number"), "+1******2011");
	assert_string_equal(str(json_array_get(parts, 0), "label"), "Rider");
	assert_int_equal(strncmp(str(json_array_get(parts, 0), "proxy_number"), "+1415555010", 11), 0);

	/* get: the same object */
	char one[128];
	snprintf(one, sizeof(one), "/v1/sessions/%s", ses);
	assert_true(json_equal(ok(f, "GET", one, NULL, 200, &b), s));
	answer_free(&b);
	answer_free(&a);

	/* list, with and without a filter */
	char q[200];
	snprintf(q, sizeof(q), "%s?unique_name=order-1", target);
	json_t *list = json_object_get(ok(f, "GET", q, NULL, 200, &a), "sessions");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), ses);
	answer_free(&a);
	snprintf(q, sizeof(q), "%s?status=closed", target);
	list = json_object_get(ok(f, "GET", q, NULL, 200, &a), "sessions");
	assert_int_equal(json_array_size(list), 0);
	answer_free(&a);

	/* patch */
	json_t *p = ok(f, "PATCH", one, "{\"ttl\":120}", 200, &a);
	assert_int_equal(json_integer_value(json_object_get(p, "ttl")), 120);
	assert_string_equal(str(p, "status"), "open");
	answer_free(&a);

	/* the gauges count it (once refreshed: the sweeper's job in the daemon) */
	assert_int_equal(stats_refresh(f->st), 0);
	call(f, "GET", "/metrics", NULL, NULL, &a);
	assert_non_null(strstr(a.text, "\nmaskd_sessions_open 1\n"));
	answer_free(&a);

	/* delete: 204, then closed; the real numbers stay masked */
	call(f, "DELETE", one, NULL, KEY, &a);
	assert_int_equal(a.status, 204);
	answer_free(&a);
	json_t *g = ok(f, "GET", one, NULL, 200, &a);
	assert_string_equal(str(g, "status"), "closed");
	assert_true(json_is_string(json_object_get(g, "closed_at")));
	assert_string_equal(str(json_array_get(json_object_get(g, "participants"), 1), "number"), "+1******2011");
	answer_free(&a);
	snprintf(q, sizeof(q), "%s?status=closed", target);
	list = json_object_get(ok(f, "GET", q, NULL, 200, &a), "sessions");
	assert_int_equal(json_array_size(list), 1);
	answer_free(&a);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	char svc[64], target[160];
	service_with_pool(f, svc);
	struct answer a;

	/* no key, a wrong key, another scheme: 401, and nothing created */
	call(f, "POST", "/v1/services", "{\"name\":\"X\"}", NULL, &a);
	error_is(&a, 401, "unauthorized", NULL);
	answer_free(&a);
	call(f, "POST", "/v1/services", "{\"name\":\"X\"}", KEY "x", &a);
	error_is(&a, 401, "unauthorized", NULL);
	answer_free(&a);
	call(f, "POST", "/v1/services", "{\"name\":\"X\"}", "mk_test", &a);
	error_is(&a, 401, "unauthorized", NULL);
	answer_free(&a);
	json_t *list = json_object_get(ok(f, "GET", "/v1/services", NULL, 200, &a), "services");
	assert_int_equal(json_array_size(list), 1);
	answer_free(&a);

	/* bad JSON: 400 naming the line and column */
	call(f, "POST", "/v1/services", "{\n \"name\": \"X\",,\n}", KEY, &a);
	error_is(&a, 400, "invalid_json", "line 2");
	answer_free(&a);
	/* nested deeper than the cap */
	char deep[128] = "{\"name\":";
	for (int i = 0; i < 17; i++)
		strncat(deep, "[", sizeof(deep) - strlen(deep) - 1);
	for (int i = 0; i < 17; i++)
		strncat(deep, "]", sizeof(deep) - strlen(deep) - 1);
	strncat(deep, "}", sizeof(deep) - strlen(deep) - 1);
	call(f, "POST", "/v1/services", deep, KEY, &a);
	error_is(&a, 400, "invalid_json", "deeper");
	answer_free(&a);

	/* unknown ids, unknown routes, wrong methods */
	call(f, "GET", "/v1/sessions/ses_doesnotexist", NULL, KEY, &a);
	error_is(&a, 404, "not_found", NULL);
	answer_free(&a);
	call(f, "PATCH", "/v1/sessions/ses_doesnotexist", "{\"status\":\"closed\"}", KEY, &a);
	error_is(&a, 404, "not_found", NULL);
	answer_free(&a);
	call(f, "GET", "/v1/services/svc_doesnotexist/sessions", NULL, KEY, &a);
	error_is(&a, 404, "not_found", NULL);
	answer_free(&a);
	call(f, "GET", "/v1/nope", NULL, KEY, &a);
	error_is(&a, 404, "not_found", NULL);
	answer_free(&a);
	call(f, "PUT", "/v1/services", "{\"name\":\"X\"}", KEY, &a);
	error_is(&a, 405, "method_not_allowed", NULL);
	answer_free(&a);

	/* a session create refused: nothing created, the real number not echoed */
	snprintf(target, sizeof(target), "/v1/services/%s/sessions", svc);
	call(f, "POST", target, "{\"participants\":[{\"number\":\"" R2 "\"},{\"number\":\"" R2 "\"}]}", KEY, &a);
	error_is(&a, 400, "invalid_field", NULL);
	answer_free(&a);
	call(f, "POST", target, "{\"participants\":[{\"number\":\"" R2 "\",\"nickname\":\"x\"},{\"number\":\"" R1 "\"}]}",
	     KEY, &a);
	error_is(&a, 400, "unknown_field", "nickname");
	answer_free(&a);
	list = json_object_get(ok(f, "GET", target, NULL, 200, &a), "sessions");
	assert_int_equal(json_array_size(list), 0);
	answer_free(&a);

	/* a refused PATCH writes nothing, not even its valid fields */
	json_t *s = ok(f, "POST", target,
		       "{\"ttl\":600,\"participants\":[{\"number\":\"" R0 "\"},{\"number\":\"" R1 "\"}]}", 201, &a);
	char one[128];
	snprintf(one, sizeof(one), "/v1/sessions/%s", str(s, "id"));
	answer_free(&a);
	static const char *const refused[][3] = {
		{"{\"ttl\":60,\"colour\":\"red\"}", "unknown_field", "colour"},
		{"{\"ttl\":60,\"status\":\"paused\"}", "invalid_field", "status"},
		{"{\"ttl\":-5}", "invalid_field", "ttl"},
		{"{\"ttl\":60,\"expires_at\":\"soon\"}", "invalid_field", "expires_at"},
		{"{\"ttl\": }", "invalid_json", "line 1"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		call(f, "PATCH", one, refused[i][0], KEY, &a);
		error_is(&a, 400, refused[i][1], refused[i][2]);
		answer_free(&a);
	}
	json_t *g = ok(f, "GET", one, NULL, 200, &a);
	assert_int_equal(json_integer_value(json_object_get(g, "ttl")), 600);
	assert_string_equal(str(g, "status"), "open");
	answer_free(&a);
}

static void test_rate_limited(void **state)
{
	struct fixture *f = *state;
	f->app.api_rate = 2;
	struct answer a;
	int limited = 0;
	for (int i = 0; i < 3; i++) {
		call(f, "GET", "/v1/services", NULL, KEY, &a);
		if (a.status == 429) {
			error_is(&a, 429, "rate_limited", NULL);
			long secs = strtol(a.retry_after, NULL, 10);
			assert_true(secs >= 1 && secs <= 2);
			limited++;
		} else {
			assert_int_equal(a.status, 200);
		}
		answer_free(&a);
	}
	assert_int_equal(limited, 1);
	f->app.api_rate = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_beside_the_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_services_and_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_life, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
