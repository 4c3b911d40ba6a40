/* SPDX-License-Identifier: MIT */
/* intercept.c - the webhook pipeline's intercept step (webhook_internal.h):
 * before a bridge or a forwarded text of a service with an intercept_url, asks
 * the app (out/intercept.c), or, for a retried webhook whose interaction is
 * recorded already, takes the decision recorded then; applies core/intercept.c's
 * rule to the decision. Log lines carry ids and the outcome only. */
#include "webhook_internal.h"
#include "../core/intercept.h"
#include "../out/events.h"
#include "../out/intercept.h"
#include "../api/proxy_wire.h" /* the Proxy API's SIDs: pure */
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../vault/vault.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define INTERCEPT_TIMEOUT_FALLBACK_MS 2000

/* Applies outcome (with text, the app's message or replacement body, "" none)
 * to d and out. */
static void verdict_apply(struct wctx *h, enum intercept_outcome outcome, const char *text, enum channel channel,
			  struct decision *d, struct intercept_verdict *out)
{
	out->outcome = outcome;
	const char *t = text != NULL && text[0] != '\0' ? arena_strdup(h->rq->arena, text) : NULL;
	if (intercept_refuses(outcome)) {
		route_refuse(d, channel, ROUTE_INTERCEPTED);
		out->say = t;
	} else if (outcome == INTERCEPT_REPLACED) {
		out->body = t;
	}
}

/* Asks in Proxy's form with svc's Twilio auth token. */
static int ask_proxy(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel,
		     int timeout, struct intercept_answer *a, const char **why)
{
	char ks[PROXY_SID_LEN + 1], kc[PROXY_SID_LEN + 1], kp[PROXY_SID_LEN + 1], ki[PROXY_SID_LEN + 1];
	if (proxy_sid_from_id(svc->id, ks) < 0 || proxy_sid_from_id(v->session_id, kc) < 0 ||
	    proxy_sid_from_id(v->from_participant, kp) < 0 || proxy_sid_from_id(h->rq->now->interaction_id, ki) < 0) {
		*why = "the interaction's ids have no Proxy SID";
		return MASKD_EINVAL;
	}
	char token[256];
	if (service_cred(svc, DIALECT_TWILIO, "auth_token", token, sizeof(token)) < 0) {
		*why = "the Proxy service has no Twilio auth token to sign with";
		return MASKD_EINVAL;
	}
	struct intercept_proxy_query q = {
		.interaction_sid = ki,
		.service_sid = ks,
		.session_sid = kc,
		.participant_sid = kp,
		.channel = channel,
		.carrier_sid = h->in->sid,
		.body = h->in->body,
	};
	int rc = intercept_ask_proxy(svc->intercept_url, token, timeout, h->rq->now->s, &q, a, why);
	explicit_bzero(token, sizeof(token));
	return rc;
}

void webhook_intercept(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel,
		       struct decision *d, struct intercept_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (svc->intercept_url[0] == '\0' || (d->kind != DECISION_BRIDGE && d->kind != DECISION_FORWARD_MESSAGE))
		return;
	/* a retried webhook: the recorded decision, the app is not asked again */
	static _Thread_local struct interaction seen;
	int rc = store_interaction_by_sid(h->env->store, h->dl->id, h->in->sid, &seen);
	if (rc == 0) {
		if (seen.intercept != INTERCEPT_NONE)
			verdict_apply(h, (enum intercept_outcome)seen.intercept, seen.intercept_text, channel, d, out);
		return;
	}
	if (rc != MASKD_ENOTFOUND)
		log_warn("webhook %s %s %s: the recorded interaction could not be read (%s): asking the intercept_url",
			 h->dl->name, h->rq->event, h->in->sid, maskd_strerror(rc));
	char to_masked[MASK_MAX];
	mask_e164(v->to_number, to_masked, sizeof(to_masked));
	struct intercept_query q = {
		.interaction_id = h->rq->now->interaction_id,
		.service_id = svc->id,
		.session_id = v->session_id,
		.channel = channel,
		.carrier = h->dl->id,
		.carrier_sid = h->in->sid,
		.from_participant = v->from_participant,
		.to_participant = v->to_participant,
		.from_masked = h->from_masked,
		.to_masked = v->to_number[0] != '\0' ? to_masked : "",
		.proxy_number = v->number.e164,
		.body = channel == CHANNEL_MESSAGE ? (h->in->body != NULL ? h->in->body : "") : NULL,
		.n_media = h->in->n_media,
	};
	int timeout = svc->intercept_timeout_ms >= 1 && svc->intercept_timeout_ms <= 5000 ? svc->intercept_timeout_ms
											  : INTERCEPT_TIMEOUT_FALLBACK_MS;
	static _Thread_local struct intercept_answer a;
	const char *why = NULL;
	int proxy = webhook_proxy_url_is(h->env->store, svc, "intercept_callback_url", svc->intercept_url);
	if (proxy < 0) {
		rc = proxy;
		why = "the service's Proxy settings could not be read";
	} else if (proxy == 1) {
		rc = ask_proxy(h, svc, v, channel, timeout, &a, &why);
	} else {
		char key[VAULT_DERIVED_LEN + 1], secret[EVENTS_SECRET_MAX];
		vault_derive(h->env->vault, "events", svc->id, key);
		events_secret(key, secret);
		rc = intercept_ask(svc->intercept_url, secret, timeout, h->rq->now->s, &q, &a, &why);
		OPENSSL_cleanse(key, sizeof(key));
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	enum intercept_outcome outcome = intercept_decide(rc == 0, &a, channel, svc->intercept_fail_open);
	if (rc == 0)
		log_info("webhook %s %s %s: intercept of service %s: %s (interaction %s)", h->dl->name, h->rq->event,
			 h->in->sid, svc->id, intercept_outcome_name(outcome), q.interaction_id);
	else
		log_warn("webhook %s %s %s: intercept of service %s failed (%s): %s (interaction %s)", h->dl->name,
			 h->rq->event, h->in->sid, svc->id, why != NULL ? why : maskd_strerror(rc),
			 intercept_outcome_name(outcome), q.interaction_id);
	verdict_apply(h, outcome, rc == 0 ? intercept_text_of(outcome, &a) : "", channel, d, out);
}
