/* SPDX-License-Identifier: MIT */
/* api_numbers.c - a service's pool of proxy numbers: add (validated and normalised
 * to E.164 by libphonenumber, country and area code derived), list with in-use
 * counts, reserve / retire / re-activate, delete when unused. */
#include "api_internal.h"
#include "../flow/events.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/phone.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static json_t *number_json(const struct number *n)
{
	json_t *caps = json_array();
	if (n->caps & CAP_VOICE)
		json_array_append_new(caps, json_string("voice"));
	if (n->caps & CAP_SMS)
		json_array_append_new(caps, json_string("sms"));
	if (n->caps & CAP_MMS)
		json_array_append_new(caps, json_string("mms"));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:o}", "id", n->id, "service_id", n->service_id,
			      "number", n->e164, "carrier", dialect_name(n->carrier), "capabilities", caps, "country",
			      n->country, "area_code", n->area_code, "state", number_state_name(n->state), "in_use",
			      (json_int_t)n->in_use, "created_at", json_time(n->created_at));
	json_object_set_new(o, "region", n->region[0] ? json_string(n->region) : json_null());
	if (n->carrier_any)
		json_object_set_new(o, "carrier", json_null()); /* no carrier given: any dialect's webhooks */
	json_object_set_new(o, "cooling_off", json_integer(n->cooling));
	return o;
}

static bool parse_caps(json_t *arr, unsigned *out, struct api_error *e)
{
	if (arr == NULL) {
		*out = CAP_ALL;
		return true;
	}
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		api_error_set(e, 400, "invalid_field", "capabilities must be a non-empty array of voice, sms, mms");
		return false;
	}
	*out = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		unsigned bit = s == NULL ? 0
			       : strcmp(s, "voice") == 0 ? CAP_VOICE
			       : strcmp(s, "sms") == 0	 ? CAP_SMS
			       : strcmp(s, "mms") == 0	 ? CAP_MMS
							 : 0;
		if (bit == 0) {
			api_error_set(e, 400, "invalid_field", "capabilities[%zu] must be voice, sms or mms", i);
			return false;
		}
		*out |= bit;
	}
	return true;
}

void api_number_create(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"number", "carrier", "capabilities", "reserved", NULL};
	const char *number = NULL, *carrier = NULL;
	struct number n;
	memset(&n, 0, sizeof(n));
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "number", true, 64, &number, &e) ||
	    !json_string_field(body, "", "carrier", false, 32, &carrier, &e) ||
	    !parse_caps(json_object_get(body, "capabilities"), &n.caps, &e))
		goto fail;
	json_t *reserved = json_object_get(body, "reserved");
	if (reserved != NULL && !json_is_boolean(reserved)) {
		api_error_set(&e, 400, "invalid_field", "reserved must be true or false");
		goto fail;
	}
	n.state = json_is_true(reserved) ? NUMBER_RESERVED : NUMBER_ACTIVE;
	int d = carrier == NULL ? (int)DIALECT_TWILIO : dialect_from_name(carrier);
	n.carrier_any = carrier == NULL;
	if (d < 0) {
		api_error_set(&e, 400, "invalid_field", "carrier must be twilio, signalwire, telnyx, plivo, vobiz, vonage or sip");
		goto fail;
	}
	n.carrier = (enum dialect)d;
	struct phone_info pi;
	if (phone_parse(number, &pi) < 0) {
		api_error_set(&e, 400, "invalid_field", "number is not a valid E.164 phone number");
		goto fail;
	}
	snprintf(n.e164, sizeof(n.e164), "%s", pi.e164);
	snprintf(n.country, sizeof(n.country), "%s", pi.region);
	snprintf(n.area_code, sizeof(n.area_code), "%s", pi.area_code);
	snprintf(n.region, sizeof(n.region), "%s", pi.geo_region);
	snprintf(n.service_id, sizeof(n.service_id), "%s", svc.id);
	id_new("num", n.id);
	n.created_at = now_unix();
	int rc = store_number_insert(r->app->store, &n);
	if (rc == MASKD_ECONFLICT) {
		api_error_set(&e, 409, "conflict", "number %s is already in a pool", n.e164);
		goto fail;
	}
	json_decref(body);
	if (rc < 0) {
		api_store_failed(r, "number_insert", rc);
		return;
	}
	log_info("number %s (%s) added to service %s", n.id, n.e164, svc.id);
	api_reply(r->res, 201, number_json(&n));
	return;
