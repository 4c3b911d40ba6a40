/* SPDX-License-Identifier: MIT */
/* api.c - /v1 authentication and routing table; see api.h. */
#include "api.h"
#include "api_internal.h"
#include "proxy_v1.h"
#include "../util/metrics.h"
#include "../store/store.h"
#include "../store/store_outbox.h"
#include "../flow/audit.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/ids.h"
#include "../util/limiter.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
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
	{"PUT", "/v1/account", api_account_put},
	{"GET", "/v1/stats", api_stats},
	{"POST", "/v1/keys", api_key_create},
	{"GET", "/v1/keys", api_key_list},
	{"POST", "/v1/keys/{key}/rotate", api_key_rotate},
	{"DELETE", "/v1/keys/{key}", api_key_revoke},
	{"GET", "/v1/audit", api_audit_list},
	{"GET", "/v1/audit/export", api_audit_export},
	{"GET", "/v1/audit/verify", api_audit_verify},
	{"POST", "/v1/participants/{par}/reveal", api_participant_reveal},
	{"POST", "/v1/privacy/lookup", api_privacy_lookup},
	{"POST", "/v1/privacy/erase", api_privacy_erase},
	{"GET", "/v1/services/{svc}/outbox", api_outbox_list},
	{"POST", "/v1/outbox/{obx}/retry", api_outbox_retry},
	{"GET", "/v1/services/{svc}/events", api_service_events_list},
	{"POST", "/v1/sessions/{ses}/calls", api_session_call},
	{"POST", "/v1/services/{svc}/profiles", api_profile_create},
	{"GET", "/v1/services/{svc}/profiles", api_profile_list},
	{"GET", "/v1/services/{svc}/profiles/{prf}", api_profile_get},
	{"PATCH", "/v1/services/{svc}/profiles/{prf}", api_profile_patch},
};

void api_not_found(struct api_req *r, const char *what)
{
	assert(r != NULL && what != NULL);
	struct api_error e;
	api_error_set(&e, 404, "not_found", "no such %s", what);
	api_reply_error(r->res, &e);
}

int api_page_query(struct api_req *r, const struct form *q, long def, long max, long *limit, long long *after)
{
	assert(r != NULL && q != NULL && limit != NULL && after != NULL && def >= 1 && def <= max);
	struct api_error e;
	*limit = def;
	*after = 0;
	const char *l = form_get(q, "limit");
	if (l != NULL) {
		char *end = NULL;
		*limit = strtol(l, &end, 10);
		if (*l == '\0' || *end != '\0' || *limit < 1 || *limit > max) {
			api_error_set(&e, 400, "invalid_field", "limit must be an integer from 1 to %ld", max);
			api_reply_error(r->res, &e);
			return -1;
		}
	}
	const char *a = form_get(q, "after");
	if (a != NULL) {
		char *end = NULL;
		*after = strtoll(a, &end, 10);
		if (*a == '\0' || *end != '\0' || *after < 0) {
			api_error_set(&e, 400, "invalid_field", "after must be the next cursor of a previous page");
			api_reply_error(r->res, &e);
			return -1;
		}
	}
	return 0;
}

