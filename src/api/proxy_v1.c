/* SPDX-License-Identifier: MIT */
/* proxy_v1.c - Twilio Proxy v1 at /v1/Services/...: Basic auth, form decoding,
 * routing, Twilio's answers, lists and errors (the resources are in
 * proxy_v1_services.c, proxy_v1_sessions.c and proxy_v1_interactions.c); see proxy_v1.h. Holds no rule of
 * its own: services, numbers, sessions and participants go through the same
 * store calls and flow/ functions as the native API. What Proxy has and maskd's
 * rows do not (the account's auth token, a service's callback URLs) is kept in
 * the settings table under "proxy." keys; a session created before its first
 * participant is a row of its own (store_proxy_session_*). SIDs are the native ids re-spelt (proxy_wire.c). */
#include "proxy_v1_internal.h"
#include "proxy_v1.h"
#include "api_internal.h"
#include "proxy_wire.h"
#include "../flow/audit.h"
#include "../flow/lifecycle.h"
#include "../flow/sessions.h"
#include "../out/sender.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/hex.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ answers */

/* Twilio's error body {code, message, more_info, status} with HTTP status. */

void pv_perr(struct preq *p, int status, int code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char more[64];
	snprintf(more, sizeof(more), "https://www.twilio.com/docs/errors/%d", code);
	api_reply(p->res, status, json_pack("{s:i,s:s,s:s,s:i}", "code", code, "message", msg, "more_info", more, "status",
					    status));
}

void pv_perr_store(struct preq *p, const char *what, int rc)
{
	log_error("proxy %s %s: %s: %s", p->http->method, p->http->path, what, maskd_strerror(rc));
	pv_perr(p, 503, 20503, "The database is unavailable; retry");
}

void pv_perr_not_found(struct preq *p)
{
	pv_perr(p, 404, 20404, "The requested resource was not found");
}

void pv_perr_missing(struct preq *p, const char *name)
{
	pv_perr(p, 400, 20001, "Missing required parameter %s in the post body", name);
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

json_t *pv_time_or_null(int64_t t)
{
	return json_time(t);
}

json_t *pv_sid_json(const char *id)
{
	char sid[PROXY_SID_LEN + 1];
	if (id == NULL || id[0] == '\0' || proxy_sid_from_id(id, sid) < 0)
		return json_null();
	return json_string(sid);
}

const char *pv_sid_of(struct preq *p, const char *id)
{
	char sid[PROXY_SID_LEN + 1];
	if (proxy_sid_from_id(id, sid) < 0)
		return "";
	return arena_strdup(p->http->arena, sid);
}

/* ------------------------------------------------------------ settings rows */

int pv_extra_get(struct preq *p, const char *service_id, struct proxy_service_extra *x)
{
	memset(x, 0, sizeof(*x));
	char key[64], val[PROXY_SETTING_MAX];
	snprintf(key, sizeof(key), PROXY_SERVICE_PREFIX "%s", service_id);
	int rc = store_setting_get(p->app->store, key, val, sizeof(val));
	if (rc == MASKD_ENOTFOUND)
		return 0; /* a service made by the native API: no Proxy-only fields */
	if (rc < 0)
		return rc;
	json_t *o = json_loads(val, 0, NULL);
	if (o == NULL)
		return MASKD_EDB;
	snprintf(x->callback_url, sizeof(x->callback_url), "%s", str_or_empty(json_string_value(json_object_get(o, "callback_url"))));
	snprintf(x->intercept_callback_url, sizeof(x->intercept_callback_url), "%s",
		 str_or_empty(json_string_value(json_object_get(o, "intercept_callback_url"))));
	snprintf(x->out_of_session_callback_url, sizeof(x->out_of_session_callback_url), "%s",
		 str_or_empty(json_string_value(json_object_get(o, "out_of_session_callback_url"))));
	snprintf(x->chat_instance_sid, sizeof(x->chat_instance_sid), "%s",
		 str_or_empty(json_string_value(json_object_get(o, "chat_instance_sid"))));
	snprintf(x->geo_match_level, sizeof(x->geo_match_level), "%s",
		 str_or_empty(json_string_value(json_object_get(o, "geo_match_level"))));
	x->updated_at = json_integer_value(json_object_get(o, "updated_at"));
	json_decref(o);
	return 0;
}

int pv_extra_put(struct preq *p, const char *service_id, const struct proxy_service_extra *x)
{
	char key[64];
	snprintf(key, sizeof(key), PROXY_SERVICE_PREFIX "%s", service_id);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "callback_url", x->callback_url, "intercept_callback_url",
			      x->intercept_callback_url, "out_of_session_callback_url", x->out_of_session_callback_url,
			      "chat_instance_sid", x->chat_instance_sid, "geo_match_level", x->geo_match_level,
			      "updated_at", (json_int_t)x->updated_at);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return MASKD_EDB;
	int rc = store_setting_put(p->app->store, key, s);
	free(s);
	return rc;
}

