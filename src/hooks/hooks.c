/* SPDX-License-Identifier: MIT */
/* hooks.c - the webhook pipeline shared by every dialect (dialect.h); see hooks.h.
 * Log lines carry ids, the dialect, and masked numbers only. The one place a real
 * number leaves maskd is the markup a dialect renders for a bridge or forward. */
#include "hooks.h"
#include "dialect.h"
#include "../app.h"
#include "../core/route.h"
#include "../core/session.h"
#include "../metrics.h"
#include "../sender.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/timeutil.h"

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
		store_leg_update(h->app->store, int_id, 'b', "rest", &failed, now_unix());
	}
	return 1;
}

static void handle_inbound(struct hook_ctx *h, int channel)
{
	const struct hook_input *in = &h->in;
	const char *name = h->dl->name;
	const char *to = in->to, *from = in->from, *sid = in->sid;
	if (to == NULL || to[0] == '\0' || from == NULL || from[0] == '\0') {
		const char *what = to == NULL || to[0] == '\0' ? "To" : "From";
		log_info("webhook %s %s: refused: missing %s", name, h->event, what);
		refuse(h, 400, MW_BAD_REQUEST, what[0] == 'T' ? "missing To" : "missing From");
		return;
	}
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(((struct interaction *)0)->carrier_sid)) {
		log_info("webhook %s %s: refused: missing or oversized call/message id", name, h->event);
		refuse(h, 400, MW_BAD_REQUEST, "missing or oversized call or message id");
		return;
	}
	char to_masked[MASK_MAX], from_masked[MASK_MAX];
	mask_e164(to, to_masked, sizeof(to_masked));
	mask_e164(from, from_masked, sizeof(from_masked));
	if (!e164_plausible(to)) {
		log_info("webhook %s %s %s: refused: To %s is not an E.164 number", name, h->event, sid, to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return;
	}
	struct route_view v;
	int rc = store_route_lookup(h->app->store, to, e164_plausible(from) ? from : "", &v);
	if (rc < 0) {
		log_error("webhook %s %s %s: store lookup failed: %s", name, h->event, sid, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (v.number.id[0] == '\0') {
		log_info("webhook %s %s %s: refused: %s is not in any pool", name, h->event, sid, to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return;
	}
	struct service svc;
	rc = store_service_get(h->app->store, v.number.service_id, &svc);
	if (rc < 0) {
		log_error("webhook %s %s %s: service %s: %s", name, h->event, sid, v.number.service_id,
			  maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!signature_ok(h, &svc)) {
		log_warn("webhook %s %s %s: refused: bad or missing signature (service %s, number %s)", name, h->event,
			 sid, svc.id, v.number.id);
		refuse(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}

	struct inbound inb = {.channel = channel, .from = from, .to = to, .body = in->body, .n_media = in->n_media};
	int64_t now = now_unix();
	struct decision d;
	route_inbound(&inb, &v, now, &d);

	char int_id[ID_MAX] = "";
	char replay_number[PHONE_E164_MAX + 1] = "", replay_proxy[PHONE_E164_MAX + 1] = "";
	int existed = 0;
	if (v.session_id[0] != '\0') {
		struct interaction it = {.channel = channel, .carrier = h->dl->id, .decision = d.kind, .created_at = now};
		id_new("int", it.id);
		snprintf(it.session_id, sizeof(it.session_id), "%s", v.session_id);
		snprintf(it.service_id, sizeof(it.service_id), "%s", svc.id);
		snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", sid);
		snprintf(it.from_participant, sizeof(it.from_participant), "%s", v.from_participant);
		snprintf(it.to_participant, sizeof(it.to_participant), "%s", v.to_participant);
		rc = store_interaction_record(h->app->store, &it, &existed);
		if (rc == 0 && existed)
			rc = replay_decision(h, &it, &d, replay_number, sizeof(replay_number), replay_proxy,
					     sizeof(replay_proxy));
		if (rc < 0) {
			log_error("webhook %s %s %s: recording the interaction failed: %s", name, h->event, sid,
				  maskd_strerror(rc));
			refuse(h, 503, MW_ERROR, "temporarily unavailable");
			return;
		}
		if (existed)
			metrics_webhook(h->dl->id, MW_RETRIED);
		snprintf(int_id, sizeof(int_id), "%s", it.id);
		log_info("webhook %s %s %s: %s%s (session %s, interaction %s, from %s via %s)", name, h->event, sid,
			 decision_name(d.kind), existed ? " (retry)" : "", v.session_id, it.id, v.from_participant,
			 v.number.id);
	} else {
		log_info("webhook %s %s %s: %s: %s caller %s on %s (service %s)", name, h->event, sid,
			 decision_name(d.kind), route_reason_name(d.reason), from_masked, to_masked, svc.id);
	}

	static const enum metric_webhook by_kind[] = {MW_BRIDGE, MW_FORWARD, MW_REJECT, MW_ACKNOWLEDGE};
	metrics_webhook(h->dl->id, by_kind[d.kind]);
	struct hook_render r = {
		.status_url = int_id[0] ? status_url(h, int_id) : NULL,
		.say = svc.unknown_caller_message,
		.body = in->body,
		.media = in->media,
		.n_media = in->n_media,
	};
	struct call_policy eff;
	if (d.kind == DECISION_BRIDGE) {
		session_policy_effective(&svc.policy, &v.session_policy, &eff);
		r.record = eff.record;
		r.consent_message = eff.record ? eff.consent_message : NULL;
		r.consent_url = eff.record ? arena_printf(h->req->arena, "%s/hooks/%s/consent?interaction=%s",
							  h->app->public_url, h->dl->name, int_id)
					   : NULL;
		r.recording_url = eff.record ? r.status_url : NULL;
		r.time_limit = eff.time_limit;
		r.ring_timeout = eff.ring_timeout;
	}
	if (d.kind == DECISION_FORWARD_MESSAGE && h->dl->build_send != NULL && send_by_rest(h, &svc, &d, &r, int_id, existed))
		d.kind = DECISION_ACKNOWLEDGE;
	answer(h, &d, &r);
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
	else
		handle_inbound(&h, event == HOOK_VOICE ? CHANNEL_VOICE : CHANNEL_MESSAGE);
	return 1;
}
