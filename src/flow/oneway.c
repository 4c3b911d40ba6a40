/* SPDX-License-Identifier: MIT */
/* oneway.c - the webhook side of one-way sessions (core/oneway.h has the
 * rules): an agent dialling the branded number is bridged to its one open
 * session's respondent, or asked for the PIN of one of several; a respondent
 * calling it back reaches the hidden participant of its most recent one-way
 * session within the callback window, and after it the fallback number or the
 * unknown-caller policy. Reads happen in one store transaction; the answer is
 * the pipeline's (webhook_internal.h). Log lines carry ids and masked numbers. */
#include "webhook_internal.h"
#include "../core/oneway.h"
#include "../core/pin.h"
#include "../core/session.h"
#include "../core/unknown.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"

#include <string.h>

/* One caller's one-way rows on the dialled number, both sides, and (when the
 * rules named one) the route view of the chosen row. */
struct oneway_read {
	const char *service_id, *number_id, *from;
	struct oneway_candidate agent[ONEWAY_CANDIDATES_MAX];
	int n_agent;
	struct oneway_candidate resp[ONEWAY_CANDIDATES_MAX];
	int n_resp;
};

static int read_body(struct store_tx *tx, void *ctx)
{
	struct oneway_read *r = ctx;
	r->n_agent = r->n_resp = 0;
	int rc = store_tx_oneway_candidates(tx, r->service_id, r->number_id, r->from, 1, r->agent, ONEWAY_CANDIDATES_MAX,
					    &r->n_agent);
	if (rc < 0)
		return rc;
	return store_tx_oneway_candidates(tx, r->service_id, r->number_id, r->from, 0, r->resp, ONEWAY_CANDIDATES_MAX,
					  &r->n_resp);
}

struct view_read {
	const char *participant_id;
	struct route_view *v;
};

static int view_body(struct store_tx *tx, void *ctx)
{
	struct view_read *r = ctx;
	return store_tx_oneway_view(tx, r->participant_id, r->v);
}

/* The route view of row participant_id, with the dialled number kept: 0 or the
 * store's error. */
static int view_of(struct wctx *h, const char *participant_id, struct route_view *v)
{
	*v = (struct route_view){.number = h->v.number};
	struct view_read r = {.participant_id = participant_id, .v = v};
	return store_tx_run(h->env->store, view_body, &r);
}

static int read_candidates(struct wctx *h, struct oneway_read *r)
{
	r->service_id = h->svc.id;
	r->number_id = h->v.number.id;
	r->from = h->in->from;
	return store_tx_run(h->env->store, read_body, r);
}

static bool answer_failed(struct wctx *h, int rc, const char *what)
{
	log_error("webhook %s %s %s: one-way %s failed: %s", h->dl->name, h->rq->event, h->in->sid, what,
		  maskd_strerror(rc));
	webhook_fail(h, 503, MW_ERROR, "temporarily unavailable");
	return true;
}

/* Bridges (or forwards) through the session of row participant_id. within_window:
 * the rules found the session inside the callback window, so one that ended is
 * shown to route_inbound as open (the session itself stays closed: the
 * interaction's activity update touches live sessions only). A blocked one stays
 * blocked. */
static bool route_row(struct wctx *h, const char *participant_id, enum channel channel, bool within_window)
{
	struct route_view v;
	int rc = view_of(h, participant_id, &v);
	if (rc < 0)
		return answer_failed(h, rc, "view");
	if (within_window && v.session_status != SESSION_BLOCKED &&
	    !session_live(v.session_status, v.session_expires_at, v.session_ttl, v.session_last_activity_at,
			  h->rq->now->s)) {
		v.session_status = SESSION_OPEN;
		v.session_expires_at = 0;
		v.session_ttl = 0;
	}
	webhook_route_decide(h, &h->svc, &v, channel);
	return true;
}

/* After the window: the service's fallback number when it has one, else its
 * unknown-caller policy. */
static bool after_window(struct wctx *h, enum channel channel)
{
	if (h->svc.fallback_number[0] == '\0') {
		webhook_unknown(h, channel);
		return true;
	}
	struct inbound inb = {.channel = channel, .from = h->in->from, .to = h->in->to, .body = h->in->body,
			      .n_media = h->in->n_media};
	enum unknown_caller keep = h->svc.unknown_caller;
	h->svc.unknown_caller = UNKNOWN_FORWARD;
	struct unknown_outcome o;
	unknown_decide(&h->svc, &inb, &o);
	h->svc.unknown_caller = keep;
	webhook_answer_plain(h, &h->svc, &o.d, o.say, "");
	webhook_settle(h);
	return true;
}

