/* SPDX-License-Identifier: MIT */
/* api_sessions.c - sessions (create with proxy number allocation, get, list, close,
 * change ttl or expiry, delete) and their participants. Participants' real numbers are
 * validated here with libphonenumber and handed to the store, which seals them;
 * every answer shows them masked. */
#include "api_internal.h"
#include "../core/oneway.h"
#include "../core/pin.h"
#include "../core/pool.h"
#include "../flow/audit.h"
#include "../flow/lifecycle.h"
#include "../flow/sessions.h"
#include "../flow/profiles.h"
#include "../core/profile.h"
#include "../util/metrics.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/phone.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TTL_MAX (366LL * 24 * 3600)
/* The audit action of every accepted PATCH /v1/sessions/{id} (close, block,
 * re-open, ttl, expires_at); its detail names the status and fields set. */
#define SESSION_AUDIT_CHANGED "session.changed"
#define SESSION_PAGE_DEFAULT 50

static json_t *session_json(const struct session *s)
{
	json_t *parts = json_array();
	for (int i = 0; i < s->n_participants; i++) {
		const struct participant *p = &s->participants[i];
		json_t *pj = json_pack("{s:s,s:s,s:s,s:s}", "id", p->id, "label", p->label, "number", p->masked,
				       "proxy_number", p->proxy_e164);
		if (s->direction == DIRECTION_ONE_WAY)
			json_object_set_new(pj, "hidden", json_boolean(p->hidden));
		json_array_append_new(parts, pj);
	}
	json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s,s:I,s:o,s:o,s:o,s:o}", "id", s->id, "service_id", s->service_id,
			      "unique_name", s->unique_name[0] ? json_string(s->unique_name) : json_null(), "mode",
			      mode_name(s->mode), "status", session_status_name(s->status), "ttl", (json_int_t)s->ttl,
			      "expires_at", json_time(s->expires_at), "created_at", json_time(s->created_at),
			      "updated_at", json_time(s->updated_at), "closed_at", json_time(s->closed_at));
	json_policy_set(o, &s->policy, true);
	json_object_set_new(o, "pin", s->pin[0] ? json_string(s->pin) : json_null());
	json_object_set_new(o, "direction", json_string(oneway_direction_name(s->direction)));
	json_object_set_new(o, "participants", parts);
	return o;
}

/* The 400 for a participant's number (never echoing it). */
static bool participant_ok(int problem, const char *path, struct api_error *e)
{
	if (problem == PARTICIPANT_EMERGENCY) {
		/* DESIGN §6: emergency numbers are never masked or proxied */
		api_error_set(e, 400, "invalid_field", "%s.number is an emergency number; it cannot be masked", path);
		return false;
	}
	if (problem != PARTICIPANT_OK) {
		api_error_set(e, 400, "invalid_field", "%s.number is not a valid E.164 phone number", path);
		return false;
	}
	return true;
}

/* A proxy_number the app names: E.164, normalised into out. */
static bool parse_proxy(const char *proxy, const char *path, char *out, size_t cap, struct api_error *e)
{
	struct phone_info pi;
	if (phone_parse(proxy, &pi) < 0) {
		api_error_set(e, 400, "invalid_field", "%s.proxy_number is not a valid E.164 phone number", path);
		return false;
	}
	snprintf(out, cap, "%s", pi.e164);
	return true;
}

static const char *caps_name(enum session_mode mode)
{
	return mode == MODE_VOICE ? "voice" : mode == MODE_MESSAGE ? "sms" : "voice+sms";
}

static const char *level_name(enum geo_match level)
{
	return level == GEO_ANY ? "any" : geo_match_name(level);
}

static bool parse_expires_at(json_t *body, int64_t now, bool *present, int64_t *out, struct api_error *e)
{
	const char *s = NULL;
	*present = false;
	json_t *v = json_object_get(body, "expires_at");
	if (v != NULL && json_is_null(v)) {
		*present = true;
		*out = 0;
		return true;
	}
	if (!json_string_field(body, "", "expires_at", false, 64, &s, e))
		return false;
	if (s == NULL)
		return true;
	if (rfc3339_parse(s, out) < 0) {
		api_error_set(e, 400, "invalid_field", "expires_at must be an RFC 3339 time such as 2026-11-23T00:00:00Z");
		return false;
	}
	if (*out <= now) {
		api_error_set(e, 400, "invalid_field", "expires_at must be in the future");
		return false;
	}
	*present = true;
	return true;
}

