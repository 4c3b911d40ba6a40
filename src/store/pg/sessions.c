/* SPDX-License-Identifier: MIT */
/* sessions.c - session reads and the session lifecycle primitives (store_tx_* of
 * close, block, re-open, expiry, cool-off release, purge) on PostgreSQL: rows
 * locked FOR NO KEY UPDATE, sweeps with SKIP LOCKED, no rules. */
#include "pg_internal.h"

struct num_delta {
	const char *id;
	int delta;
};

static int cmp_num_delta(const void *a, const void *b)
{
	return strcmp(((const struct num_delta *)a)->id, ((const struct num_delta *)b)->id);
}

/* Adds each delta to in_use of its number (repeats add up), locking the rows in
 * id order first (no deadlock between writers). Returns how many distinct numbers
 * were changed, or a negative maskd_err. */
static int numbers_adjust(struct pg_conn *c, struct num_delta *d, int n)
{
	assert(n > 0);
	qsort(d, (size_t)n, sizeof(*d), cmp_num_delta);
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m > 0 && strcmp(d[m - 1].id, d[i].id) == 0) {
			d[m - 1].delta += d[i].delta;
			continue;
		}
		d[m++] = d[i];
	}
	const char **ids = xmalloc((size_t)m * sizeof(*ids));
	struct buf idlit, dlit;
	buf_init(&idlit);
	buf_init(&dlit);
	buf_puts(&dlit, "{");
	for (int i = 0; i < m; i++) {
		ids[i] = d[i].id;
		buf_printf(&dlit, "%s%d", i ? "," : "", d[i].delta);
	}
	buf_puts(&dlit, "}");
	pg_array_literal(&idlit, ids, m);
	struct args a = {0};
	pg_arg_text(&a, idlit.data);
	int rc = pg_run(c, SQL_NUMBERS_LOCK, &a, NULL);
	PGresult *r = NULL;
	if (rc == 0) {
		pg_arg_text(&a, dlit.data);
		rc = pg_run(c, SQL_NUMBERS_ADD, &a, &r);
	}
	if (rc == 0) {
		rc = PQntuples(r);
		PQclear(r);
	}
	buf_free(&idlit);
	buf_free(&dlit);
	free(ids);
	return rc;
}

int pg_event_insert(struct pg_conn *c, const char *session_id, const char *kind, const char *participant_id,
		     const char *detail, int64_t now)
{
	char id[ID_MAX];
	id_new("evt", id);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, session_id);
	pg_arg_text(&a, kind);
	pg_arg_text(&a, participant_id);
	pg_arg_text(&a, detail);
	pg_arg_i64(&a, now);
	return pg_run(c, SQL_EVENT_INSERT, &a, NULL);
}

/* ---------------------------------------------------------------- sessions */

static void read_session(const PGresult *r, int row, struct session *s)
{
	struct sql_cursor k = pg_cursor(r, row, 0);
	sql_read_session(&k, s);
}

static int read_participants(struct pg_conn *c, struct session *s)
{
	struct args a = {0};
	pg_arg_text(&a, s->id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_PARTICIPANTS_OF, &a, &r);
	if (rc < 0)
		return rc;
	s->n_participants = 0;
	for (int i = 0; i < PQntuples(r) && s->n_participants < SESSION_PARTICIPANTS; i++) {
		struct participant *p = &s->participants[s->n_participants++];
		pg_col_text(r, i, 0, p->id, sizeof(p->id));
		pg_col_text(r, i, 1, p->label, sizeof(p->label));
		pg_col_text(r, i, 2, p->masked, sizeof(p->masked));
		pg_col_text(r, i, 3, p->proxy_number_id, sizeof(p->proxy_number_id));
		pg_col_text(r, i, 4, p->proxy_e164, sizeof(p->proxy_e164));
		pg_col_text(r, i, 5, p->country, sizeof(p->country));
		p->hidden = pg_col_i64(r, i, 6) == 2;
		p->number[0] = '\0';
	}
	PQclear(r);
	return 0;
}

int pg_session_get(void *b, const char *id, struct session *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_SESSION_GET, &a, &r);
	if (rc < 0)
		return rc;
	read_session(r, 0, out);
	PQclear(r);
	return read_participants(c, out);
}

int pg_session_list(void *b, const char *service_id, const struct session_filter *f,
			   void (*cb)(void *, const struct session *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, f->status);
	pg_arg_text(&a, f->unique_name);
	pg_arg_text(&a, f->after_id);
	pg_arg_i64(&a, f->limit);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SESSION_LIST, &a, &r);
	if (rc < 0)
		return rc;
	int cap = f->limit > 0 ? f->limit : 1;
	int n = PQntuples(r) < cap ? PQntuples(r) : cap;
	for (int i = 0; i < n && rc == 0; i++) {
		struct session row;
		read_session(r, i, &row);
		rc = read_participants(c, &row);
		if (rc == 0)
			cb(ctx, &row);
	}
	PQclear(r);
	return rc;
}