void api_store_failed(struct api_req *r, const char *what, int rc)
{
	assert(r != NULL && what != NULL && rc < 0);
	/* ids only: a path segment may be client text (a unique name), never logged */
	log_error("api %s %s%s%s: %s: %s", r->http->method, r->request_id != NULL ? r->request_id : "-",
		  r->id != NULL ? " " : "", r->id != NULL ? r->id : "", what, maskd_strerror(rc));
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

/* The bootstrap admin key (MASKD_ADMIN_KEY or the one made at first start). */
static const struct api_key bootstrap_key = {
	.id = "bootstrap", .role = ROLE_ADMIN, .label = "bootstrap admin key"};

/* Checks the bearer key: 1 with *out the key (the bootstrap one first, in
 * memory; then the stored key with that hash, live at now), 0 for a missing,
 * unknown, revoked or expired key, or the store's negative error. key_id gets
 * the key's SHA-256 (hex), its name in the rate limiter (never the key itself).
 * last_used_at is rewritten at most once per KEY_TOUCH_INTERVAL_S per key. */
static int authenticate(struct app *app, const struct http_request *req, struct api_key *out, char key_id[65])
{
	const char *h = http_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	const char *key = h + 7;
	uint8_t digest[32];
	sha256(key, strlen(key), digest);
	hex_encode(digest, sizeof(digest), key_id);
	if (ct_equal(digest, sizeof(digest), app->admin_key_hash, sizeof(app->admin_key_hash))) {
		*out = bootstrap_key;
		return 1;
	}
	int rc = store_key_by_hash(app->store, key_id, out);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (!ct_equal(out->hash, strlen(out->hash), key_id, strlen(key_id)))
		return 0;
	int64_t now = now_unix();
	if (!scope_key_live(out, now))
		return 0;
	if (!app->read_only && now - out->last_used_at >= KEY_TOUCH_INTERVAL_S &&
	    store_key_touch(app->store, out->id, now) < 0)
		log_warn("api: could not record the use of key %s", out->id);
	return 1;
}

/* What route rt does, as core/scope.h's rule sees it. */
static enum scope_action route_action(const struct api_route *rt)
{
	const char *p = rt->pattern;
	size_t n = strlen(p);
	if (strncmp(p, "/v1/keys", 8) == 0)
		return SCOPE_KEYS;
	if (strncmp(p, "/v1/audit", 9) == 0)
		return SCOPE_AUDIT;
	if (strncmp(p, "/v1/privacy/", 12) == 0)
		return SCOPE_PRIVACY;
	if (n > 7 && strcmp(p + n - 7, "/reveal") == 0)
		return SCOPE_REVEAL;
	if ((n > 8 && strcmp(p + n - 8, "/records") == 0) || (n > 6 && strcmp(p + n - 6, "/usage") == 0))
		return SCOPE_RECORDS;
	if (strcmp(p, "/v1/services") == 0 && strcmp(rt->method, "POST") == 0)
		return SCOPE_GLOBAL;
	/* the process's counters span every service */
	if (strcmp(p, "/v1/stats") == 0)
		return SCOPE_GLOBAL;
	/* the Twilio Proxy identity of the calling key (its Basic auth password is
	 * that key): the admin key, or a service key for its own service */
	if (strcmp(p, "/v1/account") == 0)
		return SCOPE_WRITE;
	return strcmp(rt->method, "GET") == 0 ? SCOPE_READ : SCOPE_WRITE;
}

/* An owner no key has: the resource does not exist, so a scoped key hears 404
 * exactly as for another service's resource. */
static const char owner_unknown[] = "\x01";

/* The service that owns the first id of the path (a service, session, number,
 * participant or key; an admin or privacy key belongs to none) into owner ("" when the path names none): 0, or the store's
 * negative error. */
static int resource_owner(struct api_req *r, char owner[ID_MAX], const char **noun)
{
	owner[0] = '\0';
	*noun = "resource";
	if (r->id == NULL)
		return 0;
	int rc = 0;
	if (id_valid("svc", r->id)) {
		*noun = "service";
		snprintf(owner, ID_MAX, "%s", r->id);
		return 0;
	} else if (id_valid("ses", r->id)) {
		*noun = "session";
		struct session *s = arena_alloc(r->http->arena, sizeof(*s));
		rc = store_session_get(r->app->store, r->id, s);
		if (rc == 0)
			snprintf(owner, ID_MAX, "%s", s->service_id);
	} else if (id_valid("num", r->id)) {
		*noun = "number";
		struct number n;
		rc = store_number_get(r->app->store, r->id, &n);
		if (rc == 0)
			snprintf(owner, ID_MAX, "%s", n.service_id);
	} else if (id_valid("par", r->id)) {
		*noun = "participant";
		char session_id[ID_MAX];
		int purged = 0;
		rc = store_participant_owner(r->app->store, r->id, session_id, owner, &purged);
	} else if (id_valid("obx", r->id)) {
		*noun = "outbox message";
		struct outbox_item it;
		rc = store_outbox_get(r->app->store, r->id, &it);
		if (rc == 0)
			snprintf(owner, ID_MAX, "%s", it.service_id[0] != '\0' ? it.service_id : owner_unknown);
	} else if (id_valid("key", r->id)) {
		*noun = "key";
		struct api_key k;
		rc = store_key_get(r->app->store, r->id, &k);
		if (rc == 0)
			snprintf(owner, ID_MAX, "%s", k.service_id);
	} else {
		return 0;
	}
	if (rc == MASKD_ENOTFOUND) {
		snprintf(owner, ID_MAX, "%s", owner_unknown);
		return 0;
	}
	return rc;
}

/* Answers 403 or 404 unless r's key may run rt; true when it may. */
static bool scope_ok(struct api_req *r, const struct api_route *rt)
{
	enum scope_action a = route_action(rt);
	char owner[ID_MAX] = "";
	const char *noun = "resource";
	if (scope_role_is_scoped(r->key->role)) {
		int rc = resource_owner(r, owner, &noun);
		if (rc < 0) {
			api_store_failed(r, "scope", rc);
			return false;
		}
	}
	enum scope_verdict v = scope_check(r->key, a, owner);
	if (v == SCOPE_ALLOW)
		return true;
	if (v == SCOPE_HIDDEN) {
		api_not_found(r, noun);
		return false;
	}
	struct api_error e;
	api_error_set(&e, 403, "forbidden", "a %s key may not %s %s", scope_role_name(r->key->role), r->http->method,
		      rt->pattern);
	api_reply_error(r->res, &e);
	return false;
}

void api_audit_entry(const struct api_req *r, struct audit_entry *e, const char *action, const char *target,
		     const char *reason, const char *detail, int64_t now)
{
	assert(r != NULL && e != NULL && action != NULL);
	memset(e, 0, sizeof(*e));
	e->created_at = now;
	snprintf(e->key_id, sizeof(e->key_id), "%s", r->key ? r->key->id : "");
	snprintf(e->key_label, sizeof(e->key_label), "%s", r->key ? r->key->label : "");
	snprintf(e->request_id, sizeof(e->request_id), "%s", r->request_id ? r->request_id : "");
	snprintf(e->source, sizeof(e->source), "%s", r->source ? r->source : "");
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->target, sizeof(e->target), "%s", target ? target : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
}

/* The audit detail of a successful request body: its status (sessions) and the
 * names of the fields it set, never their values (credentials, numbers). */
static void audit_detail(const struct http_request *req, char *out, size_t cap)
{
	out[0] = '\0';
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		return;
	}
	struct buf b;
	buf_init(&b);
	json_t *st = json_object_get(body, "status");
	if (json_is_string(st) && json_key_echoable(json_string_value(st)))
		buf_printf(&b, "status=%s ", json_string_value(st));
	buf_printf(&b, "fields=");
	const char *k;
	json_t *v;
	int i = 0;
	json_object_foreach(body, k, v) {
		if (json_key_echoable(k))
			buf_printf(&b, "%s%s", i++ ? "," : "", k);
	}
	snprintf(out, cap, "%.*s", (int)b.len, b.data);
	buf_free(&b);
	json_decref(body);
}