/* profile: set to participant i's "profile" id when it names one (then out
 * holds only its label; profile_resolve() fills the rest), else to NULL. */
static bool parse_participant(json_t *p, int i, struct participant *out, const char **profile, struct api_error *e)
{
	char path[32];
	snprintf(path, sizeof(path), "participants[%d]", i);
	*profile = NULL;
	if (!json_is_object(p)) {
		api_error_set(e, 400, "invalid_field", "%s must be an object", path);
		return false;
	}
	static const char *const fields[] = {"number", "label", "proxy_number", "profile", "hidden", NULL};
	const char *number = NULL, *label = NULL, *proxy = NULL;
	bool has_hidden = false, hidden = false;
	if (!json_only_fields(p, path, fields, e) || !json_bool_field(p, path, "hidden", &has_hidden, &hidden, e) ||
	    !json_string_field(p, path, "profile", false, ID_MAX - 1, profile, e) ||
	    !json_string_field(p, path, "number", *profile == NULL, 64, &number, e) ||
	    !json_string_field(p, path, "label", false, LABEL_MAX_LEN, &label, e) ||
	    !json_string_field(p, path, "proxy_number", false, 64, &proxy, e))
		return false;
	if (*profile != NULL) {
		if (number != NULL || proxy != NULL) {
			api_error_set(e, 400, "invalid_field",
				      "%s.profile comes with its own number and proxy number: drop %s.%s", path, path,
				      number != NULL ? "number" : "proxy_number");
			return false;
		}
		memset(out, 0, sizeof(*out));
		snprintf(out->label, sizeof(out->label), "%s", label ? label : "");
		out->hidden = hidden;
		return true;
	}
	if (!participant_ok(sessions_participant(number, label, out), path, e))
		return false;
	out->hidden = hidden;
	return proxy == NULL || parse_proxy(proxy, path, out->proxy_e164, sizeof(out->proxy_e164), e);
}

/* The participants of s that name profiles (prf[i], NULL = none): each one's
 * real number and label from its profile, and the profile's number for the
 * other participant, by core/profile.h's plan. */
static bool profile_resolve(struct api_req *r, const struct service *svc, struct session *s,
			    const char *prf[SESSION_PARTICIPANTS], struct api_error *e)
{
	int n = s->n_participants, has[SESSION_PARTICIPANTS] = {0}, named[SESSION_PARTICIPANTS] = {0}, index = -1;
	for (int i = 0; i < n; i++) {
		has[i] = prf[i] != NULL;
		named[i] = s->participants[i].proxy_e164[0] != '\0';
	}
	if (!has[0] && (n < 2 || !has[1]))
		return true;
	int same = n == 2 && has[0] && has[1] && strcmp(prf[0], prf[1]) == 0;
	switch (profile_plan(n, has, named, same, &index)) {
	case PROFILE_PLAN_OK:
		break;
	case PROFILE_PLAN_ALONE:
		api_error_set(e, 400, "invalid_field",
			      "participants[%d].profile needs the other participant in the same request", index);
		return false;
	case PROFILE_PLAN_NAMED:
		api_error_set(e, 400, "invalid_field",
			      "participants[%d].proxy_number: the other participant's profile gives this participant its number",
			      index);
		return false;
	case PROFILE_PLAN_SAME:
		api_error_set(e, 400, "invalid_field", "participants[1].profile is the same as participants[0].profile");
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (!has[i])
			continue;
		struct profile p;
		int rc = profiles_get(r->app->store, svc->id, prf[i], 1, &p);
		if (rc == MASKD_ENOTFOUND) {
			api_error_set(e, 400, "invalid_field", "participants[%d].profile is not a profile of this service", i);
			return false;
		}
		if (rc < 0) {
			api_error_set(e, 503, "unavailable", "the database is unavailable; retry");
			return false;
		}
		if (!profile_usable(p.state)) {
			api_error_set(e, 409, "conflict", "participants[%d].profile is retired", i);
			return false;
		}
		struct participant *part = &s->participants[i];
		char label[LABEL_MAX_LEN + 1];
		snprintf(label, sizeof(label), "%s", part->label[0] ? part->label : p.label);
		rc = sessions_participant(p.number, label, part);
		OPENSSL_cleanse(p.number, sizeof(p.number));
		if (rc != PARTICIPANT_OK) {
			api_error_set(e, 409, "conflict", "participants[%d].profile's number cannot be masked", i);
			return false;
		}
		snprintf(part->profile_id, sizeof(part->profile_id), "%s", p.id);
		struct participant *other = &s->participants[profile_number_holder(i)];
		snprintf(other->proxy_e164, sizeof(other->proxy_e164), "%s", p.proxy_e164);
	}
	return true;
}

