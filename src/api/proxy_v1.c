/* SPDX-License-Identifier: MIT */
/* proxy_v1.c - Twilio Proxy v1 at /v1/Services/...: Basic auth, form decoding,
 * routing, Twilio's answers, lists and errors; see proxy_v1.h. Holds no rule of
 * its own: services, numbers, sessions and participants go through the same
 * store calls and flow/ functions as the native API. What Proxy has and maskd's
 * rows do not (the account's auth token, a service's callback URLs, a session
 * created before its first participant) is kept in the settings table under
 * "proxy." keys. SIDs are the native ids re-spelt (proxy_wire.c). */
#include "proxy_v1.h"
#include "api_internal.h"
#include "proxy_wire.h"
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

#define PROXY_SEGMENTS_MAX 9
#define PROXY_PAGE_DEFAULT 50
#define PROXY_PAGE_MAX 1000
#define PROXY_TTL_MAX (366LL * 24 * 3600)
#define PROXY_URL_MAX URL_MAX_LEN
#define PROXY_TOKEN_MAX 128      /* a Twilio auth token we keep */
#define PROXY_SETTING_MAX 4096   /* one proxy.* settings value */
#define PROXY_BODY_MAX 1600      /* a MessageInteraction Body (Twilio's SMS cap) */
#define PROXY_ACCOUNT_PREFIX "proxy.account."
#define PROXY_SERVICE_PREFIX "proxy.service."
#define PROXY_SESSION_PREFIX "proxy.session."

/* One Proxy request: the decoded body and query, the authenticated account, the
 * path split at '/' below /v1. */
struct preq {
	struct app *app;
	const struct http_request *http;
	struct http_response *res;
	struct form body;
	struct form query;
	char account_sid[PROXY_SID_LEN + 1];
	char key_id[65]; /* SHA-256 (hex) of the maskd key, its name in the rate limiter */
	const char *seg[PROXY_SEGMENTS_MAX];
	int n_seg;
	char base[600]; /* public URL + "/v1" */
};

/* What Proxy keeps for a service beyond the native row. */
struct proxy_service_extra {
	char callback_url[PROXY_URL_MAX + 1];
	char intercept_callback_url[PROXY_URL_MAX + 1];
	char out_of_session_callback_url[PROXY_URL_MAX + 1];
	char chat_instance_sid[PROXY_SID_LEN + 1];
	char geo_match_level[16];
	int64_t updated_at;
};

/* ------------------------------------------------------------ answers */

/* Twilio's error body {code, message, more_info, status} with HTTP status. */
static void perr(struct preq *p, int status, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void perr(struct preq *p, int status, int code, const char *fmt, ...)
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

static void perr_store(struct preq *p, const char *what, int rc)
{
	log_error("proxy %s %s: %s: %s", p->http->method, p->http->path, what, maskd_strerror(rc));
	perr(p, 503, 20503, "The database is unavailable; retry");
}

static void perr_not_found(struct preq *p)
{
	perr(p, 404, 20404, "The requested resource was not found");
}

static void perr_missing(struct preq *p, const char *name)
{
	perr(p, 400, 20001, "Missing required parameter %s in the post body", name);
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static json_t *time_or_null(int64_t t)
{
	return json_time(t);
}

static json_t *sid_json(const char *id)
{
	char sid[PROXY_SID_LEN + 1];
	if (id == NULL || id[0] == '\0' || proxy_sid_from_id(id, sid) < 0)
		return json_null();
	return json_string(sid);
}

static const char *sid_of(struct preq *p, const char *id)
{
	char sid[PROXY_SID_LEN + 1];
	if (proxy_sid_from_id(id, sid) < 0)
		return "";
	return arena_strdup(p->http->arena, sid);
}

/* ------------------------------------------------------------ settings rows */

static int extra_get(struct preq *p, const char *service_id, struct proxy_service_extra *x)
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

static int extra_put(struct preq *p, const char *service_id, const struct proxy_service_extra *x)
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

/* A session created through Proxy before its first participant: maskd's
 * sessions need one, so the native row is written when it arrives, with the id
 * drawn here. */
struct proxy_pending {
	char service_id[ID_MAX];
	char unique_name[NAME_MAX_LEN + 1];
	int mode;
	int64_t ttl;
	int64_t expires_at;
	int64_t created_at;
};

static int pending_get(struct preq *p, const char *session_id, struct proxy_pending *pd)
{
	memset(pd, 0, sizeof(*pd));
	char key[64], val[PROXY_SETTING_MAX];
	snprintf(key, sizeof(key), PROXY_SESSION_PREFIX "%s", session_id);
	int rc = store_setting_get(p->app->store, key, val, sizeof(val));
	if (rc < 0)
		return rc;
	json_t *o = json_loads(val, 0, NULL);
	if (o == NULL)
		return MASKD_EDB;
	snprintf(pd->service_id, sizeof(pd->service_id), "%s", str_or_empty(json_string_value(json_object_get(o, "service_id"))));
	snprintf(pd->unique_name, sizeof(pd->unique_name), "%s",
		 str_or_empty(json_string_value(json_object_get(o, "unique_name"))));
	pd->mode = (int)json_integer_value(json_object_get(o, "mode"));
	pd->ttl = json_integer_value(json_object_get(o, "ttl"));
	pd->expires_at = json_integer_value(json_object_get(o, "expires_at"));
	pd->created_at = json_integer_value(json_object_get(o, "created_at"));
	json_decref(o);
	return 0;
}

static int pending_put(struct preq *p, const char *session_id, const struct proxy_pending *pd)
{
	char key[64];
	snprintf(key, sizeof(key), PROXY_SESSION_PREFIX "%s", session_id);
	json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I}", "service_id", pd->service_id, "unique_name", pd->unique_name,
			      "mode", pd->mode, "ttl", (json_int_t)pd->ttl, "expires_at", (json_int_t)pd->expires_at,
			      "created_at", (json_int_t)pd->created_at);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return MASKD_EDB;
	int rc = store_setting_put(p->app->store, key, s);
	free(s);
	return rc;
}

/* The account row of sid: the SHA-256 (hex) of the maskd key it belongs to and
 * the Twilio auth token (sealed at rest, opened into token). */
static int account_get(struct app *app, const char *sid, char key_hash[65], char *token, size_t cap)
{
	char key[64], val[PROXY_SETTING_MAX];
	snprintf(key, sizeof(key), PROXY_ACCOUNT_PREFIX "%s", sid);
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
	snprintf(key_hash, 65, "%s", kh);
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
	char key[64];
	snprintf(key, sizeof(key), PROXY_ACCOUNT_PREFIX "%s", sid);
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

/* Basic auth: the account SID and the maskd key it was set for (which must
 * still be the admin key). Returns 1 and fills p->account_sid, else 0. */
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
	char key_hash[65], token[PROXY_TOKEN_MAX + 1];
	if (account_get(p->app, user, key_hash, token, sizeof(token)) < 0)
		goto done;
	explicit_bzero(token, sizeof(token));
	uint8_t digest[32];
	sha256(pass, strlen(pass), digest);
	char hexd[65];
	hex_encode(digest, sizeof(digest), hexd);
	if (!ct_equal(hexd, 64, key_hash, 64) ||
	    !ct_equal(digest, sizeof(digest), p->app->admin_key_hash, sizeof(p->app->admin_key_hash)))
		goto done;
	snprintf(p->account_sid, sizeof(p->account_sid), "%.34s", user); /* account_sid_valid(): 34 */
	snprintf(p->key_id, sizeof(p->key_id), "%s", hexd);
	ok = 1;
done:
	explicit_bzero(dec, sizeof(dec));
	return ok;
}

/* ------------------------------------------------------------ parameters */

static const char *param(struct preq *p, const char *name)
{
	return form_get(&p->body, name);
}

/* An integer parameter: absent -> *present false; otherwise min..max or a 400. */
static bool int_param(struct preq *p, const struct form *f, const char *name, int64_t min, int64_t max,
		      bool *present, int64_t *out)
{
	*present = false;
	const char *v = form_get(f, name);
	if (v == NULL)
		return true;
	char *end = NULL;
	long long x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x < min || x > max) {
		perr(p, 400, 20001, "Invalid parameter %s: an integer from %lld to %lld", name, (long long)min,
		     (long long)max);
		return false;
	}
	*present = true;
	*out = x;
	return true;
}

