/* SPDX-License-Identifier: MIT */
/* hooks.c - the webhook pipeline shared by every dialect (dialect.h); see hooks.h.
 * Log lines carry ids, the dialect, and masked numbers only. The one place a real
 * number leaves maskd is the markup a dialect renders for a bridge or forward. */
#include "hooks.h"
#include "dialect.h"
#include "../app.h"
#include "callback.h"
#include "../core/optout.h"
#include "../core/pin.h"
#include "../core/route.h"
#include "../core/session.h"
#include "../limiter.h"
#include "../metrics.h"
#include "../sender.h"
#include "../flow/sessions.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../vault/vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hook_ctx {
	struct app *app;
	const struct http_request *req;
	struct http_response *res;
	const struct hook_dialect *dl;
	const char *event;
	struct hook_input in;
};

static void answer(struct hook_ctx *h, const struct decision *d, struct hook_render *r)
{
	buf_reset(&h->res->body);
	r->event = h->in.event;
	h->dl->render(d, r, h->res);
}

static void answer_empty(struct hook_ctx *h)
{
	struct decision d = {.kind = DECISION_ACKNOWLEDGE};
	struct hook_render r = {0};
	answer(h, &d, &r);
}

static void refuse(struct hook_ctx *h, int status, enum metric_webhook m, const char *why)
{
	metrics_webhook(h->dl ? h->dl->id : -1, m);
	http_text(h->res, status, why);
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

/* Checks the request's signature with the service's credential for this dialect. */
static int signature_ok(struct hook_ctx *h, const struct service *svc)
{
	if (svc->secrets[h->dl->id][0] == '\0') {
		log_warn("webhook %s %s: service %s has no %s credential; refused", h->dl->name, h->event, svc->id,
			 h->dl->name);
		return 0;
	}
	const char *url = arena_printf(h->req->arena, "%s%s", h->app->public_url, h->req->target);
	return h->dl->verify(svc, h->req, url, &h->in, now_unix());
}

static const char *status_url(struct hook_ctx *h, const char *interaction_id)
{
	return arena_printf(h->req->arena, "%s/hooks/%s/status?interaction=%s", h->app->public_url, h->dl->name,
			    interaction_id);
}

/* Rebuilds the decision a retried webhook was first given, from the stored row. */
static int replay_decision(struct hook_ctx *h, const struct interaction *it, struct decision *d, char *number,
			   size_t number_cap, char *proxy, size_t proxy_cap)
{
	d->kind = it->decision;
	d->reason = ROUTE_OK;
	d->dial = d->from = NULL;
	if (it->decision != DECISION_BRIDGE && it->decision != DECISION_FORWARD_MESSAGE)
		return 0;
	struct session s;
	int rc = store_session_get(h->app->store, it->session_id, &s);
	if (rc < 0)
		return rc;
	for (int i = 0; i < s.n_participants; i++)
		if (strcmp(s.participants[i].id, it->to_participant) == 0)
			snprintf(proxy, proxy_cap, "%s", s.participants[i].proxy_e164);
	rc = store_participant_number(h->app->store, it->to_participant, number, number_cap);
	if (rc < 0)
		return rc;
	d->dial = number;
	d->from = proxy;
	return 0;
}

/* For a dialect that cannot forward this text in markup: enqueue the carrier REST
 * request (a new interaction only, so a retried webhook never sends twice) and
 * return 1 so the webhook is acknowledged. 0: forward in markup as usual. */
static int send_by_rest(struct hook_ctx *h, const struct service *svc, const struct decision *d,
			struct hook_render *r, const char *int_id, int existed)
{
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "%s", int_id);
	out.dialect = h->dl->id;
	int rc = h->dl->build_send(svc, d, r, h->app->api_base[h->dl->id], &out);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (existed) {
		free(out.body);
		return 1;
	}
	if (rc == 0)
		rc = sender_enqueue(h->app->sender, &out);
	else
		log_warn("webhook %s message: interaction %s: service %s has no REST credential for %s; not sent",
			 h->dl->name, int_id, svc->id, h->dl->name);
	if (rc < 0) {
		free(out.body);
		struct leg_update failed = {.status = "failed", .duration = -1};
		if (int_id[0] != '\0')
			store_leg_update(h->app->store, int_id, 'b', "rest", &failed, now_unix());
	}
	return 1;
}

