/* SPDX-License-Identifier: MIT */
/* api_privacy.c - the audited privacy operations (admin and privacy keys):
 * POST /v1/participants/{id}/reveal (a reason required, rate-limited per key,
 * audited before the number is read), and the data-subject requests
 * POST /v1/privacy/lookup and /v1/privacy/erase (by the number's blind index,
 * across every service; answers hold ids and masked numbers only). */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../flow/privacy.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/limiter.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"
#include "../util/mask.h"

#include <assert.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define REVEAL_WINDOW_MS 60000

/* The reason field of body: false after a 400 naming it (missing, empty, too long). */
static bool reason_of(struct api_req *r, json_t *body, const char **reason)
{
	struct api_error e;
	if (!json_string_field(body, "", "reason", true, AUDIT_TEXT_MAX, reason, &e)) {
		api_reply_refused(r, body, &e);
		return false;
	}
	if ((*reason)[0] == '\0') {
		api_error_set(&e, 400, "missing_field", "reason must say why the real number is needed");
		api_reply_refused(r, body, &e);
		return false;
	}
	return true;
}

/* MASKD_REVEAL_RATE reveals per minute per key: false after a 429. */
static bool reveal_rate_ok(struct api_req *r)
{
	if (r->app->reveal_rate == 0 || r->app->limiter == NULL)
		return true;
	char key[ID_MAX + 8];
	snprintf(key, sizeof(key), "reveal/%s", r->key->id);
	int64_t retry_ms = 0;
	if (limiter_allow(r->app->limiter, key, now_ms(), REVEAL_WINDOW_MS, r->app->reveal_rate, &retry_ms))
		return true;
	r->res->retry_after = arena_printf(r->http->arena, "%lld", (long long)((retry_ms + 999) / 1000));
	struct api_error e;
	api_error_set(&e, 429, "rate_limited", "more than %u reveals per minute with this key; retry later",
		      r->app->reveal_rate);
	api_reply_error(r->res, &e);
	return false;
}

void api_participant_reveal(struct api_req *r)
{
	assert(r != NULL && r->key != NULL && r->id != NULL);
	struct api_error e;
	json_t *body = json_body(r->http, &e);
	if (body == NULL) {
		api_reply_error(r->res, &e);
		return;
	}
	static const char *const fields[] = {"reason", NULL};
	const char *reason = NULL;
	if (!json_only_fields(body, "", fields, &e)) {
		api_reply_refused(r, body, &e);
		return;
	}
	if (!reason_of(r, body, &reason))
		return;
	char session_id[ID_MAX], service_id[ID_MAX];
	int purged = 0;
	int rc = store_participant_owner(r->app->store, r->id, session_id, service_id, &purged);
	if (!api_store_ok(r, rc, "participant", "participant_owner")) {
		json_decref(body);
		return;
	}
	if (purged) {
		json_decref(body);
		api_error_set(&e, 410, "gone", "the real number of participant %s was purged", r->id);
		api_reply_error(r->res, &e);
		return;
	}
	if (!reveal_rate_ok(r)) {
		json_decref(body);
		return;
	}
	char detail[96];
	snprintf(detail, sizeof(detail), "session=%s service=%s", session_id, service_id);
	struct audit_entry audit;
	api_audit_entry(r, &audit, "participant.revealed", r->id, reason, detail, now_unix());
	json_decref(body);
	rc = audit_append(r->app->store, &audit);
	if (rc < 0) {
		api_store_failed(r, "audit_append", rc); /* no audit entry, no number */
		return;
	}
	char number[PHONE_E164_MAX + 1];
	rc = store_participant_number(r->app->store, r->id, number, sizeof(number));
	if (rc == MASKD_ENOTFOUND) {
		api_error_set(&e, 410, "gone", "the real number of participant %s was purged", r->id);
		api_reply_error(r->res, &e);
		return;
	}
	if (rc < 0) {
		api_store_failed(r, "participant_number", rc);
		return;
	}
	log_info("participant %s revealed by key %s (audit entry %lld)", r->id, r->key->id, (long long)audit.seq);
	api_reply(r->res, 200, json_pack("{s:s, s:s, s:s, s:I}", "participant_id", r->id, "session_id", session_id,
					  "number", number, "audit_seq", (json_int_t)audit.seq));
	OPENSSL_cleanse(number, sizeof(number));
}