static bool bool_param(struct preq *p, const char *name, bool *present, bool *out)
{
	*present = false;
	const char *v = param(p, name);
	if (v == NULL)
		return true;
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
		perr(p, 400, 20001, "Invalid parameter %s: true or false", name);
		return false;
	}
	*present = true;
	*out = strcmp(v, "true") == 0;
	return true;
}

static bool url_param(struct preq *p, const char *name, char *out, size_t cap)
{
	const char *v = param(p, name);
	if (v == NULL)
		return true;
	if (v[0] != '\0' && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		perr(p, 400, 20001, "Invalid parameter %s: an http or https URL", name);
		return false;
	}
	if (strlen(v) >= cap) {
		perr(p, 400, 20001, "Invalid parameter %s: at most %zu characters", name, cap - 1);
		return false;
	}
	snprintf(out, cap, "%s", v);
	return true;
}

/* DateExpiry: YYYY-MM-DDTHH:mm:ssZ in the future ("" clears it: 0). */
static bool date_param(struct preq *p, const char *name, int64_t now, bool *present, int64_t *out)
{
	*present = false;
	const char *v = param(p, name);
	if (v == NULL)
		return true;
	*present = true;
	if (v[0] == '\0') {
		*out = 0;
		return true;
	}
	if (rfc3339_parse(v, out) < 0 || *out <= now) {
		perr(p, 400, 20001, "Invalid parameter %s: a future date such as 2030-01-01T00:00:00Z", name);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ lists */

/* Paging of one list request: PageSize, Page and PageToken of the query. */
struct page {
	int64_t size;
	int64_t number;
	char after_id[ID_MAX]; /* "" = from the start */
	bool presliced;        /* the rows given to page_reply start at this page already */
};

static bool page_parse(struct preq *p, const char *sid_prefix, struct page *pg)
{
	bool has = false;
	pg->size = PROXY_PAGE_DEFAULT;
	pg->number = 0;
	pg->after_id[0] = '\0';
	pg->presliced = false;
	if (!int_param(p, &p->query, "PageSize", 1, PROXY_PAGE_MAX, &has, &pg->size) ||
	    !int_param(p, &p->query, "Page", 0, 1000000, &has, &pg->number))
		return false;
	const char *tok = form_get(&p->query, "PageToken");
	if (tok != NULL && proxy_token_parse(tok, sid_prefix, pg->after_id) < 0) {
		perr(p, 400, 20001, "Invalid parameter PageToken");
		return false;
	}
	return true;
}

/* Sends {"<key>": items, "meta": {...}} for the page of all (every row of the
 * list, in order; stolen) that pg selects: rows after PageToken's, or from
 * Page * PageSize without one. */
static void page_reply(struct preq *p, json_t *all, const struct page *pg, const char *key, const char *path)
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
			perr(p, 400, 20001, "Invalid parameter PageToken: no such row in this list");
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

/* ------------------------------------------------------------ services */

static const char *proxy_geo_name(const struct service *svc, const struct proxy_service_extra *x)
{
	if (x->geo_match_level[0] != '\0')
		return x->geo_match_level;
	return svc->pool.geo_match == GEO_AREA_CODE ? "area-code" : svc->pool.geo_match == GEO_REGION ? "radius" : "country";
}

static json_t *service_json(struct preq *p, const struct service *svc, const struct proxy_service_extra *x)
{
	const char *sid = sid_of(p, svc->id);
	const char *url = arena_printf(p->http->arena, "%s/Services/%s", p->base, sid);
	json_t *links = json_pack("{s:s,s:s,s:s}", "sessions", arena_printf(p->http->arena, "%s/Sessions", url),
				  "phone_numbers", arena_printf(p->http->arena, "%s/PhoneNumbers", url), "short_codes",
				  arena_printf(p->http->arena, "%s/ShortCodes", url));
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "sid", sid, "account_sid", p->account_sid, "unique_name",
			      svc->name, "default_ttl", (json_int_t)svc->ttl, "geo_match_level", proxy_geo_name(svc, x),
			      "number_selection_behavior",
			      svc->pool.number_selection == SELECT_AVOID_STICKY ? "avoid-sticky" : "prefer-sticky");
	json_object_set_new(o, "chat_instance_sid", x->chat_instance_sid[0] ? json_string(x->chat_instance_sid) : json_null());
	json_object_set_new(o, "callback_url", x->callback_url[0] ? json_string(x->callback_url) : json_null());
	json_object_set_new(o, "intercept_callback_url",
			    x->intercept_callback_url[0] ? json_string(x->intercept_callback_url) : json_null());
	json_object_set_new(o, "out_of_session_callback_url",
			    x->out_of_session_callback_url[0] ? json_string(x->out_of_session_callback_url) : json_null());
	json_object_set_new(o, "date_created", time_or_null(svc->created_at));
	json_object_set_new(o, "date_updated", time_or_null(x->updated_at ? x->updated_at : svc->created_at));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "links", links);
	return o;
}

struct name_find {
	const char *name;
	char id[ID_MAX];
	json_t *arr; /* list mode */
	struct preq *p;
};

static void find_service_by_name(void *ctx, const struct service *svc)
{
	struct name_find *f = ctx;
	if (f->id[0] == '\0' && strcmp(svc->name, f->name) == 0)
		snprintf(f->id, sizeof(f->id), "%s", svc->id);
}

/* The service named by a path segment: its SID, or its unique name. 0, or
 * negative with the answer sent. */
static int service_load(struct preq *p, const char *seg, struct service *svc, struct proxy_service_extra *x)
{
	char id[ID_MAX];
	if (proxy_id_from_sid(seg, "KS", id) < 0) {
		struct name_find f = {.name = seg};
		int rc = store_service_list(p->app->store, find_service_by_name, &f);
		if (rc < 0) {
			perr_store(p, "service_list", rc);
			return rc;
		}
		if (f.id[0] == '\0') {
			perr_not_found(p);
			return MASKD_ENOTFOUND;
		}
		snprintf(id, sizeof(id), "%s", f.id);
	}
	int rc = store_service_get(p->app->store, id, svc);
	if (rc == 0)
		rc = extra_get(p, id, x);
	if (rc == MASKD_ENOTFOUND)
		perr_not_found(p);
	else if (rc < 0)
		perr_store(p, "service_get", rc);
	return rc;
}

/* GeoMatchLevel onto the native levels: overlay is served as area-code and
 * radius as the region (state) level, the nearest maskd has. */
static int geo_from_proxy(const char *v)
{
	if (strcmp(v, "country") == 0)
		return GEO_COUNTRY;
	if (strcmp(v, "area-code") == 0 || strcmp(v, "overlay") == 0)
		return GEO_AREA_CODE;
	if (strcmp(v, "radius") == 0)
		return GEO_REGION;
	return -1;
}

/* The Service parameters of create (UniqueName required) and update over svc
 * and x. False with the 400 sent. */
static bool service_params(struct preq *p, struct service *svc, struct proxy_service_extra *x, bool create)
{
	const char *name = param(p, "UniqueName");
	if (create && (name == NULL || name[0] == '\0')) {
		perr_missing(p, "UniqueName");
		return false;
	}
	if (name != NULL) {
		if (name[0] == '\0' || strlen(name) > NAME_MAX_LEN) {
			perr(p, 400, 20001, "Invalid parameter UniqueName: 1 to %d characters", NAME_MAX_LEN);
			return false;
		}
		snprintf(svc->name, sizeof(svc->name), "%s", name);
	}
	bool has = false;
	int64_t ttl = 0;
	if (!int_param(p, &p->body, "DefaultTtl", 0, PROXY_TTL_MAX, &has, &ttl))
		return false;
	if (has)
		svc->ttl = ttl;
	const char *geo = param(p, "GeoMatchLevel");
	if (geo != NULL) {
		int g = geo_from_proxy(geo);
		if (g < 0) {
			perr(p, 400, 20001, "Invalid parameter GeoMatchLevel: area-code, overlay, radius or country");
			return false;
		}
		svc->pool.geo_match = (enum geo_match)g;
		snprintf(x->geo_match_level, sizeof(x->geo_match_level), "%s", geo);
	}
	const char *sel = param(p, "NumberSelectionBehavior");
	if (sel != NULL) {
		if (strcmp(sel, "prefer-sticky") == 0)
			svc->pool.number_selection = SELECT_PREFER_STICKY;
		else if (strcmp(sel, "avoid-sticky") == 0)
			svc->pool.number_selection = SELECT_AVOID_STICKY;
		else {
			perr(p, 400, 20001, "Invalid parameter NumberSelectionBehavior: prefer-sticky or avoid-sticky");
			return false;
		}
	}
	const char *chat = param(p, "ChatInstanceSid"); /* accepted and ignored: no Chat channel */
	if (chat != NULL)
		snprintf(x->chat_instance_sid, sizeof(x->chat_instance_sid), "%.34s", chat);
	return url_param(p, "CallbackUrl", x->callback_url, sizeof(x->callback_url)) &&
	       url_param(p, "InterceptCallbackUrl", x->intercept_callback_url, sizeof(x->intercept_callback_url)) &&
	       url_param(p, "OutOfSessionCallbackUrl", x->out_of_session_callback_url,
			 sizeof(x->out_of_session_callback_url));
}