bool webhook_oneway_inbound(struct wctx *h, enum channel channel)
{
	const struct route_view *bound = &h->v;
	int64_t now = h->rq->now->s;
	if (bound->session_id[0] != '\0' && bound->session_status != SESSION_BLOCKED &&
	    session_live(bound->session_status, bound->session_expires_at, bound->session_ttl,
			 bound->session_last_activity_at, now))
		return false; /* an open binding routes as every binding does */
	const char *f = h->in->from;
	if (f == NULL || f[0] != '+' || h->v.number.id[0] == '\0')
		return false;
	struct oneway_read r;
	int rc = read_candidates(h, &r);
	if (rc < 0)
		return answer_failed(h, rc, "lookup");
	int which = -1;
	enum oneway_agent plan = oneway_agent_plan(r.agent, r.n_agent, now, &which);
	if (plan == ONEWAY_AGENT_BRIDGE) {
		log_info("webhook %s %s %s: agent %s on %s: its one open one-way session %s", h->dl->name, h->rq->event,
			 h->in->sid, h->from_masked, h->v.number.id, r.agent[which].session_id);
		return route_row(h, r.agent[which].participant_id, channel, false);
	}
	if (plan == ONEWAY_AGENT_ASK_PIN) {
		log_info("webhook %s %s %s: agent %s on %s: several open one-way sessions; asking for a PIN", h->dl->name,
			 h->rq->event, h->in->sid, h->from_masked, h->v.number.id);
		if (channel == CHANNEL_VOICE) {
			webhook_ask_pin(h, 1, ONEWAY_PIN_PROMPT);
			return true;
		}
		struct decision d;
		route_refuse(&d, channel, ROUTE_WRONG_PIN);
		webhook_answer_plain(h, &h->svc, &d, ONEWAY_SEVERAL_TEXT, "");
		webhook_settle(h);
		return true;
	}
	if (r.n_resp == 0)
		return false;
	/* a binding of a two-way session, newer than every one-way one: its rules answer */
	if (bound->session_id[0] != '\0') {
		bool mine = false;
		for (int i = 0; i < r.n_resp; i++)
			mine = mine || strcmp(r.resp[i].session_id, bound->session_id) == 0;
		if (!mine)
			return false;
	}
	int pick = oneway_callback_pick(r.resp, r.n_resp, now, h->svc.callback_window);
	if (pick >= 0) {
		log_info("webhook %s %s %s: respondent %s on %s: call back to one-way session %s", h->dl->name,
			 h->rq->event, h->in->sid, h->from_masked, h->v.number.id, r.resp[pick].session_id);
		return route_row(h, r.resp[pick].participant_id, channel, true);
	}
	log_info("webhook %s %s %s: respondent %s on %s: past the callback window of service %s", h->dl->name,
		 h->rq->event, h->in->sid, h->from_masked, h->v.number.id, h->svc.id);
	return after_window(h, channel);
}

/* The hidden rows of one-way sessions on the dialled number still marked open,
 * with PIN pin when not NULL: ONEWAY_CANDIDATES_MAX of them at most. */
struct on_number_read {
	const char *service_id, *number_id, *pin;
	struct oneway_candidate rows[ONEWAY_CANDIDATES_MAX];
	int n;
};

static int on_number_body(struct store_tx *tx, void *ctx)
{
	struct on_number_read *r = ctx;
	return store_tx_oneway_on_number(tx, r->service_id, r->number_id, r->pin, r->rows, ONEWAY_CANDIDATES_MAX, &r->n);
}

static int read_on_number(struct wctx *h, const char *pin, struct on_number_read *r)
{
	r->service_id = h->svc.id;
	r->number_id = h->v.number.id;
	r->pin = pin;
	r->n = 0;
	return store_tx_run(h->env->store, on_number_body, r);
}

bool webhook_oneway_unknown(struct wctx *h, enum channel channel)
{
	if (h->svc.unknown_caller != UNKNOWN_PIN || channel != CHANNEL_VOICE || h->v.number.id[0] == '\0')
		return false;
	struct on_number_read r;
	int rc = read_on_number(h, NULL, &r);
	if (rc < 0)
		return answer_failed(h, rc, "lookup");
	if (!oneway_stranger_asked(h->svc.unknown_caller, channel, r.rows, r.n, h->rq->now->s))
		return false;
	/* the caller's number stays out of this line: only the number's and service's ids */
	log_info("webhook %s %s %s: a caller not known on %s, which carries open one-way sessions: asking for a PIN "
		 "(service %s)", h->dl->name, h->rq->event, h->in->sid, h->v.number.id, h->svc.id);
	webhook_ask_pin(h, 1, UNKNOWN_PIN_PROMPT);
	return true;
}

