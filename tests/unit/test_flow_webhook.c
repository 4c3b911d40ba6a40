/* SPDX-License-Identifier: MIT */
/* test_flow_webhook.c - the webhook pipeline (flow/webhook.c) over a fake store
 * (store_wrap with a table of only the entries the pipeline calls), a fixed clock
 * and a scripted callback: a bridge, a refusal, an unknown caller under each
 * policy, STOP/START/HELP, a rate-limited caller, a retried webhook, a bad
 * signature, a status callback and store failures answering 503. No socket, no
 * database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/unknown.h"
#include "flow/webhook.h"
#include "app.h"
#include "util/limiter.h"
#include "store/store_backend.h"
#include "util/err.h"

#define NOW_S 1700000000
#define CALLER "+12125550123"
#define PROXY "+14155550101"
#define PEER "+13105550199"
#define PEER_PROXY "+14155550100"
#define FALLBACK "+18005550100"

struct fake {
	struct service svc;
	struct route_view view; /* route_lookup's answer */
	int lookup_rc, service_rc, record_rc;
	int ended_mark, ended_rc; /* ended_mark's answer: found, or its error */
	struct interaction stored; /* recorded so far (one); a same carrier_sid is a retry */
	int n_records;
	struct route_view pin_view;
	const char *pin; /* the PIN that pin_lookup knows */
	int optout_calls, optout_last;
	int leg_updates;
	int n_events;          /* events the pipeline handed to the store with its writes */
	char event_type[40];   /* the last one's type */
	char event_body[2048]; /* and its document */
	char leg_last;
	char leg_status[32];
	int64_t leg_now;
	struct session created; /* session_create: the last one, and route_lookup then finds it */
	int n_created;
	/* the scripted callback */
	int ask_calls, ask_rc, ask_decision;
	const char *ask_number;
	char ask_from[64];
};

static int f_service_get(void *b, const char *id, struct service *out)
{
	struct fake *f = b;
	if (f->service_rc < 0)
		return f->service_rc;
	*out = f->svc;
	return 0;
}

/* the blind index of a number, as far as the fake knows: the number itself */
static void f_blind_index(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	snprintf(out, STORE_BIDX_MAX, "%s", e164);
}

/* and no index rotation */
static int f_blind_index_other(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	(void)b;
	(void)e164;
	out[0] = '\0';
	return 0;
}

static int f_ended_mark(void *b, const char *bidx, const char *number_id, int *found)
{
	struct fake *f = b;
	(void)bidx;
	(void)number_id;
	*found = f->ended_mark;
	return f->ended_rc;
}

static int f_route_lookup(void *b, const char *to, const char *bidx, struct route_view *out)
{
	struct fake *f = b;
	if (f->lookup_rc < 0)
		return f->lookup_rc;
	*out = f->view;
	return 0;
}

static int f_pin_lookup(void *b, const char *service_id, const char *pin, const char *bidx, struct route_view *out)
{
	struct fake *f = b;
	if (f->pin == NULL || strcmp(pin, f->pin) != 0)
		return MASKD_ENOTFOUND;
	*out = f->pin_view;
	return 0;
}

/* ev as the store would write it with its change */
static void f_event(struct fake *f, const struct store_event *ev)
{
	if (ev == NULL)
		return;
	f->n_events++;
	snprintf(f->event_type, sizeof(f->event_type), "%s", ev->type);
	snprintf(f->event_body, sizeof(f->event_body), "%s", ev->body);
}

static int f_interaction_record(void *b, struct interaction *it, int *existed, const struct store_event *ev)
{
	struct fake *f = b;
	if (f->record_rc < 0)
		return f->record_rc;
	*existed = f->n_records > 0 && strcmp(f->stored.carrier_sid, it->carrier_sid) == 0;
	if (*existed) {
		*it = f->stored;
		return 0;
	}
	f->stored = *it;
	f->n_records++;
	f_event(f, ev);
	return 0;
}