/* The answer to a create (or add) that the store refused. */
static void create_error(const struct session *s, int rc, const struct create_outcome *o, const struct service *svc,
			 struct api_error *e)
{
	int failed = o->failed_index;
	switch (rc) {
	case MASKD_ECONFLICT:
		if (failed == CREATE_FAIL_UNIQUE_NAME)
			api_error_set(e, 409, "conflict",
				      "an open session of this service has unique_name %s with other participants",
				      s->unique_name);
		else if (failed == CREATE_FAIL_PIN)
			api_error_set(e, 409, "conflict", "an open session of this service already has that pin");
		else if (failed >= 0)
			api_error_set(e, 409, "conflict",
				      "participants[%d].proxy_number is already bound to that participant in an open or cooling-off session",
				      failed);
		else
			api_error_set(e, 409, "conflict", "the session cannot take a participant now");
		return;
	case MASKD_ENOTFOUND:
		api_error_set(e, 409, "conflict",
			      "participants[%d].proxy_number is not an active %s number of this service's pool with room for another session",
			      failed, caps_name(s->mode));
		return;
	case MASKD_EEXHAUSTED:
		metrics_inc(MC_POOL_EXHAUSTED);
		log_warn("service %s: pool exhausted: no %s number free for participants[%d] (geo level %s)", svc->id,
			 caps_name(s->mode), failed, level_name(o->failed_level));
		if (o->failed_level != GEO_ANY && o->failed_level >= 0)
			api_error_set(e, 409, "pool_exhausted",
				      "no %s number free for participants[%d] at geo_match %s (geo_match_strict)",
				      caps_name(s->mode), failed, level_name(o->failed_level));
		else
			api_error_set(e, 409, "pool_exhausted", "no %s number free for participants[%d]",
				      caps_name(s->mode), failed);
		return;
	case MASKD_EINVAL:
		api_error_set(e, 400, "invalid_field", "participants[1].number is the same as participants[0].number");
		return;
	default:
		api_error_set(e, 503, "unavailable", "the database is unavailable; retry");
	}
}

/* The 400 for participants whose hidden flags do not fit the direction
 * (core/oneway.h): a one-way session has exactly one hidden participant of two. */
static bool oneway_shape_ok(const struct session *s, struct api_error *e)
{
	switch (oneway_check(s->direction, s->participants, s->n_participants)) {
	case ONEWAY_SHAPE_OK:
		return true;
	case ONEWAY_SHAPE_NO_HIDDEN:
		api_error_set(e, 400, "invalid_field",
			      "participants[].hidden: a one-way session needs exactly one hidden participant, none is");
		return false;
	case ONEWAY_SHAPE_TWO_HIDDEN:
		api_error_set(e, 400, "invalid_field",
			      "participants[].hidden: a one-way session needs exactly one hidden participant, both are");
		return false;
	case ONEWAY_SHAPE_NEEDS_TWO:
		api_error_set(e, 400, "invalid_field", "participants: a one-way session needs its 2 participants");
		return false;
	case ONEWAY_SHAPE_HIDDEN_TWO_WAY:
		api_error_set(e, 400, "invalid_field",
			      "participants[].hidden is only for sessions with direction one-way");
		return false;
	}
	return false;
}

