/* SPDX-License-Identifier: MIT */
/* webhook.c - the webhook pipeline shared by every dialect; see webhook.h.
 * The rules are core/'s (route, refusal, unknown, optout, ratelimit, replay); this
 * file does the I/O around them. Log lines carry ids, the dialect and masked
 * numbers only. The one place a real number leaves maskd is the decision the
 * dialect renders for a bridge or forward (and the REST send it builds). */
#include "webhook_internal.h"
#include "../core/optout.h"
#include "../core/pin.h"
#include "../core/ratelimit.h"
#include "../core/refusal.h"
#include "../core/replay.h"
#include "../core/session.h"
#include "../core/unknown.h"
#include "../util/limiter.h"
#include "../util/metrics.h"
#include "../out/sender.h"
#include "events.h"
#include "sessions.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/phone.h"
#include "../vault/vault.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void webhook_fail(struct wctx *h, int status, enum metric_webhook m, const char *why)
{
	metrics_webhook(h->dl->id, m);
	h->ans->status = status;
	h->ans->text = why;
}

void webhook_respond(struct wctx *h, const struct decision *d, const struct hook_render *r)
{
	h->ans->status = 200;
	h->ans->d = *d;
	h->ans->r = *r;
}

void webhook_respond_empty(struct wctx *h)
{
	struct decision d = {.kind = DECISION_ACKNOWLEDGE};
	struct hook_render r = {0};
	webhook_respond(h, &d, &r);
}

/* The answer's strings that point into this file's stack frames (the view, the
 * service, the replayed number) move to the request's arena. */
void webhook_settle(struct wctx *h)
{
	struct arena *a = h->rq->arena;
	struct webhook_answer *ans = h->ans;
	if (ans->d.dial != NULL)
		ans->d.dial = arena_strdup(a, ans->d.dial);
	if (ans->d.from != NULL)
		ans->d.from = arena_strdup(a, ans->d.from);
	if (ans->r.say != NULL)
		ans->r.say = arena_strdup(a, ans->r.say);
	if (ans->r.body != NULL && ans->r.body != h->in->body)
		ans->r.body = arena_strdup(a, ans->r.body);
	if (ans->r.consent_message != NULL)
		ans->r.consent_message = arena_strdup(a, ans->r.consent_message);
}

/* '+' then 1..15 digits, the first not 0: worth a lookup. Anything else (a SIP
 * URI, "anonymous", a withheld number) is a caller maskd cannot place. */
static int e164_plausible(const char *s)
{
	if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	size_t n = 0;
	for (s++; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return 0;
	return n >= 2 && n <= 15;
}

const char *webhook_status_url(struct wctx *h, const char *interaction_id)
{
	return arena_printf(h->rq->arena, "%s/hooks/%s/status?interaction=%s", h->env->public_url, h->dl->name,
			    interaction_id);
}

/* Rebuilds the decision a retried webhook was first given, from the stored row. */
static int replay(struct wctx *h, const struct interaction *it, struct decision *d, char *number, size_t number_cap,
		  struct session *s)
{
	if (!replay_needs_number(it)) {
		replay_decide(it, NULL, NULL, d);
		return 0;
	}
	int rc = store_session_get(h->env->store, it->session_id, s);
	if (rc < 0)
		return rc;
	rc = store_participant_number(h->env->store, it->to_participant, number, number_cap);
	if (rc < 0)
		return rc;
	replay_decide(it, s, number, d);
	return 0;
}

/* For a dialect that cannot forward this text in markup: write the carrier REST
 * request to the outbox and return 1 so the webhook is acknowledged; 0: forward in
 * markup as usual; -1: the outbox did not take it, so the webhook must not be
 * acknowledged (the carrier retries). The outbox message is keyed by the inbound
 * message's carrier id, so a retried webhook (with or without a recorded
 * interaction) never sends twice. */
static int send_by_rest(struct wctx *h, const struct service *svc, const struct decision *d,
			const struct hook_render *r, const char *int_id)
{
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "%s", int_id);
	out.dialect = h->dl->id;
	int rc = h->dl->build_send(svc, d, r, h->env->api_base[h->dl->id], &out);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	snprintf(out.dedup_key, sizeof(out.dedup_key), "rest:%s:%s", h->dl->name, h->in->sid);
	snprintf(out.order_key, sizeof(out.order_key), "%s", h->v.session_id);
	snprintf(out.service_id, sizeof(out.service_id), "%s", svc->id);
	if (rc == 0) {
		rc = sender_enqueue(h->env->sender, &out);
		if (rc == MASKD_EDB)
			return -1;
	} else {
		free(out.body);
		log_warn("webhook %s message: interaction %s: service %s has no REST credential for %s; not sent",
			 h->dl->name, int_id, svc->id, h->dl->name);
	}
	if (rc < 0) {
		struct leg_update failed = {.status = "failed", .duration = -1};
		if (int_id[0] != '\0')
			events_leg_record(h->env->store, int_id, 'b', "rest", &failed, h->rq->now->s);
	}
	return 1;
}

