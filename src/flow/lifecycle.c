/* SPDX-License-Identifier: MIT */
/* lifecycle.c - session close / block / re-open / update, expiry, cool-off release
 * and retention purge over the store's row primitives; see lifecycle.h. The rules
 * are core/session.h's; this file only reads rows, asks the rules, and writes. */
#include "lifecycle.h"
#include "events.h"
#include "../core/model.h"
#include "../core/session.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* in_use changes of one transaction, applied together at its end so that the
 * number rows are taken last and in one order (store_tx_numbers_in_use_add). */
struct in_use_acc {
	char (*num)[ID_MAX]; /* copies: the briefs they come from do not outlive a loop turn */
	const char **id;     /* id[i] = num[i], as store_tx_numbers_in_use_add takes them */
	int *delta;
	int n, cap;
};

static void acc_init(struct in_use_acc *a, int cap)
{
	a->num = xcalloc((size_t)cap, ID_MAX);
	a->id = xcalloc((size_t)cap, sizeof(*a->id));
	a->delta = xcalloc((size_t)cap, sizeof(*a->delta));
	a->n = 0;
	a->cap = cap;
}

static void acc_free(struct in_use_acc *a)
{
	free(a->num);
	free(a->id);
	free(a->delta);
}

/* Counts session b once on each distinct number its rows hold (all rows, or only
 * those holding a binding when active_only): in_use counts sessions, not rows. */
static void acc_session(struct in_use_acc *a, const struct store_session_brief *b, bool active_only, int delta)
{
	assert(b->n_parts >= 0 && b->n_parts <= SESSION_PARTICIPANTS);
	int n = b->n_parts < SESSION_PARTICIPANTS ? b->n_parts : SESSION_PARTICIPANTS;
	for (int i = 0; i < n; i++) {
		if (active_only && !b->parts[i].active)
			continue;
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= (!active_only || b->parts[j].active) &&
			       strcmp(b->parts[j].number_id, b->parts[i].number_id) == 0;
		if (dup)
			continue;
		assert(a->n < a->cap);
		memcpy(a->num[a->n], b->parts[i].number_id, ID_MAX);
		a->id[a->n] = a->num[a->n];
		a->delta[a->n++] = delta;
	}
}

