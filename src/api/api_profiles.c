/* SPDX-License-Identifier: MIT */
/* api_profiles.c - a service's profiles (stable numbers): create, list, get,
 * change (label, device swap) and retire. JSON in and out only; the rules are
 * core/profile.h's and the transactions flow/profiles.c's. Every answer shows the
 * real number masked. */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../flow/profiles.h"
#include "../flow/sessions.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/phone.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

json_t *api_profile_json(const struct profile *p)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", p->id, "service_id", p->service_id, "label",
			      p->label, "number", p->masked, "proxy_number", p->proxy_e164, "state",
			      profile_state_name(p->state), "created_at", json_time(p->created_at), "updated_at",
			      json_time(p->updated_at));
	json_object_set_new(o, "retired_at", json_time(p->retired_at));
	json_object_set_new(o, "free_at", json_time(p->free_at));
	return o;
}

/* The real number of a profile body, checked as a participant's (never echoed). */
static bool parse_number(const char *number, const char *label, struct participant *out, struct api_error *e)
{
	int problem = sessions_participant(number, label, out);
	if (problem == PARTICIPANT_EMERGENCY) {
		api_error_set(e, 400, "invalid_field", "number is an emergency number; it cannot be masked");
		return false;
	}
	if (problem != PARTICIPANT_OK) {
		api_error_set(e, 400, "invalid_field", "number is not a valid E.164 phone number");
		return false;
	}
	return true;
}

void api_profile_create(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"number", "label", "proxy_number", NULL};
	const char *number = NULL, *label = NULL, *proxy = NULL;
	if (!json_only_fields(body, "", fields, &e) || !json_string_field(body, "", "number", true, 64, &number, &e) ||
	    !json_string_field(body, "", "label", false, LABEL_MAX_LEN, &label, &e) ||
	    !json_string_field(body, "", "proxy_number", false, 64, &proxy, &e))
		goto fail;
	struct participant geo;
	if (!parse_number(number, label, &geo, &e))
		goto fail;
	struct profile p;
	memset(&p, 0, sizeof(p));
	snprintf(p.number, sizeof(p.number), "%s", geo.number);
	snprintf(p.masked, sizeof(p.masked), "%s", geo.masked);
	snprintf(p.country, sizeof(p.country), "%s", geo.country);
	snprintf(p.label, sizeof(p.label), "%s", label ? label : "");
	if (proxy != NULL) {
		struct phone_info pi;
		if (phone_parse(proxy, &pi) < 0) {
			api_error_set(&e, 400, "invalid_field", "proxy_number is not a valid E.164 phone number");
			goto fail;
		}
		snprintf(p.proxy_e164, sizeof(p.proxy_e164), "%s", pi.e164);
	}
	int rc = profiles_create(r->app->store, &svc, &geo, &p, now_unix());
	if (rc == MASKD_ENOTFOUND) {
		api_error_set(&e, 409, "conflict",
			      "proxy_number is not an active or reserved number of this service's pool with the capabilities of its mode");
		goto fail;
	}
	if (rc == MASKD_ECONFLICT) {
		api_error_set(&e, 409, "conflict", "proxy_number belongs to another profile");
		goto fail;
	}
	if (rc == MASKD_EEXHAUSTED) {
		api_error_set(&e, 409, "pool_exhausted", "no number of this service's pool is free for a profile");
		goto fail;
	}
	json_decref(body);
	if (rc < 0) {
		api_store_failed(r, "profile_create", rc);
		return;
	}
	log_info("profile %s created (service %s, proxy number %s)", p.id, svc.id, p.proxy_number_id);
	api_reply(r->res, 201, api_profile_json(&p));
	return;
fail:
	api_reply_refused(r, body, &e);
}

static void add_profile(void *ctx, const struct profile *p)
{
	json_array_append_new(ctx, api_profile_json(p));
}

void api_profile_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *arr = json_array();
	api_reply_list(r, profiles_list(r->app->store, svc.id, add_profile, arr), arr, "profiles", "profile_list");
}

void api_profile_get(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL && r->id2 != NULL);
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	struct profile p;
	int rc = profiles_get(r->app->store, svc.id, r->id2, 0, &p);
	if (!api_store_ok(r, rc, "profile", "profile_get"))
		return;
	api_reply(r->res, 200, api_profile_json(&p));
}

/* The change a PATCH body asks for; false with a 400 in *e otherwise. */
static bool parse_change(json_t *body, struct profile_change *c, struct api_error *e)
{
	static const char *const fields[] = {"number", "label", "state", NULL};
	const char *number = NULL, *label = NULL, *state = NULL;
	memset(c, 0, sizeof(*c));
	if (!json_only_fields(body, "", fields, e) || !json_string_field(body, "", "number", false, 64, &number, e) ||
	    !json_string_field(body, "", "label", false, LABEL_MAX_LEN, &label, e) ||
	    !json_string_field(body, "", "state", false, 16, &state, e))
		return false;
	if (number == NULL && label == NULL && state == NULL) {
		api_error_set(e, 400, "missing_field", "a change needs number, label or state");
		return false;
	}
	if (state != NULL) {
		int st = profile_state_from_name(state);
		if (st < 0) {
			api_error_set(e, 400, "invalid_field", "state must be active or retired");
			return false;
		}
		c->retire = st == PROFILE_RETIRED;
	}
	if (label != NULL) {
		c->has_label = 1;
		snprintf(c->label, sizeof(c->label), "%s", label);
	}
	if (number != NULL) {
		if (!parse_number(number, NULL, &c->number, e))
			return false;
		c->has_number = 1;
	}
	return true;
}

void api_profile_patch(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL && r->id2 != NULL);
	struct api_error e = {0};
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *body = json_body(r->http, &e);
	struct profile_change c;
	if (body == NULL || !parse_change(body, &c, &e))
		goto fail;
	struct profile p;
	struct audit_entry audit;
	api_audit_request(r, &audit, "profile.changed");
	int rc = profiles_change_with(r->app->store, &svc, r->id2, &c, now_unix(), audit_then, &audit, &p);
	if (rc == MASKD_ECONFLICT) {
		api_error_set(&e, 409, "conflict",
			      c.has_number ? "the profile is retired, or number already holds a proxy number of one of "
					     "the profile's open sessions"
					   : "the profile is retired");
		goto fail;
	}
	json_decref(body);
	if (!api_store_ok(r, rc, "profile", "profile_change"))
		return;
	log_info("profile %s changed%s%s%s", p.id, c.has_label ? " (label)" : "", c.has_number ? " (device swap)" : "",
		 c.retire ? " (retired)" : "");
	api_reply(r->res, 200, api_profile_json(&p));
	return;
fail:
	api_reply_refused(r, body, &e);
}