int pv_pending_get(struct preq *p, const char *session_id, struct proxy_pending *pd)
{
	memset(pd, 0, sizeof(*pd));
	struct store_proxy_session r;
	int rc = store_proxy_session_get(p->app->store, session_id, &r);
	if (rc < 0)
		return rc;
	snprintf(pd->service_id, sizeof(pd->service_id), "%s", r.service_id);
	snprintf(pd->unique_name, sizeof(pd->unique_name), "%s", r.unique_name);
	pd->mode = r.mode;
	pd->ttl = r.ttl;
	pd->expires_at = r.expires_at;
	pd->created_at = r.created_at;
	return 0;
}

struct pending_write {
	const struct store_proxy_session *put; /* NULL: delete */
	const char *id;
	struct audit_entry *audit;
};

static int pending_write_body(struct store_tx *tx, void *ctx)
{
	struct pending_write *w = ctx;
	int rc = w->put != NULL ? store_tx_proxy_session_put(tx, w->put) : store_tx_proxy_session_delete(tx, w->id);
	if (rc == 0 && w->audit != NULL)
		rc = audit_then(tx, w->audit);
	return rc;
}

int pv_pending_delete(struct preq *p, const char *session_id, struct audit_entry *audit)
{
	struct pending_write w = {.id = session_id, .audit = audit};
	return store_tx_run(p->app->store, pending_write_body, &w);
}

int pv_pending_put(struct preq *p, const char *session_id, const struct proxy_pending *pd, struct audit_entry *audit)
{
	struct store_proxy_session r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", session_id);
	snprintf(r.service_id, sizeof(r.service_id), "%s", pd->service_id);
	snprintf(r.unique_name, sizeof(r.unique_name), "%s", pd->unique_name);
	r.mode = pd->mode;
	r.ttl = pd->ttl;
	r.expires_at = pd->expires_at;
	r.created_at = pd->created_at;
	struct pending_write w = {.put = &r, .id = session_id, .audit = audit};
	return store_tx_run(p->app->store, pending_write_body, &w);
}

/* The settings key of the account row of (sid, key_hash) into out (cap >=
 * PROXY_ACCOUNT_KEY_MAX); key_hash NULL: the row of sid alone, as written before
 * scoped keys could hold one (the admin key's). */
static void account_row_key(const char *sid, const char *key_hash, char *out, size_t cap)
{
	if (key_hash != NULL)
		snprintf(out, cap, PROXY_ACCOUNT_PREFIX "%s.%s", sid, key_hash);
	else
		snprintf(out, cap, PROXY_ACCOUNT_PREFIX "%s", sid);
}

/* Reads the row named key: it must be for key_hash; opens its auth token into
 * token. 0, MASKD_ENOTFOUND (no row, or another key's), or MASKD_EDB. */