/* A text back to its sender, from the proxy number it was sent to: the carrier's
 * forward with the sender as recipient (no status callback, no media). */
static void reply_text(struct wctx *h, const char *text, struct decision *d, struct hook_render *r)
{
	d->kind = DECISION_FORWARD_MESSAGE;
	d->dial = h->in->from;
	d->from = h->in->to;
	r->status_url = NULL;
	r->body = text;
	r->media = NULL;
	r->n_media = 0;
}

/* Answers a decision that is not a session's bridge: a refusal (spoken, texted
 * back, or silent), a forward to a number the service names. int_id is the
 * recorded interaction's ("" when none is recorded): a retried webhook gets its
 * text back in markup again but no second REST send (send_by_rest). */
void webhook_answer_plain(struct wctx *h, const struct service *svc, struct decision *d, const char *say,
			 const char *int_id)
{
	struct hook_render r = {.say = say, .body = h->in->body, .media = h->in->media, .n_media = h->in->n_media};
	if (d->kind == DECISION_ACKNOWLEDGE && say != NULL && say[0] != '\0' && h->in->event == HOOK_MESSAGE)
		reply_text(h, say, d, &r);
	static const enum metric_webhook by_kind[] = {
		[DECISION_BRIDGE] = MW_BRIDGE,	       [DECISION_FORWARD_MESSAGE] = MW_FORWARD,
		[DECISION_REJECT] = MW_REJECT,	       [DECISION_ACKNOWLEDGE] = MW_ACKNOWLEDGE,
		[DECISION_ANNOUNCE] = MW_ACKNOWLEDGE, [DECISION_GATHER] = MW_ACKNOWLEDGE,
	};
	metrics_webhook(h->dl->id, by_kind[d->kind]);
	int rest = d->kind == DECISION_FORWARD_MESSAGE && h->dl->build_send != NULL ? send_by_rest(h, svc, d, &r, int_id)
										      : 0;
	if (rest < 0) {
		webhook_fail(h, 500, MW_ERROR, "the message could not be queued");
		return;
	}
	if (rest > 0)
		d->kind = DECISION_ACKNOWLEDGE;
	webhook_respond(h, d, &r);
}

static void answer_outcome(struct wctx *h, const struct service *svc, struct unknown_outcome *o)
{
	webhook_answer_plain(h, svc, &o->d, o->say, "");
}

static void answer_gather(struct wctx *h, int attempt, const char *prompt)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {
		.say = prompt,
		.gather_url = arena_printf(h->rq->arena, "%s/hooks/%s/gather?attempt=%d", h->env->public_url,
					   h->dl->name, attempt),
		.gather_digits = PIN_MAX_LEN,
		.gather_timeout = UNKNOWN_PIN_GATHER_TIMEOUT,
	};
	metrics_webhook(h->dl->id, MW_ACKNOWLEDGE);
	webhook_respond(h, &d, &r);
}

static struct inbound inbound_of(const struct hook_input *in, enum channel channel)
{
	return (struct inbound){.channel = channel, .from = in->from, .to = in->to, .body = in->body, .n_media = in->n_media};
}

static void route_view_decide(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel);

/* The unknown-caller callback answered "session": create (caller, participant)
 * with the dialled number as the caller's proxy, then route as usual. 0 when
 * handled; <0 to fall back to the failure policy. */
