/* SPDX-License-Identifier: MIT */
/* proxy_v1_services.c - Twilio Proxy v1 services and their phone numbers: create, fetch by SID or
 * UniqueName, update, list, delete (proxy_v1_internal.h),
 * mapped onto the native store and flows. */
#include "proxy_v1_internal.h"
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

/* ------------------------------------------------------------ services */

static const char *proxy_geo_name(const struct service *svc, const struct proxy_service_extra *x)
{
	if (x->geo_match_level[0] != '\0')
		return x->geo_match_level;
	return svc->pool.geo_match == GEO_AREA_CODE ? "area-code" : svc->pool.geo_match == GEO_REGION ? "radius" : "country";
}

json_t *pv_service_json(struct preq *p, const struct service *svc, const struct proxy_service_extra *x)
{
	const char *sid = pv_sid_of(p, svc->id);
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
	json_object_set_new(o, "date_created", pv_time_or_null(svc->created_at));
	json_object_set_new(o, "date_updated", pv_time_or_null(x->updated_at ? x->updated_at : svc->created_at));
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
int pv_service_load(struct preq *p, const char *seg, struct service *svc, struct proxy_service_extra *x)
{
	char id[ID_MAX];
	if (proxy_id_from_sid(seg, "KS", id) < 0) {
		struct name_find f = {.name = seg};
		int rc = store_service_list(p->app->store, find_service_by_name, &f);
		if (rc < 0) {
			pv_perr_store(p, "service_list", rc);
			return rc;
		}
		if (f.id[0] == '\0') {
			pv_perr_not_found(p);
			return MASKD_ENOTFOUND;
		}
		snprintf(id, sizeof(id), "%s", f.id);
	}
	int rc = store_service_get(p->app->store, id, svc);
	if (rc == 0)
		rc = pv_extra_get(p, id, x);
	if (rc == MASKD_ENOTFOUND)
		pv_perr_not_found(p);
	else if (rc < 0)
		pv_perr_store(p, "service_get", rc);
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
	const char *name = pv_param(p, "UniqueName");
	if (create && (name == NULL || name[0] == '\0')) {
		pv_perr_missing(p, "UniqueName");
		return false;
	}
	if (name != NULL) {
		if (name[0] == '\0' || strlen(name) > NAME_MAX_LEN) {
			pv_perr(p, 400, 20001, "Invalid parameter UniqueName: 1 to %d characters", NAME_MAX_LEN);
			return false;
		}
		snprintf(svc->name, sizeof(svc->name), "%s", name);
	}
	bool has = false;
	int64_t ttl = 0;
	if (!pv_int_param(p, &p->body, "DefaultTtl", 0, PROXY_TTL_MAX, &has, &ttl))
		return false;
	if (has)
		svc->ttl = ttl;
	const char *geo = pv_param(p, "GeoMatchLevel");
	if (geo != NULL) {
		int g = geo_from_proxy(geo);
		if (g < 0) {
			pv_perr(p, 400, 20001, "Invalid parameter GeoMatchLevel: area-code, overlay, radius or country");
			return false;
		}
		svc->pool.geo_match = (enum geo_match)g;
		snprintf(x->geo_match_level, sizeof(x->geo_match_level), "%s", geo);
	}
	const char *sel = pv_param(p, "NumberSelectionBehavior");
	if (sel != NULL) {
		if (strcmp(sel, "prefer-sticky") == 0)
			svc->pool.number_selection = SELECT_PREFER_STICKY;
		else if (strcmp(sel, "avoid-sticky") == 0)
			svc->pool.number_selection = SELECT_AVOID_STICKY;
		else {
			pv_perr(p, 400, 20001, "Invalid parameter NumberSelectionBehavior: prefer-sticky or avoid-sticky");
			return false;
		}
	}
	const char *chat = pv_param(p, "ChatInstanceSid"); /* accepted and ignored: no Chat channel */
	if (chat != NULL)
		snprintf(x->chat_instance_sid, sizeof(x->chat_instance_sid), "%.34s", chat);
	char was[PROXY_URL_MAX + 1], was_icp[PROXY_URL_MAX + 1];
	snprintf(was, sizeof(was), "%s", x->out_of_session_callback_url);
	snprintf(was_icp, sizeof(was_icp), "%s", x->intercept_callback_url);
	if (!pv_url_param(p, "CallbackUrl", x->callback_url, sizeof(x->callback_url)) ||
	    !pv_url_param(p, "InterceptCallbackUrl", x->intercept_callback_url, sizeof(x->intercept_callback_url)) ||
	    !pv_url_param(p, "OutOfSessionCallbackUrl", x->out_of_session_callback_url,
			  sizeof(x->out_of_session_callback_url)))
		return false;
	/* OutOfSessionCallbackUrl is the service's unknown-caller callback, asked in
	 * Proxy's form (flow/webhook.c); clearing it clears the callback it set */
	if (x->out_of_session_callback_url[0] != '\0') {
		svc->unknown_caller = UNKNOWN_CALLBACK;
		snprintf(svc->callback_url, sizeof(svc->callback_url), "%s", x->out_of_session_callback_url);
	} else if (was[0] != '\0' && svc->unknown_caller == UNKNOWN_CALLBACK && strcmp(svc->callback_url, was) == 0) {
		svc->unknown_caller = UNKNOWN_REJECT;
		svc->callback_url[0] = '\0';
	}
	/* InterceptCallbackUrl is the service's intercept, asked in Proxy's form and
	 * failing open as Proxy does (flow/intercept.c); clearing it clears what it set */
	if (x->intercept_callback_url[0] != '\0') {
		snprintf(svc->intercept_url, sizeof(svc->intercept_url), "%s", x->intercept_callback_url);
		svc->intercept_fail_open = 1;
		if (svc->intercept_timeout_ms < 1 || svc->intercept_timeout_ms > 5000)
			svc->intercept_timeout_ms = 2000;
	} else if (was_icp[0] != '\0' && strcmp(svc->intercept_url, was_icp) == 0) {
		svc->intercept_url[0] = '\0';
	}
	return true;
}

void pv_service_create(struct preq *p)
{
	struct proxy_service_extra x;
	memset(&x, 0, sizeof(x));
	char token[PROXY_TOKEN_MAX + 1];
	int rc = pv_account_get(p->app, p->account_sid, p->key_id, token, sizeof(token));
	if (rc < 0) {
		pv_perr_store(p, "account_get", rc);
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
		pv_perr(p, 500, 20500, "cannot build the service");
		return;
	}
	if (!service_params(p, &svc, &x, true)) {
		explicit_bzero(&svc.secrets, sizeof(svc.secrets));
		return;
	}
	struct name_find f = {.name = svc.name};
	rc = store_service_list(p->app->store, find_service_by_name, &f);
	if (rc < 0) {
		pv_perr_store(p, "service_list", rc);
		return;
	}
	if (f.id[0] != '\0') {
		pv_perr(p, 400, 80602, "A Service with UniqueName %s already exists", svc.name);
		return;
	}
	id_new("svc", svc.id);
	svc.created_at = now_unix();
	x.updated_at = svc.created_at;
	/* the Proxy-only row first: a service is answered only once both exist */
	rc = pv_extra_put(p, svc.id, &x);
	if (rc == 0)
		rc = store_service_insert(p->app->store, &svc);
	if (rc < 0) {
		pv_perr_store(p, "service_insert", rc);
		return;
	}
	log_info("proxy: service %s created", svc.id);
	api_reply(p->res, 201, pv_service_json(p, &svc, &x));
}

void pv_service_update(struct preq *p, struct service *svc, struct proxy_service_extra *x)
{
	if (!service_params(p, svc, x, false))
		return;
	if (pv_param(p, "UniqueName") != NULL) {
		struct name_find f = {.name = svc->name};
		int rc = store_service_list(p->app->store, find_service_by_name, &f);
		if (rc < 0) {
			pv_perr_store(p, "service_list", rc);
			return;
		}
		if (f.id[0] != '\0' && strcmp(f.id, svc->id) != 0) {
			pv_perr(p, 400, 80602, "A Service with UniqueName %s already exists", svc->name);
			return;
		}
	}
	x->updated_at = now_unix();
	int rc = store_service_update(p->app->store, svc);
	if (rc == 0)
		rc = pv_extra_put(p, svc->id, x);
	if (rc < 0) {
		pv_perr_store(p, "service_update", rc);
		return;
	}
	api_reply(p->res, 200, pv_service_json(p, svc, x));
}

/* Only the ids: a store callback must not call the store (it holds the
 * backend's connection), so the Proxy-only rows are read after the listing. */
static void add_service_id(void *ctx, const struct service *svc)
{
	json_array_append_new(ctx, json_string(svc->id));
}

void pv_service_list(struct preq *p)
{
	struct page pg;
	if (!pv_page_parse(p, "KS", &pg))
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
		bool mine = rc == 0 && scope_check(&p->key, SCOPE_READ, svc.id) == SCOPE_ALLOW; /* a scoped key: its own */
		if (mine)
			rc = pv_extra_get(p, svc.id, &x);
		if (mine && rc == 0)
			json_array_append_new(arr, pv_service_json(p, &svc, &x));
		explicit_bzero(&svc.secrets, sizeof(svc.secrets));
	}
	json_decref(ids);
	if (rc < 0) {
		json_decref(arr);
		pv_perr_store(p, "service_list", rc);
		return;
	}
	pv_page_reply(p, arr, &pg, "services", "/Services");
}

