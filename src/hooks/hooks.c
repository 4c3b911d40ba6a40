/* SPDX-License-Identifier: MIT */
/* hooks.c - webhook handlers for the TwiML family (Twilio, SignalWire); see hooks.h.
 * Log lines carry ids, the dialect, and masked numbers only. The one place a real
 * number leaves maskd is the markup rendered at the end of a bridge or forward. */
#include "hooks.h"
#include "twilio_sig.h"
#include "twiml.h"
#include "../app.h"
#include "../core/route.h"
#include "../metrics.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_MEDIA_MAX 10 /* Twilio sends at most 10 MediaUrlN */

struct hook_ctx {
	struct app *app;
	const struct http_request *req;
	struct http_response *res;
	int dialect;
	const char *event;
	struct form params;     /* form fields the signature covers */
	struct form all;        /* params, or the query for GET requests */
	struct form query;
};

static void answer_xml(struct hook_ctx *h, const struct buf *xml)
{
	h->res->status = 200;
	h->res->content_type = TWIML_CONTENT_TYPE;
	buf_append(&h->res->body, xml->data, xml->len);
}

static void answer_empty(struct hook_ctx *h)
{
	struct buf b;
	buf_init(&b);
	twiml_empty(&b);
	answer_xml(h, &b);
	buf_free(&b);
}

