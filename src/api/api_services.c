/* SPDX-License-Identifier: MIT */
/* api_services.c - POST/GET/PATCH /v1/services: a tenant with its carrier
 * credentials (sealed at rest, never echoed) and its session defaults. */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../out/events.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../vault/vault.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_UNKNOWN_CALLER_MESSAGE "The number you have called is not available. Goodbye."
#define DEFAULT_CONSENT_MESSAGE "This call may be recorded."
#define TTL_MAX (366LL * 24 * 3600)
#define COOLOFF_MAX (30LL * 24 * 3600)
#define NUMBER_CAP_MAX 100000
#define POOL_LOW_THRESHOLD_MAX 100000
#define CALLBACK_TIMEOUT_MIN_MS 100
#define CALLBACK_TIMEOUT_MAX_MS 10000
#define RATE_MAX 100000
#define INTERCEPT_TIMEOUT_MAX_MS 5000
#define INTERCEPT_TIMEOUT_DEFAULT_MS 2000

static json_t *service_json(const struct app *app, const struct service *svc)
{
	json_t *carriers = json_object();
	for (int d = 0; d < DIALECT_COUNT; d++)
		if (dialect_cred_fields(d)[0] != NULL) /* SIP has no per-service credential */
			json_object_set_new(carriers, dialect_name(d),
					    json_pack("{s:b}", "configured", svc->secrets[d][0] != '\0'));
	json_t *defaults = json_pack("{s:s,s:I,s:s}", "mode", mode_name(svc->mode), "ttl", (json_int_t)svc->ttl,
				     "unknown_caller_message", svc->unknown_caller_message);
	json_policy_set(defaults, &svc->policy, false);
	json_pool_set(defaults, &svc->pool, false);
	json_object_set_new(defaults, "cooloff", json_integer(svc->cooloff));
	json_object_set_new(defaults, "cooloff_reuse", json_boolean(svc->cooloff_reuse));
	json_object_set_new(defaults, "number_cap", json_integer(svc->number_cap));
	json_object_set_new(defaults, "pool_low_threshold", json_integer(svc->pool_low_threshold));
	json_object_set_new(defaults, "ended_message", json_string(svc->ended_message));
	json_object_set_new(defaults, "help_text", json_string(svc->help_text));
	json_object_set_new(defaults, "mms_fallback", json_string(mms_fallback_name(svc->mms_fallback)));
	json_t *unknown = json_pack("{s:s}", "policy", unknown_caller_name(svc->unknown_caller));
	json_object_set_new(unknown, "fallback_number",
			    svc->fallback_number[0] ? json_string(svc->fallback_number) : json_null());
	json_object_set_new(unknown, "pin_number", svc->pin_number[0] ? json_string(svc->pin_number) : json_null());
	json_object_set_new(unknown, "pin_length", json_integer(svc->pin_length));
	json_object_set_new(unknown, "pin_attempts", json_integer(svc->pin_attempts));
	json_object_set_new(unknown, "callback_url", svc->callback_url[0] ? json_string(svc->callback_url) : json_null());
	json_object_set_new(unknown, "callback_timeout_ms", json_integer(svc->callback_timeout_ms));
	json_object_set_new(unknown, "callback_fail_open", json_boolean(svc->callback_fail_open));
	if (svc->unknown_caller == UNKNOWN_CALLBACK) {
		/* the app checks X-Maskd-Signature with it (POLICY.md) */
		char secret[VAULT_DERIVED_LEN + 1];
		vault_derive(app->vault, "callback", svc->id, secret);
		json_object_set_new(unknown, "callback_secret", json_string(secret));
	}
	json_t *rates = json_pack("{s:i,s:i,s:b}", "calls_per_hour", svc->rate_calls, "texts_per_hour", svc->rate_texts,
				  "silent", svc->rate_silent);
	json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", svc->id, "name", svc->name, "carriers",
			      carriers, "defaults", defaults, "unknown_caller", unknown, "rate_limits", rates, "events_url",
			      svc->events_url[0] ? json_string(svc->events_url) : json_null(), "created_at",
			      json_time(svc->created_at));
	json_object_set_new(o, "branded_number", svc->branded_number[0] ? json_string(svc->branded_number) : json_null());
	json_object_set_new(o, "callback_window", json_integer(svc->callback_window));
	json_object_set_new(o, "intercept_url", svc->intercept_url[0] ? json_string(svc->intercept_url) : json_null());
	json_object_set_new(o, "intercept_timeout_ms", json_integer(svc->intercept_timeout_ms));
	json_object_set_new(o, "intercept_fail_open", json_boolean(svc->intercept_fail_open));
	json_object_set_new(o, "events_pull", json_boolean(!svc->events_pull_off));
	return o;
}