static int account_row_read(struct app *app, const char *key, const char key_hash[65], char *token, size_t cap)
{
	char val[PROXY_SETTING_MAX];
	int rc = store_setting_get(app->store, key, val, sizeof(val));
	if (rc < 0)
		return rc;
	json_t *o = json_loads(val, 0, NULL);
	const char *kh = json_string_value(json_object_get(o, "key_sha256"));
	const char *sealed = json_string_value(json_object_get(o, "auth_token_sealed"));
	if (kh == NULL || sealed == NULL || strlen(kh) != 64) {
		json_decref(o);
		return MASKD_EDB;
	}
	if (!ct_equal(kh, 64, key_hash, 64)) {
		json_decref(o);
		return MASKD_ENOTFOUND;
	}
	uint8_t blob[PROXY_TOKEN_MAX + VAULT_OVERHEAD + 1];
	size_t n = strlen(sealed) / 2;
	rc = MASKD_EDB;
	if (n <= sizeof(blob) && strlen(sealed) % 2 == 0) {
		for (size_t i = 0; i < n; i++)
			blob[i] = (uint8_t)(hex_digit(sealed[2 * i]) << 4 | hex_digit(sealed[2 * i + 1]));
		rc = vault_unseal(app->vault, blob, n, key, token, cap);
	}
	json_decref(o);
	return rc;
}

int pv_account_get(struct app *app, const char *sid, const char key_hash[65], char *token, size_t cap)
{
	char key[PROXY_ACCOUNT_KEY_MAX];
	account_row_key(sid, key_hash, key, sizeof(key));
	int rc = account_row_read(app, key, key_hash, token, cap);
	if (rc != MASKD_ENOTFOUND)
		return rc;
	account_row_key(sid, NULL, key, sizeof(key));
	return account_row_read(app, key, key_hash, token, cap);
}

/* ------------------------------------------------------------ PUT /v1/account */

static bool account_sid_valid(const char *s)
{
	if (strlen(s) != PROXY_SID_LEN || strncmp(s, "AC", 2) != 0)
		return false;
	for (const char *c = s + 2; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

void api_account_put(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"twilio_account_sid", "twilio_auth_token", NULL};
	const char *sid = NULL, *token = NULL;
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "twilio_account_sid", true, 64, &sid, &e) ||
	    !json_string_field(body, "", "twilio_auth_token", true, PROXY_TOKEN_MAX, &token, &e))
		goto fail;
	if (!account_sid_valid(sid)) {
		api_error_set(&e, 400, "invalid_field", "twilio_account_sid must be AC and 32 lowercase hex digits");
		goto fail;
	}
	if (token[0] == '\0') {
		api_error_set(&e, 400, "invalid_field", "twilio_auth_token must not be empty");
		goto fail;
	}
	const char *auth = http_header(r->http, "Authorization");
	assert(auth != NULL); /* api.c let the request in with a bearer key */
	uint8_t digest[32];
	sha256(auth + 7, strlen(auth + 7), digest);
	char key_hash[65];
	hex_encode(digest, sizeof(digest), key_hash);
	char key[PROXY_ACCOUNT_KEY_MAX];
	account_row_key(sid, key_hash, key, sizeof(key));
	uint8_t blob[PROXY_TOKEN_MAX + VAULT_OVERHEAD + 1];
	size_t n = 0;
	if (vault_seal(r->app->vault, token, key, blob, sizeof(blob), &n) < 0) {
		api_error_set(&e, 400, "invalid_field", "twilio_auth_token is too long");
		goto fail;
	}
	char *sealed = arena_alloc(r->http->arena, 2 * n + 1);
	hex_encode(blob, n, sealed);
	json_t *row = json_pack("{s:s,s:s}", "key_sha256", key_hash, "auth_token_sealed", sealed);
	char *text = json_dumps(row, JSON_COMPACT);
	json_decref(row);
	int rc = text != NULL ? store_setting_put(r->app->store, key, text) : MASKD_EDB;
	free(text);
	if (!api_store_ok(r, rc, NULL, "account_put")) {
		json_decref(body);
		return;
	}
	log_info("proxy account %s set for the calling key", sid);
	api_reply(r->res, 200, json_pack("{s:s,s:b}", "twilio_account_sid", sid, "twilio_auth_token_set", 1));
	json_decref(body);
	return;
fail:
	api_reply_refused(r, body, &e);
}

/* ------------------------------------------------------------ auth */

/* The maskd key of secret (its SHA-256 in hexd): the admin key, or a stored key
 * live at now. 1 with *out, 0 for none, or the store's negative error. */