#define MSG_NO_PEER "The other participant has not joined this conversation yet."
#define MSG_RATE_LIMITED "Too many calls from this number. Please try again later."
#define MSG_OPTED_OUT "Your message was not delivered: the recipient has opted out of texts from this number."
#define MSG_PIN_PROMPT "Please enter your PIN, then press the pound key."
#define MSG_PIN_WRONG "That PIN is not valid."
#define MSG_PIN_FAILED "That PIN is not valid. Goodbye."
#define PIN_GATHER_TIMEOUT 8
#define RATE_WINDOW_MS (3600 * 1000LL)

/* What a refused caller is told, or NULL to refuse without a word. */
static const char *refusal_text(const struct service *svc, int reason, int channel)
{
	switch (reason) {
	case ROUTE_SESSION_ENDED:
		return svc->ended_message;
	case ROUTE_NO_PEER:
		return channel == CHANNEL_VOICE ? MSG_NO_PEER : NULL;
	case ROUTE_OPTED_OUT:
		return channel == CHANNEL_MESSAGE ? MSG_OPTED_OUT : NULL;
	case ROUTE_RATE_LIMITED:
		return channel == CHANNEL_VOICE && !svc->rate_silent ? MSG_RATE_LIMITED : NULL;
	case ROUTE_UNKNOWN_CALLER:
	case ROUTE_CHANNEL_DENIED:
	case ROUTE_WRONG_PIN:
		return channel == CHANNEL_VOICE ? svc->unknown_caller_message : NULL;
	default:
		return NULL;
	}
}

/* A text back to its sender, from the proxy number it was sent to: the carrier's
 * forward with the sender as recipient (no status callback, no media). */
static void reply_text(struct hook_ctx *h, const char *text, struct decision *d, struct hook_render *r)
{
	d->kind = DECISION_FORWARD_MESSAGE;
	d->dial = h->in.from;
	d->from = h->in.to;
	r->status_url = NULL;
	r->body = text;
	r->media = NULL;
	r->n_media = 0;
}

/* Renders a decision that is not a session's bridge: a refusal (spoken, texted
 * back, or silent), a gather, a forward to a number the service names. */
static void answer_plain(struct hook_ctx *h, const struct service *svc, struct decision *d, const char *say)
{
	struct hook_render r = {.say = say, .body = h->in.body, .media = h->in.media, .n_media = h->in.n_media};
	if (d->kind == DECISION_ACKNOWLEDGE && say != NULL && say[0] != '\0' && h->in.event == HOOK_MESSAGE)
		reply_text(h, say, d, &r);
	static const enum metric_webhook by_kind[] = {MW_BRIDGE, MW_FORWARD, MW_REJECT, MW_ACKNOWLEDGE, MW_ACKNOWLEDGE,
						      MW_ACKNOWLEDGE};
	metrics_webhook(h->dl->id, by_kind[d->kind]);
	if (d->kind == DECISION_FORWARD_MESSAGE && h->dl->build_send != NULL &&
	    send_by_rest(h, svc, d, &r, "", 0))
		d->kind = DECISION_ACKNOWLEDGE;
	answer(h, d, &r);
}

static void answer_gather(struct hook_ctx *h, int attempt, const char *prompt)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {
		.say = prompt,
		.gather_url = arena_printf(h->req->arena, "%s/hooks/%s/gather?attempt=%d", h->app->public_url,
					   h->dl->name, attempt),
		.gather_digits = PIN_MAX_LEN,
		.gather_timeout = PIN_GATHER_TIMEOUT,
	};
	metrics_webhook(h->dl->id, MW_ACKNOWLEDGE);
	answer(h, &d, &r);
}

/* Bridges an unknown caller to a number the service (or its callback) names,
 * showing the dialled proxy number as caller id. A text is forwarded the same way
 * only when the app's callback asked for it (texts): the service's own forward
 * policy relays calls only, so a support line that replies cannot loop. */
