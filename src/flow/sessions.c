/* SPDX-License-Identifier: MIT */
/* sessions.c - session create, add-participant and swap, one transaction each;
 * see sessions.h. */
#include "sessions.h"
#include "bind.h"
#include "events.h"
#include "../core/oneway.h"
#include "../core/pin.h"
#include "../core/pool.h"
#include "../core/session.h"
#include "../util/metrics.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/mask.h"
#include "../util/phone.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIN_DRAWS 8

int sessions_participant(const char *number, const char *label, struct participant *p)
{
	assert(number != NULL && p != NULL); /* label NULL = none */
	struct phone_info pi;
	if (phone_is_emergency(number))
		return PARTICIPANT_EMERGENCY; /* DESIGN §6: never masked or proxied */
	if (phone_parse(number, &pi) < 0)
		return PARTICIPANT_INVALID;
	memset(p, 0, sizeof(*p));
	id_new("par", p->id);
	snprintf(p->number, sizeof(p->number), "%s", pi.e164);
	snprintf(p->country, sizeof(p->country), "%s", pi.region);
	snprintf(p->area_code, sizeof(p->area_code), "%s", pi.area_code);
	snprintf(p->region, sizeof(p->region), "%s", pi.geo_region);
	mask_e164(pi.e164, p->masked, sizeof(p->masked));
	snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
	return PARTICIPANT_OK;
}

void sessions_rules(const struct service *svc, const struct pool_rules *overrides, struct create_rules *out)
{
	assert(svc != NULL && out != NULL); /* overrides NULL = none */
	memset(out, 0, sizeof(*out));
	if (overrides != NULL)
		pool_rules_effective(&svc->pool, overrides, &out->pool);
	else
		out->pool = svc->pool;
	out->number_cap = svc->number_cap;
	out->cooloff_reuse = svc->cooloff_reuse;
	out->pool_low_threshold = svc->pool_low_threshold;
}

void sessions_warn_headroom(const struct service *svc, const char *participant_id, int64_t held, int64_t free_left)
{
	assert(svc != NULL && participant_id != NULL);
	if (!pool_near_exhaustion(held, free_left))
		return;
	metrics_inc(MC_POOL_WARNINGS);
	log_warn("service %s: pool use at %lld%% for participant %s: it holds %lld of the %lld numbers it can get; "
		 "add numbers before creates fail",
		 svc->id, (long long)((held * 200 + (held + free_left)) / (2 * (held + free_left))), participant_id,
		 (long long)held,
		 (long long)(held + free_left));
}

int sessions_create(struct store *st, const struct service *svc, struct session *s, int64_t now,
		    struct create_outcome *out)
{
	assert(st != NULL && svc != NULL && s != NULL);
	struct create_rules rules;
	sessions_rules(svc, &s->pool, &rules);
	/* a one-way session's PIN names it to an agent with several (core/oneway.h) */
	int draw_pin = (svc->unknown_caller == UNKNOWN_PIN || s->direction == DIRECTION_ONE_WAY) && s->pin[0] == '\0';
	int hid = s->direction == DIRECTION_ONE_WAY ? oneway_hidden_index(s->participants, s->n_participants) : -1;
	if (hid >= 0 && s->n_participants == 2 && svc->branded_number[0] != '\0' &&
	    s->participants[1 - hid].proxy_e164[0] == '\0')
		snprintf(s->participants[1 - hid].proxy_e164, sizeof(s->participants[1 - hid].proxy_e164), "%s",
			 svc->branded_number);
	int rc = 0;
	for (int attempt = 0; attempt < PIN_DRAWS; attempt++) {
		if (draw_pin) {
			uint8_t rnd[PIN_RANDOM_BYTES(PIN_MAX_LEN)];
			random_bytes(rnd, sizeof(rnd));
			pin_from_random(rnd, sizeof(rnd), svc->pin_length, s->pin);
		}
		memset(out, 0, sizeof(*out));
		rc = sessions_create_bound(st, s, &rules, now, out);
		if (!(rc == MASKD_ECONFLICT && out->failed_index == CREATE_FAIL_PIN && draw_pin))
			break;
	}
	if (rc == 0)
		for (int i = 0; i < s->n_participants; i++)
			sessions_warn_headroom(svc, s->participants[i].id, out->held[i], out->free_left[i]);
	if (rc == MASKD_EEXHAUSTED) {
		int i = out->failed_index >= 0 && out->failed_index < s->n_participants ? out->failed_index : -1;
		(void)events_pool_exhausted(st, svc->id, svc->events_url, svc->events_pull_off, pool_caps_for_mode(s->mode),
					    POOL_REQUEST_SESSION, i, i >= 0 ? s->participants[i].masked : NULL,
					    out->failed_level, now);
	}
	return rc;
}