/* intercept_url (a string under events_url's rule, or null: none),
 * intercept_timeout_ms (1..5000) and intercept_fail_open (a boolean), each
 * applied over svc when given. False with a 400 naming the field in *e. */
static bool parse_intercept(json_t *body, struct service *svc, struct api_error *e)
{
	bool has_to = false, has_open = false, open = false;
	int64_t to = 0;
	if (!json_int_field(body, "", "intercept_timeout_ms", 1, INTERCEPT_TIMEOUT_MAX_MS, &has_to, &to, e) ||
	    !json_bool_field(body, "", "intercept_fail_open", &has_open, &open, e))
		return false;
	json_t *v = json_object_get(body, "intercept_url");
	if (v != NULL && !json_is_null(v)) {
		const char *why = NULL;
		if (!json_is_string(v)) {
			api_error_set(e, 400, "invalid_field", "intercept_url must be a string or null");
			return false;
		}
		if (events_url_check(json_string_value(v), &why) < 0) {
			api_error_set(e, 400, "invalid_field",
				      "intercept_url must be an absolute https URL (http only to a loopback host: "
				      "localhost, 127.0.0.1, [::1]) of at most %d characters, without spaces",
				      URL_MAX_LEN - 1);
			return false;
		}
		snprintf(svc->intercept_url, sizeof(svc->intercept_url), "%s", json_string_value(v));
	} else if (v != NULL) {
		svc->intercept_url[0] = '\0';
	}
	if (has_to)
		svc->intercept_timeout_ms = (int)to;
	if (has_open)
		svc->intercept_fail_open = open;
	return true;
}

/* events_url: a string (events_url_check) or null (none); events_pull: a
 * boolean (false: no event is kept for the pull API). False with a 400 in *e. */
static bool parse_events_url(json_t *body, struct service *svc, struct api_error *e)
{
	bool has_pull = false, pull = true;
	if (!json_bool_field(body, "", "events_pull", &has_pull, &pull, e))
		return false;
	if (has_pull)
		svc->events_pull_off = !pull;
	json_t *v = json_object_get(body, "events_url");
	if (v == NULL)
		return true;
	if (json_is_null(v)) {
		svc->events_url[0] = '\0';
		return true;
	}
	if (!json_is_string(v)) {
		api_error_set(e, 400, "invalid_field", "events_url must be a string or null");
		return false;
	}
	const char *why = NULL;
	if (events_url_check(json_string_value(v), &why) < 0) {
		api_error_set(e, 400, "invalid_field", "%s", why);
		return false;
	}
	snprintf(svc->events_url, sizeof(svc->events_url), "%s", json_string_value(v));
	return true;
}

/* carriers.{name}: an object of that carrier's credential fields (model.h
 * dialect_cred_fields()), the signing one required, each a non-empty string.
 * Stored as compact JSON text, sealed by the store. patch: carriers.{name} null
 * removes that carrier (PATCH); an object replaces its credentials whole. */