void api_session_create(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct service svc;
	int rc = api_service_load(r, r->id, &svc);
	if (rc < 0)
		return;
	int64_t now = now_unix();
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"unique_name", "mode", "ttl", "expires_at", "participants", "record",
					     "time_limit", "ring_timeout", "consent_message", "geo_match",
					     "geo_match_strict", "number_selection", "pin", "direction", NULL};
	const char *unique_name = NULL, *mode = NULL, *pin = NULL, *direction = NULL;
	bool has_ttl = false, has_exp = false;
	struct session s;
	memset(&s, 0, sizeof(s));
	s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s.pool = POOL_RULES_INHERIT;
	if (!json_only_fields(body, "", fields, &e) || !json_policy_fields(body, "", &s.policy, &e) ||
	    !json_pool_fields(body, "", &s.pool, &e) || !json_string_field(body, "", "pin", false, 64, &pin, &e) ||
	    !json_string_field(body, "", "unique_name", false, NAME_MAX_LEN, &unique_name, &e) ||
	    !json_string_field(body, "", "mode", false, 32, &mode, &e) ||
	    !json_string_field(body, "", "direction", false, 16, &direction, &e) ||
	    !json_int_field(body, "", "ttl", 0, TTL_MAX, &has_ttl, &s.ttl, &e) ||
	    !parse_expires_at(body, now, &has_exp, &s.expires_at, &e))
		goto fail;
	int m = mode == NULL ? (int)svc.mode : mode_from_name(mode);
	if (m <= 0) {
		api_error_set(&e, 400, "invalid_field", "mode must be voice, message or voice-and-message");
		goto fail;
	}
	s.mode = (enum session_mode)m;
	if (direction != NULL && strcmp(direction, "one-way") != 0 && strcmp(direction, "two-way") != 0) {
		api_error_set(&e, 400, "invalid_field", "direction must be one-way or two-way");
		goto fail;
	}
	s.direction = direction != NULL && strcmp(direction, "one-way") == 0 ? DIRECTION_ONE_WAY : DIRECTION_TWO_WAY;
	if (!has_ttl)
		s.ttl = svc.ttl;
	if (pin != NULL) {
		if (svc.unknown_caller != UNKNOWN_PIN) {
			api_error_set(&e, 400, "invalid_field", "pin is only for services whose unknown_caller policy is pin");
			goto fail;
		}
		if (!pin_valid(pin)) {
			api_error_set(&e, 400, "invalid_field", "pin must be %d to %d digits", PIN_MIN_LEN, PIN_MAX_LEN);
			goto fail;
		}
		snprintf(s.pin, sizeof(s.pin), "%s", pin);
	}
	json_t *parts = json_object_get(body, "participants");
	if (parts == NULL) {
		api_error_set(&e, 400, "missing_field", "participants is required");
		goto fail;
	}
	size_t n_parts = json_is_array(parts) ? json_array_size(parts) : 0;
	if (n_parts < 1 || n_parts > SESSION_PARTICIPANTS) {
		api_error_set(&e, 400, "invalid_field",
			      "participants must be an array of 2 participants (or 1, for a session that waits for the second)");
		goto fail;
	}
	const char *prf[SESSION_PARTICIPANTS] = {NULL, NULL};
	for (size_t i = 0; i < n_parts; i++)
		if (!parse_participant(json_array_get(parts, i), (int)i, &s.participants[i], &prf[i], &e))
			goto fail;
	s.n_participants = (int)n_parts;
	if (!oneway_shape_ok(&s, &e))
		goto fail;
	if (!profile_resolve(r, &svc, &s, prf, &e))
		goto fail;
	if (n_parts == 2 && strcmp(s.participants[0].number, s.participants[1].number) == 0) {
		api_error_set(&e, 400, "invalid_field", "participants[1].number is the same as participants[0].number");
		goto fail;
	}
	snprintf(s.unique_name, sizeof(s.unique_name), "%s", unique_name ? unique_name : "");
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc.id);
	id_new("ses", s.id);
	struct create_outcome outcome;
	rc = sessions_create(r->app->store, &svc, &s, now, &outcome);
	if (rc == MASKD_EEXISTS) {
		/* create-or-return: the app's order id already maps to this session */
		json_decref(body);
		struct session existing;
		rc = store_session_get(r->app->store, outcome.existing_id, &existing);
		if (rc < 0) {
			api_store_failed(r, "session_get", rc);
			return;
		}
		log_info("session %s returned for its unique_name (service %s)", existing.id, svc.id);
		api_reply(r->res, 200, session_json(&existing));
		return;
	}
	if (rc < 0 && rc != MASKD_EDB && rc != MASKD_ECRYPTO) {
		create_error(&s, rc, &outcome, &svc, &e);
		goto fail;
	}
	if (rc < 0) {
		json_decref(body);
		api_store_failed(r, "session_create", rc);
		return;
	}
	json_decref(body);
	metrics_inc(MC_SESSIONS_CREATED);
	log_info("session %s created (service %s, participants %s via %s, %s via %s)", s.id, svc.id,
		 s.participants[0].id, s.participants[0].proxy_number_id, s.n_participants > 1 ? s.participants[1].id : "-",
		 s.n_participants > 1 ? s.participants[1].proxy_number_id : "-");
	api_reply(r->res, 201, session_json(&s));
	return;