static void service_create(struct preq *p)
{
	struct proxy_service_extra x;
	memset(&x, 0, sizeof(x));
	char key_hash[65], token[PROXY_TOKEN_MAX + 1];
	int rc = account_get(p->app, p->account_sid, key_hash, token, sizeof(token));
	if (rc < 0) {
		perr_store(p, "account_get", rc);
		return;
	}
	/* the native defaults, with the account's token for Twilio's webhooks */
	json_t *native = json_pack("{s:s,s:{s:{s:s}}}", "name", "proxy", "carriers", "twilio", "auth_token", token);
	explicit_bzero(token, sizeof(token));
	struct service svc;
	struct api_error e = {0};
	bool ok = api_service_from_json(native, &svc, &e);
	json_decref(native);
	if (!ok) {
		perr(p, 500, 20500, "cannot build the service");
		return;
	}
	if (!service_params(p, &svc, &x, true)) {
		explicit_bzero(&svc.secrets, sizeof(svc.secrets));
		return;
	}
	struct name_find f = {.name = svc.name};
	rc = store_service_list(p->app->store, find_service_by_name, &f);
	if (rc < 0) {
		perr_store(p, "service_list", rc);
		return;
	}
	if (f.id[0] != '\0') {
		perr(p, 400, 80602, "A Service with UniqueName %s already exists", svc.name);
		return;
	}
	id_new("svc", svc.id);
	svc.created_at = now_unix();
	x.updated_at = svc.created_at;
	/* the Proxy-only row first: a service is answered only once both exist */
	rc = extra_put(p, svc.id, &x);
	if (rc == 0)
		rc = store_service_insert(p->app->store, &svc);
	if (rc < 0) {
		perr_store(p, "service_insert", rc);
		return;
	}
	log_info("proxy: service %s created", svc.id);
	api_reply(p->res, 201, service_json(p, &svc, &x));
}

static void service_update(struct preq *p, struct service *svc, struct proxy_service_extra *x)
{
	if (!service_params(p, svc, x, false))
		return;
	if (param(p, "UniqueName") != NULL) {
		struct name_find f = {.name = svc->name};
		int rc = store_service_list(p->app->store, find_service_by_name, &f);
		if (rc < 0) {
			perr_store(p, "service_list", rc);
			return;
		}
		if (f.id[0] != '\0' && strcmp(f.id, svc->id) != 0) {
			perr(p, 400, 80602, "A Service with UniqueName %s already exists", svc->name);
			return;
		}
	}
	x->updated_at = now_unix();
	int rc = store_service_update(p->app->store, svc);
	if (rc == 0)
		rc = extra_put(p, svc->id, x);
	if (rc < 0) {
		perr_store(p, "service_update", rc);
		return;
	}
	api_reply(p->res, 200, service_json(p, svc, x));
}

/* Only the ids: a store callback must not call the store (it holds the
 * backend's connection), so the Proxy-only rows are read after the listing. */
static void add_service_id(void *ctx, const struct service *svc)
{
	json_array_append_new(ctx, json_string(svc->id));
}

static void service_list(struct preq *p)
{
	struct page pg;
	if (!page_parse(p, "KS", &pg))
		return;
	json_t *ids = json_array();
	json_t *arr = json_array();
	int rc = store_service_list(p->app->store, add_service_id, ids);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		struct service svc;
		struct proxy_service_extra x;
		if (rc < 0)
			break;
		rc = store_service_get(p->app->store, json_string_value(v), &svc);
		if (rc == 0)
			rc = extra_get(p, svc.id, &x);
		if (rc == 0)
			json_array_append_new(arr, service_json(p, &svc, &x));
		explicit_bzero(&svc.secrets, sizeof(svc.secrets));
	}
	json_decref(ids);
	if (rc < 0) {
		json_decref(arr);
		perr_store(p, "service_list", rc);
		return;
	}
	page_reply(p, arr, &pg, "services", "/Services");
}

/* ------------------------------------------------------------ phone numbers */

static json_t *number_json(struct preq *p, const struct service *svc, const struct number *n)
{
	const char *sid = sid_of(p, n->id);
	json_t *caps = json_pack("{s:b,s:b,s:b,s:b}", "voice", (n->caps & CAP_VOICE) != 0, "sms", (n->caps & CAP_SMS) != 0,
				 "mms", (n->caps & CAP_MMS) != 0, "fax", 0);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:I}", "sid", sid, "account_sid", p->account_sid,
			      "service_sid", sid_of(p, svc->id), "phone_number", n->e164, "friendly_name", n->e164,
			      "iso_country", n->country, "capabilities", caps, "is_reserved", n->state == NUMBER_RESERVED,
			      "in_use", (json_int_t)n->in_use);
	json_object_set_new(o, "date_created", time_or_null(n->created_at));
	json_object_set_new(o, "date_updated", time_or_null(n->created_at));
	json_object_set_new(o, "url",
			    json_string(arena_printf(p->http->arena, "%s/Services/%s/PhoneNumbers/%s", p->base,
						     sid_of(p, svc->id), sid)));
	return o;
}

static void number_create(struct preq *p, const struct service *svc)
{
	const char *number = param(p, "PhoneNumber");
	const char *sid = param(p, "Sid");
	if (number == NULL && sid == NULL) {
		perr_missing(p, "PhoneNumber");
		return;
	}
	if (number == NULL) {
		/* a Twilio IncomingPhoneNumber SID names a number of the Twilio account:
		 * maskd cannot look it up, so it wants the number itself */
		perr(p, 400, 80301, "Add the number by PhoneNumber: maskd cannot resolve a Twilio phone number Sid");
		return;
	}
	bool has_res = false, reserved = false;
	if (!bool_param(p, "IsReserved", &has_res, &reserved))
		return;
	struct phone_info pi;
	if (phone_parse(number, &pi) < 0) {
		perr(p, 400, 20001, "Invalid parameter PhoneNumber: an E.164 phone number");
		return;
	}
	struct number n;
	memset(&n, 0, sizeof(n));
	n.caps = CAP_ALL;
	n.carrier = DIALECT_TWILIO;
	n.state = reserved ? NUMBER_RESERVED : NUMBER_ACTIVE;
	snprintf(n.e164, sizeof(n.e164), "%s", pi.e164);
	snprintf(n.country, sizeof(n.country), "%s", pi.region);
	snprintf(n.area_code, sizeof(n.area_code), "%s", pi.area_code);
	snprintf(n.region, sizeof(n.region), "%s", pi.geo_region);
	snprintf(n.service_id, sizeof(n.service_id), "%s", svc->id);
	id_new("num", n.id);
	n.created_at = now_unix();
	int rc = store_number_insert(p->app->store, &n);
	if (rc == MASKD_ECONFLICT) {
		perr(p, 400, 80104, "The phone number is already in a Service's pool");
		return;
	}
	if (rc < 0) {
		perr_store(p, "number_insert", rc);
		return;
	}
	api_reply(p->res, 201, number_json(p, svc, &n));
}

struct number_list_ctx {
	struct preq *p;
	const struct service *svc;
	json_t *arr;
};

static void add_number(void *ctx, const struct number *n)
{
	struct number_list_ctx *c = ctx;
	json_array_append_new(c->arr, number_json(c->p, c->svc, n));
}