static bool parse_carriers(json_t *carriers, struct service *svc, bool patch, struct api_error *e)
{
	if (carriers == NULL || json_is_null(carriers))
		return true;
	if (!json_is_object(carriers)) {
		api_error_set(e, 400, "invalid_field", "carriers must be an object");
		return false;
	}
	const char *name;
	json_t *c;
	json_object_foreach(carriers, name, c)
	{
		int d = dialect_from_name(name);
		if (d < 0) {
			if (json_key_echoable(name))
				api_error_set(e, 400, "unknown_field",
					      "unknown field carriers.%.32s (twilio, signalwire, telnyx, plivo, vobiz, vonage)",
					      name);
			else
				api_error_set(e, 400, "unknown_field",
					      "unknown field in carriers (twilio, signalwire, telnyx, plivo, vobiz, vonage)");
			return false;
		}
		char path[32];
		snprintf(path, sizeof(path), "carriers.%s", name);
		if (patch && json_is_null(c)) {
			svc->secrets[d][0] = '\0';
			continue;
		}
		if (!json_is_object(c)) {
			api_error_set(e, 400, "invalid_field", "%s must be an object", path);
			return false;
		}
		const char *const *fields = dialect_cred_fields(d);
		if (fields[0] == NULL) {
			api_error_set(e, 400, "unknown_field", "%s takes no credentials: MASKD_SIP_SECRET signs SIP queries",
				      path);
			return false;
		}
		if (!json_only_fields(c, path, fields, e))
			return false;
		for (size_t i = 0; fields[i] != NULL; i++) {
			const char *v = NULL;
			size_t cap = strcmp(fields[i], "private_key") == 0 ? PRIVATE_KEY_MAX_LEN : SECRET_MAX_LEN;
			if (!json_string_field(c, path, fields[i], i == 0, cap, &v, e))
				return false;
			if (v != NULL && v[0] == '\0') {
				api_error_set(e, 400, "invalid_field", "%s.%s must not be empty", path, fields[i]);
				return false;
			}
		}
		char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
		size_t n = text ? strlen(text) : 0;
		if (text == NULL || n > CREDS_MAX_LEN) {
			free(text);
			api_error_set(e, 400, "invalid_field", "%s is too long", path);
			return false;
		}
		snprintf(svc->secrets[d], sizeof(svc->secrets[d]), "%s", text);
		free(text);
	}
	return true;
}

static bool parse_defaults(json_t *defaults, struct service *svc, struct api_error *e)
{
	if (defaults == NULL || json_is_null(defaults))
		return true;
	if (!json_is_object(defaults)) {
		api_error_set(e, 400, "invalid_field", "defaults must be an object");
		return false;
	}
	static const char *const names[] = {"mode", "ttl", "unknown_caller_message", "record", "time_limit",
					    "ring_timeout", "consent_message", "geo_match", "geo_match_strict",
					    "number_selection", "cooloff", "cooloff_reuse", "number_cap", "ended_message",
					    "help_text", "mms_fallback", "pool_low_threshold", NULL};
	const char *mode = NULL, *msg = NULL, *ended = NULL, *help = NULL, *mms = NULL;
	bool has_ttl = false, has_cooloff = false, has_cap = false, has_reuse = false, reuse = false, has_low = false;
	int64_t ttl = 0, cooloff = 0, cap = 0, low = 0;
	if (!json_only_fields(defaults, "defaults", names, e) ||
	    !json_string_field(defaults, "defaults", "mode", false, 32, &mode, e) ||
	    !json_int_field(defaults, "defaults", "ttl", 0, TTL_MAX, &has_ttl, &ttl, e) ||
	    !json_string_field(defaults, "defaults", "unknown_caller_message", false, MESSAGE_MAX_LEN, &msg, e) ||
	    !json_policy_fields(defaults, "defaults", &svc->policy, e) ||
	    !json_pool_fields(defaults, "defaults", &svc->pool, e) ||
	    !json_int_field(defaults, "defaults", "cooloff", 0, COOLOFF_MAX, &has_cooloff, &cooloff, e) ||
	    !json_bool_field(defaults, "defaults", "cooloff_reuse", &has_reuse, &reuse, e) ||
	    !json_int_field(defaults, "defaults", "number_cap", 0, NUMBER_CAP_MAX, &has_cap, &cap, e) ||
	    !json_int_field(defaults, "defaults", "pool_low_threshold", 0, POOL_LOW_THRESHOLD_MAX, &has_low, &low, e) ||
	    !json_string_field(defaults, "defaults", "ended_message", false, MESSAGE_MAX_LEN, &ended, e) ||
	    !json_string_field(defaults, "defaults", "help_text", false, MESSAGE_MAX_LEN, &help, e) ||
	    !json_string_field(defaults, "defaults", "mms_fallback", false, 32, &mms, e))
		return false;
	if (mms != NULL) {
		int f = mms_fallback_from_name(mms);
		if (f < 0) {
			api_error_set(e, 400, "invalid_field", "defaults.mms_fallback must be text_with_note or refuse");
			return false;
		}
		svc->mms_fallback = (enum mms_fallback)f;
	}
	if (has_cooloff)
		svc->cooloff = cooloff;
	if (has_reuse)
		svc->cooloff_reuse = reuse;
	if (has_cap)
		svc->number_cap = (int)cap;
	if (has_low)
		svc->pool_low_threshold = (int)low;
	if (ended != NULL && ended[0] != '\0')
		snprintf(svc->ended_message, sizeof(svc->ended_message), "%s", ended);
	if (help != NULL && help[0] != '\0')
		snprintf(svc->help_text, sizeof(svc->help_text), "%s", help);
	if (mode != NULL) {
		int m = mode_from_name(mode);
		if (m <= 0) {
			api_error_set(e, 400, "invalid_field",
				      "defaults.mode must be voice, message or voice-and-message");
			return false;
		}
		svc->mode = (enum session_mode)m;
	}
	if (has_ttl)
		svc->ttl = ttl;
	if (msg != NULL) {
		if (msg[0] == '\0') {
			api_error_set(e, 400, "invalid_field", "defaults.unknown_caller_message must not be empty");
			return false;
		}
		snprintf(svc->unknown_caller_message, sizeof(svc->unknown_caller_message), "%s", msg);
	}
	return true;
}