/* The number field of body, parsed (E.164, valid): false after a 400 that never
 * repeats what was sent. */
static bool subject_number(struct api_req *r, json_t *body, struct phone_info *out)
{
	struct api_error e;
	const char *number = NULL;
	if (!json_string_field(body, "", "number", true, 64, &number, &e)) {
		api_reply_refused(r, body, &e);
		return false;
	}
	if (phone_parse(number, out) < 0) {
		api_error_set(&e, 400, "invalid_field", "number must be a valid E.164 number such as +14155550100");
		api_reply_refused(r, body, &e);
		return false;
	}
	return true;
}

struct lookup_ctx {
	struct api_req *r;
	json_t *sessions;
	json_t *current; /* the session object of the row being read */
	int64_t n;
	int rc;
};

static void add_interaction(void *ctx, const struct interaction *it)
{
	json_t *arr = ctx;
	json_t *legs = json_array();
	for (int i = 0; i < it->n_legs; i++)
		json_array_append_new(legs, api_leg_json(&it->legs[i]));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", it->id, "channel",
					     channel_name(it->channel), "decision", decision_name(it->decision),
					     "from_participant", it->from_participant, "to_participant",
					     it->to_participant, "created_at", json_time(it->created_at), "legs", legs));
}

static void add_event(void *ctx, const struct session_event *ev)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", ev->id, "kind", ev->kind,
					     "participant_id", ev->participant_id, "detail", ev->detail, "created_at",
					     json_time(ev->created_at)));
}

/* Collects the rows first: the store may not be called from its own callback. */
struct row_list {
	struct subject_row *rows;
	int n, cap;
};

static void collect_row(void *ctx, const struct subject_row *row)
{
	struct row_list *l = ctx;
	for (int i = 0; i < l->n; i++) /* asked under both index versions while it rotates */
		if (strcmp(l->rows[i].participant_id, row->participant_id) == 0)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->rows = xrealloc(l->rows, (size_t)l->cap * sizeof(*l->rows));
	}
	l->rows[l->n++] = *row;
}

static void add_profile(void *ctx, const struct subject_profile *sp)
{
	json_array_append_new(ctx, api_profile_json(&sp->p));
}

static void add_optout(void *ctx, const struct subject_optout *o)
{
	/* one opt-out per proxy number: while the index rotates it may be stored
	 * under both versions */
	size_t i;
	json_t *it;
	json_array_foreach((json_t *)ctx, i, it)
		if (strcmp(json_string_value(json_object_get(it, "number_id")), o->number_id) == 0)
			return;
	json_array_append_new(ctx, json_pack("{s:s, s:s, s:o}", "service_id", o->service_id, "number_id",
					     o->number_id, "created_at", json_time(o->created_at)));
}