static int f_interaction_get(void *b, const char *id, struct interaction *out)
{
	struct fake *f = b;
	if (f->n_records == 0 || strcmp(f->stored.id, id) != 0)
		return MASKD_ENOTFOUND;
	*out = f->stored;
	return 0;
}

static int f_interaction_by_sid(void *b, enum dialect carrier, const char *sid, struct interaction *out)
{
	struct fake *f = b;
	if (f->n_records == 0 || strcmp(f->stored.carrier_sid, sid) != 0)
		return MASKD_ENOTFOUND;
	*out = f->stored;
	return 0;
}

static int f_leg_update(void *b, const char *id, const char *leg, const char *sid, const struct leg_update *u,
			int64_t now, int64_t ended_at, const struct store_event *ev)
{
	struct fake *f = b;
	f->leg_updates++;
	f_event(f, ev);
	f->leg_last = leg[0];
	snprintf(f->leg_status, sizeof(f->leg_status), "%s", u->status ? u->status : "");
	f->leg_now = now;
	/* the stored interaction shows the leg, as a store's read would */
	struct leg *l = (struct leg *)interaction_leg(&f->stored, leg[0], sid);
	if (l == NULL && f->stored.n_legs < INTERACTION_LEGS_MAX) {
		l = &f->stored.legs[f->stored.n_legs++];
		memset(l, 0, sizeof(*l));
		l->leg = leg[0];
		snprintf(l->carrier_sid, sizeof(l->carrier_sid), "%s", sid);
	}
	if (l != NULL && u->status != NULL)
		snprintf(l->status, sizeof(l->status), "%s", u->status);
	return 0;
}

static int f_optout_set(void *b, const char *service_id, const char *bidx, const char *number_id, int opted_out,
			int64_t now, const struct store_event *ev)
{
	struct fake *f = b;
	f->optout_calls++;
	f_event(f, ev);
	f->optout_last = opted_out;
	return 0;
}

static int f_participant_number(void *b, const char *participant_id, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PEER);
	return 0;
}

static int f_session_get(void *b, const char *id, struct session *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->n_participants = 2;
	snprintf(out->participants[0].id, sizeof(out->participants[0].id), "par_a");
	snprintf(out->participants[1].id, sizeof(out->participants[1].id), "par_b");
	snprintf(out->participants[1].proxy_e164, sizeof(out->participants[1].proxy_e164), "%s", PEER_PROXY);
	out->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	return 0;
}

static int f_session_create(void *ctx, struct store *st, const struct service *svc, struct session *s,
			    int64_t now, struct create_outcome *out)
{
	struct fake *f = ctx;
	if (strcmp(s->participants[0].number, s->participants[1].number) == 0)
		return MASKD_EINVAL; /* sessions_create refuses a caller with themself */
	f->created = *s;
	f->n_created++;
	snprintf(f->view.session_id, sizeof(f->view.session_id), "%s", s->id);
	snprintf(f->view.to_number, sizeof(f->view.to_number), "%s", s->participants[1].number);
	return 0;
}

static const struct store_ops fake_ops;

/* Transactions of the fake: the body runs once, on no connection. */
static int f_tx_run(void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	struct store_tx tx = {.ops = &fake_ops, .b = b, .conn = NULL};
	return body(&tx, ctx);
}

/* No one-way sessions in these tests (test_oneway.c has their rules). */
static int f_tx_oneway_candidates(struct store_tx *tx, const char *service_id, const char *number_id,
				  const char *bidx, const char *bidx_old, int hidden, struct oneway_candidate *out, int limit, int *n)
{
	*n = 0;
	return 0;
}

static int f_tx_oneway_on_number(struct store_tx *tx, const char *service_id, const char *number_id, const char *pin,
				  struct oneway_candidate *out, int limit, int *n)
{
	*n = 0;
	return 0;
}

/* No settings rows: no service here was made through the Twilio Proxy API. */
static int f_setting_get(void *b, const char *key, char *out, size_t cap)
{
	return MASKD_ENOTFOUND;
}