static void refuse(struct hook_ctx *h, int status, enum metric_webhook m, const char *why)
{
	metrics_webhook(h->dialect, m);
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

static const char *signature_header(const struct hook_ctx *h)
{
	const char *sig = NULL;
	if (h->dialect == DIALECT_SIGNALWIRE)
		sig = http_header(h->req, "X-SignalWire-Signature");
	if (sig == NULL)
		sig = http_header(h->req, "X-Twilio-Signature");
	return sig;
}

/* Checks the request's signature with the service's credential for this dialect. */
static int signature_ok(struct hook_ctx *h, const struct service *svc)
{
	const char *key = svc->secrets[h->dialect];
	if (key[0] == '\0') {
		log_warn("webhook %s %s: service %s has no %s credential; refused", dialect_name(h->dialect),
			 h->event, svc->id, dialect_name(h->dialect));
		return 0;
	}
	const char *url = arena_printf(h->req->arena, "%s%s", h->app->public_url, h->req->target);
	enum twilio_sig_flavor fl = h->dialect == DIALECT_SIGNALWIRE ? TWILIO_SIG_SIGNALWIRE : TWILIO_SIG_TWILIO;
	return twilio_sig_check(fl, key, url, &h->params, h->req->body, h->req->body_len, signature_header(h));
}

static const char *status_url(struct hook_ctx *h, const char *interaction_id)
{
	return arena_printf(h->req->arena, "%s/hooks/%s/status?interaction=%s", h->app->public_url,
			    dialect_name(h->dialect), interaction_id);
}

/* Collects MediaUrl0..MediaUrl9 in index order. */
static int collect_media(const struct form *f, const char **media)
{
	int n = 0;
	for (int i = 0; i < HOOK_MEDIA_MAX; i++) {
		char key[16];
		snprintf(key, sizeof(key), "MediaUrl%d", i);
		const char *url = form_get(f, key);
		if (url == NULL)
			break;
		media[n++] = url;
	}
	return n;
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

static void handle_inbound(struct hook_ctx *h, int channel)
{
	const struct form *f = &h->all;
	const char *to = form_get(f, "To");
	const char *from = form_get(f, "From");
	const char *sid = form_get(f, channel == CHANNEL_VOICE ? "CallSid" : "MessageSid");
	if (to == NULL || to[0] == '\0' || from == NULL || from[0] == '\0') {
		log_info("webhook %s %s: refused: missing %s", dialect_name(h->dialect), h->event,
			 to == NULL || to[0] == '\0' ? "To" : "From");
		refuse(h, 400, MW_BAD_REQUEST, to == NULL || to[0] == '\0' ? "missing To" : "missing From");
		return;
	}
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(((struct interaction *)0)->carrier_sid)) {
		log_info("webhook %s %s: refused: missing or oversized %s", dialect_name(h->dialect), h->event,
			 channel == CHANNEL_VOICE ? "CallSid" : "MessageSid");
		refuse(h, 400, MW_BAD_REQUEST, channel == CHANNEL_VOICE ? "missing CallSid" : "missing MessageSid");
		return;
	}
	char to_masked[MASK_MAX], from_masked[MASK_MAX];
	mask_e164(to, to_masked, sizeof(to_masked));
	mask_e164(from, from_masked, sizeof(from_masked));
	if (!e164_plausible(to)) {
		log_info("webhook %s %s %s: refused: To %s is not an E.164 number", dialect_name(h->dialect), h->event,
			 sid, to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return;
	}
	struct route_view v;
	int rc = store_route_lookup(h->app->store, to, e164_plausible(from) ? from : "", &v);
	if (rc < 0) {
		log_error("webhook %s %s %s: store lookup failed: %s", dialect_name(h->dialect), h->event, sid,
			  maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (v.number.id[0] == '\0') {
		log_info("webhook %s %s %s: refused: %s is not in any pool", dialect_name(h->dialect), h->event, sid,
			 to_masked);
		refuse(h, 404, MW_UNKNOWN_NUMBER, "To is not a proxy number of this maskd");
		return;
	}
	struct service svc;
	rc = store_service_get(h->app->store, v.number.service_id, &svc);
	if (rc < 0) {
		log_error("webhook %s %s %s: service %s: %s", dialect_name(h->dialect), h->event, sid,
			  v.number.service_id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!signature_ok(h, &svc)) {
		log_warn("webhook %s %s %s: refused: bad or missing signature (service %s, number %s)",
			 dialect_name(h->dialect), h->event, sid, svc.id, v.number.id);
		refuse(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}

	const char *media[HOOK_MEDIA_MAX];
	struct inbound in = {
		.channel = channel,
		.from = from,
		.to = to,
		.body = form_get(f, "Body"),
		.n_media = channel == CHANNEL_MESSAGE ? collect_media(f, media) : 0,
	};
	int64_t now = now_unix();
	struct decision d;
	route_inbound(&in, &v, now, &d);

	char int_id[ID_MAX] = "";
	char replay_number[PHONE_E164_MAX + 1] = "", replay_proxy[PHONE_E164_MAX + 1] = "";
	if (v.session_id[0] != '\0') {
		struct interaction it = {.channel = channel, .carrier = h->dialect, .decision = d.kind, .created_at = now};
		id_new("int", it.id);
		snprintf(it.session_id, sizeof(it.session_id), "%s", v.session_id);
		snprintf(it.service_id, sizeof(it.service_id), "%s", svc.id);
		snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", sid);
		snprintf(it.from_participant, sizeof(it.from_participant), "%s", v.from_participant);
		snprintf(it.to_participant, sizeof(it.to_participant), "%s", v.to_participant);
		int existed = 0;
		rc = store_interaction_record(h->app->store, &it, &existed);
		if (rc == 0 && existed)
			rc = replay_decision(h, &it, &d, replay_number, sizeof(replay_number), replay_proxy,
					     sizeof(replay_proxy));
		if (rc < 0) {
			log_error("webhook %s %s %s: recording the interaction failed: %s", dialect_name(h->dialect),
				  h->event, sid, maskd_strerror(rc));
			refuse(h, 503, MW_ERROR, "temporarily unavailable");
			return;
		}
		if (existed)
			metrics_webhook(h->dialect, MW_RETRIED);
		snprintf(int_id, sizeof(int_id), "%s", it.id);
		log_info("webhook %s %s %s: %s%s (session %s, interaction %s, from %s via %s)",
			 dialect_name(h->dialect), h->event, sid, decision_name(d.kind),
			 existed ? " (retry)" : "", v.session_id, it.id, v.from_participant, v.number.id);
	} else {
		log_info("webhook %s %s %s: %s: %s caller %s on %s (service %s)", dialect_name(h->dialect), h->event,
			 sid, decision_name(d.kind), route_reason_name(d.reason), from_masked, to_masked, svc.id);
	}

	static const enum metric_webhook by_kind[] = {MW_BRIDGE, MW_FORWARD, MW_REJECT, MW_ACKNOWLEDGE};
	metrics_webhook(h->dialect, by_kind[d.kind]);
	struct twiml_args args = {
		.status_url = int_id[0] ? status_url(h, int_id) : NULL,
		.say = svc.unknown_caller_message,
		.body = in.body,
		.media = media,
		.n_media = in.n_media,
	};
	struct buf xml;
	buf_init(&xml);
	twiml_render(&xml, &d, &args);
	answer_xml(h, &xml);
	buf_free(&xml);
}

static int64_t param_int(const struct form *f, const char *key)
{
	const char *s = form_get(f, key);
	if (s == NULL || *s == '\0')
		return -1;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' && v >= 0 ? (int64_t)v : -1;
}

static void handle_status(struct hook_ctx *h)
{
	const char *int_id = form_get(&h->query, "interaction");
	struct interaction it;
	int rc = int_id != NULL && id_valid("int", int_id) ? store_interaction_get(h->app->store, int_id, &it)
							  : MASKD_ENOTFOUND;
	if (rc == MASKD_ENOTFOUND) {
		log_info("webhook %s status: ignored: no interaction %s", dialect_name(h->dialect),
			 int_id != NULL && id_valid("int", int_id) ? int_id : "(none or malformed)");
		metrics_webhook(h->dialect, MW_STATUS);
		answer_empty(h);
		return;
	}
	struct service svc;
	if (rc == 0)
		rc = store_service_get(h->app->store, it.service_id, &svc);
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", dialect_name(h->dialect), int_id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	if (!signature_ok(h, &svc)) {
		log_warn("webhook %s status: refused: bad or missing signature (interaction %s)",
			 dialect_name(h->dialect), int_id);
		refuse(h, 403, MW_BAD_SIGNATURE, "invalid signature");
		return;
	}
	const struct form *f = &h->all;
	const char *sid = NULL, *status = NULL;
	int64_t duration = -1;
	char leg = 'b';
	if (form_get(f, "DialCallStatus") != NULL) {
		sid = form_get(f, "DialCallSid");
		status = form_get(f, "DialCallStatus");
		duration = param_int(f, "DialCallDuration");
	} else if (form_get(f, "MessageStatus") != NULL) {
		sid = form_get(f, "MessageSid");
		status = form_get(f, "MessageStatus");
	} else if (form_get(f, "CallStatus") != NULL) {
		sid = form_get(f, "CallSid");
		status = form_get(f, "CallStatus");
		duration = param_int(f, "CallDuration");
		if (form_get(f, "ParentCallSid") == NULL)
			leg = 'a';
	}
	if (status == NULL || status[0] == '\0' || strlen(status) >= sizeof(it.legs[0].status)) {
		log_info("webhook %s status: interaction %s: no status in the callback; ignored",
			 dialect_name(h->dialect), int_id);
		metrics_webhook(h->dialect, MW_STATUS);
		answer_empty(h);
		return;
	}
	if (sid == NULL || sid[0] == '\0' || strlen(sid) >= sizeof(it.legs[0].carrier_sid))
		sid = leg == 'a' ? it.carrier_sid : "unknown";
	rc = store_leg_update(h->app->store, it.id, leg, sid, status, duration, now_unix());
	if (rc < 0) {
		log_error("webhook %s status: interaction %s: %s", dialect_name(h->dialect), int_id, maskd_strerror(rc));
		refuse(h, 503, MW_ERROR, "temporarily unavailable");
		return;
	}
	log_info("webhook %s status: interaction %s leg %c %s: %s", dialect_name(h->dialect), int_id, leg, sid,
		 status);
	metrics_webhook(h->dialect, MW_STATUS);
	answer_empty(h);
}

int hooks_handle(struct app *app, const struct http_request *req, struct http_response *res)
{
	static const char prefix[] = "/hooks/";
	if (strncmp(req->path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	const char *rest = req->path + sizeof(prefix) - 1;
	const char *slash = strchr(rest, '/');
	struct hook_ctx h = {.app = app, .req = req, .res = res, .dialect = -1};
	if (slash != NULL) {
		char name[16];
		snprintf(name, sizeof(name), "%.*s", (int)(slash - rest < 15 ? slash - rest : 15), rest);
		h.dialect = dialect_from_name(name);
		h.event = slash + 1;
	}
	int channel = -1;
	if (h.dialect >= 0 && strcmp(h.event, "voice") == 0)
		channel = CHANNEL_VOICE;
	else if (h.dialect >= 0 && strcmp(h.event, "message") == 0)
		channel = CHANNEL_MESSAGE;
	else if (h.dialect < 0 || strcmp(h.event, "status") != 0) {
		http_text(res, 404, "no such webhook");
		return 1;
	}
	int is_get = strcmp(req->method, "GET") == 0;
	if (!is_get && strcmp(req->method, "POST") != 0) {
		refuse(&h, 405, MW_BAD_REQUEST, "use POST (or GET)");
		return 1;
	}
	int rc = form_parse(req->arena, req->query, strlen(req->query), &h.query);
	if (rc == 0 && !is_get) {
		const char *ct = http_header(req, "Content-Type");
		if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			log_info("webhook %s %s: refused: content type is not form-urlencoded", dialect_name(h.dialect),
				 h.event);
			refuse(&h, 415, MW_BAD_REQUEST, "expected application/x-www-form-urlencoded");
			return 1;
		}
		rc = form_parse(req->arena, req->body, req->body_len, &h.params);
	}
	if (rc < 0) {
		log_info("webhook %s %s: refused: malformed %s (%s)", dialect_name(h.dialect), h.event,
			 is_get ? "query" : "form body", maskd_strerror(rc));
		refuse(&h, rc == MASKD_ETOOBIG ? 413 : 400, MW_BAD_REQUEST,
		       rc == MASKD_ETOOBIG ? "too many form fields" : "malformed form body");
		return 1;
	}
	h.all = is_get ? h.query : h.params;
	if (channel >= 0)
		handle_inbound(&h, channel);
	else
		handle_status(&h);
	return 1;
}