fail:
	api_reply_refused(r, body, &e);
}

static void add_number(void *ctx, const struct number *n)
{
	json_array_append_new(ctx, number_json(n));
}

void api_number_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *arr = json_array();
	api_reply_list(r, store_number_list(r->app->store, r->id, add_number, arr), arr, "numbers", "number_list");
}

/* The state a PATCH /v1/numbers/{id} body names; -1 with a 400 in *e when it
 * names none or anything else. */
static int state_from_patch(json_t *body, struct api_error *e)
{
	static const char *const fields[] = {"state", NULL};
	const char *state = NULL;
	if (!json_only_fields(body, "", fields, e) || !json_string_field(body, "", "state", true, 16, &state, e))
		return -1;
	int st = number_state_from_name(state);
	if (st < 0)
		api_error_set(e, 400, "invalid_field", "state must be active, reserved or retired");
	return st;
}

void api_number_patch(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	json_t *body = json_body(r->http, &e);
	int st = body == NULL ? -1 : state_from_patch(body, &e);
	if (st < 0) {
		api_reply_refused(r, body, &e);
		return;
	}
	json_decref(body);
	/* retiring an active or reserved number writes number.retired with the change */
	struct number n;
	struct service svc;
	int rc = store_number_get(r->app->store, r->id, &n);
	bool retiring = rc == 0 && st == NUMBER_RETIRED && n.state != NUMBER_RETIRED;
	if (retiring)
		rc = store_service_get(r->app->store, n.service_id, &svc);
	struct events_pending ev;
	if (retiring && rc == 0) {
		events_prepare(&ev, svc.id, svc.events_url, svc.events_pull_off, n.id, EVENT_NUMBER_RETIRED,
			       json_pack("{s:s,s:s,s:I}", "number_id", n.id, "proxy_number", n.e164, "in_use",
					 (json_int_t)n.in_use),
			       now_unix());
		rc = store_number_set_state_ev(r->app->store, r->id, st, &ev.ev);
		events_pending_free(&ev);
	} else if (rc == 0) {
		rc = store_number_set_state(r->app->store, r->id, st);
	}
	if (rc == 0)
		rc = store_number_get(r->app->store, r->id, &n);
	if (!api_store_ok(r, rc, "number", "number_set_state"))
		return;
	log_info("number %s is now %s", n.id, number_state_name(n.state));
	api_reply(r->res, 200, number_json(&n));
}

void api_number_delete(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	int rc = store_number_delete(r->app->store, r->id);
	if (rc == MASKD_ENOTFOUND) {
		api_not_found(r, "number");
		return;
	}
	if (rc == MASKD_ECONFLICT) {
		/* what holds it is its open sessions (in_use); retiring it only stops new
		 * picks, and cooling-off bindings are released by the delete itself */
		struct number n;
		int64_t held = store_number_get(r->app->store, r->id, &n) == 0 ? n.in_use : 1;
		struct api_error e;
		api_error_set(&e, 409, "conflict",
			      "number %s is still held by %lld open session%s: close %s (PATCH /v1/sessions/{id} "
			      "{\"status\":\"closed\"}) or wait for %s to expire, then delete it; retiring it does not "
			      "release it",
			      r->id, (long long)held, held == 1 ? "" : "s", held == 1 ? "it" : "them",
			      held == 1 ? "it" : "them");
		api_reply_error(r->res, &e);
		return;
	}
	if (rc < 0) {
		api_store_failed(r, "number_delete", rc);
		return;
	}
	log_info("number %s deleted", r->id);
	r->res->status = 204;
}