static int callback_session(struct wctx *h, const struct service *svc, const struct callback_answer *a,
			    enum channel channel)
{
	struct session s;
	memset(&s, 0, sizeof(s));
	s.pool = POOL_RULES_INHERIT;
	s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	if (sessions_participant(h->in->from, a->caller_label, &s.participants[0]) != PARTICIPANT_OK ||
	    sessions_participant(a->number, a->label, &s.participants[1]) != PARTICIPANT_OK ||
	    strcmp(s.participants[0].number, s.participants[1].number) == 0)
		return MASKD_EINVAL;
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "%s", h->in->to);
	s.n_participants = 2;
	s.mode = svc->mode;
	s.ttl = a->ttl >= 0 ? a->ttl : svc->ttl;
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc->id);
	snprintf(s.id, sizeof(s.id), "%s", h->rq->now->session_id);
	struct create_outcome o;
	int rc = h->env->create != NULL ? h->env->create(h->env->create_ctx, h->env->store, svc, &s, h->rq->now->s, &o)
				       : sessions_create(h->env->store, svc, &s, h->rq->now->s, &o);
	if (rc < 0) {
		log_warn("webhook %s %s %s: callback session for service %s not created: %s", h->dl->name,
			 h->rq->event, h->in->sid, svc->id, maskd_strerror(rc));
		return rc;
	}
	metrics_inc(MC_SESSIONS_CREATED);
	log_info("session %s created by the callback (service %s, participants %s via %s, %s via %s)", s.id, svc->id,
		 s.participants[0].id, s.participants[0].proxy_number_id, s.participants[1].id,
		 s.participants[1].proxy_number_id);
	struct route_view v;
	rc = store_route_lookup(h->env->store, h->in->to, h->in->from, &v);
	if (rc < 0 || v.session_id[0] == '\0')
		return rc < 0 ? rc : MASKD_ENOTFOUND;
	route_view_decide(h, svc, &v, channel);
	return 0;
}

int webhook_proxy_url_is(struct store *st, const struct service *svc, const char *field, const char *url)
{
	char key[64], val[4096];
	snprintf(key, sizeof(key), "proxy.service.%s", svc->id);
	int rc = store_setting_get(st, key, val, sizeof(val));
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	json_t *o = json_loads(val, 0, NULL);
	const char *set = json_string_value(json_object_get(o, field));
	int yes = set != NULL && set[0] != '\0' && strcmp(set, url) == 0;
	json_decref(o);
	return yes;
}

static int ask_default(void *ctx, const struct service *svc, const struct callback_query *q, int64_t now,
		       struct callback_answer *out, const char **why)
{
	const struct webhook_env *env = ctx;
	int proxy = webhook_proxy_url_is(env->store, svc, "out_of_session_callback_url", svc->callback_url);
	if (proxy < 0) {
		*why = "the service's Proxy settings could not be read";
		return proxy;
	}
	if (proxy == 1) {
		char token[256];
		if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
			*why = "the Proxy service has no Twilio auth token to sign with";
			return MASKD_EINVAL;
		}
		int rc = callback_ask_proxy(svc->callback_url, token, svc->callback_timeout_ms, q, out, why);
		explicit_bzero(token, sizeof(token));
		return rc;
	}
	char secret[VAULT_DERIVED_LEN + 1];
	vault_derive(env->vault, "callback", svc->id, secret);
	return callback_ask(svc->callback_url, secret, svc->callback_timeout_ms, now, q, out, why);
}