/* A number the service itself names (fallback line, PIN number): E.164, valid,
 * never an emergency number. Not a participant's number, so it is shown as given. */
static bool parse_service_number(json_t *obj, const char *path, const char *key, char *out, size_t cap,
				 struct api_error *e)
{
	const char *v = NULL;
	if (!json_string_field(obj, path, key, false, 64, &v, e))
		return false;
	if (v == NULL)
		return true;
	struct phone_info pi;
	if (phone_is_emergency(v)) {
		api_error_set(e, 400, "invalid_field", "%s.%s is an emergency number", path, key);
		return false;
	}
	if (phone_parse(v, &pi) < 0) {
		api_error_set(e, 400, "invalid_field", "%s.%s is not a valid E.164 phone number", path, key);
		return false;
	}
	snprintf(out, cap, "%s", pi.e164);
	return true;
}

/* The unknown-caller policy of a new service, and what an unknown_caller object
 * in PATCH starts from (it replaces the policy whole). */
static void unknown_caller_reset(struct service *svc)
{
	svc->unknown_caller = UNKNOWN_REJECT;
	svc->fallback_number[0] = '\0';
	svc->pin_number[0] = '\0';
	svc->pin_length = 6;
	svc->pin_attempts = 3;
	svc->callback_url[0] = '\0';
	svc->callback_timeout_ms = 2000;
	svc->callback_fail_open = 0;
}

/* unknown_caller: {policy, fallback_number, pin_number, pin_length, pin_attempts,
 * callback_url, callback_timeout_ms, callback_fail_open}, applied over svc; what
 * each policy needs is check_unknown_caller()'s. */
static bool parse_unknown_caller(json_t *u, struct service *svc, struct api_error *e)
{
	if (u == NULL || json_is_null(u))
		return true;
	const char *path = "unknown_caller";
	if (!json_is_object(u)) {
		api_error_set(e, 400, "invalid_field", "unknown_caller must be an object");
		return false;
	}
	static const char *const names[] = {"policy", "fallback_number", "pin_number", "pin_length", "pin_attempts",
					    "callback_url", "callback_timeout_ms", "callback_fail_open", NULL};
	const char *policy = NULL, *url = NULL;
	bool has_len = false, has_att = false, has_to = false, has_open = false, open = false;
	int64_t len = 0, att = 0, to = 0;
	if (!json_only_fields(u, path, names, e) || !json_string_field(u, path, "policy", true, 32, &policy, e) ||
	    !parse_service_number(u, path, "fallback_number", svc->fallback_number, sizeof(svc->fallback_number), e) ||
	    !parse_service_number(u, path, "pin_number", svc->pin_number, sizeof(svc->pin_number), e) ||
	    !json_int_field(u, path, "pin_length", PIN_MIN_LEN, PIN_MAX_LEN, &has_len, &len, e) ||
	    !json_int_field(u, path, "pin_attempts", 1, 5, &has_att, &att, e) ||
	    !json_string_field(u, path, "callback_url", false, URL_MAX_LEN, &url, e) ||
	    !json_int_field(u, path, "callback_timeout_ms", CALLBACK_TIMEOUT_MIN_MS, CALLBACK_TIMEOUT_MAX_MS, &has_to,
			    &to, e) ||
	    !json_bool_field(u, path, "callback_fail_open", &has_open, &open, e))
		return false;
	int pol = unknown_caller_from_name(policy);
	if (pol < 0) {
		api_error_set(e, 400, "invalid_field", "unknown_caller.policy must be reject, forward, pin or callback");
		return false;
	}
	svc->unknown_caller = (enum unknown_caller)pol;
	if (has_len)
		svc->pin_length = (int)len;
	if (has_att)
		svc->pin_attempts = (int)att;
	if (has_to)
		svc->callback_timeout_ms = (int)to;
	if (has_open)
		svc->callback_fail_open = open;
	if (url != NULL) {
		if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
			api_error_set(e, 400, "invalid_field", "unknown_caller.callback_url must be an http or https URL");
			return false;
		}
		snprintf(svc->callback_url, sizeof(svc->callback_url), "%s", url);
	}
	return true;
}