void api_privacy_lookup(struct api_req *r)
{
	assert(r != NULL && r->key != NULL);
	struct api_error e;
	json_t *body = json_body(r->http, &e);
	if (body == NULL) {
		api_reply_error(r->res, &e);
		return;
	}
	static const char *const fields[] = {"number", "reason", NULL};
	const char *reason = NULL;
	struct phone_info p;
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "reason", false, AUDIT_TEXT_MAX, &reason, &e)) {
		api_reply_refused(r, body, &e);
		return;
	}
	if (!subject_number(r, body, &p))
		return;
	/* while the index rotates, a row may still be under the previous version:
	 * both are asked (an opt-out written during the rotation is under both,
	 * and is listed once) */
	char bidx[2][STORE_BIDX_MAX];
	store_blind_index(r->app->store, p.e164, bidx[0]);
	/* current, previous, current: a row the re-index moves in between is found */
	int versions = store_blind_index_previous(r->app->store, p.e164, bidx[1]) ? 3 : 1;
	struct row_list rows = {0};
	json_t *optouts = json_array(), *profiles = json_array();
	int rc = 0;
	for (int v = 0; rc == 0 && v < versions; v++) {
		rc = store_subject_find(r->app->store, bidx[v % 2], collect_row, &rows);
		if (rc == 0)
			rc = store_subject_optouts(r->app->store, bidx[v % 2], add_optout, optouts);
		if (rc == 0 && v < 2)
			rc = privacy_profiles(r->app->store, bidx[v], add_profile, profiles);
	}
	OPENSSL_cleanse(bidx, sizeof(bidx));
	json_t *sessions = json_array();
	for (int i = 0; rc == 0 && i < rows.n; i++) {
		const struct subject_row *row = &rows.rows[i];
		json_t *its = json_array(), *evs = json_array();
		rc = store_interaction_list(r->app->store, row->session_id, add_interaction, its);
		if (rc == 0)
			rc = store_session_events(r->app->store, row->session_id, add_event, evs);
		json_array_append_new(sessions,
				      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "session_id", row->session_id,
						"service_id", row->service_id, "status", session_status_name(row->status),
						"participant_id", row->participant_id, "number", row->masked,
						"proxy_number", row->proxy_e164, "interactions", its, "events", evs));
	}
	char detail[96];
	snprintf(detail, sizeof(detail), "participants=%d optouts=%zu profiles=%zu", rows.n, json_array_size(optouts),
		 json_array_size(profiles));
	free(rows.rows);
	struct audit_entry audit;
	if (rc == 0) {
		api_audit_entry(r, &audit, "privacy.lookup", "", reason, detail, now_unix());
		rc = audit_append(r->app->store, &audit);
	}
	json_decref(body);
	if (rc < 0) {
		json_decref(sessions);
		json_decref(optouts);
		json_decref(profiles);
		api_store_failed(r, "privacy_lookup", rc);
		return;
	}
	char masked[MASK_MAX];
	mask_e164(p.e164, masked, sizeof(masked));
	OPENSSL_cleanse(&p, sizeof(p));
	api_reply(r->res, 200, json_pack("{s:s, s:o, s:o, s:o, s:I}", "number", masked, "sessions", sessions, "optouts",
					  optouts, "profiles", profiles, "audit_seq", (json_int_t)audit.seq));
}

void api_privacy_erase(struct api_req *r)
{
	assert(r != NULL && r->key != NULL);
	struct api_error e;
	json_t *body = json_body(r->http, &e);
	if (body == NULL) {
		api_reply_error(r->res, &e);
		return;
	}
	static const char *const fields[] = {"number", "reason", NULL};
	const char *reason = NULL;
	struct phone_info p;
	if (!json_only_fields(body, "", fields, &e))
		api_reply_refused(r, body, &e);
	else if (subject_number(r, body, &p) && reason_of(r, body, &reason)) {
		struct privacy_erase_result res;
		int64_t now = now_unix();
		struct audit_entry audit;
		api_audit_entry(r, &audit, "privacy.erased", "", reason, "", now);
		int rc = privacy_erase(r->app->store, p.e164, now, &audit, &res);
		OPENSSL_cleanse(&p, sizeof(p));
		json_decref(body);
		if (rc < 0) {
			api_store_failed(r, "privacy_erase", rc);
			return;
		}
		bool found = res.participants_erased > 0 || res.optouts_erased > 0 || res.profiles_erased > 0;
		log_info("privacy: erasure by key %s: %lld participant rows, %lld opt-outs, %lld profiles (%lld retired), "
			 "%lld sessions closed (audit entry %lld)",
			 r->key->id, (long long)res.participants_erased, (long long)res.optouts_erased,
			 (long long)res.profiles_erased, (long long)res.profiles_retired, (long long)res.sessions_closed,
			 (long long)audit.seq);
		api_reply(r->res, 200,
			  json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "found", found, "sessions_closed",
				    (json_int_t)res.sessions_closed, "participants_erased",
				    (json_int_t)res.participants_erased, "optouts_erased", (json_int_t)res.optouts_erased,
				    "profiles_erased", (json_int_t)res.profiles_erased, "profiles_retired",
				    (json_int_t)res.profiles_retired, "audit_seq", (json_int_t)audit.seq));
	}
}