/* ---------------------------------------------------------------- session changes */

/* ---------------------------------------------------------------- lifecycle primitives */

/* The store_tx_* primitives of store.h: rows only, no rules (flow/lifecycle.c).
 * A statement that loses a race fails with a pg_retryable SQLSTATE; pg_tx_run()
 * then runs the whole body again. */

static void arg_opt_i64(struct args *a, int64_t v)
{
	if (v > 0)
		pg_arg_i64(a, v);
	else
		pg_arg_text(a, NULL);
}

int pg_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out)
{
	struct pg_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_LC_SESSION_LOCK, &a, &r);
	if (rc < 0)
		return rc;
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->status = pg_col_int(r, 0, 0);
	pg_col_text(r, 0, 1, out->service_id, sizeof(out->service_id));
	out->cooloff = pg_col_i64(r, 0, 2);
	pg_col_text(r, 0, 3, out->unique_name, sizeof(out->unique_name));
	pg_col_text(r, 0, 4, out->pin, sizeof(out->pin));
	out->ttl = pg_col_i64(r, 0, 5);
	out->expires_at = pg_col_i64(r, 0, 6);
	out->last_activity_at = pg_col_i64(r, 0, 7);
	out->closed_at = pg_col_i64(r, 0, 8);
	out->updated_at = pg_col_i64(r, 0, 9);
	out->mode = pg_col_int(r, 0, 10);
	PQclear(r);
	rc = pg_run(c, SQL_LC_PARTS, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && out->n_parts < SESSION_PARTICIPANTS; i++) {
		struct store_part_brief *p = &out->parts[out->n_parts++];
		pg_col_text(r, i, 0, p->id, sizeof(p->id));
		p->idx = pg_col_int(r, i, 1);
		pg_col_text(r, i, 2, p->number_id, sizeof(p->number_id));
		p->active = pg_col_int(r, i, 3);
		p->purged = pg_col_int(r, i, 4);
		pg_col_text(r, i, 5, p->bidx, sizeof(p->bidx));
		pg_col_text(r, i, 6, p->peer, sizeof(p->peer));
		pg_col_text(r, i, 7, p->e164, sizeof(p->e164));
	}
	PQclear(r);
	return 0;
}

int pg_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b, int64_t deadline)
{
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, b->status);
	pg_arg_i64(&a, b->closed_at);
	pg_arg_i64(&a, b->ttl);
	pg_arg_i64(&a, b->expires_at);
	pg_arg_i64(&a, b->last_activity_at);
	pg_arg_i64(&a, b->updated_at);
	arg_opt_i64(&a, deadline);
	int n = pg_run_count(tx_conn(tx), SQL_LC_SESSION_PUT, &a);
	return n < 0 ? n : n == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id, const char *unique_name,
			    const char *pin, int *name_taken, int *pin_taken)
{
	*name_taken = *pin_taken = 0;
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, except_id ? except_id : "");
	pg_arg_text(&a, unique_name && *unique_name ? unique_name : NULL);
	pg_arg_text(&a, pin && *pin ? pin : NULL);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_LC_OPEN_TAKEN, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 1) {
		*name_taken = pg_col_int(r, 0, 0);
		*pin_taken = pg_col_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

int pg_tx_sessions_close(struct store_tx *tx, const char (*ids)[ID_MAX], const int64_t *held_until, const int *active,
			 int n, enum session_status status, const char *kind, const char *detail, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	const char **sid = xmalloc((size_t)n * sizeof(*sid));
	char(*evt)[ID_MAX] = xmalloc((size_t)n * ID_MAX);
	const char **eid = xmalloc((size_t)n * sizeof(*eid));
	struct buf sidlit, eidlit, hlit, alit;
	buf_init(&sidlit);
	buf_init(&eidlit);
	buf_init(&hlit);
	buf_init(&alit);
	buf_puts(&hlit, "{");
	buf_puts(&alit, "{");
	for (int i = 0; i < n; i++) {
		sid[i] = ids[i];
		id_new("evt", evt[i]);
		eid[i] = evt[i];
		buf_printf(&hlit, "%s%lld", i ? "," : "", (long long)held_until[i]);
		buf_printf(&alit, "%s%d", i ? "," : "", active[i] != 0);
	}
	buf_puts(&hlit, "}");
	buf_puts(&alit, "}");
	pg_array_literal(&sidlit, sid, n);
	pg_array_literal(&eidlit, eid, n);
	struct args a = {0};
	pg_arg_text(&a, sidlit.data);
	pg_arg_i64(&a, (int64_t)status);
	pg_arg_i64(&a, now);
	int closed = pg_run_count(c, SQL_CLOSE_SET_SESSIONS, &a);
	int rc = closed < 0 ? closed : 0;
	if (rc == 0) {
		struct args b = {0};
		pg_arg_text(&b, sidlit.data);
		pg_arg_text(&b, hlit.data);
		pg_arg_text(&b, alit.data);
		int k = pg_run_count(c, SQL_CLOSE_SET_BINDINGS, &b);
		rc = k < 0 ? k : 0;
	}
	if (rc == 0) {
		struct args e = {0};
		pg_arg_text(&e, sidlit.data);
		pg_arg_text(&e, eidlit.data);
		pg_arg_text(&e, kind);
		pg_arg_text(&e, detail);
		pg_arg_i64(&e, now);
		int k = pg_run_count(c, SQL_CLOSE_SET_EVENTS, &e);
		rc = k < 0 ? k : 0;
	}
	buf_free(&sidlit);
	buf_free(&eidlit);
	buf_free(&hlit);
	buf_free(&alit);
	free(sid);
	free(eid);
	free(evt);
	return rc < 0 ? rc : closed;
}

int pg_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, session_id);
	pg_arg_i64(&a, held_until);
	pg_arg_i64(&a, active != 0);
	return pg_run_count(c, SQL_LC_BINDINGS_HOLD, &a);
}