/* What each unknown-caller policy needs, checked once every part of a service is
 * applied (POST and PATCH) so a webhook never meets a half-configured one. */
static bool check_unknown_caller(const struct service *svc, struct api_error *e)
{
	if (svc->unknown_caller == UNKNOWN_FORWARD && svc->fallback_number[0] == '\0') {
		api_error_set(e, 400, "missing_field", "unknown_caller.fallback_number is required by the forward policy");
		return false;
	}
	if (svc->unknown_caller == UNKNOWN_PIN && svc->pin_number[0] == '\0') {
		api_error_set(e, 400, "missing_field", "unknown_caller.pin_number is required by the pin policy");
		return false;
	}
	if (svc->unknown_caller == UNKNOWN_CALLBACK && svc->callback_url[0] == '\0') {
		api_error_set(e, 400, "missing_field", "unknown_caller.callback_url is required by the callback policy");
		return false;
	}
	if (svc->callback_fail_open && svc->fallback_number[0] == '\0') {
		api_error_set(e, 400, "missing_field",
			      "unknown_caller.fallback_number is required when callback_fail_open is true");
		return false;
	}
	return true;
}

/* rate_limits: {calls_per_hour, texts_per_hour, silent}, per binding. */
static bool parse_rate_limits(json_t *o, struct service *svc, struct api_error *e)
{
	if (o == NULL || json_is_null(o))
		return true;
	if (!json_is_object(o)) {
		api_error_set(e, 400, "invalid_field", "rate_limits must be an object");
		return false;
	}
	static const char *const names[] = {"calls_per_hour", "texts_per_hour", "silent", NULL};
	bool has_c = false, has_t = false, has_s = false, silent = false;
	int64_t calls = 0, texts = 0;
	if (!json_only_fields(o, "rate_limits", names, e) ||
	    !json_int_field(o, "rate_limits", "calls_per_hour", 0, RATE_MAX, &has_c, &calls, e) ||
	    !json_int_field(o, "rate_limits", "texts_per_hour", 0, RATE_MAX, &has_t, &texts, e) ||
	    !json_bool_field(o, "rate_limits", "silent", &has_s, &silent, e))
		return false;
	if (has_c)
		svc->rate_calls = (int)calls;
	if (has_t)
		svc->rate_texts = (int)texts;
	if (has_s)
		svc->rate_silent = silent;
	return true;
}

/* One-way sessions (core/oneway.h): branded_number (an E.164 string, or null for
 * none) and callback_window (seconds, 0..CALLBACK_WINDOW_MAX). Whether the
 * branded number is in the service's pool is branded_in_pool()'s check. */
#define CALLBACK_WINDOW_MAX (366LL * 86400)
static bool parse_oneway(json_t *body, struct service *svc, struct api_error *e)
{
	json_t *v = json_object_get(body, "branded_number");
	if (v != NULL && json_is_null(v))
		svc->branded_number[0] = '\0';
	else if (v != NULL && !parse_service_number(body, "", "branded_number", svc->branded_number,
						    sizeof(svc->branded_number), e))
		return false;
	bool has = false;
	int64_t window = 0;
	if (!json_int_field(body, "", "callback_window", 0, CALLBACK_WINDOW_MAX, &has, &window, e))
		return false;
	if (has)
		svc->callback_window = window;
	return true;
}

/* The branded number, when set, must be a number of svc's own pool. False with
 * a 400 in *e (nothing is written then), or a store failure answered already
 * (*answered true). */
static bool branded_in_pool(struct api_req *r, const struct service *svc, struct api_error *e, bool *answered)
{
	*answered = false;
	if (svc->branded_number[0] == '\0')
		return true;
	struct route_view v;
	int rc = store_route_lookup(r->app->store, svc->branded_number, "", &v);
	if (rc < 0) {
		api_store_failed(r, "route_lookup", rc);
		*answered = true;
		return false;
	}
	if (v.number.id[0] == '\0' || strcmp(v.number.service_id, svc->id) != 0) {
		api_error_set(e, 400, "invalid_field",
			      "branded_number is not a number of this service's pool (add it to the pool first)");
		return false;
	}
	return true;
}