static void number_list(struct preq *p, const struct service *svc)
{
	struct page pg;
	if (!page_parse(p, "PN", &pg))
		return;
	struct number_list_ctx c = {p, svc, json_array()};
	int rc = store_number_list(p->app->store, svc->id, add_number, &c);
	if (rc < 0) {
		json_decref(c.arr);
		perr_store(p, "number_list", rc);
		return;
	}
	page_reply(p, c.arr, &pg, "phone_numbers", arena_printf(p->http->arena, "/Services/%s/PhoneNumbers", p->seg[1]));
}

static int number_load(struct preq *p, const struct service *svc, const char *seg, struct number *n)
{
	char id[ID_MAX];
	int rc = proxy_id_from_sid(seg, "PN", id);
	if (rc == 0)
		rc = store_number_get(p->app->store, id, n);
	if (rc == 0 && strcmp(n->service_id, svc->id) != 0)
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_EINVAL || rc == MASKD_ENOTFOUND)
		perr_not_found(p);
	else if (rc < 0)
		perr_store(p, "number_get", rc);
	return rc;
}

static void number_update(struct preq *p, const struct service *svc, struct number *n)
{
	bool has = false, reserved = false;
	if (!bool_param(p, "IsReserved", &has, &reserved))
		return;
	if (has && n->state != NUMBER_RETIRED) {
		enum number_state st = reserved ? NUMBER_RESERVED : NUMBER_ACTIVE;
		int rc = store_number_set_state(p->app->store, n->id, st);
		if (rc < 0) {
			perr_store(p, "number_set_state", rc);
			return;
		}
		n->state = st;
	}
	api_reply(p->res, 200, number_json(p, svc, n));
}

static void number_delete(struct preq *p, const struct number *n)
{
	int rc = store_number_delete(p->app->store, n->id);
	if (rc == MASKD_ECONFLICT) {
		perr(p, 400, 80611, "The phone number is in active Sessions and cannot be removed");
		return;
	}
	if (rc < 0) {
		perr_store(p, "number_delete", rc);
		return;
	}
	p->res->status = 204;
}

/* ------------------------------------------------------------ sessions */

static json_t *session_links(struct preq *p, const char *url)
{
	return json_pack("{s:s,s:s}", "interactions", arena_printf(p->http->arena, "%s/Interactions", url), "participants",
			 arena_printf(p->http->arena, "%s/Participants", url));
}

static json_t *session_json(struct preq *p, const struct session *s)
{
	const char *sid = sid_of(p, s->id), *ssid = sid_of(p, s->service_id);
	const char *url = arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s", p->base, ssid, sid);
	bool closed = s->status >= SESSION_CLOSED;
	json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:I,s:s}", "sid", sid, "service_sid", ssid, "account_sid",
			      p->account_sid, "unique_name", s->unique_name[0] ? json_string(s->unique_name) : json_null(),
			      "status", proxy_status_name(s->status), "closed_reason",
			      closed ? json_string(s->status == SESSION_BLOCKED ? "blocked" : "closed") : json_null(),
			      "ttl", (json_int_t)s->ttl, "mode", proxy_mode_name(s->mode));
	json_object_set_new(o, "date_started", time_or_null(s->created_at));
	json_object_set_new(o, "date_ended", time_or_null(s->closed_at));
	json_object_set_new(o, "date_last_interaction",
			    s->last_activity_at > s->created_at ? time_or_null(s->last_activity_at) : json_null());
	json_object_set_new(o, "date_expiry", time_or_null(s->expires_at));
	json_object_set_new(o, "date_created", time_or_null(s->created_at));
	json_object_set_new(o, "date_updated", time_or_null(s->updated_at ? s->updated_at : s->created_at));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "links", session_links(p, url));
	return o;
}

/* A pending session as a struct session with no participants. */
static void session_from_pending(const char *id, const struct proxy_pending *pd, struct session *s)
{
	char copy[ID_MAX]; /* id may be s->id */
	snprintf(copy, sizeof(copy), "%s", id);
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", copy);
	snprintf(s->service_id, sizeof(s->service_id), "%s", pd->service_id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", pd->unique_name);
	s->mode = (enum session_mode)pd->mode;
	s->status = SESSION_OPEN;
	s->ttl = pd->ttl;
	s->expires_at = pd->expires_at;
	s->created_at = s->updated_at = s->last_activity_at = pd->created_at;
}

struct session_by_name {
	char id[ID_MAX];
	bool open_only; /* only a session that is open or in progress; else the latest */
};

static void first_session(void *ctx, const struct session *s)
{
	struct session_by_name *f = ctx;
	if (!f->open_only || s->status < SESSION_CLOSED) /* the latest one */
		snprintf(f->id, sizeof(f->id), "%s", s->id);
}

/* The session of a path segment (its SID or unique name) in svc: the native
 * row, or a pending one (*pending set, s with no participants). 0, or negative
 * with the answer sent. */
static int session_load(struct preq *p, const struct service *svc, const char *seg, struct session *s, bool *pending)
{
	*pending = false;
	char id[ID_MAX];
	int rc;
	if (proxy_id_from_sid(seg, "KC", id) < 0) {
		struct session_filter f = {.status = -1, .unique_name = seg, .limit = SESSION_PAGE_MAX};
		struct session_by_name found = {.open_only = false};
		rc = store_session_list(p->app->store, svc->id, &f, first_session, &found);
		if (rc < 0) {
			perr_store(p, "session_list", rc);
			return rc;
		}
		if (found.id[0] == '\0') {
			perr(p, 404, 80308, "Session with the unique name not found");
			return MASKD_ENOTFOUND;
		}
		snprintf(id, sizeof(id), "%s", found.id);
	}
	rc = store_session_get(p->app->store, id, s);
	if (rc == MASKD_ENOTFOUND) {
		struct proxy_pending pd;
		rc = pending_get(p, id, &pd);
		if (rc == 0) {
			session_from_pending(id, &pd, s);
			*pending = true;
		}
	}
	if (rc == 0 && strcmp(s->service_id, svc->id) != 0)
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_ENOTFOUND)
		perr_not_found(p);
	else if (rc < 0)
		perr_store(p, "session_get", rc);
	return rc;
}

/* A participant of Proxy (an item of Participants, or the create body) onto a
 * native participant. False with the 400 sent. */
static bool participant_from_proxy(struct preq *p, const struct service *svc, const struct proxy_participant_in *in,
				   struct participant *out)
{
	int problem = sessions_participant(in->identifier, in->friendly_name, out);
	if (problem == PARTICIPANT_EMERGENCY) {
		perr(p, 400, 80404, "Participant Identifier is an emergency number; it cannot be masked");
		return false;
	}
	if (problem != PARTICIPANT_OK) {
		perr(p, 400, 80404, "Participant Identifier is not a valid phone number");
		return false;
	}
	if (in->proxy_identifier[0] != '\0') {
		struct phone_info pi;
		if (phone_parse(in->proxy_identifier, &pi) < 0) {
			perr(p, 400, 80402, "ProxyIdentifier is not a phone number of this Service");
			return false;
		}
		snprintf(out->proxy_e164, sizeof(out->proxy_e164), "%s", pi.e164);
	} else if (in->proxy_identifier_sid[0] != '\0') {
		char nid[ID_MAX];
		struct number n;
		if (proxy_id_from_sid(in->proxy_identifier_sid, "PN", nid) < 0 ||
		    store_number_get(p->app->store, nid, &n) < 0 || strcmp(n.service_id, svc->id) != 0) {
			perr(p, 400, 80402, "ProxyIdentifierSid is not a phone number of this Service");
			return false;
		}
		snprintf(out->proxy_e164, sizeof(out->proxy_e164), "%s", n.e164);
	}
	return true;
}

static void create_refused(struct preq *p, int rc, const struct create_outcome *o)
{
	int status = 400;
	int code = proxy_create_error_code(rc, o->failed_index, &status);
	if (rc == MASKD_EEXHAUSTED)
		metrics_inc(MC_POOL_EXHAUSTED);
	switch (code) {
	case 80603:
		perr(p, status, code, "A Session with this UniqueName is already open in this Service");
		return;
	case 80604:
		perr(p, status, code, "The Identifier already uses that Proxy Identifier in an active Session");
		return;
	case 80609:
		perr(p, status, code, "The Session is not open or already has two Participants");
		return;
	case 80402:
		perr(p, status, code, "The Proxy Identifier is not an available number of this Service");
		return;
	case 80206:
		perr(p, status, code, "No available Proxy Identifier for the Participant");
		return;
	case 80103:
		perr(p, status, code, "The Participant is already in the Session");
		return;
	default:
		perr_store(p, "session_create", rc);
	}
}