static void forward_unknown(struct hook_ctx *h, const struct service *svc, int channel, const char *number,
			    int texts)
{
	struct decision d = {.kind = DECISION_BRIDGE, .reason = ROUTE_UNKNOWN_CALLER, .dial = number, .from = h->in.to};
	if (channel != CHANNEL_VOICE) {
		d.kind = texts && (h->in.body != NULL || h->in.n_media > 0) ? DECISION_FORWARD_MESSAGE : DECISION_ACKNOWLEDGE;
		if (d.kind == DECISION_ACKNOWLEDGE)
			d.dial = d.from = NULL;
	}
	answer_plain(h, svc, &d, NULL);
}

static void route_view_decide(struct hook_ctx *h, const struct service *svc, const struct route_view *v, int channel);

/* The unknown-caller callback answered "session": create (caller, participant)
 * with the dialled number as the caller's proxy, then route as usual. 0 when
 * handled; <0 to fall back to the failure policy. */
static int callback_session(struct hook_ctx *h, const struct service *svc, const struct callback_answer *a,
			    int channel)
{
	struct session s;
	memset(&s, 0, sizeof(s));
	s.pool = (struct pool_rules){-1, -1, -1};
	s.policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	if (sessions_participant(h->in.from, a->caller_label, &s.participants[0]) != PARTICIPANT_OK ||
	    sessions_participant(a->number, a->label, &s.participants[1]) != PARTICIPANT_OK ||
	    strcmp(s.participants[0].number, s.participants[1].number) == 0)
		return MASKD_EINVAL;
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "%s", h->in.to);
	s.n_participants = 2;
	s.mode = svc->mode;
	s.ttl = a->ttl >= 0 ? a->ttl : svc->ttl;
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc->id);
	id_new("ses", s.id);
	struct create_outcome o;
	int64_t now = now_unix();
	int rc = sessions_create(h->app->store, svc, &s, now, &o);
	if (rc < 0) {
		log_warn("webhook %s %s %s: callback session for service %s not created: %s", h->dl->name, h->event,
			 h->in.sid, svc->id, maskd_strerror(rc));
		return rc;
	}
	metrics_inc(MC_SESSIONS_CREATED);
	log_info("session %s created by the callback (service %s, participants %s via %s, %s via %s)", s.id, svc->id,
		 s.participants[0].id, s.participants[0].proxy_number_id, s.participants[1].id,
		 s.participants[1].proxy_number_id);
	struct route_view v;
	rc = store_route_lookup(h->app->store, h->in.to, h->in.from, &v);
	if (rc < 0 || v.session_id[0] == '\0')
		return rc < 0 ? rc : MASKD_ENOTFOUND;
	route_view_decide(h, svc, &v, channel);
	return 0;
}

static void unknown_by_callback(struct hook_ctx *h, const struct service *svc, int channel, const char *from_masked,
				const char *country)
{
	struct callback_query q = {
		.service_id = svc->id,
		.channel = channel,
		.carrier = h->dl->id,
		.carrier_sid = h->in.sid,
		.from_masked = from_masked,
		.from_country = country,
		.to = h->in.to,
		.body = channel == CHANNEL_MESSAGE ? h->in.body : NULL,
	};
	struct callback_answer a;
	const char *why = NULL;
	char secret[VAULT_DERIVED_LEN + 1];
	vault_derive(h->app->vault, "callback", svc->id, secret);
	int rc = callback_ask(svc->callback_url, secret, svc->callback_timeout_ms, &q, &a, &why);
	if (rc == 0 && a.decision == CALLBACK_SESSION)
		rc = callback_session(h, svc, &a, channel);
	if (rc == 0 && a.decision == CALLBACK_SESSION)
		return;
	if (rc == 0) {
		log_info("webhook %s %s %s: unknown caller %s: the callback said %s", h->dl->name, h->event, h->in.sid,
			 from_masked, a.decision == CALLBACK_FORWARD ? "forward" : "reject");
		if (a.decision == CALLBACK_FORWARD) {
			forward_unknown(h, svc, channel, a.number, 1);
			return;
		}
		struct decision d;
		route_refuse(&d, channel, ROUTE_UNKNOWN_CALLER);
		answer_plain(h, svc, &d,
			     a.message[0] ? a.message : refusal_text(svc, ROUTE_UNKNOWN_CALLER, channel));
		return;
	}
	metrics_inc(MC_CALLBACK_FAILURES);
	log_warn("webhook %s %s %s: unknown-caller callback of service %s failed (%s); failing %s", h->dl->name,
		 h->event, h->in.sid, svc->id, why ? why : maskd_strerror(rc), svc->callback_fail_open ? "open" : "closed");
	if (svc->callback_fail_open) {
		forward_unknown(h, svc, channel, svc->fallback_number, 0);
		return;
	}
	struct decision d;
	route_refuse(&d, channel, ROUTE_UNKNOWN_CALLER);
	answer_plain(h, svc, &d, refusal_text(svc, ROUTE_UNKNOWN_CALLER, channel));
}