static const struct store_ops fake_ops = {
	.name = "fake",
	.setting_get = f_setting_get,
	.tx_run = f_tx_run,
	.tx_oneway_candidates = f_tx_oneway_candidates,
	.tx_oneway_on_number = f_tx_oneway_on_number,
	.service_get = f_service_get,
	.blind_index = f_blind_index,
	.blind_index_other = f_blind_index_other,
	.route_lookup = f_route_lookup,
	.ended_mark = f_ended_mark,
	.pin_lookup = f_pin_lookup,
	.interaction_record = f_interaction_record,
	.interaction_get = f_interaction_get,
	.interaction_by_sid = f_interaction_by_sid,
	.leg_update = f_leg_update,
	.optout_set = f_optout_set,
	.participant_number = f_participant_number,
	.session_get = f_session_get,
};

static int f_ask(void *ctx, const struct service *svc, const struct callback_query *q, int64_t now,
		 struct callback_answer *out, const char **why)
{
	struct fake *f = ctx;
	f->ask_calls++;
	snprintf(f->ask_from, sizeof(f->ask_from), "%s", q->from_masked);
	assert_int_equal(now, NOW_S);
	memset(out, 0, sizeof(*out));
	out->ttl = -1;
	out->decision = f->ask_decision;
	if (f->ask_number != NULL)
		snprintf(out->number, sizeof(out->number), "%s", f->ask_number);
	*why = f->ask_rc < 0 ? "scripted failure" : NULL;
	return f->ask_rc;
}

static bool verify_yes(void *ctx, const struct service *svc)
{
	return true;
}

static bool verify_no(void *ctx, const struct service *svc)
{
	return false;
}

static const struct webhook_dialect fake_dialect = {.id = DIALECT_TWILIO, .name = "twilio"};
static const char *const api_base[DIALECT_COUNT];

struct fx {
	struct fake f;
	struct store *st;
	struct limiter *lim;
	struct webhook_env env;
	struct webhook_now now;
	struct arena arena;
	struct hook_input in;
	struct webhook_request rq;
	struct webhook_answer ans;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct fake *f = &x->f;
	snprintf(f->svc.id, sizeof(f->svc.id), "svc_test");
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	f->svc.policy = (struct call_policy){.record = 0, .time_limit = 0, .ring_timeout = 0};
	snprintf(f->svc.unknown_caller_message, sizeof(f->svc.unknown_caller_message), "not known");
	snprintf(f->svc.ended_message, sizeof(f->svc.ended_message), "this conversation has ended");
	snprintf(f->svc.help_text, sizeof(f->svc.help_text), "help text");
	snprintf(f->svc.fallback_number, sizeof(f->svc.fallback_number), FALLBACK);
	snprintf(f->svc.pin_number, sizeof(f->svc.pin_number), "+14155550199");
	f->svc.pin_attempts = 3;
	struct route_view *v = &f->view;
	snprintf(v->number.id, sizeof(v->number.id), "num_x");
	snprintf(v->number.service_id, sizeof(v->number.service_id), "svc_test");
	snprintf(v->session_id, sizeof(v->session_id), "ses_x");
	v->session_status = SESSION_OPEN;
	v->session_mode = MODE_VOICE_AND_MESSAGE;
	v->session_last_activity_at = NOW_S - 10;
	snprintf(v->from_participant, sizeof(v->from_participant), "par_a");
	snprintf(v->to_participant, sizeof(v->to_participant), "par_b");
	snprintf(v->to_number, sizeof(v->to_number), PEER);
	snprintf(v->to_proxy_e164, sizeof(v->to_proxy_e164), PEER_PROXY);
	v->session_policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	x->st = store_wrap(&fake_ops, f);
	x->lim = app_limiter_new(64);
	x->env = (struct webhook_env){.store = x->st, .limiter = x->lim, .public_url = "https://maskd.test",
				      .api_base = api_base, .ask = f_ask, .ask_ctx = f,
				      .create = f_session_create, .create_ctx = f};
	x->now = (struct webhook_now){.s = NOW_S, .ms = NOW_S * 1000LL};
	snprintf(x->now.interaction_id, sizeof(x->now.interaction_id), "int_fixed");
	snprintf(x->now.session_id, sizeof(x->now.session_id), "ses_fixed");
	x->arena = (struct arena)ARENA_INIT;
	x->in = (struct hook_input){.event = HOOK_VOICE, .from = CALLER, .to = PROXY, .sid = "CA1"};
	x->rq = (struct webhook_request){.dl = fake_dialect, .event = "voice", .in = &x->in, .arena = &x->arena,
					 .now = &x->now, .verify = verify_yes};
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	store_close(x->st);
	limiter_free(x->lim);
	arena_free(&x->arena);
	free(x);
	return 0;
}

