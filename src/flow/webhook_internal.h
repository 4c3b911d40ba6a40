/* SPDX-License-Identifier: MIT */
/* webhook_internal.h - what the files of the webhook pipeline share (webhook.c:
 * inbound calls, texts and PIN gathers; webhook_calls.c: status callbacks, the
 * consent notice, the click-to-call answer): one request's context and the
 * helpers that fill its answer. Not for the rest of maskd: webhook.h is. */
#ifndef MASKD_FLOW_WEBHOOK_INTERNAL_H
#define MASKD_FLOW_WEBHOOK_INTERNAL_H

#include "webhook.h"
#include "../core/model.h"
#include "../util/mask.h"
#include "../util/metrics.h"

/* One webhook request on its way through the pipeline. */
struct wctx {
	const struct webhook_env *env;
	const struct webhook_request *rq;
	const struct hook_input *in;
	const struct webhook_dialect *dl;
	struct webhook_answer *ans;
	/* voice, message and gather webhooks, from inbound_begin(): */
	struct service svc;        /* the dialled number's service */
	struct route_view v;       /* the dialled number, and the caller's binding on it */
	char from_masked[MASK_MAX]; /* the caller, for log lines */
};

/* Sets h into a fresh context for rq, and *ans to an empty answer. */
void webhook_start(struct wctx *h, const struct webhook_env *env, const struct webhook_request *rq,
		   struct webhook_answer *ans);

/* Answers with an HTTP error status and why (a static string), counting m. */
void webhook_fail(struct wctx *h, int status, enum metric_webhook m, const char *why);

/* Answers 200 with the decision d, rendered with r. */
void webhook_respond(struct wctx *h, const struct decision *d, const struct hook_render *r);

/* Answers 200 with an empty acknowledgement. */
void webhook_respond_empty(struct wctx *h);

/* Moves the answer's strings that point into stack frames to the request's arena;
 * called last, before returning the answer. */
void webhook_settle(struct wctx *h);

/* The status callback URL of interaction_id on this dialect (in the request's arena). */
const char *webhook_status_url(struct wctx *h, const char *interaction_id);

/* Answers a decision that is not a session's bridge: a refusal (spoken, texted
 * back, or silent), a forward to a number the service names. int_id is the
 * recorded interaction's ("" when none is recorded). */
void webhook_answer_plain(struct wctx *h, const struct service *svc, struct decision *d, const char *say,
			  const char *int_id);

/* The bridge's options by the service's call policy and the session's overrides
 * (recording, consent notice, time limit, ring timeout), into r (status_url set). */
void webhook_bridge_render(struct wctx *h, const struct service *svc, const struct route_view *v, const char *int_id,
			   struct hook_render *r);

/* Routes a caller whose binding, PIN or one-way session found v: decide, limit,
 * record the interaction, answer (webhook.c). */
void webhook_route_decide(struct wctx *h, const struct service *svc, const struct route_view *v,
			  enum channel channel);

/* Answers with a gather of a PIN: attempt is carried in the gather URL. */
void webhook_ask_pin(struct wctx *h, int attempt, const char *prompt);

/* Answers a caller with no binding on the dialled number by the service's
 * unknown-caller policy (webhook.c), settled. */
void webhook_unknown(struct wctx *h, enum channel channel);

/* One-way sessions (oneway.c, core/oneway.h). Each returns true when it
 * answered the request, false when the usual pipeline answers it. */
#define ONEWAY_PIN_PROMPT "Please enter the PIN of the conversation you want, then press the pound key."
#define ONEWAY_SEVERAL_TEXT "You have several open conversations on this number: call it to choose one."
/* A call or text to a number with no live binding of the caller: the agent
 * (a hidden participant of open one-way sessions on it) or a respondent calling
 * back. */
bool webhook_oneway_inbound(struct wctx *h, enum channel channel);
/* A gather on a number that is not the service's PIN number: the agent's PIN,
 * or (policy pin) the PIN a caller maskd could not place typed in. */
bool webhook_oneway_gather(struct wctx *h);
/* A caller maskd cannot place, before the unknown-caller policy answers it: with
 * policy pin, a call to a number carrying open one-way sessions is asked for a
 * PIN (core/oneway.h oneway_stranger_asked). */
bool webhook_oneway_unknown(struct wctx *h, enum channel channel);

/* 1 when the Twilio Proxy API's row of svc (api/proxy_v1_internal.h,
 * PROXY_SERVICE_PREFIX) names url as its field (e.g. "out_of_session_callback_url"
 * for the unknown-caller callback, "intercept_callback_url" for the intercept):
 * the Proxy API set that URL, so it is asked in Proxy's form. 0 when not (or no
 * such row), negative on a store error. */
int webhook_proxy_url_is(struct store *st, const struct service *svc, const char *field, const char *url);

/* What the intercept step (flow/intercept.c) decided for one interaction. */
struct intercept_verdict {
	int outcome;      /* enum intercept_outcome; 0 = not asked (no intercept_url, not a bridge or forward) */
	const char *say;  /* a refusal: the app's message (in the request's arena); NULL = the refusal text */
	const char *body; /* a text's replacement body (in the request's arena); NULL = none */
};

/* The intercept of svc before d, a bridge or a forwarded text (anything else,
 * or a service without intercept_url: out->outcome 0, nothing done). A retried
 * webhook (its carrier id recorded already) takes the recorded decision without
 * asking; else the app is asked, bounded by intercept_timeout_ms. A refusal
 * turns d into route_refuse(ROUTE_INTERCEPTED). Blocks the calling thread for at
 * most the timeout; never fails (a failure is intercept_fail_open's outcome). */
void webhook_intercept(struct wctx *h, const struct service *svc, const struct route_view *v, enum channel channel,
		       struct decision *d, struct intercept_verdict *out);

#endif