int pg_tx_binding_keep(struct store_tx *tx, const char *participant_id)
{
	struct args a = {0};
	pg_arg_text(&a, participant_id);
	return pg_run_count(tx_conn(tx), SQL_PARTICIPANT_KEEP, &a);
}

int pg_tx_binding_take(struct store_tx *tx, const char *participant_id, enum number_state retired)
{
	struct args a = {0};
	pg_arg_text(&a, participant_id);
	pg_arg_i64(&a, retired);
	return pg_run_count(tx_conn(tx), SQL_PARTICIPANT_RETAKE, &a);
}

int pg_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n)
{
	if (n == 0)
		return 0;
	struct num_delta *d = xmalloc((size_t)n * sizeof(*d));
	for (int i = 0; i < n; i++)
		d[i] = (struct num_delta){number_id[i], delta[i]};
	int rc = numbers_adjust(tx_conn(tx), d, n);
	free(d);
	return rc;
}

/* Runs id (bound with t and limit) and copies its first column into
 * ids (at most limit); *n how many. */
static int ids_of(struct pg_conn *c, enum sql_id id, int64_t t, int limit, char (*ids)[ID_MAX], int *n)
{
	*n = 0;
	struct args a = {0};
	pg_arg_i64(&a, t);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_run(c, id, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++)
		pg_col_text(r, i, 0, ids[(*n)++], ID_MAX);
	PQclear(r);
	return 0;
}

int pg_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)
{
	return ids_of(tx_conn(tx), SQL_EXPIRE_DUE, now, limit, ids, n);
}

int pg_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit)
{
	struct args a = {0};
	pg_arg_i64(&a, now);
	pg_arg_i64(&a, limit);
	return pg_run_count(tx_conn(tx), SQL_COOLING_DUE, &a);
}

int pg_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n)
{
	return ids_of(tx_conn(tx), SQL_PURGE_DUE, before, limit, ids, n);
}

int pg_tx_session_purge(struct store_tx *tx, const char *id, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, now);
	int rc = pg_run(c, SQL_ENDED_MARK_PUT, &a, NULL);
	if (rc < 0)
		return rc;
	a.n = 1; /* SQL_NUMBERS_PURGE takes the id only */
	int rows = pg_run_count(c, SQL_NUMBERS_PURGE, &a);
	if (rows < 0)
		return rows;
	pg_arg_i64(&a, now);
	rc = pg_run(c, SQL_SESSION_PURGED, &a, NULL);
	return rc < 0 ? rc : rows;
}

int pg_tx_ended_marks_expire(struct store_tx *tx, int64_t before)
{
	struct args a = {0};
	pg_arg_i64(&a, before);
	return pg_run_count(tx_conn(tx), SQL_ENDED_MARKS_EXPIRE, &a);
}

int pg_ended_mark(void *b, const char *bidx, const char *number_id, int *found)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, number_id);
	int n = pg_run_count(c, SQL_ENDED_MARK_FIND, &a);
	if (n < 0)
		return n;
	*found = n > 0;
	return 0;
}

int pg_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *),
			     void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_EVENTS_OF, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct session_event e;
		memset(&e, 0, sizeof(e));
		pg_col_text(r, i, 0, e.id, sizeof(e.id));
		pg_col_text(r, i, 1, e.session_id, sizeof(e.session_id));
		pg_col_text(r, i, 2, e.kind, sizeof(e.kind));
		pg_col_text(r, i, 3, e.participant_id, sizeof(e.participant_id));
		pg_col_text(r, i, 4, e.detail, sizeof(e.detail));
		e.created_at = pg_col_i64(r, i, 5);
		cb(ctx, &e);
	}
	PQclear(r);
	return 0;
}