static void call(struct fx *x)
{
	x->in.event = HOOK_VOICE;
	x->rq.event = "voice";
	webhook_inbound(&x->env, &x->rq, CHANNEL_VOICE, &x->ans);
}

static void text(struct fx *x, const char *body)
{
	x->in.event = HOOK_MESSAGE;
	x->in.body = body;
	x->rq.event = "message";
	webhook_inbound(&x->env, &x->rq, CHANNEL_MESSAGE, &x->ans);
}

static void bridge(void **state)
{
	struct fx *x = *state;
	call(x);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, PEER);
	assert_string_equal(x->ans.d.from, PEER_PROXY);
	assert_string_equal(x->ans.r.status_url, "https://maskd.test/hooks/twilio/status?interaction=int_fixed");
	assert_int_equal(x->f.n_records, 1);
	assert_string_equal(x->f.stored.id, "int_fixed"); /* the id drawn at the edge */
	assert_int_equal(x->f.stored.created_at, NOW_S);  /* the clock read at the edge */
	assert_int_equal(x->f.stored.decision, DECISION_BRIDGE);
	assert_string_equal(x->f.stored.carrier_sid, "CA1");
	/* interaction.created, handed to the store with the record; ids and proxy numbers only */
	assert_int_equal(x->f.n_events, 1);
	assert_string_equal(x->f.event_type, "interaction.created");
	assert_non_null(strstr(x->f.event_body, "\"decision\":\"bridge\""));
	assert_non_null(strstr(x->f.event_body, "\"interaction_id\":\"int_fixed\""));
	assert_non_null(strstr(x->f.event_body, "\"reason\":null"));
	assert_null(strstr(x->f.event_body, CALLER));
	assert_null(strstr(x->f.event_body, PEER));
}

static void text_forwarded(void **state)
{
	struct fx *x = *state;
	text(x, "hello");
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_FORWARD_MESSAGE);
	assert_string_equal(x->ans.d.dial, PEER);
	assert_string_equal(x->ans.r.body, "hello");
}

static void ended_session_refused(void **state)
{
	struct fx *x = *state;
	x->f.view.session_status = SESSION_CLOSED;
	call(x);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_int_equal(x->ans.d.reason, ROUTE_SESSION_ENDED);
	assert_string_equal(x->ans.r.say, "this conversation has ended");
	assert_int_equal(x->f.n_records, 1); /* a refusal is an interaction too */
	assert_int_equal(x->f.stored.decision, DECISION_REJECT);
	/* a text on the ended binding is answered with the text, back to its sender */
	x->in.sid = "SM1";
	text(x, "hi");
	assert_int_equal(x->ans.d.kind, DECISION_FORWARD_MESSAGE);
	assert_string_equal(x->ans.d.dial, CALLER);
	assert_string_equal(x->ans.d.from, PROXY);
	assert_string_equal(x->ans.r.body, "this conversation has ended");
	assert_null(x->ans.r.status_url);
}

static void no_binding(struct fx *x)
{
	x->f.view.session_id[0] = '\0';
}

static void unknown_reject(void **state)
{
	struct fx *x = *state;
	no_binding(x);
	call(x);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_string_equal(x->ans.r.say, "not known");
	assert_int_equal(x->f.n_records, 0);
	text(x, "hi");
	assert_int_equal(x->ans.d.kind, DECISION_ACKNOWLEDGE);
}