/* Status on create: open or in-progress are what a new session is; closed or
 * anything else is refused (Proxy makes no closed session). */
static bool status_param_create(struct preq *p)
{
	const char *st = param(p, "Status");
	if (st == NULL || strcmp(st, "open") == 0 || strcmp(st, "in-progress") == 0)
		return true;
	perr(p, 400, 20001, "Invalid parameter Status: open or in-progress on create");
	return false;
}

static void session_create(struct preq *p, const struct service *svc)
{
	int64_t now = now_unix();
	const char *unique = param(p, "UniqueName");
	if (unique != NULL && strlen(unique) > NAME_MAX_LEN) {
		perr(p, 400, 20001, "Invalid parameter UniqueName: at most %d characters", NAME_MAX_LEN);
		return;
	}
	bool has_ttl = false, has_exp = false;
	int64_t ttl = svc->ttl, exp = 0;
	if (!int_param(p, &p->body, "Ttl", 0, PROXY_TTL_MAX, &has_ttl, &ttl) || !date_param(p, "DateExpiry", now, &has_exp, &exp) ||
	    !status_param_create(p))
		return;
	int mode = svc->mode;
	const char *m = param(p, "Mode");
	if (m != NULL && (mode = proxy_mode_from_name(m)) < 0) {
		perr(p, 400, 20001, "Invalid parameter Mode: message-only, voice-only or voice-and-message");
		return;
	}
	struct session s;
	memset(&s, 0, sizeof(s));
	s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s.pool = POOL_RULES_INHERIT;
	s.mode = (enum session_mode)mode;
	s.ttl = ttl;
	s.expires_at = exp;
	snprintf(s.unique_name, sizeof(s.unique_name), "%s", unique ? unique : "");
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc->id);
	int n = 0;
	for (size_t i = 0; i < p->body.n; i++) {
		if (strcmp(p->body.fields[i].key, "Participants") != 0)
			continue;
		if (n == SESSION_PARTICIPANTS) {
			perr(p, 400, 80609, "A Session has at most two Participants");
			return;
		}
		struct proxy_participant_in in;
		char err[160];
		if (proxy_participant_item(p->body.fields[i].value, &in, err, sizeof(err)) < 0) {
			perr(p, 400, 20001, "Invalid parameter Participants: %s", err);
			return;
		}
		if (!participant_from_proxy(p, svc, &in, &s.participants[n]))
			return;
		n++;
	}
	s.n_participants = n;
	if (n == 2 && strcmp(s.participants[0].number, s.participants[1].number) == 0) {
		perr(p, 400, 80103, "The Participant is already in the Session");
		return;
	}
	id_new("ses", s.id);
	if (n == 0) {
		/* maskd's sessions start with a participant: keep the rest until one comes,
		 * refusing now what the native create would refuse then */
		if (s.unique_name[0] != '\0') {
			struct session_filter f = {.status = -1, .unique_name = s.unique_name, .limit = SESSION_PAGE_MAX};
			struct session_by_name found = {.open_only = true};
			int rc = store_session_list(p->app->store, svc->id, &f, first_session, &found);
			if (rc < 0) {
				perr_store(p, "session_list", rc);
				return;
			}
			if (found.id[0] != '\0') {
				perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
				return;
			}
		}
		struct proxy_pending pd = {.mode = mode, .ttl = ttl, .expires_at = exp, .created_at = now};
		snprintf(pd.service_id, sizeof(pd.service_id), "%s", svc->id);
		snprintf(pd.unique_name, sizeof(pd.unique_name), "%s", s.unique_name);
		int rc = pending_put(p, s.id, &pd);
		if (rc < 0) {
			perr_store(p, "pending_put", rc);
			return;
		}
		session_from_pending(s.id, &pd, &s);
		api_reply(p->res, 201, session_json(p, &s));
		return;
	}
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = sessions_create(p->app->store, svc, &s, now, &o);
	if (rc == MASKD_EEXISTS) {
		perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
		return;
	}
	if (rc < 0) {
		create_refused(p, rc, &o);
		return;
	}
	metrics_inc(MC_SESSIONS_CREATED);
	struct session back;
	rc = store_session_get(p->app->store, s.id, &back);
	if (rc < 0) {
		perr_store(p, "session_get", rc);
		return;
	}
	api_reply(p->res, 201, session_json(p, &back));
}

static void session_reply(struct preq *p, const char *id)
{
	struct session s;
	int rc = store_session_get(p->app->store, id, &s);
	if (rc < 0) {
		perr_store(p, "session_get", rc);
		return;
	}
	api_reply(p->res, 200, session_json(p, &s));
}

/* Update: Status closed (close), in-progress or open on a closed one
 * (re-open), Ttl, DateExpiry; on a pending session only Ttl and DateExpiry
 * (closing one is refused: delete it). */
static void session_update(struct preq *p, struct session *s, bool pending)
{
	int64_t now = now_unix();
	bool has_ttl = false, has_exp = false;
	int64_t ttl = 0, exp = 0;
	if (!int_param(p, &p->body, "Ttl", 0, PROXY_TTL_MAX, &has_ttl, &ttl) || !date_param(p, "DateExpiry", now, &has_exp, &exp))
		return;
	const char *st = param(p, "Status");
	int target = -1;
	if (st != NULL) {
		if (strcmp(st, "closed") == 0)
			target = SESSION_CLOSED;
		else if (strcmp(st, "in-progress") == 0 || strcmp(st, "open") == 0)
			target = SESSION_OPEN;
		else {
			perr(p, 400, 80608, "Invalid parameter Status: closed, or in-progress to re-open");
			return;
		}
	}
	if (pending) {
		struct proxy_pending pd;
		int rc = pending_get(p, s->id, &pd);
		if (rc < 0) {
			perr_store(p, "pending_get", rc);
			return;
		}
		if (target == SESSION_CLOSED) {
			perr(p, 400, 80608, "A Session without Participants cannot be closed; delete it");
			return;
		}
		if (has_ttl)
			pd.ttl = ttl;
		if (has_exp)
			pd.expires_at = exp;
		rc = pending_put(p, s->id, &pd);
		if (rc < 0) {
			perr_store(p, "pending_put", rc);
			return;
		}
		session_from_pending(s->id, &pd, s);
		api_reply(p->res, 200, session_json(p, s));
		return;
	}
	int rc;
	if (target == SESSION_OPEN && s->status >= SESSION_CLOSED) {
		int failed = -1;
		rc = lifecycle_reopen(p->app->store, s->id, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL, now, &failed);
		if (rc == MASKD_EINVAL || rc == MASKD_ECONFLICT) {
			perr(p, 400, 80801, "Invalid attempt to re-open the Session");
			return;
		}
	} else {
		bool changed = false;
		rc = lifecycle_change(p->app->store, s->id, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL,
				      target == SESSION_CLOSED ? SESSION_CLOSED : -1, now, &changed);
		if (rc == 0 && changed)
			metrics_inc(MC_SESSIONS_CLOSED);
	}
	if (rc < 0) {
		perr_store(p, "session_update", rc);
		return;
	}
	session_reply(p, s->id);
}

/* Delete: closes the native session (its records stay, as maskd keeps call
 * records); a pending one is forgotten. 204 either way. */
static void session_delete(struct preq *p, const struct session *s, bool pending)
{
	int rc;
	if (pending) {
		char key[64];
		snprintf(key, sizeof(key), PROXY_SESSION_PREFIX "%s", s->id);
		/* the tombstone: a pending row with no service is no session */
		rc = store_setting_put(p->app->store, key, "{\"service_id\":\"\"}");
	} else {
		bool changed = false;
		rc = lifecycle_change(p->app->store, s->id, NULL, NULL, SESSION_CLOSED, now_unix(), &changed);
		if (rc == 0 && changed)
			metrics_inc(MC_SESSIONS_CLOSED);
	}
	if (rc < 0) {
		perr_store(p, "session_delete", rc);
		return;
	}
	p->res->status = 204;
}