static int key_of_secret(struct app *app, const uint8_t digest[32], const char hexd[65], int64_t now,
			 struct api_key *out)
{
	memset(out, 0, sizeof(*out));
	if (ct_equal(digest, 32, app->admin_key_hash, sizeof(app->admin_key_hash))) {
		snprintf(out->id, sizeof(out->id), "bootstrap");
		out->role = ROLE_ADMIN;
		return 1;
	}
	int rc = store_key_by_hash(app->store, hexd, out);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	return ct_equal(out->hash, strlen(out->hash), hexd, 64) && scope_key_live(out, now) ? 1 : 0;
}

/* Basic auth: the account SID and a maskd key that set it (PUT /v1/account) and
 * is still live: the admin key, or a service key of one service.
 * 1 with p->account_sid and p->key, 0 for a wrong pair, or the store's negative
 * error. */
static int proxy_authorized(struct preq *p)
{
	const char *h = http_header(p->http, "Authorization");
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	char dec[512];
	long n = base64_decode(h + 6, strlen(h + 6), (uint8_t *)dec, sizeof(dec) - 1);
	if (n <= 0)
		return 0;
	dec[n] = '\0';
	char *colon = strchr(dec, ':');
	if (colon == NULL)
		return 0;
	*colon = '\0';
	const char *user = dec, *pass = colon + 1;
	int ok = 0;
	if (!account_sid_valid(user))
		goto done;
	uint8_t digest[32];
	sha256(pass, strlen(pass), digest);
	char hexd[65];
	hex_encode(digest, sizeof(digest), hexd);
	char token[PROXY_TOKEN_MAX + 1];
	int rc = pv_account_get(p->app, user, hexd, token, sizeof(token));
	explicit_bzero(token, sizeof(token));
	if (rc == MASKD_ENOTFOUND)
		goto done;
	if (rc < 0) {
		ok = rc;
		goto done;
	}
	ok = key_of_secret(p->app, digest, hexd, now_unix(), &p->key);
	if (ok != 1)
		goto done;
	snprintf(p->account_sid, sizeof(p->account_sid), "%.34s", user); /* account_sid_valid(): 34 */
	snprintf(p->key_id, sizeof(p->key_id), "%s", hexd);
done:
	explicit_bzero(dec, sizeof(dec));
	return ok;
}

/* Whether p's key may do this request's method on a resource of service
 * owner (NULL: a new service). False with Twilio's answer sent: 404 for
 * another service's (as for an unknown SID), 403 (20403) for what the key's
 * role may not do. */
bool pv_scope_ok(struct preq *p, const char *owner)
{
	enum scope_action a = owner == NULL ? SCOPE_GLOBAL
				: strcmp(p->http->method, "GET") == 0 ? SCOPE_READ : SCOPE_WRITE;
	enum scope_verdict v = scope_check(&p->key, a, owner != NULL ? owner : "");
	if (v == SCOPE_ALLOW)
		return true;
	if (v == SCOPE_HIDDEN)
		pv_perr_not_found(p);
	else
		pv_perr(p, 403, 20403, "A %s key may not %.8s this resource", scope_role_name(p->key.role),
			p->http->method);
	return false;
}

/* ------------------------------------------------------------ parameters */

const char *pv_param(struct preq *p, const char *name)
{
	return form_get(&p->body, name);
}

/* An integer parameter: absent -> *present false; otherwise min..max or a 400. */
bool pv_int_param(struct preq *p, const struct form *f, const char *name, int64_t min, int64_t max,
		      bool *present, int64_t *out)
{
	*present = false;
	const char *v = form_get(f, name);
	if (v == NULL)
		return true;
	char *end = NULL;
	long long x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x < min || x > max) {
		pv_perr(p, 400, 20001, "Invalid parameter %s: an integer from %lld to %lld", name, (long long)min,
		     (long long)max);
		return false;
	}
	*present = true;
	*out = x;
	return true;
}

