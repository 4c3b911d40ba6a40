/* SPDX-License-Identifier: MIT */
/* proxy_v1_internal.h - what the files of the Twilio Proxy v1 API share
 * (proxy_v1.c: answers, the proxy.* settings rows, the account, auth,
 * parameters, lists and routing; proxy_v1_services.c: services and phone
 * numbers; proxy_v1_sessions.c: sessions; proxy_v1_interactions.c: participants,
 * interactions and MessageInteractions). Not for the rest of maskd: proxy_v1.h is. */
#ifndef MASKD_PROXY_V1_INTERNAL_H
#define MASKD_PROXY_V1_INTERNAL_H

#include "proxy_v1.h"
#include "api_internal.h"
#include "proxy_wire.h"
#include "../store/store.h"
#include "../store/store_outbox.h"
#include "../util/form.h"

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define PROXY_SEGMENTS_MAX 9
#define PROXY_PAGE_DEFAULT 50
#define PROXY_PAGE_MAX 1000
#define PROXY_TTL_MAX (366LL * 24 * 3600)
#define PROXY_URL_MAX URL_MAX_LEN
#define PROXY_TOKEN_MAX 128      /* a Twilio auth token we keep */
#define PROXY_SETTING_MAX 4096   /* one proxy.* settings value */
#define PROXY_BODY_MAX 1600      /* a MessageInteraction Body (Twilio's SMS cap) */
#define PROXY_ACCOUNT_PREFIX STORE_PROXY_ACCOUNT_PREFIX /* store.h: the re-seal job knows the rows */
#define PROXY_ACCOUNT_KEY_MAX 128 /* "proxy.account.<AC sid>.<key SHA-256 hex>" */
_Static_assert(PROXY_ACCOUNT_KEY_MAX <= STORE_RESEAL_KEY_MAX, "the re-seal job names an account row whole");
#define PROXY_SERVICE_PREFIX "proxy.service."

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
	struct api_key key; /* that key: its role and service bound what it may reach (pv_scope_ok) */
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


/* A session created through Proxy before its first participant: maskd's
 * sessions need one, so the native row is written when it arrives, with the id
 * drawn here (stored by store_proxy_session_*, removed when the native row is
 * written or the session deleted). */
struct proxy_pending {
	char service_id[ID_MAX];
	char unique_name[NAME_MAX_LEN + 1];
	int mode;
	int64_t ttl;
	int64_t expires_at;
	int64_t created_at;
};

/* Paging of one list request: PageSize, Page and PageToken of the query. */
struct page {
	int64_t size;
	int64_t number;
	char after_id[ID_MAX]; /* "" = from the start */
	bool presliced;        /* the rows given to page_reply start at this page already */
};

#define PROXY_MESSAGE_SID_PREFIX "proxy:" /* the carrier_sid of a MessageInteraction */