/* ---------------------------------------------------------------- transactions */

/* One change of in_use: the session counted on a number (up) or taken off it. */
struct count_step {
	const char *number_id;
	int up;
};

/* Counts the session on numbers a and b (either NULL; the same number once) and
 * takes it off old (NULL none), in strcmp order of the ids (PostgreSQL locks the
 * rows in that order, so two such transactions queue instead of deadlocking). A
 * number at the cap or gone since it was chosen: MASKD_ERETRY (a concurrent
 * session took its last place; the next run sees it full). */
static int count_numbers(struct store_tx *tx, const char *a, const char *b, const char *old, int64_t cap)
{
	struct count_step steps[3];
	int n = 0;
	if (a != NULL)
		steps[n++] = (struct count_step){a, 1};
	if (b != NULL && (a == NULL || strcmp(a, b) != 0))
		steps[n++] = (struct count_step){b, 1};
	if (old != NULL)
		steps[n++] = (struct count_step){old, 0};
	for (int i = 1; i < n; i++) /* insertion sort of at most three */
		for (int j = i; j > 0 && strcmp(steps[j - 1].number_id, steps[j].number_id) > 0; j--) {
			struct count_step t = steps[j];
			steps[j] = steps[j - 1];
			steps[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		int rc = steps[i].up ? store_tx_number_count(tx, steps[i].number_id, cap)
				     : store_tx_number_uncount(tx, steps[i].number_id);
		if (rc == MASKD_ECONFLICT || rc == MASKD_ENOTFOUND) {
			log_info("sessions: number %s filled up or went away meanwhile; starting over", steps[i].number_id);
			return MASKD_ERETRY;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct create_ctx {
	struct session *s;
	const struct create_rules *rules;
	int64_t now;
	struct create_outcome *out;
	char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX];
	char bidx_old[SESSION_PARTICIPANTS][STORE_BIDX_MAX]; /* "" unless the index rotates */
	char named[SESSION_PARTICIPANTS][PHONE_E164_MAX + 1];
};

/* Puts back the proxy number the caller named ("" = none): a transaction body that
 * runs again, and a failed operation, leave p's proxy as it was given. */
static void proxy_restore(struct participant *p, const char named[PHONE_E164_MAX + 1])
{
	memcpy(p->proxy_e164, named, PHONE_E164_MAX + 1);
	p->proxy_number_id[0] = '\0';
}

static void outcome_reset(struct create_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->failed_index = -1;
	out->failed_level = GEO_ANY;
}

/* Why the session insert was refused: MASKD_EEXISTS / MASKD_ECONFLICT with the
 * outcome set, or MASKD_ERETRY when the session in the way closed meanwhile. */
static int create_refused(struct store_tx *tx, struct create_ctx *x)
{
	struct session *s = x->s;
	if (s->unique_name[0] != '\0') {
		char existing[ID_MAX];
		char have[SESSION_PARTICIPANTS][STORE_BIDX_MAX];
		int n_have = 0;
		int rc = store_tx_unique_name(tx, s->service_id, s->unique_name, existing, have, &n_have);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			const char *hv[SESSION_PARTICIPANTS], *mine[SESSION_PARTICIPANTS];
			for (int i = 0; i < n_have; i++)
				hv[i] = have[i];
			for (int i = 0; i < s->n_participants; i++)
				mine[i] = x->bidx[i];
			if (pick_same_set(hv, n_have, mine, s->n_participants)) {
				snprintf(x->out->existing_id, sizeof(x->out->existing_id), "%s", existing);
				return MASKD_EEXISTS;
			}
			x->out->failed_index = CREATE_FAIL_UNIQUE_NAME;
			return MASKD_ECONFLICT;
		}
	}
	if (s->pin[0] != '\0') {
		int rc = store_tx_pin_taken(tx, s->service_id, s->pin);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			x->out->failed_index = CREATE_FAIL_PIN;
			return MASKD_ECONFLICT;
		}
	}
	return MASKD_ERETRY;
}

static int create_body(struct store_tx *tx, void *arg)
{
	struct create_ctx *x = arg;
	struct session *s = x->s;
	int n = s->n_participants;
	outcome_reset(x->out);
	for (int i = 0; i < n; i++)
		proxy_restore(&s->participants[i], x->named[i]);
	int rc = store_tx_session_insert(tx, s, session_deadline(s->expires_at, s->ttl, x->now));
	if (rc == MASKD_ECONFLICT)
		rc = create_refused(tx, x);
	if (rc < 0)
		return rc;
	/* one-way (core/oneway.h): the respondent first, on the branded number when
	 * the service has one (a cooling-off binding of it on that number is taken
	 * over: the newest session wins), then the hidden side on the same number,
	 * whose binding is given up at once (store_tx_oneway_mark) */
	int hid = s->direction == DIRECTION_ONE_WAY ? oneway_hidden_index(s->participants, n) : -1;
	struct create_rules oneway_rules = *x->rules;
	oneway_rules.cooloff_reuse = 1;
	struct bind_job jobs[SESSION_PARTICIPANTS];
	for (int k = 0; k < n; k++) {
		int i = hid >= 0 ? (k == 0 ? 1 - hid : hid) : k;
		if (hid >= 0 && i == hid)
			memcpy(s->participants[i].proxy_e164, s->participants[1 - hid].proxy_e164, PHONE_E164_MAX + 1);
		struct bind_job *j = &jobs[i];
		*j = (struct bind_job){.rules = hid >= 0 ? &oneway_rules : x->rules,
				       .service_id = s->service_id,
				       .session_id = s->id,
				       .need = pool_caps_for_mode(s->mode),
				       .now = x->now,
				       .p = &s->participants[i],
				       .idx = i,
				       .bidx = x->bidx[i],
				       .bidx_old = x->bidx_old[i],
				       .peer_bidx = n == 2 ? x->bidx[1 - i] : "",
				       .peer_bidx_old = n == 2 ? x->bidx_old[1 - i] : "",
				       .pending = k > 0 ? s->participants[1 - i].proxy_number_id : NULL};
		rc = bind_participant(tx, j);
		if (rc < 0) {
			x->out->failed_index = i;
			x->out->failed_level = j->failed_level;
			return rc;
		}
		x->out->level[i] = j->level;
		x->out->sticky[i] = j->sticky;
		x->out->reused_cooling[i] = j->reused_cooling;
	}
	if (hid >= 0) {
		rc = store_tx_oneway_mark(tx, s->id, s->participants[hid].id);
		if (rc < 0)
			return rc;
	}
	/* in_use counts sessions: both participants on one number count once */
	rc = count_numbers(tx, s->participants[0].proxy_number_id, n > 1 ? s->participants[1].proxy_number_id : NULL,
			   NULL, x->rules->number_cap);
	if (rc < 0)
		return rc;
	rc = bind_headroom(tx, jobs, n, x->out->held, x->out->free_left);
	if (rc < 0)
		return rc;
	rc = events_record(tx, s->id, EVENT_SESSION_CREATED, events_session_data(s), x->now);
	if (rc < 0)
		return rc;
	return events_pool_low(tx, s->service_id, pool_caps_for_mode(s->mode), x->rules->number_cap,
			       x->rules->pool_low_threshold, x->bidx[0], s->id, POOL_REQUEST_SESSION, x->now);
}

int sessions_create_bound(struct store *st, struct session *s, const struct create_rules *rules, int64_t now,
			  struct create_outcome *out)
{
	assert(st != NULL && s != NULL && rules != NULL && out != NULL);
	outcome_reset(out);
	if (s->n_participants < 1 || s->n_participants > SESSION_PARTICIPANTS)
		return MASKD_EINVAL;
	struct create_ctx x = {.s = s, .rules = rules, .now = now, .out = out};
	for (int i = 0; i < s->n_participants; i++) {
		store_blind_index(st, s->participants[i].number, x.bidx[i]);
		store_blind_index_previous(st, s->participants[i].number, x.bidx_old[i]);
		memcpy(x.named[i], s->participants[i].proxy_e164, sizeof(x.named[i]));
	}
	s->status = SESSION_OPEN;
	s->created_at = s->updated_at = s->last_activity_at = now;
	s->closed_at = 0;
	int n = s->n_participants;
	int rc = store_tx_run(st, create_body, &x);
	if (rc < 0)
		for (int i = 0; i < n && i < SESSION_PARTICIPANTS; i++)
			proxy_restore(&s->participants[i], x.named[i]);
	return rc;
}

/* A session's row and its participants' rows, as a participant transaction reads them. */
struct session_rows {
	struct store_session_brief br;
	const struct store_part_brief *rows; /* br.parts */
	int n;
};

/* The start of a participant transaction (which may run again): puts p's named
 * proxy back, then reads session_id's rows into out. */
static int participant_rows(struct store_tx *tx, const char *session_id, struct participant *p,
			    const char named[PHONE_E164_MAX + 1], struct session_rows *out)
{
	proxy_restore(p, named);
	int rc = store_tx_session_lock(tx, session_id, &out->br);
	out->rows = out->br.parts;
	out->n = rc < 0 ? 0 : out->br.n_parts;
	return rc;
}

/* The part of a participant transaction's bind_job that adding and swapping share. */
static struct bind_job participant_job(const struct session_rows *sr, const char *session_id,
				       const struct create_rules *rules, struct participant *p, int64_t now)
{
	return (struct bind_job){.rules = rules,
				 .service_id = sr->br.service_id,
				 .session_id = session_id,
				 .need = pool_caps_for_mode(sr->br.mode),
				 .now = now,
				 .p = p};
}

struct add_ctx {
	const char *session_id;
	struct participant *p;
	const struct create_rules *rules;
	int64_t now;
	struct create_outcome *out;
	char bidx[STORE_BIDX_MAX];
	char bidx_old[STORE_BIDX_MAX]; /* "" unless the index rotates */
	char named[PHONE_E164_MAX + 1];
	char service_id[ID_MAX]; /* the session's, for a pool.exhausted after the body */
	unsigned need;
};

static int add_body(struct store_tx *tx, void *arg)
{
	struct add_ctx *x = arg;
	outcome_reset(x->out);
	struct session_rows sr;
	int rc = participant_rows(tx, x->session_id, x->p, x->named, &sr);
	if (rc < 0)
		return rc;
	if (sr.br.status >= SESSION_CLOSED || sr.n != 1)
		return MASKD_ECONFLICT; /* failed_index -1 */
	if (strcmp(x->bidx, sr.rows[0].bidx) == 0)
		return MASKD_EINVAL;
	struct bind_job j = participant_job(&sr, x->session_id, x->rules, x->p, x->now);
	snprintf(x->service_id, sizeof(x->service_id), "%s", sr.br.service_id);
	x->need = j.need;
	j.idx = 1;
	j.bidx = x->bidx;
	j.bidx_old = x->bidx_old;
	j.peer_bidx = sr.rows[0].bidx;
	j.counted = sr.rows[0].number_id;
	rc = bind_participant(tx, &j);
	if (rc < 0) {
		x->out->failed_index = 1;
		x->out->failed_level = j.failed_level;
		return rc;
	}
	x->out->level[1] = j.level;
	x->out->sticky[1] = j.sticky;
	x->out->reused_cooling[1] = j.reused_cooling;
	rc = store_tx_peer_set(tx, sr.rows[0].id, x->bidx);
	if (rc == 0 && strcmp(x->p->proxy_number_id, sr.rows[0].number_id) != 0)
		rc = count_numbers(tx, x->p->proxy_number_id, NULL, NULL, x->rules->number_cap);
	if (rc == 0)
		rc = bind_headroom(tx, &j, 1, &x->out->held[1], &x->out->free_left[1]);
	if (rc == 0)
		rc = store_tx_session_touch(tx, x->session_id, x->now);
	if (rc == 0)
		rc = store_tx_event_insert(tx, x->session_id, "participant_added", x->p->id, x->p->proxy_e164, x->now);
	if (rc == 0)
		rc = events_record(tx, x->session_id, EVENT_PARTICIPANT_ADDED,
				   events_session_change(x->session_id, x->p->id, x->p->proxy_e164, NULL), x->now);
	if (rc == 0)
		rc = events_pool_low(tx, sr.br.service_id, j.need, x->rules->number_cap, x->rules->pool_low_threshold,
				     x->bidx, x->session_id, POOL_REQUEST_PARTICIPANT, x->now);
	return rc;
}

int sessions_participant_add(struct store *st, const char *session_id, struct participant *p,
			     const struct create_rules *rules, int64_t now, struct create_outcome *out)
{
	assert(st != NULL && session_id != NULL && p != NULL && rules != NULL && out != NULL);
	struct add_ctx x = {.session_id = session_id, .p = p, .rules = rules, .now = now, .out = out};
	store_blind_index(st, p->number, x.bidx);
	store_blind_index_previous(st, p->number, x.bidx_old);
	memcpy(x.named, p->proxy_e164, sizeof(x.named));
	outcome_reset(out);
	int rc = store_tx_run(st, add_body, &x);
	if (rc < 0)
		proxy_restore(p, x.named);
	if (rc == MASKD_EEXHAUSTED && x.service_id[0] != '\0') {
		struct service *svc = xmalloc(sizeof(*svc));
		if (store_service_get(st, x.service_id, svc) == 0)
			(void)events_pool_exhausted(st, svc->id, svc->events_url, svc->events_pull_off, x.need, POOL_REQUEST_PARTICIPANT, 1,
						    p->masked, out->failed_level, now);
		free(svc);
	}
	return rc;
}

struct swap_ctx {
	const char *session_id, *participant_id;
	struct participant *p;
	const struct create_rules *rules;
	int64_t now;
	char named[PHONE_E164_MAX + 1];
	int (*then)(struct store_tx *tx, void *ctx); /* NULL: none */
	void *then_ctx;
};

static int swap_rows(struct store_tx *tx, struct swap_ctx *x)
{
	struct session_rows sr;
	int rc = participant_rows(tx, x->session_id, x->p, x->named, &sr);
	if (rc < 0)
		return rc;
	const struct store_part_brief *me = NULL, *other = NULL;
	for (int i = 0; i < sr.n; i++) {
		if (strcmp(sr.rows[i].id, x->participant_id) == 0)
			me = &sr.rows[i];
		else
			other = &sr.rows[i];
	}
	if (me == NULL)
		return MASKD_ENOTFOUND;
	if (sr.br.status >= SESSION_CLOSED)
		return MASKD_ECONFLICT;
	struct bind_job j = participant_job(&sr, x->session_id, x->rules, x->p, x->now);
	j.idx = me->idx;
	j.bidx = me->bidx;
	j.peer_bidx = me->peer;
	j.counted = other != NULL ? other->number_id : NULL;
	j.swap_row = me->id;
	j.current = me->number_id;
	rc = bind_participant(tx, &j);
	if (rc < 0)
		return rc;
	/* in_use counts sessions: the session leaves the old number unless the other
	 * side stays on it, and joins the new one unless the other side is there */
	const char *other_number = other != NULL ? other->number_id : "";
	const char *up = strcmp(other_number, x->p->proxy_number_id) != 0 ? x->p->proxy_number_id : NULL;
	const char *down = strcmp(other_number, me->number_id) != 0 ? me->number_id : NULL;
	rc = count_numbers(tx, up, NULL, down, x->rules->number_cap);
	if (rc < 0)
		return rc;
	rc = store_tx_session_touch(tx, x->session_id, x->now);
	if (rc < 0)
		return rc;
	char detail[2 * PHONE_E164_MAX + 8];
	snprintf(detail, sizeof(detail), "%s -> %s", me->e164, x->p->proxy_e164);
	rc = store_tx_event_insert(tx, x->session_id, "number_swapped", x->participant_id, detail, x->now);
	if (rc < 0)
		return rc;
	return events_record(tx, x->session_id, EVENT_PARTICIPANT_NUMBER_SWAPPED,
			     events_session_change(x->session_id, x->participant_id, x->p->proxy_e164, NULL), x->now);
}

/* The swap, then the caller's writes of the same transaction (its audit entry). */
static int swap_body(struct store_tx *tx, void *arg)
{
	struct swap_ctx *x = arg;
	int rc = swap_rows(tx, x);
	if (rc < 0 || x->then == NULL)
		return rc;
	rc = x->then(tx, x->then_ctx);
	return rc < 0 ? rc : 0;
}

int sessions_participant_swap(struct store *st, const char *session_id, const char *participant_id,
			      struct participant *p, const struct create_rules *rules, int64_t now)
{
	return sessions_participant_swap_with(st, session_id, participant_id, p, rules, now, NULL, NULL);
}

int sessions_participant_swap_with(struct store *st, const char *session_id, const char *participant_id,
				   struct participant *p, const struct create_rules *rules, int64_t now,
				   int (*then)(struct store_tx *tx, void *ctx), void *ctx)
{
	assert(st != NULL && session_id != NULL && participant_id != NULL && p != NULL && rules != NULL);
	struct swap_ctx x = {.session_id = session_id, .participant_id = participant_id, .p = p, .rules = rules, .now = now,
			     .then = then, .then_ctx = ctx};
	memcpy(x.named, p->proxy_e164, sizeof(x.named));
	int rc = store_tx_run(st, swap_body, &x);
	if (rc < 0)
		proxy_restore(p, x.named);
	return rc;
}

struct remove_ctx {
	const char *session_id, *participant_id;
	int64_t now;
	int (*then)(struct store_tx *tx, void *ctx);
	void *then_ctx;
};

static int remove_body(struct store_tx *tx, void *arg)
{
	struct remove_ctx *x = arg;
	struct store_session_brief b;
	int rc = store_tx_session_lock(tx, x->session_id, &b);
	if (rc < 0)
		return rc;
	if (b.status >= SESSION_CLOSED)
		return MASKD_ECONFLICT;
	const struct store_part_brief *me = NULL, *other = NULL;
	for (int i = 0; i < b.n_parts; i++) {
		if (strcmp(b.parts[i].id, x->participant_id) == 0)
			me = &b.parts[i];
		else
			other = &b.parts[i];
	}
	if (me == NULL)
		return MASKD_ENOTFOUND;
	rc = store_tx_participant_detach(tx, x->session_id, me->id, session_held_until(x->now, b.cooloff),
					 session_binding_cools(b.cooloff));
	if (rc == 0 && other != NULL)
		rc = store_tx_peer_set(tx, other->id, "");
	/* the only participant's number counted this session alone; a shared one
	 * stays counted for the other */
	if (rc == 0 && (other == NULL || strcmp(me->number_id, other->number_id) != 0))
		rc = store_tx_number_uncount(tx, me->number_id);
	if (rc == 0)
		rc = store_tx_session_touch(tx, x->session_id, x->now);
	if (rc == 0)
		rc = store_tx_event_insert(tx, x->session_id, "participant_removed", me->id, me->e164, x->now);
	if (rc == 0 && x->then != NULL)
		rc = x->then(tx, x->then_ctx);
	return rc < 0 ? rc : 0;
}

int sessions_participant_remove(struct store *st, const char *session_id, const char *participant_id, int64_t now)
{
	return sessions_participant_remove_with(st, session_id, participant_id, now, NULL, NULL);
}

int sessions_participant_remove_with(struct store *st, const char *session_id, const char *participant_id,
				     int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx)
{
	assert(st != NULL && session_id != NULL && participant_id != NULL);
	struct remove_ctx x = {
		.session_id = session_id, .participant_id = participant_id, .now = now, .then = then, .then_ctx = ctx};
	return store_tx_run(st, remove_body, &x);
}