bool pv_bool_param(struct preq *p, const char *name, bool *present, bool *out)
{
	*present = false;
	const char *v = pv_param(p, name);
	if (v == NULL)
		return true;
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
		pv_perr(p, 400, 20001, "Invalid parameter %s: true or false", name);
		return false;
	}
	*present = true;
	*out = strcmp(v, "true") == 0;
	return true;
}

bool pv_url_param(struct preq *p, const char *name, char *out, size_t cap)
{
	const char *v = pv_param(p, name);
	if (v == NULL)
		return true;
	if (v[0] != '\0' && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		pv_perr(p, 400, 20001, "Invalid parameter %s: an http or https URL", name);
		return false;
	}
	if (strlen(v) >= cap) {
		pv_perr(p, 400, 20001, "Invalid parameter %s: at most %zu characters", name, cap - 1);
		return false;
	}
	snprintf(out, cap, "%s", v);
	return true;
}

/* DateExpiry: YYYY-MM-DDTHH:mm:ssZ in the future ("" clears it: 0). */
bool pv_date_param(struct preq *p, const char *name, int64_t now, bool *present, int64_t *out)
{
	*present = false;
	const char *v = pv_param(p, name);
	if (v == NULL)
		return true;
	*present = true;
	if (v[0] == '\0') {
		*out = 0;
		return true;
	}
	if (rfc3339_parse(v, out) < 0 || *out <= now) {
		pv_perr(p, 400, 20001, "Invalid parameter %s: a future date such as 2030-01-01T00:00:00Z", name);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ lists */

bool pv_page_parse(struct preq *p, const char *sid_prefix, struct page *pg)
{
	bool has = false;
	pg->size = PROXY_PAGE_DEFAULT;
	pg->number = 0;
	pg->after_id[0] = '\0';
	pg->presliced = false;
	if (!pv_int_param(p, &p->query, "PageSize", 1, PROXY_PAGE_MAX, &has, &pg->size) ||
	    !pv_int_param(p, &p->query, "Page", 0, 1000000, &has, &pg->number))
		return false;
	const char *tok = form_get(&p->query, "PageToken");
	if (tok != NULL && proxy_token_parse(tok, sid_prefix, pg->after_id) < 0) {
		pv_perr(p, 400, 20001, "Invalid parameter PageToken");
		return false;
	}
	return true;
}

/* Sends {"<key>": items, "meta": {...}} for the page of all (every row of the
 * list, in order; stolen) that pg selects: rows after PageToken's, or from
 * Page * PageSize without one. */
void pv_page_reply(struct preq *p, json_t *all, const struct page *pg, const char *key, const char *path)
{
	size_t start = 0, n = json_array_size(all);
	if (pg->presliced) {
		start = 0;
	} else if (pg->after_id[0] != '\0') {
		char sid[PROXY_SID_LEN + 1];
		proxy_sid_from_id(pg->after_id, sid);
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(str_or_empty(json_string_value(json_object_get(json_array_get(all, i), "sid"))), sid) == 0)
				break;
		if (i == n) {
			json_decref(all);
			pv_perr(p, 400, 20001, "Invalid parameter PageToken: no such row in this list");
			return;
		}
		start = i + 1;
	} else {
		start = (size_t)(pg->number * pg->size);
		if (start > n)
			start = n;
	}
	json_t *items = json_array();
	for (size_t i = start; i < n && i < start + (size_t)pg->size; i++)
		json_array_append(items, json_array_get(all, i));
	bool more = start + (size_t)pg->size < n;
	json_t *next = json_null();
	if (more) {
		char tok[PROXY_TOKEN_LEN + 1];
		const char *last = json_string_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "sid"));
		proxy_token_make(str_or_empty(last), tok);
		next = json_string(arena_printf(p->http->arena, "%s%s?PageSize=%lld&Page=%lld&PageToken=%s", p->base, path,
						(long long)pg->size, (long long)pg->number + 1, tok));
	}
	json_t *prev = json_null();
	if (pg->number > 0)
		prev = json_string(arena_printf(p->http->arena, "%s%s?PageSize=%lld&Page=%lld", p->base, path,
						(long long)pg->size, (long long)pg->number - 1));
	json_t *meta = json_pack("{s:I,s:I,s:s,s:o,s:o,s:s,s:s}", "page", (json_int_t)pg->number, "page_size",
				 (json_int_t)pg->size, "first_page_url",
				 arena_printf(p->http->arena, "%s%s?PageSize=%lld&Page=0", p->base, path, (long long)pg->size),
				 "previous_page_url", prev, "next_page_url", next, "url",
				 arena_printf(p->http->arena, "%s%s?PageSize=%lld&Page=%lld", p->base, path,
					      (long long)pg->size, (long long)pg->number),
				 "key", key);
	json_decref(all);
	api_reply(p->res, 200, json_pack("{s:o,s:o}", key, items, "meta", meta));
}