/* The parts of body POST and PATCH parse alike, over *svc: carriers (patch: each
 * one named replaced whole, null removing it), defaults, unknown_caller (given
 * as unknown), rate_limits; then the result checked. False with a 400 in *e. */
static bool parse_service_parts(json_t *body, json_t *unknown, struct service *svc, bool patch,
				struct api_error *e)
{
	return parse_carriers(json_object_get(body, "carriers"), svc, patch, e) && parse_events_url(body, svc, e) &&
	       parse_oneway(body, svc, e) && parse_intercept(body, svc, e) &&
	       parse_defaults(json_object_get(body, "defaults"), svc, e) && parse_unknown_caller(unknown, svc, e) &&
	       parse_rate_limits(json_object_get(body, "rate_limits"), svc, e) && check_unknown_caller(svc, e);
}

/* Copies name into svc->name; false with a 400 in *e when it is empty. */
static bool service_name_set(struct service *svc, const char *name, struct api_error *e)
{
	if (name[0] == '\0') {
		api_error_set(e, 400, "invalid_field", "name must not be empty");
		return false;
	}
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	return true;
}

/* Answers the write of svc that returned rc: 201 with the service created (POST),
 * 200 with it updated (patch), 404 when a patched one is gone, or 503. With
 * show_secret (events_url or intercept_url given at creation, or set where there
 * was neither: both are signed with the one secret), the
 * answer shows the events signing secret: the only answer that does. */