/* A caller with no binding on the dialled number: the service's policy. */
static void handle_unknown(struct hook_ctx *h, const struct service *svc, int channel, const char *from_masked)
{
	log_info("webhook %s %s %s: unknown caller %s on %s (service %s, policy %s)", h->dl->name, h->event, h->in.sid,
		 from_masked, h->in.to, svc->id, unknown_caller_name(svc->unknown_caller));
	switch (svc->unknown_caller) {
	case UNKNOWN_FORWARD:
		forward_unknown(h, svc, channel, svc->fallback_number, 0);
		return;
	case UNKNOWN_CALLBACK: {
		struct phone_info pi;
		const char *country = phone_parse(h->in.from, &pi) == 0 ? pi.region : "";
		unknown_by_callback(h, svc, channel, from_masked, country);
		return;
	}
	default: {
		struct decision d;
		route_refuse(&d, channel, ROUTE_UNKNOWN_CALLER);
		answer_plain(h, svc, &d, refusal_text(svc, ROUTE_UNKNOWN_CALLER, channel));
	}
	}
}

/* STOP / START on (sender, proxy number); HELP answered with the service's text.
 * Returns the text to reply with, or NULL. */
static const char *handle_keyword(struct hook_ctx *h, const struct service *svc, const struct route_view *v)
{
	enum optout_kind k = optout_classify(h->in.body);
	if (k == OPTOUT_HELP)
		return svc->help_text;
	if (k != OPTOUT_STOP && k != OPTOUT_START)
		return NULL;
	int rc = store_optout_set(h->app->store, svc->id, h->in.from, v->number.id, k == OPTOUT_STOP, now_unix());
	if (rc < 0)
		log_error("webhook %s message %s: recording the opt-%s failed: %s", h->dl->name, h->in.sid,
			  k == OPTOUT_STOP ? "out" : "in", maskd_strerror(rc));
	else
		log_info("webhook %s message %s: opt-%s on %s (service %s)", h->dl->name, h->in.sid,
			 k == OPTOUT_STOP ? "out" : "in", v->number.id, svc->id);
	if (k == OPTOUT_STOP)
		metrics_inc(MC_OPTOUTS);
	return NULL;
}

/* The per-binding hourly limit of the channel, counted only for calls and texts
 * that would go through. */
static void apply_rate_limit(struct hook_ctx *h, const struct service *svc, const struct route_view *v, int channel,
			     struct decision *d)
{
	int limit = channel == CHANNEL_VOICE ? svc->rate_calls : svc->rate_texts;
	if (limit <= 0 || h->app->limiter == NULL || (d->kind != DECISION_BRIDGE && d->kind != DECISION_FORWARD_MESSAGE))
		return;
	char key[ID_MAX + 4];
	snprintf(key, sizeof(key), "%s/%c", v->from_participant, channel == CHANNEL_VOICE ? 'v' : 'm');
	int64_t retry_ms = 0;
	if (limiter_allow(h->app->limiter, key, now_ms(), RATE_WINDOW_MS, (uint32_t)limit, &retry_ms))
		return;
	metrics_inc(channel == CHANNEL_VOICE ? MC_RATE_LIMITED_CALLS : MC_RATE_LIMITED_TEXTS);
	log_info("webhook %s %s %s: rate limited: participant %s over %d per hour (session %s)", h->dl->name, h->event,
		 h->in.sid, v->from_participant, limit, v->session_id);
	route_refuse(d, channel, ROUTE_RATE_LIMITED);
}