static int acc_apply(struct store_tx *tx, const struct in_use_acc *a)
{
	int rc = store_tx_numbers_in_use_add(tx, a->id, a->delta, a->n);
	return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- close */

/* Closes or blocks locked session b inside tx (the rules of session_close_step);
 * in_use changes go to acc. Returns 1 when the status changed, 0 when not. */
static int close_locked(struct store_tx *tx, struct store_session_brief *b, enum session_status status, int64_t now,
			const char *why, struct in_use_acc *acc)
{
	enum session_close_step step;
	int rc = session_close_step(b->status, status, &step);
	if (rc < 0 || step == SESSION_CLOSE_NONE)
		return rc;
	b->status = status;
	b->updated_at = now;
	if (step == SESSION_CLOSE_BINDINGS)
		b->closed_at = now;
	rc = store_tx_session_put(tx, b->id, b, 0);
	if (rc == 0 && step == SESSION_CLOSE_BINDINGS) {
		acc_session(acc, b, true, -1);
		rc = store_tx_bindings_hold(tx, b->id, session_held_until(now, b->cooloff),
					    session_binding_cools(b->cooloff));
	}
	if (rc >= 0)
		rc = store_tx_event_insert(tx, b->id, session_event_kind(status), NULL, why, now);
	if (rc >= 0)
		rc = events_record(tx, b->id, EVENT_SESSION_CLOSED,
				   events_session_change(b->id, NULL, NULL,
							 status == SESSION_BLOCKED ? "blocked" : why[0] ? why : "api"),
				   now);
	return rc < 0 ? rc : 1;
}

/* One PATCH of a session that does not re-open it: ttl and expires_at (NULL
 * leaves a field alone), then a close or block (status -1: none), all in one
 * transaction. changed: whether the close or block changed the status. */
struct change_job {
	const char *id;
	const int64_t *ttl, *expires_at;
	int status;
	int64_t now;
	bool changed;
	int (*then)(struct store_tx *tx, void *ctx); /* NULL: none */
	void *then_ctx;
};

/* session.updated for b's ttl and expires_at, as now written. */
static int updated_event(struct store_tx *tx, const struct store_session_brief *b, int64_t now)
{
	json_t *d = events_session_change(b->id, NULL, NULL, NULL);
	json_object_set_new(d, "ttl", json_integer(b->ttl));
	json_object_set_new(d, "expires_at", b->expires_at ? json_integer(b->expires_at) : json_null());
	return events_record(tx, b->id, EVENT_SESSION_UPDATED, d, now);
}

static int change_rows(struct store_tx *tx, struct change_job *j)
{
	j->changed = false;
	struct store_session_brief b;
	int rc = store_tx_session_lock(tx, j->id, &b);
	if (rc < 0)
		return rc;
	bool fields = j->ttl != NULL || j->expires_at != NULL;
	if (j->ttl != NULL)
		b.ttl = *j->ttl;
	if (j->expires_at != NULL)
		b.expires_at = *j->expires_at;
	if (fields)
		b.updated_at = j->now;
	if (j->status >= 0) {
		struct in_use_acc acc;
		acc_init(&acc, SESSION_PARTICIPANTS);
		rc = close_locked(tx, &b, (enum session_status)j->status, j->now, "", &acc);
		if (rc >= 0)
			j->changed = rc > 0;
		if (rc >= 0)
			rc = acc_apply(tx, &acc);
		acc_free(&acc);
		if (rc < 0 || !fields)
			return rc < 0 ? rc : 0;
		if (j->changed)
			return updated_event(tx, &b, j->now); /* the close wrote the fields */
	}
	rc = store_tx_session_put(tx, b.id, &b, session_deadline(b.expires_at, b.ttl, b.last_activity_at));
	return rc < 0 ? rc : updated_event(tx, &b, j->now);
}

/* The change, then the caller's writes of the same transaction (its audit entry). */
static int change_body(struct store_tx *tx, void *ctx)
{
	struct change_job *j = ctx;
	int rc = change_rows(tx, j);
	if (rc < 0 || j->then == NULL)
		return rc;
	rc = j->then(tx, j->then_ctx);
	return rc < 0 ? rc : 0;
}

static int change_run(struct store *st, struct change_job *j, bool *changed)
{
	int rc = store_tx_run(st, change_body, j);
	if (changed != NULL)
		*changed = rc == 0 && j->changed;
	return rc;
}

int lifecycle_close_tx(struct store_tx *tx, const char *id, int64_t now, bool *changed)
{
	assert(tx != NULL && id != NULL && changed != NULL);
	struct change_job j = {.id = id, .status = SESSION_CLOSED, .now = now};
	int rc = change_rows(tx, &j);
	*changed = rc == 0 && j.changed;
	return rc;
}

int lifecycle_close(struct store *st, const char *id, enum session_status status, int64_t now)
{
	return lifecycle_change(st, id, NULL, NULL, (int)status, now, NULL);
}

/* ---------------------------------------------------------------- re-open, update */

struct reopen_job {
	const char *id;
	const int64_t *ttl, *expires_at;
	int64_t now;
	int failed_index;
	int (*then)(struct store_tx *tx, void *ctx); /* NULL: none */
	void *then_ctx;
};

static int failed_index_of(enum session_refusal why)
{
	switch (why) {
	case SESSION_REFUSE_PURGED:
		return CREATE_FAIL_PURGED;
	case SESSION_REFUSE_NAME:
		return CREATE_FAIL_UNIQUE_NAME;
	case SESSION_REFUSE_PIN:
		return CREATE_FAIL_PIN;
	case SESSION_REFUSE_NONE:
	case SESSION_REFUSE_EXPIRED:
		break;
	}
	return -1;
}

/* Keeps or takes again each participant's binding (session_reopen_binding). */
static int rebind_all(struct store_tx *tx, const struct store_session_brief *b, int *failed_index)
{
	for (int i = 0; i < b->n_parts; i++) {
		const struct store_part_brief *p = &b->parts[i];
		int rc = 0;
		if (session_reopen_binding(p->active) == SESSION_REBIND_KEEP)
			rc = store_tx_binding_keep(tx, p->id); /* 0: released meanwhile */
		if (rc == 0)
			rc = store_tx_binding_take(tx, p->id, NUMBER_RETIRED);
		if (rc == 0 || rc == MASKD_ECONFLICT) {
			*failed_index = p->idx;
			return MASKD_ECONFLICT;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int reopen_rows(struct store_tx *tx, struct reopen_job *j)
{
	j->failed_index = -1;
	struct store_session_brief b;
	int rc = store_tx_session_lock(tx, j->id, &b);
	if (rc < 0)
		return rc;
	struct session_reopen_facts f = {
		.status = b.status,
		.expires_at = j->expires_at != NULL ? *j->expires_at : b.expires_at,
	};
	for (int i = 0; i < b.n_parts; i++)
		f.purged |= b.parts[i].purged != 0;
	if (b.status >= SESSION_CLOSED && (b.unique_name[0] != '\0' || b.pin[0] != '\0')) {
		int name = 0, pin = 0;
		rc = store_tx_open_taken(tx, b.service_id, b.id, b.unique_name, b.pin, &name, &pin);
		if (rc < 0)
			return rc;
		f.name_taken = name != 0;
		f.pin_taken = pin != 0;
	}
	enum session_refusal why;
	rc = session_reopen_verdict(&f, j->now, &why);
	if (rc == 1) {
		if (j->ttl == NULL)
			return 0; /* open already: no change */
		b.ttl = *j->ttl;
		b.updated_at = j->now;
		return store_tx_session_put(tx, b.id, &b, session_deadline(b.expires_at, b.ttl, b.last_activity_at));
	}
	if (rc < 0) {
		j->failed_index = failed_index_of(why);
		return rc;
	}
	rc = rebind_all(tx, &b, &j->failed_index);
	if (rc < 0)
		return rc;
	struct in_use_acc acc;
	acc_init(&acc, SESSION_PARTICIPANTS);
	acc_session(&acc, &b, false, +1);
	int want = acc.n;
	rc = store_tx_numbers_in_use_add(tx, acc.id, acc.delta, acc.n);
	acc_free(&acc);
	if (rc >= 0 && rc != want)
		return MASKD_ERETRY; /* a number was deleted meanwhile: see it gone next time */
	if (rc < 0)
		return rc;
	b.status = SESSION_OPEN;
	b.closed_at = 0;
	if (j->ttl != NULL)
		b.ttl = *j->ttl;
	b.expires_at = f.expires_at;
	b.last_activity_at = j->now;
	b.updated_at = j->now;
	rc = store_tx_session_put(tx, b.id, &b, session_deadline(b.expires_at, b.ttl, j->now));
	if (rc == MASKD_ECONFLICT)
		return MASKD_ERETRY; /* another session took the unique_name or PIN since the check */
	if (rc == 0)
		rc = store_tx_event_insert(tx, b.id, session_event_kind(SESSION_OPEN), NULL, "", j->now);
	if (rc == 0)
		rc = events_record(tx, b.id, EVENT_SESSION_REOPENED, events_session_change(b.id, NULL, NULL, NULL), j->now);
	return rc;
}

static int reopen_body(struct store_tx *tx, void *ctx)
{
	struct reopen_job *j = ctx;
	int rc = reopen_rows(tx, j);
	if (rc < 0 || j->then == NULL)
		return rc;
	rc = j->then(tx, j->then_ctx);
	return rc < 0 ? rc : 0;
}

int lifecycle_reopen(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
		     int64_t now, int *failed_index)
{
	return lifecycle_reopen_with(st, id, ttl, expires_at, now, NULL, NULL, failed_index);
}

int lifecycle_reopen_with(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
			  int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx, int *failed_index)
{
	assert(st != NULL && id != NULL && failed_index != NULL);
	struct reopen_job j = {.id = id, .ttl = ttl, .expires_at = expires_at, .now = now, .failed_index = -1,
			       .then = then, .then_ctx = ctx};
	int rc = store_tx_run(st, reopen_body, &j);
	*failed_index = j.failed_index;
	return rc;
}

int lifecycle_update(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now)
{
	return lifecycle_change(st, id, ttl, expires_at, -1, now, NULL);
}

int lifecycle_change(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at, int close_to,
		     int64_t now, bool *changed)
{
	return lifecycle_change_with(st, id, ttl, expires_at, close_to, now, NULL, NULL, changed);
}

int lifecycle_change_with(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
			  int close_to, int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx,
			  bool *changed)
{
	assert(st != NULL && id != NULL);
	if (changed != NULL)
		*changed = false;
	if (close_to >= 0 && close_to != SESSION_CLOSED && close_to != SESSION_BLOCKED)
		return MASKD_EINVAL;
	struct change_job j = {.id = id, .ttl = ttl, .expires_at = expires_at, .status = close_to, .now = now,
			       .then = then, .then_ctx = ctx};
	return change_run(st, &j, changed);
}

/* ---------------------------------------------------------------- background jobs */

struct expire_job {
	int64_t now;
	int limit;
	char (*ids)[ID_MAX];
	bool *closed;
	int n;
	/* the set closed together: ids, held_until and active of each */
	char (*set)[ID_MAX];
	int64_t *held_until;
	int *active;
};

/* Each due session is read and judged on its own (session_due, session_close_step,
 * the cool-off rules), as lifecycle_close would; the writes of the whole batch are
 * then a few set-based statements (store_tx_sessions_close) instead of three per
 * session, with the same rows as a result. */
static int expire_body(struct store_tx *tx, void *ctx)
{
	struct expire_job *j = ctx;
	j->n = 0;
	int rc = store_tx_sessions_due(tx, j->now, j->limit, j->ids, &j->n);
	if (rc < 0)
		return rc;
	struct in_use_acc acc;
	acc_init(&acc, j->n * SESSION_PARTICIPANTS + 1);
	int m = 0;
	for (int i = 0; rc >= 0 && i < j->n; i++) {
		j->closed[i] = false;
		struct store_session_brief b;
		rc = store_tx_session_lock(tx, j->ids[i], &b);
		if (rc < 0)
			break;
		if (!session_due(b.status, b.expires_at, b.ttl, b.last_activity_at, j->now)) {
			/* its deadline disagrees with the rule: put the right one, so that the
			 * index stops listing it first */
			rc = store_tx_session_put(tx, b.id, &b, session_deadline(b.expires_at, b.ttl, b.last_activity_at));
			continue;
		}
		enum session_close_step step;
		rc = session_close_step(b.status, SESSION_CLOSED, &step);
		if (rc < 0)
			break;
		assert(step == SESSION_CLOSE_BINDINGS); /* a due session is live */
		acc_session(&acc, &b, true, -1);
		memcpy(j->set[m], b.id, ID_MAX);
		j->held_until[m] = session_held_until(j->now, b.cooloff);
		j->active[m] = session_binding_cools(b.cooloff);
		m++;
		j->closed[i] = true;
		/* session_due: the absolute expiry, or else the idle ttl, ran out */
		const char *reason = b.expires_at > 0 && j->now >= b.expires_at ? "expiry" : "ttl";
		rc = events_record(tx, b.id, EVENT_SESSION_CLOSED, events_session_change(b.id, NULL, NULL, reason), j->now);
	}
	if (rc >= 0) {
		rc = store_tx_sessions_close(tx, (const char(*)[ID_MAX])j->set, j->held_until, j->active, m,
					     SESSION_CLOSED, session_event_kind(SESSION_CLOSED), "expired", j->now);
		if (rc >= 0 && rc != m)
			rc = MASKD_ERETRY; /* a session of the set went away: read the set again */
	}
	if (rc >= 0)
		rc = acc_apply(tx, &acc);
	acc_free(&acc);
	return rc < 0 ? rc : 0;
}

int lifecycle_expire(struct store *st, int64_t now, int limit, int *closed)
{
	assert(st != NULL && limit > 0 && closed != NULL);
	*closed = 0;
	struct expire_job j = {.now = now, .limit = limit};
	j.ids = xcalloc((size_t)limit, ID_MAX);
	j.closed = xcalloc((size_t)limit, sizeof(*j.closed));
	j.set = xcalloc((size_t)limit, ID_MAX);
	j.held_until = xcalloc((size_t)limit, sizeof(*j.held_until));
	j.active = xcalloc((size_t)limit, sizeof(*j.active));
	int rc = store_tx_run(st, expire_body, &j);
	for (int i = 0; rc == 0 && i < j.n; i++)
		if (j.closed[i]) {
			(*closed)++;
			log_info("session %s closed: expired", j.ids[i]);
		}
	free(j.ids);
	free(j.closed);
	free(j.set);
	free(j.held_until);
	free(j.active);
	return rc;
}

struct release_job {
	int64_t now;
	int limit, released;
};

static int release_body(struct store_tx *tx, void *ctx)
{
	struct release_job *j = ctx;
	j->released = 0;
	int rc = store_tx_bindings_release_due(tx, j->now, j->limit);
	if (rc < 0)
		return rc;
	j->released = rc;
	/* retired profiles past their cool-off give their numbers back to the pool */
	rc = store_tx_profiles_free_due(tx, j->now);
	return rc < 0 ? rc : 0;
}

int lifecycle_bindings_release(struct store *st, int64_t now, int limit, int *released)
{
	assert(st != NULL && limit > 0 && released != NULL);
	struct release_job j = {.now = now, .limit = limit};
	int rc = store_tx_run(st, release_body, &j);
	*released = rc == 0 ? j.released : 0;
	return rc;
}

struct purge_job {
	int64_t before, now;
	int limit, sessions, purged;
	char (*ids)[ID_MAX];
};

static int purge_body(struct store_tx *tx, void *ctx)
{
	struct purge_job *j = ctx;
	j->sessions = j->purged = 0;
	int n = 0;
	int rc = store_tx_sessions_purge_due(tx, j->before, j->limit, j->ids, &n);
	for (int i = 0; rc >= 0 && i < n; i++) {
		rc = store_tx_session_purge(tx, j->ids[i], j->now);
		if (rc > 0)
			j->purged += rc;
	}
	if (rc < 0)
		return rc;
	j->sessions = n;
	/* the ended marks live one retention period after their purge, and at least
	 * LIFECYCLE_ENDED_MARK_MIN_S */
	int64_t cutoff = j->now - LIFECYCLE_ENDED_MARK_MIN_S;
	rc = store_tx_ended_marks_expire(tx, j->before < cutoff ? j->before : cutoff);
	return rc < 0 ? rc : 0;
}

int lifecycle_purge(struct store *st, int64_t before, int64_t now, int limit, int *sessions, int *purged)
{
	assert(st != NULL && limit > 0 && sessions != NULL && purged != NULL);
	struct purge_job j = {.before = before, .now = now, .limit = limit};
	j.ids = xcalloc((size_t)limit, ID_MAX);
	int rc = store_tx_run(st, purge_body, &j);
	free(j.ids);
	*sessions = rc == 0 ? j.sessions : 0;
	*purged = rc == 0 ? j.purged : 0;
	return rc;
}
