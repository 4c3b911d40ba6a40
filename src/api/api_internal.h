/* SPDX-License-Identifier: MIT */
/* api_internal.h - what the /v1 handler files share. Each handler gets the
 * authenticated request and the path ids parsed by api.c. Internal to api/. */
#ifndef MASKD_API_INTERNAL_H
#define MASKD_API_INTERNAL_H

#include <stdbool.h>

#include "json.h"
#include "../app.h"
#include "../core/model.h"
#include "../core/audit.h"
#include "../core/scope.h"

struct api_req {
	struct app *app;
	const struct http_request *http;
	struct http_response *res;
	const char *id;  /* the first {id} of the path, already checked with id_valid() */
	const char *id2; /* the second one (a participant of a session), or NULL */
	const struct api_key *key; /* the authenticated key (core/scope.h); its scope is checked already */
	const char *request_id;    /* X-Request-Id when the client sent a sane one, else a new id */
	const char *source;        /* the client's address ("" when unknown) */
};

void api_not_found(struct api_req *r, const char *what);
/* Reads service id into svc; on failure answers 404 (no such service) or 503 and
 * returns the negative maskd_err. */
int api_service_load(struct api_req *r, const char *id, struct service *svc);
/* Answers 503 for a store failure (logged with what failed). */
void api_store_failed(struct api_req *r, const char *what, int rc);
struct form;
/* The cursor paging of a list route from its query q: `limit` (1..max, default
 * def) into *limit and `after` (a cursor >= 0, default 0) into *after. 0, or -1
 * after answering 400 invalid_field naming the parameter. */
int api_page_query(struct api_req *r, const struct form *q, long def, long max, long *limit, long long *after);
/* The check after a store call on the request's object: true (nothing sent) when
 * rc >= 0; otherwise false after answering 404 for MASKD_ENOTFOUND when noun is
 * set (api_not_found(noun)), else 503 (api_store_failed(what)). */
bool api_store_ok(struct api_req *r, int rc, const char *noun, const char *what);
/* The answer of a listing whose store call returned rc after filling arr (owned:
 * freed on failure): 200 {"<key>": arr}, or api_store_failed(what). */
void api_reply_list(struct api_req *r, int rc, json_t *arr, const char *key, const char *what);
/* The answer of a refused request: frees body (NULL allowed) and replies e. */
void api_reply_refused(struct api_req *r, json_t *body, const struct api_error *e);

void api_service_create(struct api_req *r);
void api_service_get(struct api_req *r);
void api_service_patch(struct api_req *r);
void api_service_list(struct api_req *r);
void api_number_create(struct api_req *r);
void api_number_list(struct api_req *r);
void api_number_patch(struct api_req *r);
void api_number_delete(struct api_req *r);
void api_session_create(struct api_req *r);
void api_session_get(struct api_req *r);
void api_session_list(struct api_req *r);
void api_session_patch(struct api_req *r);
void api_session_delete(struct api_req *r);
void api_interaction_list(struct api_req *r);
/* The session r->id into s: 0, or negative with the answer sent (404, 503). */
int api_session_load(struct api_req *r, struct session *s);
void api_participant_add(struct api_req *r);
void api_participant_swap(struct api_req *r);
void api_session_events(struct api_req *r);
void api_pool(struct api_req *r);
void api_records(struct api_req *r);
void api_usage(struct api_req *r);
void api_stats(struct api_req *r);

void api_key_create(struct api_req *r);
void api_key_list(struct api_req *r);
void api_key_rotate(struct api_req *r);
void api_key_revoke(struct api_req *r);
void api_audit_list(struct api_req *r);
void api_audit_export(struct api_req *r);
void api_audit_verify(struct api_req *r);
void api_participant_reveal(struct api_req *r);
void api_privacy_lookup(struct api_req *r);
void api_privacy_erase(struct api_req *r);

/* An audit entry of request r: the acting key's id and label, the request id,
 * the source address, action, target ("" = none), reason and detail (NULL = "";
 * never a real number), created_at now. seq and hashes are left to
 * flow/audit.h. */
void api_audit_entry(const struct api_req *r, struct audit_entry *e, const char *action, const char *target,
		     const char *reason, const char *detail, int64_t now);
/* The audit entry of a change by request r, appended in the change's own
 * transaction (audit_then): target the route's id (the second one when there
 * is one), reason the X-Audit-Reason header, detail the names of the body's
 * fields (never their values), created_at now. */
void api_audit_request(const struct api_req *r, struct audit_entry *e, const char *action);
/* X-Request-Id of req when it is sane (at most AUDIT_FIELD_MAX of [A-Za-z0-9._-]),
 * else a new "req_" id in req's arena. */
const char *api_request_id(const struct http_request *req);
void api_outbox_list(struct api_req *r);
void api_outbox_retry(struct api_req *r);
void api_service_events_list(struct api_req *r); /* api_events.c */
/* POST /v1/sessions/{id}/calls: click-to-call (api_calls.c). */
void api_session_call(struct api_req *r);
/* api_profiles.c: a service's profiles (stable numbers) */
void api_profile_create(struct api_req *r);
void api_profile_list(struct api_req *r);
void api_profile_get(struct api_req *r);
void api_profile_patch(struct api_req *r);
/* A profile as the API shows it (masked number, never the real one); new reference. */
struct profile;
json_t *api_profile_json(const struct profile *p);

/* One leg as the API shows it (shared by interactions and records). */
json_t *api_leg_json(const struct leg *l);

/* PUT /v1/account {"twilio_account_sid", "twilio_auth_token"}: the Twilio
 * identity of the calling key for the Proxy v1 API (api/proxy_v1.c). */
void api_account_put(struct api_req *r);
/* A POST /v1/services body over the native defaults into *svc (all but id and
 * created_at), as api_service_create() reads it. False with a 400 in *e. */
bool api_service_from_json(json_t *body, struct service *svc, struct api_error *e);
/* MASKD_API_RATE for the key whose SHA-256 (hex) is key_id: 1 when the request
 * may go on, else 0 with res->retry_after set (the caller answers 429). */
int api_rate_allow(struct app *app, const char *key_id, struct http_response *res, struct arena *a);

#endif