void api_audit_request(const struct api_req *r, struct audit_entry *e, const char *action)
{
	assert(r != NULL && e != NULL && action != NULL);
	char detail[AUDIT_TEXT_MAX + 1];
	audit_detail(r->http, detail, sizeof(detail));
	const char *reason = http_header(r->http, "X-Audit-Reason");
	api_audit_entry(r, e, action, r->id2 ? r->id2 : r->id, reason, detail, now_unix());
}


/* X-Request-Id when it is 1..64 bytes of [A-Za-z0-9._-], else a new "req_" id. */
const char *api_request_id(const struct http_request *req)
{
	const char *h = http_header(req, "X-Request-Id");
	size_t n = h ? strlen(h) : 0;
	bool sane = n > 0 && n <= AUDIT_FIELD_MAX && strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
							   "0123456789._-") == n;
	if (sane)
		return h;
	char *id = arena_alloc(req->arena, ID_MAX);
	id_new("req", id);
	return id;
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
	/* Twilio Proxy v1 (Basic auth, its own answers): before the bearer check */
	if (proxy_v1_handle(app, req, res))
		return 1;
	metrics_inc(MC_API_REQUESTS);
	struct api_error e;
	struct api_req r = {.app = app, .http = req, .res = res};
	char key_id[65];
	struct api_key *key = arena_alloc(req->arena, sizeof(*key));
	int auth = authenticate(app, req, key, key_id);
	if (auth < 0) {
		api_store_failed(&r, "authenticate", auth);
		goto done;
	}
	if (auth == 0) {
		api_error_set(&e, 401, "unauthorized", "missing, wrong, revoked or expired bearer key");
		api_reply_error(res, &e);
		res->status = 401;
		goto done;
	}
	r.key = key;
	r.request_id = api_request_id(req);
	r.source = req->remote ? req->remote : "";
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
		if (!scope_ok(&r, &routes[i]))
			goto done;
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

int api_rate_allow(struct app *app, const char *key_id, struct http_response *res, struct arena *a)
{
	assert(app != NULL && key_id != NULL && res != NULL && a != NULL);
	return rate_ok(app, key_id, res, a);
}
