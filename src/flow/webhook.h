/* SPDX-License-Identifier: MIT */
/* webhook.h - the webhook pipeline, once a dialect has parsed the request: find the
 * dialled number's service, have the edge check the signature, route (core/), apply
 * the unknown-caller policy, keywords and rate limits, record the interaction
 * (idempotent on the carrier's id: a retry is re-answered, core/replay.h), update
 * legs from status callbacks, queue REST sends (out/sender.h). The clock and the
 * random source are read once, at the edge (struct webhook_now). Knows no markup:
 * it answers with a decision that hooks/hooks.c renders. */
#ifndef MASKD_FLOW_WEBHOOK_H
#define MASKD_FLOW_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/inbound.h" /* struct hook_input, struct hook_render */
#include "../core/pick.h"    /* struct create_outcome */
#include "../core/route.h"
#include "../out/callback.h"
#include "../out/sender.h"   /* struct outgoing */
#include "../util/arena.h"

struct store;
struct sender;
struct limiter;
struct vault;

/* One request's instant and fresh ids, taken at the edge before the pipeline runs. */
struct webhook_now {
	int64_t s;                   /* unix seconds */
	int64_t ms;                  /* unix milliseconds, the same instant */
	char interaction_id[ID_MAX]; /* the id of an interaction this request records */
	char session_id[ID_MAX];     /* the id of a session the unknown-caller callback creates */
};

/* Asks the unknown-caller callback of svc (out/callback.h callback_ask contract). */
typedef int (*webhook_ask_fn)(void *ctx, const struct service *svc, const struct callback_query *q, int64_t now,
			      struct callback_answer *out, const char **why);

/* Creates the session an unknown-caller callback names (flow/sessions.h
 * sessions_create contract). */
typedef int (*webhook_create_fn)(void *ctx, struct store *st, const struct service *svc, struct session *s,
				 int64_t now, struct create_outcome *out);

/* What the pipeline works with; borrowed, outlives every request. */
struct webhook_env {
	struct store *store;
	struct sender *sender;       /* REST sends of dialects with build_send */
	struct limiter *limiter;     /* NULL = no per-binding limits */
	struct vault *vault;         /* derives the callback secret of the default ask */
	const char *public_url;      /* no trailing '/' */
	const char *const *api_base; /* [DIALECT_COUNT] carriers' REST base URLs */
	webhook_ask_fn ask;          /* NULL = callback_ask() with vault_derive("callback", service id) */
	void *ask_ctx;
	webhook_create_fn create;    /* NULL = sessions_create() (unit tests script it) */
	void *create_ctx;
};

/* Signature check of the edge: true when the request is signed by svc's credential. */
typedef bool (*webhook_verify_fn)(void *ctx, const struct service *svc);

/* A dialect's REST send of a text its markup cannot carry (hooks/dialect.h
 * build_send contract). */
typedef int (*webhook_build_send_fn)(const struct service *svc, const struct decision *d,
				     const struct hook_render *r, const char *api_base, struct outgoing *out);

/* The carrier dialect a webhook came in by, as the pipeline sees it: never rendered here. */
struct webhook_dialect {
	enum dialect id;
	const char *name;                /* the {dialect} of /hooks/{dialect}/..., for URLs and logs */
	webhook_build_send_fn build_send; /* NULL: its markup forwards every text */
};

struct webhook_request {
	struct webhook_dialect dl;
	const char *event;             /* the path's event word, for log lines */
	const struct hook_input *in;   /* parsed by dl */
	struct arena *arena;           /* the request's: every string of the answer lives here */
	const struct webhook_now *now;
	webhook_verify_fn verify;
	void *verify_ctx;
};

/* The pipeline's answer. status 200: render d with r (r.event left for the edge);
 * otherwise answer text with that status (400, 403, 404, 503). Every pointer is
 * into the request's arena or into rq->in. */
struct webhook_answer {
	int status;
	const char *text;
	struct decision d;
	struct hook_render r;
};

/* A voice or message webhook (channel: enum channel). Never fails: an unknown
 * caller is a refusal, a store failure a 503. */
void webhook_inbound(const struct webhook_env *env, const struct webhook_request *rq, enum channel channel,
		     struct webhook_answer *ans);

/* The digits after a PIN prompt (HOOK_GATHER, /hooks/{dialect}/gather?attempt=N):
 * the caller's own open session with that PIN is routed as if they had dialled
 * their proxy number; otherwise asked again until the service's attempts are used up. */
void webhook_gather(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans);

/* A status callback (HOOK_STATUS: the leg update it reports) or the callee's
 * consent notice of a recorded bridge (HOOK_CONSENT, /hooks/{dialect}/consent?
 * interaction=...: DECISION_ANNOUNCE saying the effective consent message). An
 * unknown interaction is acknowledged and ignored. */
void webhook_status(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans);

/* A click-to-call's first leg answered (HOOK_ANSWER, /hooks/{dialect}/answer?
 * interaction=..., signed like every webhook): the interaction's first participant
 * is routed as if they had dialled their own proxy number, so the other participant
 * is bridged with that proxy number as caller id, under the session's call policy,
 * exactly as an inbound masked call. A session closed or changed since is a spoken
 * refusal (leg 'b' "canceled": nobody else rings). The request's From and To are
 * not trusted: the interaction names the participant. 404 for an unknown or
 * non-click-to-call interaction. */
void webhook_answer(const struct webhook_env *env, const struct webhook_request *rq, struct webhook_answer *ans);

#endif