static void unknown_by_callback(struct wctx *h, const struct service *svc, enum channel channel, const char *from_masked)
{
	struct phone_info pi;
	const char *country = phone_parse(h->in->from, &pi) == 0 ? pi.region : "";
	struct callback_query q = {
		.service_id = svc->id,
		.channel = channel,
		.carrier = h->dl->id,
		.carrier_sid = h->in->sid,
		.from_masked = from_masked,
		.from_country = country,
		.to = h->in->to,
		.body = channel == CHANNEL_MESSAGE ? h->in->body : NULL,
	};
	struct callback_answer a;
	const char *why = NULL;
	webhook_ask_fn ask = h->env->ask != NULL ? h->env->ask : ask_default;
	void *ctx = h->env->ask != NULL ? h->env->ask_ctx : (void *)h->env;
	int rc = ask(ctx, svc, &q, h->rq->now->s, &a, &why);
	if (rc == 0 && a.decision == CALLBACK_SESSION)
		rc = callback_session(h, svc, &a, channel);
	if (rc == 0 && a.decision == CALLBACK_SESSION)
		return;
	struct inbound inb = inbound_of(h->in, channel);
	struct unknown_outcome o;
	if (rc == 0) {
		log_info("webhook %s %s %s: unknown caller %s: the callback said %s", h->dl->name, h->rq->event,
			 h->in->sid, from_masked, a.decision == CALLBACK_FORWARD ? "forward" : "reject");
		unknown_after_callback(svc, &inb, 1, a.decision, a.number, a.message, &o);
		answer_outcome(h, svc, &o);
		webhook_settle(h); /* o borrows from a */
		return;
	}
	metrics_inc(MC_CALLBACK_FAILURES);
	log_warn("webhook %s %s %s: unknown-caller callback of service %s failed (%s); failing %s", h->dl->name,
		 h->rq->event, h->in->sid, svc->id, why ? why : maskd_strerror(rc),
		 svc->callback_fail_open ? "open" : "closed");
	unknown_after_callback(svc, &inb, 0, 0, NULL, NULL, &o);
	answer_outcome(h, svc, &o);
}

/* A caller with no binding on the dialled number who was a participant on it
 * in a session whose real numbers the retention purge wiped (an ended mark,
 * docs/PRIVACY.md): answered with the ended message, as during the cool-off;
 * true then. false for anyone else, or when the mark cannot be read (the
 * unknown-caller policy answers). */
static bool ended_after_purge(struct wctx *h, enum channel channel)
{
	if (h->v.number.id[0] == '\0' || !e164_plausible(h->in->from))
		return false;
	int found = 0;
	int rc = store_ended_mark(h->env->store, h->v.number.id, h->in->from, &found);
	if (rc < 0) {
		log_warn("webhook %s %s %s: the ended marks could not be read (%s): answering as for an unknown caller",
			 h->dl->name, h->rq->event, h->in->sid, maskd_strerror(rc));
		return false;
	}
	if (!found)
		return false;
	log_info("webhook %s %s %s: %s on %s: its session ended and was purged (service %s)", h->dl->name,
		 h->rq->event, h->in->sid, h->from_masked, h->v.number.id, h->svc.id);
	struct decision d;
	route_refuse(&d, channel, ROUTE_SESSION_ENDED);
	metrics_inc(MC_COOLOFF_ANSWERS);
	webhook_answer_plain(h, &h->svc, &d, refusal_text(&h->svc, ROUTE_SESSION_ENDED, channel), "");
	return true;
}

/* A caller with no binding on the dialled number: the service's policy. */
static void handle_unknown(struct wctx *h, const struct service *svc, enum channel channel, const char *from_masked)
{
	if (webhook_oneway_unknown(h, channel))
		return;
	log_info("webhook %s %s %s: unknown caller %s on %s (service %s, policy %s)", h->dl->name, h->rq->event,
		 h->in->sid, from_masked, h->in->to, svc->id, unknown_caller_name(svc->unknown_caller));
	struct inbound inb = inbound_of(h->in, channel);
	struct unknown_outcome o;
	unknown_decide(svc, &inb, &o);
	if (o.action == UNKNOWN_ACT_ASK_CALLBACK) {
		unknown_by_callback(h, svc, channel, from_masked);
		return;
	}
	answer_outcome(h, svc, &o);
}

/* STOP / START on (sender, proxy number); HELP answered with the service's text.
 * Returns the text to reply with, or NULL. A retried webhook (retry: its
 * interaction was recorded already) gets the same reply and records nothing again. */
