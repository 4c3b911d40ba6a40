/* SPDX-License-Identifier: MIT */
/* webhook_calls.c - the webhooks that follow a call maskd already answered or
 * placed: status callbacks (legs, recordings, costs), the callee's consent
 * notice, and the answer URL of a click-to-call; see webhook.h. Shares the
 * pipeline's context and answer helpers with webhook.c (webhook_internal.h). */
#include "webhook_internal.h"
#include "events.h"
#include "../core/refusal.h"
#include "../core/route.h"
#include "../core/session.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/metrics.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The callee's consent notice of a recorded bridge (TwiML <Number url>). */
static void answer_consent(struct wctx *h, const struct service *svc, const struct interaction *it)
{
	struct session s;
	struct call_policy eff;
	int rc = store_session_get(h->env->store, it->session_id, &s);
	if (rc < 0) {
		log_error("webhook %s consent: interaction %s: %s", h->dl->name, it->id, maskd_strerror(rc));
		webhook_fail(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	session_policy_effective(&svc->policy, &s.policy, &eff);
	struct decision d = {.kind = DECISION_ANNOUNCE};
	struct hook_render r = {.say = eff.consent_message};
	metrics_webhook(h->dl->id, MW_STATUS);
	webhook_respond(h, &d, &r);
	webhook_settle(h);
}

void webhook_status(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans)
{
	assert(rq != NULL && rq->in != NULL && (rq->in->event == HOOK_STATUS || rq->in->event == HOOK_CONSENT));
	struct wctx h;
	webhook_start(&h, env, rq, ans);
	const char *name = h.dl->name;
	const char *int_id = h.in->interaction_id;
	int known_shape = int_id != NULL && id_valid("int", int_id);
	struct interaction it;
	int rc = known_shape ? store_interaction_get(env->store, int_id, &it) : MASKD_ENOTFOUND;
	const struct hook_status *st = &h.in->st;
	if (!known_shape && h.in->event == HOOK_STATUS && st->leg == 'a' && st->sid != NULL && st->sid[0] != '\0' &&
	    strlen(st->sid) < sizeof(it.carrier_sid)) {
		/* the inbound call's own events (Vonage): found by the call id that started it */
		rc = store_interaction_by_sid(env->store, h.dl->id, st->sid, &it);
		if (rc == 0) {
			int_id = arena_strdup(rq->arena, it.id);
			known_shape = 1;
		}
	}
	if (rc == MASKD_ENOTFOUND) {
		log_info("webhook %s status: ignored: no interaction %s", name, known_shape ? int_id : "(none or malformed)");
		metrics_webhook(h.dl->id, MW_STATUS);
		webhook_respond_empty(&h);
		return;
	}
	struct service svc;
	if (rc == 0)
		rc = store_service_get(env->store, it.service_id, &svc);
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", name, int_id, maskd_strerror(rc));
		webhook_fail(&h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!rq->verify(rq->verify_ctx, &svc)) {
		log_warn("webhook %s %s: refused: bad or missing signature (interaction %s)", name, rq->event, int_id);
		webhook_fail(&h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}
	if (h.in->event == HOOK_CONSENT) {
		answer_consent(&h, &svc, &it);
		return;
	}
	if ((st->status == NULL || st->status[0] == '\0') && st->recording_id == NULL && st->cost == NULL) {
		log_info("webhook %s status: interaction %s: nothing to record in the callback; ignored", name, int_id);
		metrics_webhook(h.dl->id, MW_STATUS);
		webhook_respond_empty(&h);
		return;
	}
	if (st->status != NULL && strlen(st->status) >= sizeof(it.legs[0].status)) {
		log_info("webhook %s status: interaction %s: no status in the callback; ignored", name, int_id);
		metrics_webhook(h.dl->id, MW_STATUS);
		webhook_respond_empty(&h);
		return;
	}
	const char *sid = st->sid;
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(it.legs[0].carrier_sid) ||
	    (st->leg == 'a' && strncmp(it.carrier_sid, INTERACTION_CALL_SID_PREFIX, strlen(INTERACTION_CALL_SID_PREFIX)) == 0))
		sid = st->leg == 'a' ? it.carrier_sid : "unknown"; /* a click-to-call's leg 'a' keeps its own sid */
	struct leg_update u = {
		.status = st->status,
		.duration = st->duration,
		.answered = st->answered,
		.recording_id = st->recording_id,
		.recording_url = st->recording_url,
		.cost = st->cost,
		.currency = st->currency,
	};
	/* carriers deliver a leg's callbacks in parallel: a "ringing" may come after
	 * its "completed". The late status is dropped; what else it carries is kept. */
	const struct leg *held = interaction_leg(&it, st->leg, sid);
	if (held != NULL && leg_status_stale(held->status, st->status)) {
		if (st->recording_id == NULL && st->cost == NULL) {
			log_info("webhook %s status: interaction %s leg %c: %s after %s; ignored", name, int_id, st->leg,
				 st->status, held->status);
			metrics_webhook(h.dl->id, MW_STATUS);
			webhook_respond_empty(&h);
			return;
		}
		u.status = NULL;
		u.duration = -1;
		u.answered = 0;
	}
	/* leg.updated, or leg.completed on a final status, written with the leg */
	struct events_pending ev;
	events_prepare(&ev, svc.id, svc.events_url, svc.events_pull_off, it.session_id,
		       leg_status_final(u.status) ? EVENT_LEG_COMPLETED : EVENT_LEG_UPDATED,
		       events_leg_data(&it, st->leg, u.status, u.duration, u.cost, u.currency), rq->now->s);
	events_proxy_callback(&ev, env->store, &svc, &it, st->leg, u.status, sid, rq->now->s);
	rc = store_leg_update_ev(env->store, it.id, st->leg, sid, &u, rq->now->s, &ev.ev);
	events_pending_free(&ev);
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", name, int_id, maskd_strerror(rc));
		webhook_fail(&h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	log_info("webhook %s status: interaction %s leg %c %s: %s%s", name, int_id, st->leg, sid,
		 u.status ? u.status : "-", st->recording_id ? " (recording)" : "");
	metrics_webhook(h.dl->id, MW_STATUS);
	webhook_respond_empty(&h);
}

/* ------------------------------------------------------------ click-to-call */

/* The interaction's first participant, as if they had dialled their own proxy
 * number: their real number and the route view of (real, proxy). 0, or a negative
 * maskd_err (MASKD_ENOTFOUND: the participant or its binding is gone). */
static int answer_view(struct wctx *h, const struct interaction *it, char *real, size_t real_cap, char *proxy,
		       size_t proxy_cap, struct route_view *v)
{
	struct session s;
	int rc = store_session_get(h->env->store, it->session_id, &s);
	if (rc < 0)
		return rc;
	rc = MASKD_ENOTFOUND;
	for (int i = 0; i < s.n_participants; i++)
		if (strcmp(s.participants[i].id, it->from_participant) == 0) {
			snprintf(proxy, proxy_cap, "%s", s.participants[i].proxy_e164);
			rc = 0;
		}
	if (rc < 0)
		return rc;
	rc = store_participant_number(h->env->store, it->from_participant, real, real_cap);
	if (rc < 0)
		return rc;
	return store_route_lookup(h->env->store, proxy, real, v);
}

void webhook_answer(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans)
{
	assert(rq != NULL && rq->in != NULL && rq->in->event == HOOK_ANSWER);
	struct wctx h;
	webhook_start(&h, env, rq, ans);
	const char *name = h.dl->name;
	const char *int_id = h.in->interaction_id;
	struct interaction it;
	int rc = int_id != NULL && id_valid("int", int_id) ? store_interaction_get(env->store, int_id, &it)
							    : MASKD_ENOTFOUND;
	if (rc == 0 && (it.channel != CHANNEL_VOICE || it.carrier != h.dl->id ||
			strncmp(it.carrier_sid, INTERACTION_CALL_SID_PREFIX, strlen(INTERACTION_CALL_SID_PREFIX)) != 0))
		rc = MASKD_ENOTFOUND; /* not a click-to-call of this carrier */
	if (rc == MASKD_ENOTFOUND) {
		log_info("webhook %s answer: refused: no click-to-call %s", name,
			 int_id != NULL && id_valid("int", int_id) ? int_id : "(none or malformed)");
		webhook_fail(&h, 404, MW_BAD_REQUEST, "no such call");
		return;
	}
	if (rc == 0)
		rc = store_service_get(env->store, it.service_id, &h.svc);
	if (rc < 0) {
		log_error("webhook %s answer: interaction %s: %s", name, int_id, maskd_strerror(rc));
		webhook_fail(&h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!rq->verify(rq->verify_ctx, &h.svc)) {
		log_warn("webhook %s answer: refused: bad or missing signature (interaction %s)", name, int_id);
		webhook_fail(&h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}
	int_id = arena_strdup(rq->arena, it.id);
	char real[PHONE_E164_MAX + 1] = "", proxy[PHONE_E164_MAX + 1] = "";
	rc = answer_view(&h, &it, real, sizeof(real), proxy, sizeof(proxy), &h.v);
	if (rc < 0 && rc != MASKD_ENOTFOUND) {
		explicit_bzero(real, sizeof(real));
		log_error("webhook %s answer: interaction %s: %s", name, int_id, maskd_strerror(rc));
		webhook_fail(&h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (rc == MASKD_ENOTFOUND || strcmp(h.v.session_id, it.session_id) != 0)
		h.v.session_id[0] = '\0'; /* the participant's binding is no longer this session's */
	struct inbound inb = {.channel = CHANNEL_VOICE, .from = real, .to = proxy};
	struct decision d;
	if (h.v.session_id[0] == '\0')
		route_refuse(&d, CHANNEL_VOICE, ROUTE_SESSION_ENDED);
	else
		route_inbound(&inb, &h.v, rq->now->s, &d);
	explicit_bzero(real, sizeof(real));
	if (d.kind != DECISION_BRIDGE) {
		/* the session closed (or changed) since the call was placed: the answered
		 * participant hears why, the other one is never rung */
		struct leg_update u = {.status = "canceled", .duration = -1};
		rc = events_leg_record(env->store, it.id, 'b', "none", &u, rq->now->s);
		if (rc < 0)
			log_error("webhook %s answer: interaction %s: recording the refusal failed: %s", name, int_id,
				  maskd_strerror(rc));
		log_info("webhook %s answer: interaction %s: %s: %s (session %s)", name, int_id, decision_name(d.kind),
			 route_reason_name(d.reason), it.session_id);
		webhook_answer_plain(&h, &h.svc, &d, refusal_text(&h.svc, d.reason, CHANNEL_VOICE), "");
		webhook_settle(&h);
		return;
	}
	metrics_webhook(h.dl->id, MW_BRIDGE);
	struct hook_render r = {.status_url = webhook_status_url(&h, int_id)};
	webhook_bridge_render(&h, &h.svc, &h.v, int_id, &r);
	log_info("webhook %s answer: interaction %s: bridge to %s (session %s)", name, int_id, h.v.to_participant,
		 it.session_id);
	webhook_respond(&h, &d, &r);
	webhook_settle(&h);
}