static void reply_service_written(struct api_req *r, int rc, const struct service *svc, bool patch, bool show_secret)
{
	if (!api_store_ok(r, rc, patch ? "service" : NULL, patch ? "service_update" : "service_insert"))
		return;
	log_info("service %s %s", svc->id, patch ? "updated" : "created");
	json_t *o = service_json(r->app, svc);
	if (show_secret) {
		char key[VAULT_DERIVED_LEN + 1], secret[EVENTS_SECRET_MAX];
		vault_derive(r->app->vault, "events", svc->id, key);
		events_secret(key, secret);
		json_object_set_new(o, "events_secret", json_string(secret));
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	api_reply(r->res, patch ? 200 : 201, o);
}

/* A POST /v1/services body over the defaults into *svc (all but id and
 * created_at). False with a 400 in *e. */
static bool service_from_post(json_t *body, struct service *svc, struct api_error *e)
{
	static const char *const fields[] = {"name",	    "carriers",	  "defaults", "unknown_caller",
					     "rate_limits", "events_url", "branded_number", "callback_window", "intercept_url",
					     "intercept_timeout_ms", "intercept_fail_open", "events_pull", NULL};
	const char *name = NULL;
	memset(svc, 0, sizeof(*svc));
	svc->mode = MODE_VOICE_AND_MESSAGE;
	snprintf(svc->unknown_caller_message, sizeof(svc->unknown_caller_message), "%s", DEFAULT_UNKNOWN_CALLER_MESSAGE);
	snprintf(svc->policy.consent_message, sizeof(svc->policy.consent_message), "%s", DEFAULT_CONSENT_MESSAGE);
	snprintf(svc->ended_message, sizeof(svc->ended_message), "%s", SERVICE_DEFAULT_ENDED_MESSAGE);
	snprintf(svc->help_text, sizeof(svc->help_text), "%s", SERVICE_DEFAULT_HELP_TEXT);
	svc->pool = (struct pool_rules){.geo_match = GEO_COUNTRY, .number_selection = SELECT_PREFER_STICKY};
	svc->cooloff = 86400;
	svc->number_cap = 100;
	svc->pool_low_threshold = 0; /* pool.low is asked for: a one-number pool would be low at once */
	svc->callback_window = ONEWAY_CALLBACK_WINDOW_DEFAULT;
	svc->intercept_timeout_ms = INTERCEPT_TIMEOUT_DEFAULT_MS;
	svc->intercept_fail_open = 1;
	unknown_caller_reset(svc);
	return json_only_fields(body, "", fields, e) &&
	       json_string_field(body, "", "name", true, NAME_MAX_LEN, &name, e) &&
	       parse_service_parts(body, json_object_get(body, "unknown_caller"), svc, false, e) &&
	       service_name_set(svc, name, e);
}

void api_service_create(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct service svc;
	json_t *body = json_body(r->http, &e);
	if (body == NULL || !service_from_post(body, &svc, &e)) {
		api_reply_refused(r, body, &e);
		return;
	}
	id_new("svc", svc.id);
	bool answered = false;
	if (!branded_in_pool(r, &svc, &e, &answered)) {
		if (answered)
			json_decref(body);
		else
			api_reply_refused(r, body, &e);
		return;
	}
	svc.created_at = now_unix();
	int rc = store_service_insert(r->app->store, &svc);
	json_decref(body);
	reply_service_written(r, rc, &svc, false, svc.events_url[0] != '\0' || svc.intercept_url[0] != '\0');
}

/* The audit entry ctx, appended inside the service update's transaction. */
static int append_audit(struct store_tx *tx, void *ctx)
{
	return audit_append_tx(tx, ctx);
}

/* PATCH: the parts given are applied over the stored service as POST parses
 * them (defaults and rate_limits field by field; unknown_caller whole; each
 * carrier named whole, null removing it), then checked as POST checks them and
 * written with its audit entry in one transaction (store_service_update_with).
 * Nothing is written on any 400. */
void api_service_patch(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"name",	    "carriers",	  "defaults", "unknown_caller",
					     "rate_limits", "events_url", "branded_number", "callback_window", "intercept_url",
					     "intercept_timeout_ms", "intercept_fail_open", "events_pull", NULL};
	if (!json_only_fields(body, "", fields, &e))
		goto fail;
	if (json_object_size(body) == 0) {
		api_error_set(&e, 400, "missing_field",
			      "give at least one of name, carriers, defaults, unknown_caller, rate_limits, events_url, "
			      "branded_number, callback_window, intercept_url, intercept_timeout_ms, intercept_fail_open, "
			      "events_pull");
		goto fail;
	}
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0) {
		json_decref(body);
		return;
	}
	bool had_events = svc.events_url[0] != '\0' || svc.intercept_url[0] != '\0';
	json_t *name_v = json_object_get(body, "name");
	const char *name = NULL;
	if (name_v != NULL && json_is_null(name_v)) {
		api_error_set(&e, 400, "invalid_field", "name must be a string");
		goto fail;
	}
	json_t *unknown = json_object_get(body, "unknown_caller");
	if (unknown != NULL && json_is_object(unknown))
		unknown_caller_reset(&svc);
	if (!json_string_field(body, "", "name", false, NAME_MAX_LEN, &name, &e) ||
	    !parse_service_parts(body, unknown, &svc, true, &e) || (name != NULL && !service_name_set(&svc, name, &e)))
		goto fail;
	bool answered = false;
	if (!branded_in_pool(r, &svc, &e, &answered)) {
		if (answered) {
			json_decref(body);
			return;
		}
		goto fail;
	}
	json_decref(body);
	struct audit_entry audit;
	api_audit_request(r, &audit, "service.changed");
	int rc = store_service_update_with(r->app->store, &svc, append_audit, &audit);
	reply_service_written(r, rc, &svc, true,
			      !had_events && (svc.events_url[0] != '\0' || svc.intercept_url[0] != '\0'));
	return;
fail:
	api_reply_refused(r, body, &e);
}

void api_service_get(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct service svc;
	int rc = api_service_load(r, r->id, &svc);
	if (rc < 0)
		return;
	api_reply(r->res, 200, service_json(r->app, &svc));
}

struct service_list_ctx {
	const struct app *app;
	json_t *arr;
	const char *only; /* a scoped key's service: the others are not listed; NULL = all */
};

static void add_service(void *ctx, const struct service *svc)
{
	struct service_list_ctx *c = ctx;
	if (c->only != NULL && strcmp(c->only, svc->id) != 0)
		return;
	json_array_append_new(c->arr, service_json(c->app, svc));
}

void api_service_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	json_t *arr = json_array();
	const char *only = r->key != NULL && scope_role_is_scoped(r->key->role) ? r->key->service_id : NULL;
	struct service_list_ctx c = {r->app, arr, only};
	api_reply_list(r, store_service_list(r->app->store, add_service, &c), arr, "services", "service_list");
}

bool api_service_from_json(json_t *body, struct service *svc, struct api_error *e)
{
	assert(body != NULL && svc != NULL && e != NULL);
	return service_from_post(body, svc, e);
}