/* A former participant after the purge (an ended mark): the ended message, by
 * voice and text (no interaction recorded, as for an unknown caller); a mark that cannot be read falls back to
 * the unknown-caller policy. */
static void ended_after_purge(void **state)
{
	struct fx *x = *state;
	no_binding(x);
	x->f.ended_mark = 1;
	call(x);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_int_equal(x->ans.d.reason, ROUTE_SESSION_ENDED);
	assert_string_equal(x->ans.r.say, "this conversation has ended");
	assert_int_equal(x->f.n_records, 0);
	/* a text is answered with the ended message, back to its sender, as in the cool-off */
	text(x, "hi");
	assert_int_equal(x->ans.d.kind, DECISION_FORWARD_MESSAGE);
	assert_string_equal(x->ans.d.dial, CALLER);
	assert_string_equal(x->ans.d.from, PROXY);
	assert_string_equal(x->ans.r.body, "this conversation has ended");
	assert_int_equal(x->f.n_records, 0);
	x->f.ended_rc = MASKD_EDB;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_string_equal(x->ans.r.say, "not known");
}

static void unknown_forward(void **state)
{
	struct fx *x = *state;
	no_binding(x);
	x->f.svc.unknown_caller = UNKNOWN_FORWARD;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, FALLBACK);
	assert_string_equal(x->ans.d.from, PROXY);
	assert_null(x->ans.r.status_url);
}

static void unknown_callback(void **state)
{
	struct fx *x = *state;
	no_binding(x);
	x->f.svc.unknown_caller = UNKNOWN_CALLBACK;
	x->f.ask_decision = CALLBACK_FORWARD;
	x->f.ask_number = "+18005550111";
	call(x);
	assert_int_equal(x->f.ask_calls, 1);
	assert_null(strstr(x->f.ask_from, "5550123")); /* the app sees a masked caller */
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, "+18005550111");
	x->f.ask_decision = CALLBACK_REJECT;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_string_equal(x->ans.r.say, "not known");
	/* a failed callback: closed refuses, open forwards to the fallback */
	x->f.ask_rc = MASKD_ENOTFOUND;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	x->f.svc.callback_fail_open = 1;
	store_close(x->st); /* the service is cached: a fresh store sees the change */
	x->st = x->env.store = store_wrap(&fake_ops, &x->f);
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, FALLBACK);
	assert_int_equal(x->f.ask_calls, 4);
}

/* The callback names a participant: the session is created (with the id drawn at
 * the edge) and the caller routed into it at once. */
static void unknown_callback_session(void **state)
{
	struct fx *x = *state;
	no_binding(x);
	x->f.svc.unknown_caller = UNKNOWN_CALLBACK;
	x->f.ask_decision = CALLBACK_SESSION;
	x->f.ask_number = "+13105550188";
	call(x);
	assert_int_equal(x->f.n_created, 1);
	assert_string_equal(x->f.created.id, "ses_fixed");
	assert_int_equal(x->f.created.n_participants, 2);
	assert_string_equal(x->f.created.participants[0].number, CALLER);
	assert_string_equal(x->f.created.participants[0].proxy_e164, PROXY); /* the dialled number */
	assert_string_equal(x->f.created.participants[1].number, "+13105550188");
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, "+13105550188");
	assert_string_equal(x->f.stored.session_id, "ses_fixed");
	/* a session of the caller with themself is not created: the failure policy */
	x->f.n_created = 0;
	no_binding(x);
	x->f.ask_number = CALLER;
	x->in.sid = "CA2";
	call(x);
	assert_int_equal(x->f.n_created, 0);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
}