struct session_list_ctx {
	struct preq *p;
	json_t *arr;
};

static void add_session(void *ctx, const struct session *s)
{
	struct session_list_ctx *c = ctx;
	json_array_append_new(c->arr, session_json(c->p, s));
}

struct session_walk {
	int n;
	char last[ID_MAX];
};

static void walk_session(void *ctx, const struct session *s)
{
	struct session_walk *w = ctx;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", s->id);
}

static void session_list(struct preq *p, const struct service *svc)
{
	struct page pg;
	if (!page_parse(p, "KC", &pg))
		return;
	/* one native page after the token's row, one row more than asked to know
	 * whether a next page exists: a page holds at most SESSION_PAGE_MAX - 1 */
	if (pg.size > SESSION_PAGE_MAX - 1)
		pg.size = SESSION_PAGE_MAX - 1;
	int rc = 0;
	if (pg.after_id[0] == '\0' && pg.number > 0) {
		/* Page without PageToken: walk to the last row before the page */
		int64_t skip = pg.number * pg.size;
		while (skip > 0 && rc == 0) {
			struct session_walk w = {0};
			struct session_filter wf = {.status = -1, .limit = (int)(skip < SESSION_PAGE_MAX ? skip : SESSION_PAGE_MAX),
						    .after_id = pg.after_id[0] ? pg.after_id : NULL};
			rc = store_session_list(p->app->store, svc->id, &wf, walk_session, &w);
			if (w.n == 0)
				break;
			snprintf(pg.after_id, sizeof(pg.after_id), "%s", w.last);
			skip -= w.n;
		}
		if (skip > 0) {
			/* fewer rows than the pages before this one: an empty page */
			snprintf(pg.after_id, sizeof(pg.after_id), "%s", "");
			pg.presliced = true;
			page_reply(p, json_array(), &pg, "sessions",
				   arena_printf(p->http->arena, "/Services/%s/Sessions", p->seg[1]));
			return;
		}
	}
	json_t *arr = json_array();
	struct session_list_ctx c = {p, arr};
	struct session_filter f = {.status = -1, .limit = (int)pg.size + 1};
	f.after_id = pg.after_id[0] ? pg.after_id : NULL;
	if (rc == 0)
		rc = store_session_list(p->app->store, svc->id, &f, add_session, &c);
	if (rc < 0) {
		json_decref(arr);
		perr_store(p, "session_list", rc);
		return;
	}
	pg.presliced = true;
	page_reply(p, arr, &pg, "sessions", arena_printf(p->http->arena, "/Services/%s/Sessions", p->seg[1]));
}

/* ------------------------------------------------------------ participants */

static json_t *participant_json(struct preq *p, const struct session *s, const struct participant *pt)
{
	const char *sid = sid_of(p, pt->id), *ssid = sid_of(p, s->service_id), *kc = sid_of(p, s->id);
	const char *url = arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s/Participants/%s", p->base, ssid, kc, sid);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "sid", sid, "session_sid", kc, "service_sid", ssid,
			      "account_sid", p->account_sid, "friendly_name", pt->label, "identifier", pt->masked,
			      "proxy_identifier", pt->proxy_e164);
	json_object_set_new(o, "proxy_identifier_sid", sid_json(pt->proxy_number_id));
	json_object_set_new(o, "date_deleted", json_null());
	json_object_set_new(o, "date_created", time_or_null(s->created_at));
	json_object_set_new(o, "date_updated", time_or_null(s->updated_at ? s->updated_at : s->created_at));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "links", json_pack("{s:s}", "message_interactions",
						  arena_printf(p->http->arena, "%s/MessageInteractions", url)));
	return o;
}

static void participant_create(struct preq *p, const struct service *svc, struct session *s, bool pending)
{
	struct proxy_participant_in in;
	memset(&in, 0, sizeof(in));
	const char *ident = param(p, "Identifier");
	if (ident == NULL || ident[0] == '\0') {
		perr_missing(p, "Identifier");
		return;
	}
	if (strlen(ident) > PROXY_IDENTIFIER_MAX) {
		perr(p, 400, 80404, "Participant Identifier is not a valid phone number");
		return;
	}
	snprintf(in.identifier, sizeof(in.identifier), "%s", ident);
	const char *fn = param(p, "FriendlyName"), *pi = param(p, "ProxyIdentifier"), *pis = param(p, "ProxyIdentifierSid");
	if ((fn != NULL && strlen(fn) > LABEL_MAX_LEN) || (pi != NULL && strlen(pi) > PROXY_IDENTIFIER_MAX) ||
	    (pis != NULL && strlen(pis) > PROXY_SID_LEN)) {
		perr(p, 400, 20001, "Invalid parameter: FriendlyName at most %d characters, ProxyIdentifier a phone number",
		     LABEL_MAX_LEN);
		return;
	}
	snprintf(in.friendly_name, sizeof(in.friendly_name), "%s", fn ? fn : "");
	snprintf(in.proxy_identifier, sizeof(in.proxy_identifier), "%s", pi ? pi : "");
	snprintf(in.proxy_identifier_sid, sizeof(in.proxy_identifier_sid), "%s", pis ? pis : "");
	if (s->n_participants >= SESSION_PARTICIPANTS) {
		perr(p, 400, 80609, "A Session has at most two Participants");
		return;
	}
	struct participant pt;
	if (!participant_from_proxy(p, svc, &in, &pt))
		return;
	int64_t now = now_unix();
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc;
	if (pending) {
		s->participants[0] = pt;
		s->n_participants = 1;
		s->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
		s->pool = POOL_RULES_INHERIT;
		rc = sessions_create(p->app->store, svc, s, now, &o);
		if (rc == MASKD_EEXISTS) {
			perr(p, 400, 80603, "A Session with this UniqueName is already open in this Service");
			return;
		}
		if (rc == 0)
			metrics_inc(MC_SESSIONS_CREATED);
	} else {
		struct create_rules rules;
		sessions_rules(svc, NULL, &rules);
		rc = sessions_participant_add(p->app->store, s->id, &pt, &rules, now, &o);
		if (rc == MASKD_ENOTFOUND && o.failed_index < 0)
			rc = MASKD_ECONFLICT; /* the session went away: it takes no participant */
		if (rc == MASKD_ECONFLICT && o.failed_index == 0)
			o.failed_index = 1;
		if (rc == 0)
			sessions_warn_headroom(svc, pt.id, o.held[1], o.free_left[1]);
	}
	explicit_bzero(pt.number, sizeof(pt.number));
	if (rc < 0) {
		create_refused(p, rc, &o);
		return;
	}
	struct session back;
	rc = store_session_get(p->app->store, s->id, &back);
	if (rc < 0) {
		perr_store(p, "session_get", rc);
		return;
	}
	for (int i = 0; i < back.n_participants; i++)
		if (strcmp(back.participants[i].id, pt.id) == 0) {
			log_info("proxy: session %s: participant %s added via %s", back.id, pt.id,
				 back.participants[i].proxy_number_id);
			api_reply(p->res, 201, participant_json(p, &back, &back.participants[i]));
			return;
		}
	perr_store(p, "participant_get", MASKD_EDB);
}

static int participant_index(struct preq *p, const struct session *s, const char *seg)
{
	char id[ID_MAX];
	if (proxy_id_from_sid(seg, "KP", id) == 0)
		for (int i = 0; i < s->n_participants; i++)
			if (strcmp(s->participants[i].id, id) == 0)
				return i;
	perr_not_found(p);
	return -1;
}

static void participant_list(struct preq *p, const struct session *s)
{
	struct page pg;
	if (!page_parse(p, "KP", &pg))
		return;
	json_t *arr = json_array();
	for (int i = 0; i < s->n_participants; i++)
		json_array_append_new(arr, participant_json(p, s, &s->participants[i]));
	page_reply(p, arr, &pg, "participants",
		   arena_printf(p->http->arena, "/Services/%s/Sessions/%s/Participants", p->seg[1], p->seg[3]));
}

/* ------------------------------------------------------------ interactions */