/* A gather from a caller who is no agent here, on a number that is not the
 * service's PIN number (policy pin): the PIN of an open one-way session on the
 * number bridges to its respondent as its agent would be; any other PIN is a
 * PIN policy's PIN (a session in which the caller is a participant), else a
 * wrong attempt. False when the number carries no one-way session marked open
 * (the gather is refused as on any number but the PIN number). */
static bool stranger_gather(struct wctx *h)
{
	if (h->svc.unknown_caller != UNKNOWN_PIN)
		return false;
	const char *digits = h->in->digits;
	struct on_number_read r;
	int rc = read_on_number(h, pin_valid(digits) ? digits : NULL, &r);
	if (rc < 0)
		return answer_failed(h, rc, "lookup");
	int pick = pin_valid(digits) ? oneway_stranger_pin_pick(r.rows, r.n, digits) : -1;
	if (pick >= 0) {
		metrics_inc(MC_PIN_ACCEPTED);
		log_info("webhook %s gather %s: a one-way PIN on %s: session %s, through its hidden participant %s",
			 h->dl->name, h->in->sid, h->v.number.id, r.rows[pick].session_id, r.rows[pick].participant_id);
		return route_row(h, r.rows[pick].participant_id, CHANNEL_VOICE, false);
	}
	if (r.n == 0 && pin_valid(digits)) {
		rc = read_on_number(h, NULL, &r); /* is this a one-way number at all? */
		if (rc < 0)
			return answer_failed(h, rc, "lookup");
	}
	if (r.n == 0)
		return false;
	struct route_view pv = h->v;
	rc = pin_valid(digits) ? store_pin_lookup(h->env->store, h->svc.id, digits, h->in->from, &pv) : MASKD_ENOTFOUND;
	if (rc < 0 && rc != MASKD_ENOTFOUND)
		return answer_failed(h, rc, "PIN lookup");
	if (rc == 0) {
		metrics_inc(MC_PIN_ACCEPTED);
		log_info("webhook %s gather %s: PIN accepted on %s for a participant of session %s", h->dl->name, h->in->sid,
			 h->v.number.id, pv.session_id);
		webhook_route_decide(h, &h->svc, &pv, CHANNEL_VOICE);
		return true;
	}
	metrics_inc(MC_PIN_REJECTED);
	struct unknown_outcome o;
	int attempt = 0;
	int next = unknown_pin_retry(&h->svc, form_get(&h->in->query, "attempt"), &attempt, &o);
	log_info("webhook %s gather %s: wrong or missing PIN on %s (attempt %d of %d)%s", h->dl->name, h->in->sid,
		 h->v.number.id, attempt, h->svc.pin_attempts, next ? "; asking again" : "; refused");
	if (next > 0) {
		webhook_ask_pin(h, next, UNKNOWN_PIN_WRONG " " UNKNOWN_PIN_PROMPT);
		return true;
	}
	webhook_answer_plain(h, &h->svc, &o.d, o.say, "");
	webhook_settle(h);
	return true;
}

bool webhook_oneway_gather(struct wctx *h)
{
	const char *f = h->in->from;
	if (f == NULL || f[0] != '+' || h->v.number.id[0] == '\0')
		return false;
	struct oneway_read r;
	int rc = read_candidates(h, &r);
	if (rc < 0)
		return answer_failed(h, rc, "lookup");
	int64_t now = h->rq->now->s;
	int which = -1;
	if (oneway_agent_plan(r.agent, r.n_agent, now, &which) == ONEWAY_AGENT_NONE)
		return stranger_gather(h);
	const char *digits = h->in->digits;
	int pick = digits != NULL && pin_valid(digits) ? oneway_pin_pick(r.agent, r.n_agent, digits, now) : -1;
	if (pick >= 0) {
		log_info("webhook %s gather %s: agent %s chose one-way session %s by its PIN", h->dl->name, h->in->sid,
			 h->from_masked, r.agent[pick].session_id);
		return route_row(h, r.agent[pick].participant_id, CHANNEL_VOICE, false);
	}
	struct unknown_outcome o;
	int attempt = 0;
	int next = unknown_pin_retry(&h->svc, form_get(&h->in->query, "attempt"), &attempt, &o);
	log_info("webhook %s gather %s: agent %s: wrong or missing one-way PIN (attempt %d of %d)%s", h->dl->name,
		 h->in->sid, h->from_masked, attempt, h->svc.pin_attempts, next ? "; asking again" : "; refused");
	if (next > 0) {
		webhook_ask_pin(h, next, UNKNOWN_PIN_WRONG " " ONEWAY_PIN_PROMPT);
		return true;
	}
	webhook_answer_plain(h, &h->svc, &o.d, o.say, "");
	webhook_settle(h);
	return true;
}