fail:
	api_reply_refused(r, body, &e);
}

int api_session_load(struct api_req *r, struct session *s)
{
	int rc = store_session_get(r->app->store, r->id, s);
	if (rc == MASKD_ENOTFOUND)
		api_not_found(r, "session");
	else if (rc < 0)
		api_store_failed(r, "session_get", rc);
	return rc;
}

void api_session_get(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct session s;
	if (api_session_load(r, &s) == 0)
		api_reply(r->res, 200, session_json(&s));
}

static void add_session(void *ctx, const struct session *s)
{
	json_array_append_new(ctx, session_json(s));
}

void api_session_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct form q;
	if (form_parse(r->http->arena, r->http->query, strlen(r->http->query), &q) < 0) {
		api_error_set(&e, 400, "invalid_field", "malformed query string");
		api_reply_error(r->res, &e);
		return;
	}
	struct session_filter f = {.status = -1, .limit = SESSION_PAGE_DEFAULT};
	const char *status = form_get(&q, "status");
	if (status != NULL) {
		/* failed is a status no code path sets: filtering on it is refused rather
		 * than answered with a list that is always empty */
		for (int i = SESSION_OPEN; i <= SESSION_BLOCKED; i++)
			if (i != SESSION_FAILED && strcmp(status, session_status_name(i)) == 0)
				f.status = i;
		if (f.status < 0) {
			api_error_set(&e, 400, "invalid_field", "status must be open, in-progress, closed or blocked");
			api_reply_error(r->res, &e);
			return;
		}
	}
	f.unique_name = form_get(&q, "unique_name");
	const char *limit = form_get(&q, "limit");
	if (limit != NULL) {
		char *end = NULL;
		long v = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || v < 1 || v > SESSION_PAGE_MAX) {
			api_error_set(&e, 400, "invalid_field", "limit must be an integer from 1 to %d", SESSION_PAGE_MAX);
			api_reply_error(r->res, &e);
			return;
		}
		f.limit = (int)v;
	}
	f.after_id = form_get(&q, "after");
	if (f.after_id != NULL && !id_valid("ses", f.after_id)) {
		api_error_set(&e, 400, "invalid_field", "after must be a session id");
		api_reply_error(r->res, &e);
		return;
	}
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	json_t *arr = json_array();
	int rc = store_session_list(r->app->store, r->id, &f, add_session, arr);
	if (rc < 0) {
		json_decref(arr);
		api_store_failed(r, "session_list", rc);
		return;
	}
	json_t *next = json_null();
	if (json_array_size(arr) == (size_t)f.limit)
		next = json_deep_copy(json_object_get(json_array_get(arr, json_array_size(arr) - 1), "id"));
	api_reply(r->res, 200, json_pack("{s:o,s:o}", "sessions", arr, "next", next));
}

/* Closes or blocks session r->id, with ttl and expires_at (NULL: unchanged) and
 * the audit entry `action` in the same transaction; counted and logged only when
 * the status changed. */
static void close_session(struct api_req *r, int status, int status_on_success, const int64_t *ttl,
			  const int64_t *expires_at, int64_t now, const char *action)
{
	bool changed = false;
	struct audit_entry audit;
	api_audit_request(r, &audit, action);
	int rc = lifecycle_change_with(r->app->store, r->id, ttl, expires_at, status, now, audit_then, &audit, &changed);
	if (!api_store_ok(r, rc, "session", "session_close"))
		return;
	if (changed) {
		metrics_inc(status == SESSION_BLOCKED ? MC_SESSIONS_BLOCKED : MC_SESSIONS_CLOSED);
		log_info("session %s %s by the API", r->id, status == SESSION_BLOCKED ? "blocked" : "closed");
	}
	if (status_on_success == 204) {
		r->res->status = 204;
		return;
	}
	api_session_get(r);
}

