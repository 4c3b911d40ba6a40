/* SPDX-License-Identifier: MIT */
/* api.c - /v1 authentication and routing table; see api.h. */
#include "api.h"
#include "api_internal.h"
#include "../util/metrics.h"
#include "../store/store.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/limiter.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct api_route {
	const char *method;
	const char *pattern; /* segments; "{svc}" etc. match one id with that prefix */
	void (*fn)(struct api_req *r);
};

static const struct api_route routes[] = {
	{"POST", "/v1/services", api_service_create},
	{"GET", "/v1/services", api_service_list},
	{"GET", "/v1/services/{svc}", api_service_get},
	{"PATCH", "/v1/services/{svc}", api_service_patch},
	{"POST", "/v1/services/{svc}/numbers", api_number_create},
	{"GET", "/v1/services/{svc}/numbers", api_number_list},
	{"PATCH", "/v1/numbers/{num}", api_number_patch},
	{"DELETE", "/v1/numbers/{num}", api_number_delete},
	{"POST", "/v1/services/{svc}/sessions", api_session_create},
	{"GET", "/v1/services/{svc}/sessions", api_session_list},
	{"GET", "/v1/sessions/{ses}", api_session_get},
	{"PATCH", "/v1/sessions/{ses}", api_session_patch},
	{"DELETE", "/v1/sessions/{ses}", api_session_delete},
	{"GET", "/v1/sessions/{ses}/interactions", api_interaction_list},
	{"GET", "/v1/sessions/{ses}/events", api_session_events},
	{"POST", "/v1/sessions/{ses}/participants", api_participant_add},
	{"PATCH", "/v1/sessions/{ses}/participants/{par}", api_participant_swap},
	{"GET", "/v1/services/{svc}/pool", api_pool},
	{"GET", "/v1/services/{svc}/records", api_records},
	{"GET", "/v1/services/{svc}/usage", api_usage},
	{"GET", "/v1/services/{svc}/outbox", api_outbox_list},
	{"POST", "/v1/outbox/{obx}/retry", api_outbox_retry},
};

void api_not_found(struct api_req *r, const char *what)
{
	assert(r != NULL && what != NULL);
	struct api_error e;
	api_error_set(&e, 404, "not_found", "no such %s", what);
	api_reply_error(r->res, &e);
}

void api_store_failed(struct api_req *r, const char *what, int rc)
{
	assert(r != NULL && what != NULL && rc < 0);
	log_error("api %s %s: %s: %s", r->http->method, r->http->path, what, maskd_strerror(rc));
	struct api_error e;
	api_error_set(&e, 503, "unavailable", "the database is unavailable; retry");
	api_reply_error(r->res, &e);
}

bool api_store_ok(struct api_req *r, int rc, const char *noun, const char *what)
{
	if (rc >= 0)
		return true;
	if (rc == MASKD_ENOTFOUND && noun != NULL)
		api_not_found(r, noun);
	else
		api_store_failed(r, what, rc);
	return false;
}

void api_reply_list(struct api_req *r, int rc, json_t *arr, const char *key, const char *what)
{
	assert(r != NULL && arr != NULL && key != NULL && what != NULL);
	if (rc < 0) {
		json_decref(arr);
		api_store_failed(r, what, rc);
		return;
	}
	api_reply(r->res, 200, json_pack("{s:o}", key, arr));
}

void api_reply_refused(struct api_req *r, json_t *body, const struct api_error *e)
{
	assert(r != NULL && e != NULL);
	json_decref(body);
	api_reply_error(r->res, e);
}

int api_service_load(struct api_req *r, const char *id, struct service *svc)
{
	assert(r != NULL && id != NULL && svc != NULL);
	int rc = store_service_get(r->app->store, id, svc);
	if (rc == MASKD_ENOTFOUND)
		api_not_found(r, "service");
	else if (rc < 0)
		api_store_failed(r, "service_get", rc);
	return rc;
}

/* Matches path against pattern; on a match sets ids[0] and ids[1] to the path's
 * ids in order (arena; NULL when absent). */
static int route_match(const char *pattern, const char *path, struct arena *a, const char *ids[2])
{
	ids[0] = ids[1] = NULL;
	int n_ids = 0;
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '{') {
			const char *close = strchr(pattern, '}');
			char prefix[8];
			snprintf(prefix, sizeof(prefix), "%.*s", (int)(close - pattern - 1), pattern + 1);
			size_t n = strcspn(path, "/");
			char *seg = arena_strndup(a, path, n);
			if (!id_valid(prefix, seg))
				return -1; /* right shape of path, wrong id: a 404, not another route */
			if (n_ids < 2)
				ids[n_ids++] = seg;
			pattern = close + 1;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *pattern == '\0' && *path == '\0' ? 1 : 0;
}

/* Checks the bearer key; on success writes its SHA-256 (hex) to key_id, the
 * key's name in the rate limiter (never the key itself). */
static int authorized(const struct app *app, const struct http_request *req, char key_id[65])
{
	const char *h = http_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	const char *key = h + 7;
	uint8_t digest[32];
	sha256(key, strlen(key), digest);
	hex_encode(digest, sizeof(digest), key_id);
	return ct_equal(digest, sizeof(digest), app->admin_key_hash, sizeof(app->admin_key_hash));
}

#define API_RATE_WINDOW_MS 1000

/* MASKD_API_RATE requests per second per key; 0 = no limit. */
static int rate_ok(struct app *app, const char *key_id, struct http_response *res, struct arena *a)
{
	if (app->api_rate == 0 || app->limiter == NULL)
		return 1;
	char key[24];
	snprintf(key, sizeof(key), "api/%.16s", key_id);
	int64_t retry_ms = 0;
	if (limiter_allow(app->limiter, key, now_ms(), API_RATE_WINDOW_MS, app->api_rate, &retry_ms))
		return 1;
	metrics_inc(MC_API_RATE_LIMITED);
	res->retry_after = arena_printf(a, "%lld", (long long)((retry_ms + 999) / 1000));
	return 0;
}

int api_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	assert(app != NULL && req != NULL && res != NULL);
	if (strncmp(req->path, "/v1/", 4) != 0 && strcmp(req->path, "/v1") != 0)
		return 0;
	metrics_inc(MC_API_REQUESTS);
	struct api_error e;
	struct api_req r = {.app = app, .http = req, .res = res};
	char key_id[65];
	if (!authorized(app, req, key_id)) {
		api_error_set(&e, 401, "unauthorized", "missing or wrong bearer key");
		api_reply_error(res, &e);
		res->status = 401;
		goto done;
	}
	if (!rate_ok(app, key_id, res, req->arena)) {
		api_error_set(&e, 429, "rate_limited", "more than %u requests per second with this key; retry later",
			      app->api_rate);
		api_reply_error(res, &e);
		goto done;
	}
	int path_matched = 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *ids[2];
		int m = route_match(routes[i].pattern, req->path, req->arena, ids);
		if (m < 0) {
			api_not_found(&r, "resource (malformed id)");
			goto done;
		}
		if (m == 0)
			continue;
		path_matched = 1;
		if (strcmp(routes[i].method, req->method) != 0)
			continue;
		r.id = ids[0];
		r.id2 = ids[1];
		routes[i].fn(&r);
		goto done;
	}
	if (path_matched)
		api_error_set(&e, 405, "method_not_allowed", "%s is not allowed on this path", req->method);
	else
		api_error_set(&e, 404, "not_found", "no such route");
	api_reply_error(res, &e);
done:
	if (res->status >= 400)
		metrics_inc(MC_API_ERRORS);
	return 1;
}
