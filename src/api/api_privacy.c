/* SPDX-License-Identifier: MIT */
/* api_privacy.c - the audited ways a real number leaves the vault outside the
 * webhook path: POST /v1/participants/{id}/reveal (admin and privacy keys, a
 * reason required, rate-limited per key, audited before the number is read). */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/limiter.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/timeutil.h"

#include <assert.h>
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