static void reopen_session(struct api_req *r, const int64_t *ttl, const int64_t *expires_at, int64_t now)
{
	struct api_error e = {0};
	int failed = -1;
	struct audit_entry audit;
	api_audit_request(r, &audit, SESSION_AUDIT_CHANGED);
	int rc = lifecycle_reopen_with(r->app->store, r->id, ttl, expires_at, now, audit_then, &audit, &failed);
	switch (rc) {
	case 0:
		log_info("session %s re-opened by the API", r->id);
		api_session_get(r);
		return;
	case MASKD_ENOTFOUND:
		api_not_found(r, "session");
		return;
	case MASKD_EINVAL:
		api_error_set(&e, 409, "conflict", "the session's expires_at has passed; give a new expires_at with status open");
		break;
	case MASKD_ECONFLICT:
		if (failed == CREATE_FAIL_UNIQUE_NAME)
			api_error_set(&e, 409, "conflict", "another open session of this service has this unique_name");
		else if (failed == CREATE_FAIL_PIN)
			api_error_set(&e, 409, "conflict", "another open session of this service has this session's pin");
		else if (failed == CREATE_FAIL_PURGED)
			api_error_set(&e, 409, "conflict",
				      "the session's real numbers were purged after the retention period; create a new session");
		else
			api_error_set(&e, 409, "conflict",
				      "participants[%d]'s proxy number was taken by another session after the cool-off; create a new session",
				      failed);
		break;
	default:
		api_store_failed(r, "session_reopen", rc);
		return;
	}
	api_reply_error(r->res, &e);
}

void api_session_patch(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	int64_t now = now_unix();
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"status", "ttl", "expires_at", NULL};
	const char *status = NULL;
	bool has_ttl = false, has_exp = false;
	int64_t ttl = 0, exp = 0;
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "status", false, 16, &status, &e) ||
	    !json_int_field(body, "", "ttl", 0, TTL_MAX, &has_ttl, &ttl, &e) ||
	    !parse_expires_at(body, now, &has_exp, &exp, &e))
		goto fail;
	int target = -1;
	if (status != NULL) {
		if (strcmp(status, "closed") == 0)
			target = SESSION_CLOSED;
		else if (strcmp(status, "blocked") == 0)
			target = SESSION_BLOCKED;
		else if (strcmp(status, "open") == 0)
			target = SESSION_OPEN;
		else {
			api_error_set(&e, 400, "invalid_field", "status can be set to closed, blocked or open (re-open)");
			goto fail;
		}
	}
	if (status == NULL && !has_ttl && !has_exp) {
		api_error_set(&e, 400, "missing_field", "give status, ttl or expires_at");
		goto fail;
	}
	json_decref(body);
	if (target == SESSION_OPEN) {
		reopen_session(r, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL, now);
		return;
	}
	if (target >= 0) {
		close_session(r, target, 200, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL, now, SESSION_AUDIT_CHANGED);
		return;
	}
	struct audit_entry audit;
	api_audit_request(r, &audit, SESSION_AUDIT_CHANGED);
	int rc = lifecycle_change_with(r->app->store, r->id, has_ttl ? &ttl : NULL, has_exp ? &exp : NULL, -1, now,
				       audit_then, &audit, NULL);
	if (!api_store_ok(r, rc, "session", "session_update"))
		return;
	api_session_get(r);
	return;
fail:
	api_reply_refused(r, body, &e);
}

/* The session r->id and its service: 0, or negative with the answer (404, 503)
 * already sent. */
static int load_session_service(struct api_req *r, struct session *s, struct service *svc)
{
	int rc = api_session_load(r, s);
	if (rc < 0)
		return rc;
	return api_service_load(r, s->service_id, svc);
}

/* POST /v1/sessions/{id}/participants: the second participant of a single-party
 * session. */
void api_participant_add(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct session s;
	struct service svc;
	if (load_session_service(r, &s, &svc) < 0)
		return;
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	struct participant p;
	const char *prf = NULL;
	if (!parse_participant(body, 1, &p, &prf, &e))
		goto fail;
	if (prf != NULL) {
		api_error_set(&e, 400, "invalid_field",
			      "profile: a profile takes part only in a session created with both participants");
		goto fail;
	}
	json_decref(body);
	body = NULL;
	struct create_rules rules;
	sessions_rules(&svc, NULL, &rules);
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = sessions_participant_add(r->app->store, r->id, &p, &rules, now_unix(), &o);
	if (rc == MASKD_ECONFLICT && o.failed_index < 0) {
		api_error_set(&e, 409, "conflict", "the session is not open or already has two participants");
		goto fail;
	}
	if (rc == MASKD_ENOTFOUND && o.failed_index < 0) {
		api_not_found(r, "session");
		return;
	}
	if (rc < 0 && rc != MASKD_EDB && rc != MASKD_ECRYPTO) {
		o.failed_index = o.failed_index < 0 ? 1 : o.failed_index;
		create_error(&s, rc, &o, &svc, &e);
		goto fail;
	}
	if (rc < 0) {
		api_store_failed(r, "participant_add", rc);
		return;
	}
	sessions_warn_headroom(&svc, p.id, o.held[1], o.free_left[1]);
	log_info("session %s: participant %s added via %s", r->id, p.id, p.proxy_number_id);
	rc = api_session_load(r, &s);
	if (rc == 0)
		api_reply(r->res, 201, session_json(&s));
	return;
fail:
	api_reply_refused(r, body, &e);
}