/* ------------------------------------------------------------ phone numbers */

json_t *pv_number_json(struct preq *p, const struct service *svc, const struct number *n)
{
	const char *sid = pv_sid_of(p, n->id);
	json_t *caps = json_pack("{s:b,s:b,s:b,s:b}", "voice", (n->caps & CAP_VOICE) != 0, "sms", (n->caps & CAP_SMS) != 0,
				 "mms", (n->caps & CAP_MMS) != 0, "fax", 0);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:I}", "sid", sid, "account_sid", p->account_sid,
			      "service_sid", pv_sid_of(p, svc->id), "phone_number", n->e164, "friendly_name", n->e164,
			      "iso_country", n->country, "capabilities", caps, "is_reserved", n->state == NUMBER_RESERVED,
			      "in_use", (json_int_t)n->in_use);
	json_object_set_new(o, "date_created", pv_time_or_null(n->created_at));
	json_object_set_new(o, "date_updated", pv_time_or_null(n->created_at));
	json_object_set_new(o, "url",
			    json_string(arena_printf(p->http->arena, "%s/Services/%s/PhoneNumbers/%s", p->base,
						     pv_sid_of(p, svc->id), sid)));
	return o;
}

void pv_number_create(struct preq *p, const struct service *svc)
{
	const char *number = pv_param(p, "PhoneNumber");
	const char *sid = pv_param(p, "Sid");
	if (number == NULL && sid == NULL) {
		pv_perr_missing(p, "PhoneNumber");
		return;
	}
	if (number == NULL) {
		/* a Twilio IncomingPhoneNumber SID names a number of the Twilio account:
		 * maskd cannot look it up, so it wants the number itself */
		pv_perr(p, 400, 80301, "Add the number by PhoneNumber: maskd cannot resolve a Twilio phone number Sid");
		return;
	}
	bool has_res = false, reserved = false;
	if (!pv_bool_param(p, "IsReserved", &has_res, &reserved))
		return;
	struct phone_info pi;
	if (phone_parse(number, &pi) < 0) {
		pv_perr(p, 400, 20001, "Invalid parameter PhoneNumber: an E.164 phone number");
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
		pv_perr(p, 400, 80104, "The phone number is already in a Service's pool");
		return;
	}
	if (rc < 0) {
		pv_perr_store(p, "number_insert", rc);
		return;
	}
	api_reply(p->res, 201, pv_number_json(p, svc, &n));
}