void pv_perr(struct preq *p, int status, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void pv_perr_store(struct preq *p, const char *what, int rc);

void pv_perr_not_found(struct preq *p);

void pv_perr_missing(struct preq *p, const char *name);

json_t *pv_time_or_null(int64_t t);

json_t *pv_sid_json(const char *id);

const char *pv_sid_of(struct preq *p, const char *id);

int pv_extra_get(struct preq *p, const char *service_id, struct proxy_service_extra *x);

int pv_extra_put(struct preq *p, const char *service_id, const struct proxy_service_extra *x);

/* The pending session of session_id: 0, MASKD_ENOTFOUND or MASKD_EDB. */
int pv_pending_get(struct preq *p, const char *session_id, struct proxy_pending *pd);

/* Writes (creates or updates) the pending session of session_id, with audit (NULL
 * = none) appended in the same transaction: 0 or MASKD_EDB. */
int pv_pending_put(struct preq *p, const char *session_id, const struct proxy_pending *pd, struct audit_entry *audit);
/* Removes the pending session of session_id with audit (NULL = none) in the same
 * transaction: 0, MASKD_ENOTFOUND (no such row: nothing written) or MASKD_EDB. */
int pv_pending_delete(struct preq *p, const char *session_id, struct audit_entry *audit);
/* The audit entry of a change of session_id (participant_id: of that participant
 * of it, the target; NULL = the session is) by this Proxy API request, with the
 * native API's fields: key, request id, source, X-Audit-Reason. */
void pv_audit(struct preq *p, const char *session_id, const char *participant_id, const char *action,
	      struct audit_entry *e);

/* The Twilio auth token (opened) of account sid as set by the maskd key whose
 * SHA-256 (hex) is key_hash: 0, MASKD_ENOTFOUND (that key set no such account),
 * or MASKD_EDB. */
int pv_account_get(struct app *app, const char *sid, const char key_hash[65], char *token, size_t cap);

bool pv_scope_ok(struct preq *p, const char *owner);

const char *pv_param(struct preq *p, const char *name);

bool pv_int_param(struct preq *p, const struct form *f, const char *name, int64_t min, int64_t max,
		      bool *present, int64_t *out);

bool pv_bool_param(struct preq *p, const char *name, bool *present, bool *out);

bool pv_url_param(struct preq *p, const char *name, char *out, size_t cap);

bool pv_date_param(struct preq *p, const char *name, int64_t now, bool *present, int64_t *out);

bool pv_page_parse(struct preq *p, const char *sid_prefix, struct page *pg);

void pv_page_reply(struct preq *p, json_t *all, const struct page *pg, const char *key, const char *path);

json_t *pv_service_json(struct preq *p, const struct service *svc, const struct proxy_service_extra *x);

int pv_service_load(struct preq *p, const char *seg, struct service *svc, struct proxy_service_extra *x);

void pv_service_create(struct preq *p);

void pv_service_update(struct preq *p, struct service *svc, struct proxy_service_extra *x);

void pv_service_list(struct preq *p);

json_t *pv_number_json(struct preq *p, const struct service *svc, const struct number *n);

void pv_number_create(struct preq *p, const struct service *svc);

void pv_number_list(struct preq *p, const struct service *svc);

int pv_number_load(struct preq *p, const struct service *svc, const char *seg, struct number *n);

void pv_number_update(struct preq *p, const struct service *svc, struct number *n);

void pv_number_delete(struct preq *p, const struct number *n);

json_t *pv_session_json(struct preq *p, const struct session *s);

int pv_session_load(struct preq *p, const struct service *svc, const char *seg, struct session *s, bool *pending);

bool pv_participant_from_proxy(struct preq *p, const struct service *svc, const struct proxy_participant_in *in,
				   struct participant *out);

void pv_create_refused(struct preq *p, int rc, const struct create_outcome *o);

void pv_session_create(struct preq *p, const struct service *svc);

void pv_session_update(struct preq *p, struct session *s, bool pending);

void pv_session_delete(struct preq *p, const struct session *s, bool pending);

void pv_session_list(struct preq *p, const struct service *svc);

json_t *pv_participant_json(struct preq *p, const struct session *s, const struct participant *pt);

void pv_participant_create(struct preq *p, const struct service *svc, struct session *s, bool pending);

int pv_participant_index(struct preq *p, const struct session *s, const char *seg);

/* DELETE of participant idx of session s (pending: a Proxy session not yet in
 * the store, which has none): 200 with the participant as it was, date_deleted
 * set, as Twilio answers; its binding cools off as a close's, the session keeps
 * its other participant, or stays open with none when it was the only one, as
 * Twilio's does (sessions_participant_remove). Twilio's error otherwise, with
 * nothing changed. */
void pv_participant_delete(struct preq *p, const struct session *s, int idx);

void pv_participant_list(struct preq *p, const struct session *s);

void pv_interaction_list(struct preq *p, const struct session *s, const char *only_to, const char *path);

void pv_interaction_fetch(struct preq *p, const struct session *s, const char *seg, const char *only_to);

/* DELETE of the interaction of SID seg in s: the interaction and its legs, in one
 * transaction; 204, or 404 with nothing deleted. */
void pv_interaction_delete(struct preq *p, const struct session *s, const char *seg);

void pv_message_create(struct preq *p, const struct service *svc, const struct session *s, int idx);

#endif