/* Routes a caller whose binding (or PIN) found a session: decide, limit, record
 * the interaction, render. */
static void route_view_decide(struct hook_ctx *h, const struct service *svc, const struct route_view *v, int channel)
{
	const struct hook_input *in = &h->in;
	const char *name = h->dl->name;
	const char *sid = in->sid;
	struct inbound inb = {.channel = channel, .from = in->from, .to = in->to, .body = in->body, .n_media = in->n_media};
	int64_t now = now_unix();
	struct decision d;
	route_inbound(&inb, v, now, &d);
	const char *say = NULL;
	if (d.reason == ROUTE_KEYWORD)
		say = handle_keyword(h, svc, v);
	apply_rate_limit(h, svc, v, channel, &d);
	if (d.reason != ROUTE_OK && d.reason != ROUTE_KEYWORD)
		say = refusal_text(svc, d.reason, channel);
	if (d.reason == ROUTE_SESSION_ENDED)
		metrics_inc(MC_COOLOFF_ANSWERS);

	char int_id[ID_MAX] = "";
	char replay_number[PHONE_E164_MAX + 1] = "", replay_proxy[PHONE_E164_MAX + 1] = "";
	int existed = 0;
	struct interaction it = {.channel = channel, .carrier = h->dl->id, .decision = d.kind, .created_at = now};
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", v->session_id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", svc->id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", sid);
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", v->from_participant);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", v->to_participant);
	int rc = store_interaction_record(h->app->store, &it, &existed);
	if (rc == 0 && existed)
		rc = replay_decision(h, &it, &d, replay_number, sizeof(replay_number), replay_proxy, sizeof(replay_proxy));
	if (rc < 0) {
		log_error("webhook %s %s %s: recording the interaction failed: %s", name, h->event, sid,
			  maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (existed)
		metrics_webhook(h->dl->id, MW_RETRIED); /* the stored decision, said the same way again */
	snprintf(int_id, sizeof(int_id), "%s", it.id);
	log_info("webhook %s %s %s: %s%s%s%s (session %s, interaction %s, from %s via %s)", name, h->event, sid,
		 decision_name(d.kind), d.reason != ROUTE_OK ? ": " : "", d.reason != ROUTE_OK ? route_reason_name(d.reason) : "",
		 existed ? " (retry)" : "", v->session_id, it.id, v->from_participant, v->number.id);

	if (d.kind != DECISION_BRIDGE && d.kind != DECISION_FORWARD_MESSAGE) {
		answer_plain(h, svc, &d, say);
		return;
	}
	static const enum metric_webhook by_kind[] = {MW_BRIDGE, MW_FORWARD};
	metrics_webhook(h->dl->id, by_kind[d.kind]);
	struct hook_render r = {
		.status_url = status_url(h, int_id),
		.body = in->body,
		.media = in->media,
		.n_media = in->n_media,
	};
	struct call_policy eff;
	if (d.kind == DECISION_BRIDGE) {
		session_policy_effective(&svc->policy, &v->session_policy, &eff);
		r.record = eff.record;
		r.consent_message = eff.record ? eff.consent_message : NULL;
		r.consent_url = eff.record ? arena_printf(h->req->arena, "%s/hooks/%s/consent?interaction=%s",
							  h->app->public_url, h->dl->name, int_id)
					   : NULL;
		r.recording_url = eff.record ? r.status_url : NULL;
		r.time_limit = eff.time_limit;
		r.ring_timeout = eff.ring_timeout;
	}
	if (d.kind == DECISION_FORWARD_MESSAGE && h->dl->build_send != NULL && send_by_rest(h, svc, &d, &r, int_id, existed))
		d.kind = DECISION_ACKNOWLEDGE;
	answer(h, &d, &r);
}

/* Checks the fields every inbound webhook needs, finds the dialled number's
 * service and checks the signature. Returns 0 with *svc and *v filled, or -1 when
 * the request was already answered. */
static int inbound_preamble(struct hook_ctx *h, struct service *svc, struct route_view *v, char *from_masked)
{
	const struct hook_input *in = &h->in;
	const char *name = h->dl->name;
	const char *to = in->to, *from = in->from, *sid = in->sid;
	if (to == NULL || to[0] == '\0' || from == NULL || from[0] == '\0') {
		const char *what = to == NULL || to[0] == '\0' ? "To" : "From";
		log_info("webhook %s %s: refused: missing %s", name, h->event, what);
		refuse(h, 400, MW_BAD_REQUEST, what[0] == 'T' ? "missing To" : "missing From");
		return -1;
	}
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(((struct interaction *)0)->carrier_sid)) {
		log_info("webhook %s %s: refused: missing or oversized call/message id", name, h->event);
		refuse(h, 400, MW_BAD_REQUEST, "missing or oversized call or message id");
		return -1;
	}
	char to_masked[MASK_MAX];
	mask_e164(to, to_masked, sizeof(to_masked));
	mask_e164(from, from_masked, MASK_MAX);
	if (!e164_plausible(to)) {
		log_info("webhook %s %s %s: refused: To %s is not an E.164 number", name, h->event, sid, to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return -1;
	}
	int rc = store_route_lookup(h->app->store, to, e164_plausible(from) ? from : "", v);
	if (rc < 0) {
		log_error("webhook %s %s %s: store lookup failed: %s", name, h->event, sid, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return -1;
	}
	if (v->number.id[0] == '\0') {
		log_info("webhook %s %s %s: refused: %s is not in any pool", name, h->event, sid, to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return -1;
	}
	rc = store_service_get(h->app->store, v->number.service_id, svc);
	if (rc < 0) {
		log_error("webhook %s %s %s: service %s: %s", name, h->event, sid, v->number.service_id,
			  maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return -1;
	}
	if (!signature_ok(h, svc)) {
		log_warn("webhook %s %s %s: refused: bad or missing signature (service %s, number %s)", name, h->event,
			 sid, svc->id, v->number.id);
		refuse(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return -1;
	}
	return 0;
}

static void handle_inbound(struct hook_ctx *h, int channel)
{
	struct service svc;
	struct route_view v;
	char from_masked[MASK_MAX];
	if (inbound_preamble(h, &svc, &v, from_masked) < 0)
		return;
	/* the shared PIN number: every call is asked for its session's PIN */
	if (channel == CHANNEL_VOICE && svc.unknown_caller == UNKNOWN_PIN && strcmp(h->in.to, svc.pin_number) == 0) {
		log_info("webhook %s voice %s: PIN number of service %s: asking %s for a PIN", h->dl->name, h->in.sid,
			 svc.id, from_masked);
		answer_gather(h, 1, MSG_PIN_PROMPT);
		return;
	}
	if (v.session_id[0] != '\0') {
		route_view_decide(h, &svc, &v, channel);
		return;
	}
	if (channel == CHANNEL_MESSAGE && optout_classify(h->in.body) != OPTOUT_NONE) {
		/* a keyword from someone with no session here: kept, never relayed */
		const char *say = handle_keyword(h, &svc, &v);
		struct decision d;
		route_refuse(&d, channel, ROUTE_KEYWORD);
		answer_plain(h, &svc, &d, say);
		return;
	}
	handle_unknown(h, &svc, channel, from_masked);
}

/* The digits entered after a PIN prompt: the caller's own open session with that
 * PIN is routed as if they had dialled their proxy number; otherwise ask again
 * until the service's attempts are used up. */
static void handle_gather(struct hook_ctx *h)
{
	struct service svc;
	struct route_view v;
	char from_masked[MASK_MAX];
	if (inbound_preamble(h, &svc, &v, from_masked) < 0)
		return;
	const char *sid = h->in.sid;
	if (svc.unknown_caller != UNKNOWN_PIN || strcmp(h->in.to, svc.pin_number) != 0) {
		log_info("webhook %s gather %s: %s is not the PIN number of service %s; refused", h->dl->name, sid,
			 v.number.id, svc.id);
		struct decision d;
		route_refuse(&d, CHANNEL_VOICE, ROUTE_UNKNOWN_CALLER);
		answer_plain(h, &svc, &d, svc.unknown_caller_message);
		return;
	}
	int attempt = pin_attempt_next(form_get(&h->in.query, "attempt"), svc.pin_attempts);
	const char *digits = h->in.digits;
	int rc = MASKD_ENOTFOUND;
	struct route_view pv = v;
	if (digits != NULL && pin_valid(digits))
		rc = store_pin_lookup(h->app->store, svc.id, digits, h->in.from, &pv);
	if (rc < 0 && rc != MASKD_ENOTFOUND) {
		log_error("webhook %s gather %s: PIN lookup failed: %s", h->dl->name, sid, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (rc == 0) {
		metrics_inc(MC_PIN_ACCEPTED);
		log_info("webhook %s gather %s: PIN accepted for %s (session %s)", h->dl->name, sid, from_masked,
			 pv.session_id);
		route_view_decide(h, &svc, &pv, CHANNEL_VOICE);
		return;
	}
	metrics_inc(MC_PIN_REJECTED);
	int next = attempt > 0 ? pin_attempt_next(arena_printf(h->req->arena, "%d", attempt + 1), svc.pin_attempts) : 0;
	log_info("webhook %s gather %s: wrong or missing PIN from %s (attempt %d of %d)%s", h->dl->name, sid,
		 from_masked, attempt, svc.pin_attempts, next ? "; asking again" : "; refused");
	if (next > 0) {
		answer_gather(h, next, MSG_PIN_WRONG " " MSG_PIN_PROMPT);
		return;
	}
	struct decision d;
	route_refuse(&d, CHANNEL_VOICE, ROUTE_WRONG_PIN);
	answer_plain(h, &svc, &d, MSG_PIN_FAILED);
}

/* The callee's consent notice of a recorded bridge (TwiML <Number url>). */
static void answer_consent(struct hook_ctx *h, const struct service *svc, const struct interaction *it)
{
	struct session s;
	struct call_policy eff;
	int rc = store_session_get(h->app->store, it->session_id, &s);
	if (rc < 0) {
		log_error("webhook %s consent: interaction %s: %s", h->dl->name, it->id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	session_policy_effective(&svc->policy, &s.policy, &eff);
	struct decision d = {.kind = DECISION_ANNOUNCE};
	struct hook_render r = {.say = eff.consent_message};
	metrics_webhook(h->dl->id, MW_STATUS);
	answer(h, &d, &r);
}

static void handle_status(struct hook_ctx *h, int event)
{
	const char *name = h->dl->name;
	const char *int_id = h->in.interaction_id;
	int known_shape = int_id != NULL && id_valid("int", int_id);
	struct interaction it;
	int rc = known_shape ? store_interaction_get(h->app->store, int_id, &it) : MASKD_ENOTFOUND;
	const struct hook_status *sst = &h->in.st;
	if (!known_shape && event == HOOK_STATUS && sst->leg == 'a' && sst->sid != NULL && sst->sid[0] != '\0' &&
	    strlen(sst->sid) < sizeof(it.carrier_sid)) {
		/* the inbound call's own events (Vonage): found by the call id that started it */
		rc = store_interaction_by_sid(h->app->store, h->dl->id, sst->sid, &it);
		if (rc == 0) {
			int_id = arena_strdup(h->req->arena, it.id);
			known_shape = 1;
		}
	}
	if (rc == MASKD_ENOTFOUND) {
		log_info("webhook %s status: ignored: no interaction %s", name, known_shape ? int_id : "(none or malformed)");
		metrics_webhook(h->dl->id, MW_STATUS);
		answer_empty(h);
		return;
	}
	struct service svc;
	if (rc == 0)
		rc = store_service_get(h->app->store, it.service_id, &svc);
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", name, int_id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!signature_ok(h, &svc)) {
		log_warn("webhook %s %s: refused: bad or missing signature (interaction %s)", name, h->event, int_id);
		refuse(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}
	if (event == HOOK_CONSENT) {
		answer_consent(h, &svc, &it);
		return;
	}
	const struct hook_status *st = &h->in.st;
	if ((st->status == NULL || st->status[0] == '\0') && st->recording_id == NULL && st->cost == NULL) {
		log_info("webhook %s status: interaction %s: nothing to record in the callback; ignored", name, int_id);
		metrics_webhook(h->dl->id, MW_STATUS);
		answer_empty(h);
		return;
	}
	if (st->status != NULL && strlen(st->status) >= sizeof(it.legs[0].status)) {
		log_info("webhook %s status: interaction %s: no status in the callback; ignored", name, int_id);
		metrics_webhook(h->dl->id, MW_STATUS);
		answer_empty(h);
		return;
	}
	const char *sid = st->sid;
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(it.legs[0].carrier_sid))
		sid = st->leg == 'a' ? it.carrier_sid : "unknown";
	struct leg_update u = {
		.status = st->status,
		.duration = st->duration,
		.answered = st->answered,
		.recording_id = st->recording_id,
		.recording_url = st->recording_url,
		.cost = st->cost,
		.currency = st->currency,
	};
	rc = store_leg_update(h->app->store, it.id, st->leg, sid, &u, now_unix());
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", name, int_id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	log_info("webhook %s status: interaction %s leg %c %s: %s%s", name, int_id, st->leg, sid,
		 st->status ? st->status : "-", st->recording_id ? " (recording)" : "");
	metrics_webhook(h->dl->id, MW_STATUS);
	answer_empty(h);
}

int hook_parse_form_request(const struct http_request *req, struct hook_input *in, const struct form **fields,
			    const char **why)
{
	int is_get = strcmp(req->method, "GET") == 0;
	if (!is_get && strcmp(req->method, "POST") != 0) {
		*why = "use POST (or GET)";
		return 405;
	}
	int rc = form_parse(req->arena, req->query, strlen(req->query), &in->query);
	if (rc == 0 && !is_get) {
		const char *ct = http_header(req, "Content-Type");
		if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			*why = "expected application/x-www-form-urlencoded";
			return 415;
		}
		rc = form_parse(req->arena, req->body, req->body_len, &in->params);
	}
	if (rc < 0) {
		*why = rc == MASKD_ETOOBIG ? "too many form fields" : "malformed form body";
		return rc == MASKD_ETOOBIG ? 413 : 400;
	}
	*fields = is_get ? &in->query : &in->params;
	return 0;
}

static const struct hook_dialect *const dialects[] = {&hook_dialect_twilio, &hook_dialect_signalwire, &hook_dialect_vonage,
							      &hook_dialect_telnyx, &hook_dialect_plivo, &hook_dialect_vobiz};

const struct hook_dialect *hook_dialect_find(const char *name, size_t name_len)
{
	for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
		if (strlen(dialects[i]->name) == name_len && strncmp(dialects[i]->name, name, name_len) == 0)
			return dialects[i];
	return NULL;
}

int hooks_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	static const char prefix[] = "/hooks/";
	if (strncmp(req->path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	const char *rest = req->path + sizeof(prefix) - 1;
	const char *slash = strchr(rest, '/');
	struct hook_ctx h = {.app = app, .req = req, .res = res};
	if (slash != NULL) {
		h.dl = hook_dialect_find(rest, (size_t)(slash - rest));
		h.event = slash + 1;
	}
	int event = -1;
	if (h.dl != NULL) {
		if (strcmp(h.event, "voice") == 0)
			event = HOOK_VOICE;
		else if (strcmp(h.event, "message") == 0)
			event = HOOK_MESSAGE;
		else if (strcmp(h.event, "status") == 0)
			event = HOOK_STATUS;
		else if (strcmp(h.event, "consent") == 0)
			event = HOOK_CONSENT;
		else if (strcmp(h.event, "gather") == 0)
			event = HOOK_GATHER;
	}
	if (event < 0) {
		http_text(res, 404, "no such webhook");
		return 1;
	}
	const char *why = "malformed request";
	h.in.event = event;
	int status = h.dl->parse(req, event, &h.in, &why);
	if (status != 0) {
		log_info("webhook %s %s: refused: %s", h.dl->name, h.event, why);
		refuse(&h, status, MW_BAD_REQUEST, why);
		return 1;
	}
	event = h.in.event;
	if (event == HOOK_STATUS || event == HOOK_CONSENT)
		handle_status(&h, event);
	else if (event == HOOK_GATHER)
		handle_gather(&h);
	else
		handle_inbound(&h, event == HOOK_VOICE ? CHANNEL_VOICE : CHANNEL_MESSAGE);
	return 1;
}