/* ------------------------------------------------------------ routing */

static bool is(struct preq *p, int i, const char *s)
{
	return i < p->n_seg && strcmp(p->seg[i], s) == 0;
}

static bool method(struct preq *p, const char *m)
{
	return strcmp(p->http->method, m) == 0;
}

static void not_allowed(struct preq *p)
{
	pv_perr(p, 405, 20004, "Method %.8s is not allowed on this resource", p->http->method);
}

/* /Services/{KS}/Sessions/{KC}/... */
static void route_session(struct preq *p, const struct service *svc)
{
	struct session s;
	bool pending = false;
	if (pv_session_load(p, svc, p->seg[3], &s, &pending) < 0)
		return;
	if (p->n_seg == 4) {
		if (method(p, "GET"))
			api_reply(p->res, 200, pv_session_json(p, &s));
		else if (method(p, "POST"))
			pv_session_update(p, &s, pending);
		else if (method(p, "DELETE"))
			pv_session_delete(p, &s, pending);
		else
			not_allowed(p);
		return;
	}
	const char *path = arena_printf(p->http->arena, "/Services/%s/Sessions/%s", p->seg[1], p->seg[3]);
	if (is(p, 4, "Participants")) {
		if (p->n_seg == 5) {
			if (method(p, "GET"))
				pv_participant_list(p, &s);
			else if (method(p, "POST"))
				pv_participant_create(p, svc, &s, pending);
			else
				not_allowed(p);
			return;
		}
		int idx = pv_participant_index(p, &s, p->seg[5]);
		if (idx < 0)
			return;
		if (p->n_seg == 6) {
			if (method(p, "GET"))
				api_reply(p->res, 200, pv_participant_json(p, &s, &s.participants[idx]));
			else if (method(p, "DELETE"))
				pv_participant_delete(p, &s, idx);
			else
				not_allowed(p);
			return;
		}
		if (!is(p, 6, "MessageInteractions") || p->n_seg > 8) {
			pv_perr_not_found(p);
			return;
		}
		const char *to = s.participants[idx].id;
		if (p->n_seg == 7) {
			if (method(p, "GET"))
				pv_interaction_list(p, &s, to,
						 arena_printf(p->http->arena, "%s/Participants/%s/MessageInteractions", path,
							      p->seg[5]));
			else if (method(p, "POST"))
				pv_message_create(p, svc, &s, idx);
			else
				not_allowed(p);
			return;
		}
		if (method(p, "GET"))
			pv_interaction_fetch(p, &s, p->seg[7], to);
		else
			not_allowed(p);
		return;
	}
	if (is(p, 4, "Interactions") && p->n_seg <= 6) {
		if (p->n_seg == 5) {
			if (method(p, "GET"))
				pv_interaction_list(p, &s, NULL, arena_printf(p->http->arena, "%s/Interactions", path));
			else
				not_allowed(p);
			return;
		}
		if (method(p, "GET"))
			pv_interaction_fetch(p, &s, p->seg[5], NULL);
		else if (method(p, "DELETE"))
			pv_interaction_delete(p, &s, p->seg[5]);
		else
			not_allowed(p);
		return;
	}
	pv_perr_not_found(p);
}