static const char *interaction_status(const struct interaction *it)
{
	bool open = false;
	for (int i = 0; i < it->n_legs; i++) {
		if (strcmp(it->legs[i].status, "failed") == 0 || strcmp(it->legs[i].status, "undelivered") == 0)
			return "failed";
		if (it->legs[i].ended_at == 0)
			open = true;
	}
	if (it->decision != DECISION_BRIDGE && it->decision != DECISION_FORWARD_MESSAGE)
		return "failed";
	return open ? "in-progress" : "completed";
}

#define PROXY_MESSAGE_SID_PREFIX "proxy:" /* the carrier_sid of a MessageInteraction */

/* A MessageInteraction: an outbound text only, recorded with the participant on
 * both ends (a leg belongs to a participant) and a carrier_sid of ours. */
static bool is_message_interaction(const struct interaction *it)
{
	return strncmp(it->carrier_sid, PROXY_MESSAGE_SID_PREFIX, strlen(PROXY_MESSAGE_SID_PREFIX)) == 0;
}

static json_t *interaction_json(struct preq *p, const struct interaction *it)
{
	const char *sid = sid_of(p, it->id), *ssid = sid_of(p, it->service_id), *kc = sid_of(p, it->session_id);
	bool outbound_only = is_message_interaction(it);
	const struct leg *a = NULL, *b = NULL;
	for (int i = 0; i < it->n_legs; i++) {
		if (it->legs[i].leg == 'a')
			a = &it->legs[i];
		else if (it->legs[i].leg == 'b')
			b = &it->legs[i];
	}
	if (outbound_only)
		a = NULL;
	const char *type = it->channel == CHANNEL_VOICE ? "Call" : "Message";
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "sid", sid, "session_sid", kc, "service_sid", ssid,
			      "account_sid", p->account_sid, "data", json_null(), "status", interaction_status(it), "type",
			      it->channel == CHANNEL_VOICE ? "voice" : "message");
	json_object_set_new(o, "inbound_participant_sid", outbound_only ? json_null() : sid_json(it->from_participant));
	json_object_set_new(o, "inbound_resource_sid", a && a->carrier_sid[0] ? json_string(a->carrier_sid) : json_null());
	json_object_set_new(o, "inbound_resource_status", a ? json_string(a->status) : json_null());
	json_object_set_new(o, "inbound_resource_type", a ? json_string(type) : json_null());
	json_object_set_new(o, "inbound_resource_url", json_null());
	json_object_set_new(o, "outbound_participant_sid", sid_json(it->to_participant));
	json_object_set_new(o, "outbound_resource_sid", b && b->carrier_sid[0] ? json_string(b->carrier_sid) : json_null());
	json_object_set_new(o, "outbound_resource_status", b ? json_string(b->status) : json_null());
	json_object_set_new(o, "outbound_resource_type", b || outbound_only ? json_string(type) : json_null());
	json_object_set_new(o, "outbound_resource_url", json_null());
	json_object_set_new(o, "date_created", time_or_null(it->created_at));
	json_object_set_new(o, "date_updated", time_or_null(it->created_at));
	if (outbound_only) {
		json_object_set_new(o, "participant_sid", sid_json(it->to_participant));
		json_object_set_new(o, "url", json_string(arena_printf(
						      p->http->arena, "%s/Services/%s/Sessions/%s/Participants/%s/MessageInteractions/%s",
						      p->base, ssid, kc, sid_of(p, it->to_participant), sid)));
	} else {
		json_object_set_new(o, "url", json_string(arena_printf(p->http->arena, "%s/Services/%s/Sessions/%s/Interactions/%s",
								       p->base, ssid, kc, sid)));
	}
	return o;
}

struct interaction_list_ctx {
	struct preq *p;
	json_t *arr;
	const char *only_to; /* MessageInteractions of one participant, or NULL for all */
};

static void add_interaction(void *ctx, const struct interaction *it)
{
	struct interaction_list_ctx *c = ctx;
	if (c->only_to != NULL && (!is_message_interaction(it) || strcmp(it->to_participant, c->only_to) != 0))
		return;
	json_array_append_new(c->arr, interaction_json(c->p, it));
}

static void interaction_list(struct preq *p, const struct session *s, const char *only_to, const char *path)
{
	struct page pg;
	if (!page_parse(p, "KI", &pg))
		return;
	struct interaction_list_ctx c = {p, json_array(), only_to};
	int rc = store_interaction_list(p->app->store, s->id, add_interaction, &c);
	if (rc < 0) {
		json_decref(c.arr);
		perr_store(p, "interaction_list", rc);
		return;
	}
	page_reply(p, c.arr, &pg, "interactions", path);
}

static void interaction_fetch(struct preq *p, const struct session *s, const char *seg, const char *only_to)
{
	char id[ID_MAX];
	struct interaction it;
	int rc = proxy_id_from_sid(seg, "KI", id);
	if (rc == 0)
		rc = store_interaction_get(p->app->store, id, &it);
	if (rc == 0 && (strcmp(it.session_id, s->id) != 0 ||
			(only_to != NULL && (!is_message_interaction(&it) || strcmp(it.to_participant, only_to) != 0))))
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_EINVAL || rc == MASKD_ENOTFOUND) {
		perr_not_found(p);
		return;
	}
	if (rc < 0) {
		perr_store(p, "interaction_get", rc);
		return;
	}
	api_reply(p->res, 200, interaction_json(p, &it));
}

/* Appends key=value, form-encoded, to b. */
static void form_append(struct buf *b, const char *key, const char *value)
{
	static const char hexd[] = "0123456789ABCDEF";
	if (b->len > 0)
		buf_puts(b, "&");
	buf_puts(b, key);
	buf_puts(b, "=");
	for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		    *c == '_' || *c == '.' || *c == '~') {
			char one[2] = {(char)*c, '\0'};
			buf_puts(b, one);
		} else {
			char three[4] = {'%', hexd[*c >> 4], hexd[*c & 15], '\0'};
			buf_puts(b, three);
		}
	}
}

/* MessageInteraction create: a text from the participant's proxy number to
 * the participant, through Twilio's Messages API by the REST sender. Answered
 * 200 (as Twilio does) once the interaction is recorded and the send queued;
 * the send's outcome lands on the outbound leg. */
static void message_create(struct preq *p, const struct service *svc, const struct session *s, int idx)
{
	const char *body = param(p, "Body");
	if (body == NULL || body[0] == '\0') {
		perr_missing(p, "Body");
		return;
	}
	if (strlen(body) > PROXY_BODY_MAX) {
		perr(p, 400, 20001, "Invalid parameter Body: at most %d characters", PROXY_BODY_MAX);
		return;
	}
	if (form_get(&p->body, "MediaUrl") != NULL) {
		perr(p, 400, 20001, "Invalid parameter MediaUrl: not supported (as on Twilio Proxy)");
		return;
	}
	if (s->status >= SESSION_CLOSED) {
		perr(p, 400, 80607, "The Session is closed");
		return;
	}
	if (s->mode == MODE_VOICE) {
		perr(p, 400, 80910, "The Session is voice-only");
		return;
	}
	const struct participant *pt = &s->participants[idx];
	char token[PROXY_TOKEN_MAX + 1];
	if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
		perr(p, 400, 20001, "The Service has no Twilio auth token to send with");
		return;
	}
	char real[PHONE_E164_MAX + 1];
	int rc = store_participant_number(p->app->store, pt->id, real, sizeof(real));
	if (rc < 0) {
		explicit_bzero(token, sizeof(token));
		perr_store(p, "participant_number", rc);
		return;
	}
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s->id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", s->service_id);
	it.channel = CHANNEL_MESSAGE;
	it.carrier = DIALECT_TWILIO;
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), PROXY_MESSAGE_SID_PREFIX "%s", it.id);
	it.decision = DECISION_FORWARD_MESSAGE;
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", pt->id);
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", pt->id);
	it.created_at = now_unix();
	int existed = 0;
	rc = store_interaction_record(p->app->store, &it, &existed);
	struct leg_update u = {.status = "queued", .duration = -1};
	if (rc == 0)
		rc = store_leg_update(p->app->store, it.id, 'b', "rest", &u, it.created_at);
	if (rc < 0) {
		explicit_bzero(token, sizeof(token));
		explicit_bzero(real, sizeof(real));
		perr_store(p, "interaction_record", rc);
		return;
	}
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "%s", it.id);
	out.dialect = DIALECT_TWILIO;
	snprintf(out.url, sizeof(out.url), "%s/2010-04-01/Accounts/%s/Messages.json",
		 p->app->api_base[DIALECT_TWILIO] ? p->app->api_base[DIALECT_TWILIO] : "https://api.twilio.com",
		 p->account_sid);
	snprintf(out.content_type, sizeof(out.content_type), "application/x-www-form-urlencoded");
	char cred[PROXY_SID_LEN + 1 + PROXY_TOKEN_MAX + 1];
	snprintf(cred, sizeof(cred), "%s:%s", p->account_sid, token);
	char b64[4 * ((sizeof(cred) + 2) / 3) + 1];
	base64_encode((const uint8_t *)cred, strlen(cred), b64);
	snprintf(out.authorization, sizeof(out.authorization), "Basic %s", b64);
	explicit_bzero(cred, sizeof(cred));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(token, sizeof(token));
	struct buf form;
	buf_init(&form);
	form_append(&form, "To", real);
	form_append(&form, "From", pt->proxy_e164);
	form_append(&form, "Body", body);
	explicit_bzero(real, sizeof(real));
	out.body_len = form.len;
	out.body = xmalloc(form.len + 1);
	memcpy(out.body, form.data, form.len);
	out.body[form.len] = '\0';
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	rc = p->app->sender != NULL ? sender_enqueue(p->app->sender, &out) : MASKD_ETOOBIG;
	if (rc < 0) {
		struct leg_update f = {.status = "failed", .duration = -1};
		store_leg_update(p->app->store, it.id, 'b', "rest", &f, it.created_at);
		if (p->app->sender == NULL)
			free(out.body);
		perr(p, 503, 20503, "The send queue is full; retry");
		return;
	}
	log_info("proxy: session %s: message interaction %s to participant %s queued", s->id, it.id, pt->id);
	struct interaction back;
	rc = store_interaction_get(p->app->store, it.id, &back);
	if (rc < 0) {
		perr_store(p, "interaction_get", rc);
		return;
	}
	api_reply(p->res, 200, interaction_json(p, &back));
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
	perr(p, 405, 20004, "Method %.8s is not allowed on this resource", p->http->method);
}