static const char *handle_keyword(struct wctx *h, const struct service *svc, const struct route_view *v, int retry)
{
	enum optout_kind k = optout_classify(h->in->body);
	struct optout_action act;
	optout_action(svc, k, &act);
	if (!act.record || retry)
		return act.reply;
	const char *what = act.opted_out ? "out" : "in";
	/* message.opted_out / .opted_in, written with the opt-out row; ordered with the
	 * session's other events when the sender has one here, else by the number */
	json_t *data = json_pack("{s:s,s:s,s:s}", "number_id", v->number.id, "proxy_number", v->number.e164, "from",
				 h->from_masked);
	json_object_set_new(data, "session_id", v->session_id[0] ? json_string(v->session_id) : json_null());
	struct events_pending ev;
	events_prepare(&ev, svc->id, svc->events_url, svc->events_pull_off, v->session_id[0] ? v->session_id : v->number.id,
		       act.opted_out ? EVENT_MESSAGE_OPTED_OUT : EVENT_MESSAGE_OPTED_IN, data, h->rq->now->s);
	int rc = store_optout_set_ev(h->env->store, svc->id, h->in->from, v->number.id, act.opted_out, h->rq->now->s,
				     &ev.ev);
	events_pending_free(&ev);
	if (rc < 0)
		log_error("webhook %s message %s: recording the opt-%s failed: %s", h->dl->name, h->in->sid, what,
			  maskd_strerror(rc));
	else
		log_info("webhook %s message %s: opt-%s on %s (service %s)", h->dl->name, h->in->sid, what,
			 v->number.id, svc->id);
	if (act.opted_out)
		metrics_inc(MC_OPTOUTS);
	return act.reply;
}

/* The per-binding hourly limit of the channel, counted only for calls and texts
 * that would go through. */
static void apply_rate_limit(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel,
			     struct decision *d)
{
	char key[RATE_KEY_MAX];
	uint32_t limit = 0;
	if (h->env->limiter == NULL || !rate_binding_rule(svc, v, channel, d, key, sizeof(key), &limit))
		return;
	int64_t retry_ms = 0;
	int allowed = limiter_allow(h->env->limiter, key, h->rq->now->ms, RATE_BINDING_WINDOW_MS, limit, &retry_ms);
	rate_binding_decide(allowed, channel, d);
	if (allowed)
		return;
	metrics_inc(channel == CHANNEL_VOICE ? MC_RATE_LIMITED_CALLS : MC_RATE_LIMITED_TEXTS);
	log_info("webhook %s %s %s: rate limited: participant %s over %u per hour (session %s)", h->dl->name,
		 h->rq->event, h->in->sid, v->from_participant, limit, v->session_id);
}

/* Routes a caller whose binding (or PIN) found a session: decide, limit, record
 * the interaction, answer. */
/* The bridge's options by the service's call policy and the session's overrides
 * (recording, consent notice, time limit, ring timeout), into r (status_url set). */
void webhook_bridge_render(struct wctx *h, const struct service *svc, const struct route_view *v, const char *int_id,
			  struct hook_render *r)
{
	struct call_policy eff;
	session_policy_effective(&svc->policy, &v->session_policy, &eff);
	r->record = eff.record;
	r->consent_message = eff.record ? eff.consent_message : NULL;
	r->consent_url = eff.record ? arena_printf(h->rq->arena, "%s/hooks/%s/consent?interaction=%s", h->env->public_url,
						   h->dl->name, int_id)
				    : NULL;
	r->recording_url = eff.record ? r->status_url : NULL;
	r->time_limit = eff.time_limit;
	r->ring_timeout = eff.ring_timeout;
}