/* PATCH /v1/sessions/{id}/participants/{par} {"proxy_number": "+1..." | null}:
 * number swap (null = pick another). */
void api_participant_swap(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct session s;
	if (api_session_load(r, &s) < 0)
		return;
	int idx = -1;
	for (int i = 0; i < s.n_participants; i++)
		if (strcmp(s.participants[i].id, r->id2) == 0)
			idx = i;
	if (idx < 0) {
		api_not_found(r, "participant");
		return;
	}
	struct service svc;
	int rc = api_service_load(r, s.service_id, &svc);
	if (rc < 0)
		return;
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"proxy_number", NULL};
	if (!json_only_fields(body, "", fields, &e))
		goto fail;
	json_t *pv = json_object_get(body, "proxy_number");
	if (pv == NULL) {
		api_error_set(&e, 400, "missing_field", "proxy_number is required (a number, or null to pick another)");
		goto fail;
	}
	struct participant p;
	memset(&p, 0, sizeof(p));
	if (!json_is_null(pv)) {
		const char *proxy = NULL;
		if (!json_string_field(body, "", "proxy_number", true, 64, &proxy, &e) ||
		    !parse_proxy(proxy, "", p.proxy_e164, sizeof(p.proxy_e164), &e))
			goto fail;
	}
	json_decref(body);
	body = NULL;
	if (p.proxy_e164[0] == '\0') {
		/* an automatic pick needs the participant's geo: from its sealed number,
		 * kept in memory only for this request */
		char real[PHONE_E164_MAX + 1];
		rc = store_participant_number(r->app->store, r->id2, real, sizeof(real));
		if (rc < 0) {
			api_store_failed(r, "participant_number", rc);
			return;
		}
		struct participant geo;
		if (sessions_participant(real, "", &geo) == PARTICIPANT_OK) {
			snprintf(p.country, sizeof(p.country), "%s", geo.country);
			snprintf(p.area_code, sizeof(p.area_code), "%s", geo.area_code);
			snprintf(p.region, sizeof(p.region), "%s", geo.region);
		}
		memset(real, 0, sizeof(real));
		memset(geo.number, 0, sizeof(geo.number));
	}
	struct create_rules rules;
	sessions_rules(&svc, NULL, &rules);
	char old[PHONE_E164_MAX + 1];
	snprintf(old, sizeof(old), "%s", s.participants[idx].proxy_e164);
	struct audit_entry audit;
	api_audit_request(r, &audit, "participant.swapped");
	rc = sessions_participant_swap_with(r->app->store, r->id, r->id2, &p, &rules, now_unix(), audit_then, &audit);
	switch (rc) {
	case 0:
		break;
	case MASKD_ENOTFOUND:
		api_error_set(&e, 409, "conflict",
			      "proxy_number is not an active %s number of this service's pool with room for another session",
			      caps_name(s.mode));
		goto fail;
	case MASKD_ECONFLICT:
		api_error_set(&e, 409, "conflict",
			      "the session is not open, or the participant already holds that proxy number");
		goto fail;
	case MASKD_EEXHAUSTED:
		metrics_inc(MC_POOL_EXHAUSTED);
		api_error_set(&e, 409, "pool_exhausted", "no other %s number free for this participant", caps_name(s.mode));
		goto fail;
	default:
		api_store_failed(r, "participant_swap", rc);
		return;
	}
	metrics_inc(MC_NUMBER_SWAPS);
	log_info("session %s: participant %s swapped %s -> %s", r->id, r->id2, old, p.proxy_e164);
	api_session_get(r);
	return;
fail:
	api_reply_refused(r, body, &e);
}

void api_session_delete(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	close_session(r, SESSION_CLOSED, 204, NULL, NULL, now_unix(), "session.deleted");
}