static void unknown_pin(void **state)
{
	struct fx *x = *state;
	x->f.svc.unknown_caller = UNKNOWN_PIN;
	x->in.to = "+14155550199";
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_GATHER);
	assert_string_equal(x->ans.r.say, UNKNOWN_PIN_PROMPT);
	assert_string_equal(x->ans.r.gather_url, "https://maskd.test/hooks/twilio/gather?attempt=1");
	/* a wrong PIN: asked again */
	x->in.event = HOOK_GATHER;
	x->in.digits = "0000";
	x->f.pin = "123456";
	webhook_gather(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.d.kind, DECISION_GATHER);
	assert_string_equal(x->ans.r.gather_url, "https://maskd.test/hooks/twilio/gather?attempt=2");
	/* the right PIN: routed in the session it names */
	x->in.digits = "123456";
	x->f.pin_view = x->f.view;
	webhook_gather(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, PEER);
	/* off the PIN number, a gather is refused */
	x->in.to = PROXY;
	webhook_gather(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_string_equal(x->ans.r.say, "not known");
}

static void keywords(void **state)
{
	struct fx *x = *state;
	x->in.sid = "SM1";
	text(x, "STOP");
	assert_int_equal(x->ans.d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(x->ans.d.reason, ROUTE_KEYWORD);
	assert_int_equal(x->f.optout_calls, 1);
	assert_int_equal(x->f.optout_last, 1);
	/* the keyword's interaction.created, then message.opted_out with the opt-out row */
	assert_int_equal(x->f.n_events, 2);
	assert_string_equal(x->f.event_type, "message.opted_out");
	assert_null(strstr(x->f.event_body, CALLER));
	assert_non_null(strstr(x->f.event_body, "\"from\":\"+1******0123\""));
	x->in.sid = "SM2";
	text(x, " start ");
	assert_int_equal(x->f.optout_calls, 2);
	assert_int_equal(x->f.optout_last, 0);
	assert_int_equal(x->f.n_events, 4);
	assert_string_equal(x->f.event_type, "message.opted_in");
	x->in.sid = "SM3";
	text(x, "HELP");
	assert_int_equal(x->f.optout_calls, 2);
	assert_int_equal(x->ans.d.kind, DECISION_FORWARD_MESSAGE); /* the help text, back to the sender */
	assert_string_equal(x->ans.d.dial, CALLER);
	assert_string_equal(x->ans.r.body, "help text");
	/* with no session on the number, STOP is still recorded and never relayed */
	no_binding(x);
	x->in.sid = "SM4";
	text(x, "STOP");
	assert_int_equal(x->f.optout_calls, 3);
	assert_int_equal(x->ans.d.kind, DECISION_ACKNOWLEDGE);
}

static void rate_limited(void **state)
{
	struct fx *x = *state;
	x->f.svc.rate_calls = 1;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	x->in.sid = "CA2";
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_REJECT);
	assert_int_equal(x->ans.d.reason, ROUTE_RATE_LIMITED);
	assert_non_null(x->ans.r.say);
	/* an hour later (the clock passed in), allowed again */
	x->now.s += 7200;
	x->now.ms += 7200 * 1000LL;
	x->f.view.session_last_activity_at = x->now.s;
	x->in.sid = "CA3";
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
}

static void retry_replayed(void **state)
{
	struct fx *x = *state;
	call(x);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	/* the same call id again, after the session changed: the first answer again */
	x->f.view.session_status = SESSION_CLOSED;
	snprintf(x->now.interaction_id, sizeof(x->now.interaction_id), "int_other");
	call(x);
	assert_int_equal(x->f.n_records, 1);
	assert_int_equal(x->f.n_events, 1); /* the retry wrote no second interaction.created */
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_BRIDGE);
	assert_string_equal(x->ans.d.dial, PEER);
	assert_string_equal(x->ans.d.from, PEER_PROXY);
	assert_string_equal(x->ans.r.status_url, "https://maskd.test/hooks/twilio/status?interaction=int_fixed");
}

static void store_failures_503(void **state)
{
	struct fx *x = *state;
	x->f.service_rc = MASKD_EDB; /* first: a loaded service is cached */
	call(x);
	assert_int_equal(x->ans.status, 503);
	x->f.service_rc = 0;
	x->f.lookup_rc = MASKD_EDB;
	call(x);
	assert_int_equal(x->ans.status, 503);
	x->f.lookup_rc = 0;
	x->f.record_rc = MASKD_EDB;
	call(x);
	assert_int_equal(x->ans.status, 503);
	assert_int_equal(x->f.n_records, 0);
}