struct number_list_ctx {
	struct preq *p;
	const struct service *svc;
	json_t *arr;
};

static void add_number(void *ctx, const struct number *n)
{
	struct number_list_ctx *c = ctx;
	json_array_append_new(c->arr, pv_number_json(c->p, c->svc, n));
}

void pv_number_list(struct preq *p, const struct service *svc)
{
	struct page pg;
	if (!pv_page_parse(p, "PN", &pg))
		return;
	struct number_list_ctx c = {p, svc, json_array()};
	int rc = store_number_list(p->app->store, svc->id, add_number, &c);
	if (rc < 0) {
		json_decref(c.arr);
		pv_perr_store(p, "number_list", rc);
		return;
	}
	pv_page_reply(p, c.arr, &pg, "phone_numbers", arena_printf(p->http->arena, "/Services/%s/PhoneNumbers", p->seg[1]));
}

int pv_number_load(struct preq *p, const struct service *svc, const char *seg, struct number *n)
{
	char id[ID_MAX];
	int rc = proxy_id_from_sid(seg, "PN", id);
	if (rc == 0)
		rc = store_number_get(p->app->store, id, n);
	if (rc == 0 && strcmp(n->service_id, svc->id) != 0)
		rc = MASKD_ENOTFOUND;
	if (rc == MASKD_EINVAL || rc == MASKD_ENOTFOUND)
		pv_perr_not_found(p);
	else if (rc < 0)
		pv_perr_store(p, "number_get", rc);
	return rc;
}

void pv_number_update(struct preq *p, const struct service *svc, struct number *n)
{
	bool has = false, reserved = false;
	if (!pv_bool_param(p, "IsReserved", &has, &reserved))
		return;
	if (has && n->state != NUMBER_RETIRED) {
		enum number_state st = reserved ? NUMBER_RESERVED : NUMBER_ACTIVE;
		int rc = store_number_set_state(p->app->store, n->id, st);
		if (rc < 0) {
			pv_perr_store(p, "number_set_state", rc);
			return;
		}
		n->state = st;
	}
	api_reply(p->res, 200, pv_number_json(p, svc, n));
}

void pv_number_delete(struct preq *p, const struct number *n)
{
	int rc = store_number_delete(p->app->store, n->id);
	if (rc == MASKD_ECONFLICT) {
		pv_perr(p, 400, 80611, "The phone number is in active Sessions and cannot be removed");
		return;
	}
	if (rc < 0) {
		pv_perr_store(p, "number_delete", rc);
		return;
	}
	p->res->status = 204;
}