static void route(struct preq *p)
{
	if (p->n_seg == 1) {
		if (method(p, "GET"))
			pv_service_list(p);
		else if (method(p, "POST")) {
			if (pv_scope_ok(p, NULL))
				pv_service_create(p);
		}
		else
			not_allowed(p);
		return;
	}
	struct service svc;
	struct proxy_service_extra x;
	if (pv_service_load(p, p->seg[1], &svc, &x) < 0 || !pv_scope_ok(p, svc.id))
		return;
	if (p->n_seg == 2) {
		if (method(p, "GET"))
			api_reply(p->res, 200, pv_service_json(p, &svc, &x));
		else if (method(p, "POST"))
			pv_service_update(p, &svc, &x);
		else if (method(p, "DELETE"))
			pv_perr(p, 400, 20001, "Deleting a Service is not supported by maskd");
		else
			not_allowed(p);
		return;
	}
	if (is(p, 2, "ShortCodes")) {
		pv_perr(p, 400, 20001, "ShortCodes are not supported by maskd (removed from Twilio Proxy)");
		return;
	}
	if (is(p, 2, "PhoneNumbers") && p->n_seg <= 4) {
		if (p->n_seg == 3) {
			if (method(p, "GET"))
				pv_number_list(p, &svc);
			else if (method(p, "POST"))
				pv_number_create(p, &svc);
			else
				not_allowed(p);
			return;
		}
		struct number n;
		if (pv_number_load(p, &svc, p->seg[3], &n) < 0)
			return;
		if (method(p, "GET"))
			api_reply(p->res, 200, pv_number_json(p, &svc, &n));
		else if (method(p, "POST"))
			pv_number_update(p, &svc, &n);
		else if (method(p, "DELETE"))
			pv_number_delete(p, &n);
		else
			not_allowed(p);
		return;
	}
	if (is(p, 2, "Sessions")) {
		if (p->n_seg == 3) {
			if (method(p, "GET"))
				pv_session_list(p, &svc);
			else if (method(p, "POST"))
				pv_session_create(p, &svc);
			else
				not_allowed(p);
			return;
		}
		route_session(p, &svc);
		return;
	}
	pv_perr_not_found(p);
}

int proxy_v1_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	assert(app != NULL && req != NULL && res != NULL);
	if (strcmp(req->path, "/v1/Services") != 0 && strncmp(req->path, "/v1/Services/", 13) != 0)
		return 0;
	metrics_inc(MC_API_REQUESTS);
	struct preq p = {.app = app, .http = req, .res = res};
	snprintf(p.base, sizeof(p.base), "%s/v1", app->public_url ? app->public_url : "");
	int auth = proxy_authorized(&p);
	if (auth < 0) {
		pv_perr_store(&p, "authenticate", auth);
		goto done;
	}
	if (auth == 0) {
		pv_perr(&p, 401, 20003, "Authenticate");
		goto done;
	}
	if (p.key.role != ROLE_ADMIN && p.key.role != ROLE_SERVICE) { /* the roles PUT /v1/account takes */
		pv_perr(&p, 403, 20403, "A %s key may not use this API", scope_role_name(p.key.role));
		goto done;
	}
	if (!api_rate_allow(app, p.key_id, res, req->arena)) {
		pv_perr(&p, 429, 20429, "Too many requests with this key; retry later");
		goto done;
	}
	char *path = arena_strdup(req->arena, req->path + 4);
	for (char *s = path; s != NULL && *s != '\0';) {
		char *slash = strchr(s, '/');
		if (slash != NULL)
			*slash = '\0';
		if (*s == '\0' || p.n_seg == PROXY_SEGMENTS_MAX) {
			pv_perr_not_found(&p);
			goto done;
		}
		p.seg[p.n_seg++] = s;
		s = slash != NULL ? slash + 1 : NULL;
	}
	if (form_parse(req->arena, req->query, strlen(req->query), &p.query) < 0 ||
	    form_parse(req->arena, req->body ? req->body : "", req->body_len, &p.body) < 0) {
		pv_perr(&p, 400, 20001, "Malformed form-encoded parameters");
		goto done;
	}
	route(&p);
done:
	if (res->status >= 400)
		metrics_inc(MC_API_ERRORS);
	return 1;
}