static void refused_requests(void **state)
{
	struct fx *x = *state;
	x->rq.verify = verify_no;
	call(x);
	assert_int_equal(x->ans.status, 403);
	assert_int_equal(x->f.n_records, 0);
	x->rq.verify = verify_yes;
	x->in.to = NULL;
	call(x);
	assert_int_equal(x->ans.status, 400);
	x->in.to = "sip:someone";
	call(x);
	assert_int_equal(x->ans.status, 404);
	x->in.to = PROXY;
	x->f.view.number.id[0] = '\0';
	call(x);
	assert_int_equal(x->ans.status, 404);
}

static void status_callback(void **state)
{
	struct fx *x = *state;
	snprintf(x->now.interaction_id, sizeof(x->now.interaction_id), "int_aaaabbbbccccddddeeeeffff"); /* a valid shape */
	call(x);
	x->in = (struct hook_input){.event = HOOK_STATUS, .interaction_id = "int_aaaabbbbccccddddeeeeffff"};
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA9", .status = "completed", .duration = 30};
	x->rq.event = "status";
	x->now.s += 40;
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA9", .status = "ringing", .duration = -1};
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->f.leg_updates, 1);
	assert_string_equal(x->f.leg_status, "ringing");
	assert_int_equal(x->f.n_events, 2);
	assert_string_equal(x->f.event_type, "leg.updated");
	assert_non_null(strstr(x->f.event_body, "\"billable_seconds\":null"));
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA9", .status = "completed", .duration = 30};
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->ans.d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(x->f.leg_updates, 2);
	assert_int_equal(x->f.leg_last, 'b');
	assert_string_equal(x->f.leg_status, "completed");
	assert_int_equal(x->f.leg_now, NOW_S + 40);
	/* a final status: leg.completed, with the billable seconds */
	assert_int_equal(x->f.n_events, 3);
	assert_string_equal(x->f.event_type, "leg.completed");
	assert_non_null(strstr(x->f.event_body, "\"billable_seconds\":30"));
	/* a "ringing" delivered after the end is late: acknowledged, nothing written */
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA9", .status = "ringing", .duration = -1};
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->f.leg_updates, 2);
	assert_int_equal(x->f.n_events, 3);
	/* a late status with a recording: the recording is written, the status is not */
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA9", .status = "in-progress", .duration = 0,
					.answered = 1, .recording_id = "RE1", .recording_url = "https://rec.example/RE1"};
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->f.leg_updates, 3);
	assert_string_equal(x->f.leg_status, "");
	assert_string_equal(interaction_leg(&x->f.stored, 'b', "CA9")->status, "completed");
	assert_int_equal(x->f.n_events, 4);
	assert_string_equal(x->f.event_type, "leg.updated");
	assert_null(strstr(x->f.event_body, "in-progress"));
	/* another leg of the same side (a new carrier id) is a leg of its own */
	x->in.st = (struct hook_status){.leg = 'b', .sid = "CA10", .status = "ringing", .duration = -1};
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->f.leg_updates, 4);
	assert_string_equal(x->f.leg_status, "ringing");
	x->f.leg_updates = 1;
	/* an unknown interaction is acknowledged and ignored */
	x->in.interaction_id = "int_aaaabbbbccccddddeeeegggg";
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 200);
	assert_int_equal(x->f.leg_updates, 1);
	/* a bad signature on a known one is refused */
	x->in.interaction_id = "int_aaaabbbbccccddddeeeeffff";
	x->rq.verify = verify_no;
	webhook_status(&x->env, &x->rq, &x->ans);
	assert_int_equal(x->ans.status, 403);
	assert_int_equal(x->f.leg_updates, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(text_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(ended_session_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(ended_after_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_callback_session, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(store_failures_503, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(status_callback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