/* /Services/{KS}/Sessions/{KC}/... */
static void route_session(struct preq *p, const struct service *svc)
{
	struct session s;
	bool pending = false;
	if (session_load(p, svc, p->seg[3], &s, &pending) < 0)
		return;
	if (p->n_seg == 4) {
		if (method(p, "GET"))
			api_reply(p->res, 200, session_json(p, &s));
		else if (method(p, "POST"))
			session_update(p, &s, pending);
		else if (method(p, "DELETE"))
			session_delete(p, &s, pending);
		else
			not_allowed(p);
		return;
	}
	const char *path = arena_printf(p->http->arena, "/Services/%s/Sessions/%s", p->seg[1], p->seg[3]);
	if (is(p, 4, "Participants")) {
		if (p->n_seg == 5) {
			if (method(p, "GET"))
				participant_list(p, &s);
			else if (method(p, "POST"))
				participant_create(p, svc, &s, pending);
			else
				not_allowed(p);
			return;
		}
		int idx = participant_index(p, &s, p->seg[5]);
		if (idx < 0)
			return;
		if (p->n_seg == 6) {
			if (method(p, "GET"))
				api_reply(p->res, 200, participant_json(p, &s, &s.participants[idx]));
			else if (method(p, "DELETE"))
				perr(p, 400, 80612,
				     "Removing a Participant is not supported by maskd; close the Session instead");
			else
				not_allowed(p);
			return;
		}
		if (!is(p, 6, "MessageInteractions") || p->n_seg > 8) {
			perr_not_found(p);
			return;
		}
		const char *to = s.participants[idx].id;
		if (p->n_seg == 7) {
			if (method(p, "GET"))
				interaction_list(p, &s, to,
						 arena_printf(p->http->arena, "%s/Participants/%s/MessageInteractions", path,
							      p->seg[5]));
			else if (method(p, "POST"))
				message_create(p, svc, &s, idx);
			else
				not_allowed(p);
			return;
		}
		if (method(p, "GET"))
			interaction_fetch(p, &s, p->seg[7], to);
		else
			not_allowed(p);
		return;
	}
	if (is(p, 4, "Interactions") && p->n_seg <= 6) {
		if (p->n_seg == 5) {
			if (method(p, "GET"))
				interaction_list(p, &s, NULL, arena_printf(p->http->arena, "%s/Interactions", path));
			else
				not_allowed(p);
			return;
		}
		if (method(p, "GET"))
			interaction_fetch(p, &s, p->seg[5], NULL);
		else if (method(p, "DELETE"))
			perr(p, 400, 20001, "Deleting an Interaction is not supported by maskd: call records are kept");
		else
			not_allowed(p);
		return;
	}
	perr_not_found(p);
}

static void route(struct preq *p)
{
	if (p->n_seg == 1) {
		if (method(p, "GET"))
			service_list(p);
		else if (method(p, "POST"))
			service_create(p);
		else
			not_allowed(p);
		return;
	}
	struct service svc;
	struct proxy_service_extra x;
	if (service_load(p, p->seg[1], &svc, &x) < 0)
		return;
	if (p->n_seg == 2) {
		if (method(p, "GET"))
			api_reply(p->res, 200, service_json(p, &svc, &x));
		else if (method(p, "POST"))
			service_update(p, &svc, &x);
		else if (method(p, "DELETE"))
			perr(p, 400, 20001, "Deleting a Service is not supported by maskd");
		else
			not_allowed(p);
		return;
	}
	if (is(p, 2, "ShortCodes")) {
		perr(p, 400, 20001, "ShortCodes are not supported by maskd (removed from Twilio Proxy)");
		return;
	}
	if (is(p, 2, "PhoneNumbers") && p->n_seg <= 4) {
		if (p->n_seg == 3) {
			if (method(p, "GET"))
				number_list(p, &svc);
			else if (method(p, "POST"))
				number_create(p, &svc);
			else
				not_allowed(p);
			return;
		}
		struct number n;
		if (number_load(p, &svc, p->seg[3], &n) < 0)
			return;
		if (method(p, "GET"))
			api_reply(p->res, 200, number_json(p, &svc, &n));
		else if (method(p, "POST"))
			number_update(p, &svc, &n);
		else if (method(p, "DELETE"))
			number_delete(p, &n);
		else
			not_allowed(p);
		return;
	}
	if (is(p, 2, "Sessions")) {
		if (p->n_seg == 3) {
			if (method(p, "GET"))
				session_list(p, &svc);
			else if (method(p, "POST"))
				session_create(p, &svc);
			else
				not_allowed(p);
			return;
		}
		route_session(p, &svc);
		return;
	}
	perr_not_found(p);
}

int proxy_v1_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	assert(app != NULL && req != NULL && res != NULL);
	if (strcmp(req->path, "/v1/Services") != 0 && strncmp(req->path, "/v1/Services/", 13) != 0)
		return 0;
	metrics_inc(MC_API_REQUESTS);
	struct preq p = {.app = app, .http = req, .res = res};
	snprintf(p.base, sizeof(p.base), "%s/v1", app->public_url ? app->public_url : "");
	if (!proxy_authorized(&p)) {
		perr(&p, 401, 20003, "Authenticate");
		goto done;
	}
	if (!api_rate_allow(app, p.key_id, res, req->arena)) {
		perr(&p, 429, 20429, "Too many requests with this key; retry later");
		goto done;
	}
	char *path = arena_strdup(req->arena, req->path + 4);
	for (char *s = path; s != NULL && *s != '\0';) {
		char *slash = strchr(s, '/');
		if (slash != NULL)
			*slash = '\0';
		if (*s == '\0' || p.n_seg == PROXY_SEGMENTS_MAX) {
			perr_not_found(&p);
			goto done;
		}
		p.seg[p.n_seg++] = s;
		s = slash != NULL ? slash + 1 : NULL;
	}
	if (form_parse(req->arena, req->query, strlen(req->query), &p.query) < 0 ||
	    form_parse(req->arena, req->body ? req->body : "", req->body_len, &p.body) < 0) {
		perr(&p, 400, 20001, "Malformed form-encoded parameters");
		goto done;
	}
	route(&p);
done:
	if (res->status >= 400)
		metrics_inc(MC_API_ERRORS);
	return 1;
}