static void route_view_decide(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel)
{
	const struct hook_input *in = h->in;
	const char *name = h->dl->name;
	const char *sid = in->sid;
	int64_t now = h->rq->now->s;
	struct inbound inb = inbound_of(in, channel);
	struct decision d;
	route_inbound(&inb, v, now, &d);
	const char *say = NULL;
	apply_rate_limit(h, svc, v, channel, &d);
	enum route_media media = ROUTE_MEDIA_RELAY;
	if (d.kind == DECISION_FORWARD_MESSAGE) {
		media = route_media_plan(in->n_media, v->to_proxy_caps, svc->mms_fallback);
		if (media == ROUTE_MEDIA_REFUSE)
			route_refuse(&d, channel, ROUTE_MEDIA_REFUSED);
	}
	struct intercept_verdict iv = {0};
	if (svc->intercept_url[0] != '\0')
		webhook_intercept(h, svc, v, channel, &d, &iv); /* before the record: the decision is recorded */
	const enum route_reason reason = d.reason; /* a replay's rebuilt decision has none */
	if (d.reason != ROUTE_OK && d.reason != ROUTE_KEYWORD)
		say = iv.say != NULL ? iv.say : refusal_text(svc, d.reason, channel);

	char replay_number[PHONE_E164_MAX + 1] = "";
	struct session replay_session;
	int existed = 0;
	struct interaction it = {.channel = channel, .carrier = h->dl->id, .decision = d.kind, .created_at = now,
				 .keyword = reason == ROUTE_KEYWORD, .intercept = iv.outcome};
	if (iv.outcome != 0)
		snprintf(it.intercept_text, sizeof(it.intercept_text), "%s", iv.body ? iv.body : iv.say ? iv.say : "");
	snprintf(it.id, sizeof(it.id), "%s", h->rq->now->interaction_id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", v->session_id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", svc->id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", sid);
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", v->from_participant);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", v->to_participant);
	/* interaction.created, written in the record's transaction (none for a retry) */
	struct events_pending ev;
	events_prepare(&ev, svc->id, svc->events_url, svc->events_pull_off, it.session_id, EVENT_INTERACTION_CREATED,
		       events_interaction_data(&it, reason != ROUTE_OK ? route_reason_name(reason) : NULL, v->number.e164),
		       now);
	events_proxy_callback(&ev, h->env->store, svc, &it, 0, NULL, NULL, now);
	int rc = store_interaction_record_ev(h->env->store, &it, &existed, &ev.ev);
	events_pending_free(&ev);
	if (rc == 0 && existed)
		rc = replay(h, &it, &d, replay_number, sizeof(replay_number), &replay_session);
	if (rc < 0) {
		log_error("webhook %s %s %s: recording the interaction failed: %s", name, h->rq->event, sid,
			  maskd_strerror(rc));
		webhook_fail(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (existed)
		metrics_webhook(h->dl->id, MW_RETRIED); /* the stored decision, said the same way again */
	if (reason == ROUTE_KEYWORD)
		say = handle_keyword(h, svc, v, existed); /* after the record: a retry records no second opt-out */
	if (reason == ROUTE_SESSION_ENDED && !existed)
		metrics_inc(MC_COOLOFF_ANSWERS); /* counters count events: a retry is the same one */
	const char *int_id = arena_strdup(h->rq->arena, it.id);
	log_info("webhook %s %s %s: %s%s%s%s (session %s, interaction %s, from %s via %s)", name, h->rq->event, sid,
		 decision_name(d.kind), d.reason != ROUTE_OK ? ": " : "",
		 d.reason != ROUTE_OK ? route_reason_name(d.reason) : "", existed ? " (retry)" : "", v->session_id,
		 it.id, v->from_participant, v->number.id);

	if (d.kind != DECISION_BRIDGE && d.kind != DECISION_FORWARD_MESSAGE) {
		webhook_answer_plain(h, svc, &d, say, int_id);
		webhook_settle(h);
		return;
	}
	metrics_webhook(h->dl->id, d.kind == DECISION_BRIDGE ? MW_BRIDGE : MW_FORWARD);
	struct hook_render r = {
		.status_url = webhook_status_url(h, int_id),
		.body = iv.body != NULL ? iv.body : in->body, /* the intercept's replacement, if any */
		.media = in->media,
		.n_media = in->n_media,
	};
	if (d.kind == DECISION_FORWARD_MESSAGE && media == ROUTE_MEDIA_DROP) {
		/* the other side's proxy number cannot send media: the text alone, and a word on what is missing */
		int has_body = r.body != NULL && r.body[0] != '\0';
		r.body = arena_printf(h->rq->arena, "%s%s%s", has_body ? r.body : "", has_body ? "\n\n" : "",
				      ROUTE_MEDIA_NOTE);
		r.media = NULL;
		r.n_media = 0;
		log_info("webhook %s message %s: %d media left out: the proxy number of %s has no mms (session %s)", name, sid,
			 in->n_media, v->to_participant, v->session_id);
	}
	if (d.kind == DECISION_BRIDGE)
		webhook_bridge_render(h, svc, v, int_id, &r);
	int rest = d.kind == DECISION_FORWARD_MESSAGE && h->dl->build_send != NULL ? send_by_rest(h, svc, &d, &r, int_id) : 0;
	if (rest < 0) {
		webhook_fail(h, 500, MW_ERROR, "the message could not be queued");
		webhook_settle(h);
		return;
	}
	if (rest > 0)
		d.kind = DECISION_ACKNOWLEDGE;
	webhook_respond(h, &d, &r);
	webhook_settle(h);
}

/* Checks the fields every inbound webhook needs, finds the dialled number's
 * service and has the edge check the signature. Returns 0 with *svc and *v
 * filled, or -1 when the request is already answered. */
static int inbound_preamble(struct wctx *h, struct service *svc, struct route_view *v, char *from_masked)
{
	const struct hook_input *in = h->in;
	const char *name = h->dl->name, *event = h->rq->event;
	const char *to = in->to, *from = in->from, *sid = in->sid;
	if (to == NULL || to[0] == '\0' || from == NULL || from[0] == '\0') {
		const char *what = to == NULL || to[0] == '\0' ? "To" : "From";
		log_info("webhook %s %s: refused: missing %s", name, event, what);
		webhook_fail(h, 400, MW_BAD_REQUEST, what[0] == 'T' ? "missing To" : "missing From");
		return -1;
	}
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(((struct interaction *)0)->carrier_sid)) {
		log_info("webhook %s %s: refused: missing or oversized call/message id", name, event);
		webhook_fail(h, 400, MW_BAD_REQUEST, "missing or oversized call or message id");
		return -1;
	}
	char to_masked[MASK_MAX];
	mask_e164(to, to_masked, sizeof(to_masked));
	mask_e164(from, from_masked, MASK_MAX);
	if (!e164_plausible(to)) {
		log_info("webhook %s %s %s: refused: To %s is not an E.164 number", name, event, sid, to_masked);
		webhook_fail(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return -1;
	}
	int rc = store_route_lookup(h->env->store, to, e164_plausible(from) ? from : "", v);
	if (rc < 0) {
		log_error("webhook %s %s %s: store lookup failed: %s", name, event, sid, maskd_strerror(rc));
		webhook_fail(h, 503, MW_ERROR, "temporarily unavailable");
		return -1;
	}
	if (v->number.id[0] == '\0') {
		log_info("webhook %s %s %s: refused: %s is not in any pool", name, event, sid, to_masked);
		webhook_fail(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return -1;
	}
	rc = store_service_get(h->env->store, v->number.service_id, svc);
	if (rc < 0) {
		log_error("webhook %s %s %s: service %s: %s", name, event, sid, v->number.service_id, maskd_strerror(rc));
		webhook_fail(h, 503, MW_ERROR, "temporarily unavailable");
		return -1;
	}
	if (!h->rq->verify(h->rq->verify_ctx, svc)) {
		log_warn("webhook %s %s %s: refused: bad or missing signature (service %s, number %s)", name, event, sid,
			 svc->id, v->number.id);
		webhook_fail(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return -1;
	}
	if (!v->number.carrier_any && v->number.carrier != h->dl->id) {
		/* the number was added with another carrier: its webhooks come from that
		 * carrier only (a number pointed at the wrong dialect's URL, or a copy of
		 * a request sent elsewhere) */
		metrics_inc(MC_WEBHOOKS_WRONG_CARRIER);
		log_warn("webhook %s %s %s: refused: number %s (%s, service %s) is a %s number", name, event, sid,
			 v->number.id, to_masked, svc->id, dialect_name(v->number.carrier));
		webhook_fail(h, 403, MW_BAD_REQUEST, "this number belongs to another carrier");
		return -1;
	}
	return 0;
}

void webhook_start(struct wctx *h, const struct webhook_env *env, const struct webhook_request *rq,
		  struct webhook_answer *ans)
{
	assert(env != NULL && env->store != NULL && rq != NULL && rq->dl.name != NULL && rq->in != NULL && rq->now != NULL &&
	       rq->verify != NULL && ans != NULL);
	memset(ans, 0, sizeof(*ans));
	*h = (struct wctx){.env = env, .rq = rq, .in = rq->in, .dl = &rq->dl, .ans = ans};
}

/* webhook_start() and inbound_preamble() into h's svc, v and from_masked: 0, or -1 with the
 * refusal already in the answer. */
static int inbound_begin(struct wctx *h, const struct webhook_env *env, const struct webhook_request *rq,
			 struct webhook_answer *ans)
{
	webhook_start(h, env, rq, ans);
	return inbound_preamble(h, &h->svc, &h->v, h->from_masked);
}

void webhook_inbound(const struct webhook_env *env, const struct webhook_request *rq, enum channel channel,
		     struct webhook_answer *ans)
{
	assert(channel == CHANNEL_VOICE || channel == CHANNEL_MESSAGE);
	struct wctx h;
	if (inbound_begin(&h, env, rq, ans) < 0)
		return;
	/* the shared PIN number: every call is asked for its session's PIN */
	if (unknown_is_pin_number(&h.svc, channel, h.in->to)) {
		log_info("webhook %s voice %s: PIN number of service %s: asking %s for a PIN", h.dl->name, h.in->sid,
			 h.svc.id, h.from_masked);
		answer_gather(&h, 1, UNKNOWN_PIN_PROMPT);
		return;
	}
	if (webhook_oneway_inbound(&h, channel))
		return;
	if (h.v.session_id[0] != '\0') {
		route_view_decide(&h, &h.svc, &h.v, channel);
		return;
	}
	if (channel == CHANNEL_MESSAGE && optout_classify(h.in->body) != OPTOUT_NONE) {
		/* a keyword from someone with no session here: kept, never relayed */
		const char *say = handle_keyword(&h, &h.svc, &h.v, 0);
		struct decision d;
		route_refuse(&d, channel, ROUTE_KEYWORD);
		webhook_answer_plain(&h, &h.svc, &d, say, "");
		webhook_settle(&h);
		return;
	}
	if (ended_after_purge(&h, channel)) {
		webhook_settle(&h);
		return;
	}
	handle_unknown(&h, &h.svc, channel, h.from_masked);
	webhook_settle(&h);
}

void webhook_gather(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans)
{
	assert(rq != NULL && rq->in != NULL && rq->in->event == HOOK_GATHER);
	struct wctx h;
	if (inbound_begin(&h, env, rq, ans) < 0)
		return;
	const char *sid = h.in->sid;
	struct unknown_outcome o;
	if (!unknown_is_pin_number(&h.svc, CHANNEL_VOICE, h.in->to) && webhook_oneway_gather(&h))
		return;
	if (!unknown_is_pin_number(&h.svc, CHANNEL_VOICE, h.in->to)) {
		log_info("webhook %s gather %s: %s is not the PIN number of service %s; refused", h.dl->name, sid,
			 h.v.number.id, h.svc.id);
		unknown_gather_refused(&h.svc, &o);
		answer_outcome(&h, &h.svc, &o);
		webhook_settle(&h);
		return;
	}
	const char *digits = h.in->digits;
	int rc = MASKD_ENOTFOUND;
	struct route_view pv = h.v;
	if (digits != NULL && pin_valid(digits))
		rc = store_pin_lookup(env->store, h.svc.id, digits, h.in->from, &pv);
	if (rc < 0 && rc != MASKD_ENOTFOUND) {
		log_error("webhook %s gather %s: PIN lookup failed: %s", h.dl->name, sid, maskd_strerror(rc));
		webhook_fail(&h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (rc == 0) {
		metrics_inc(MC_PIN_ACCEPTED);
		log_info("webhook %s gather %s: PIN accepted for %s (session %s)", h.dl->name, sid, h.from_masked,
			 pv.session_id);
		route_view_decide(&h, &h.svc, &pv, CHANNEL_VOICE);
		return;
	}
	metrics_inc(MC_PIN_REJECTED);
	int attempt = 0;
	int next = unknown_pin_retry(&h.svc, form_get(&h.in->query, "attempt"), &attempt, &o);
	log_info("webhook %s gather %s: wrong or missing PIN from %s (attempt %d of %d)%s", h.dl->name, sid,
		 h.from_masked, attempt, h.svc.pin_attempts, next ? "; asking again" : "; refused");
	if (next > 0) {
		answer_gather(&h, next, UNKNOWN_PIN_WRONG " " UNKNOWN_PIN_PROMPT);
		return;
	}
	answer_outcome(&h, &h.svc, &o);
	webhook_settle(&h);
}

void webhook_route_decide(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel)
{
	route_view_decide(h, svc, v, channel);
}

void webhook_ask_pin(struct wctx *h, int attempt, const char *prompt)
{
	answer_gather(h, attempt, prompt);
}

void webhook_unknown(struct wctx *h, enum channel channel)
{
	handle_unknown(h, &h->svc, channel, h->from_masked);
	webhook_settle(h);
}
