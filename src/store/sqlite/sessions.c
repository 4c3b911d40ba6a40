/* SPDX-License-Identifier: MIT */
/* sessions.c - session reads and the session lifecycle primitives (store_tx_* of
 * close, block, re-open, expiry, cool-off release, purge) on SQLite: rows, no rules. */
#include "sqlite_internal.h"
#include "../../util/buf.h"

/* ---------------------------------------------------------------- sessions */

int sq_row_exists(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2)
{
	sqlite3_stmt *st = sq_stmt(c, id);
	sq_bind_text(st, 1, a1);
	sq_bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "exists");
}

int sq_event_insert(struct sqlite_conn *c, const char *session_id, const char *kind, const char *participant_id,
			const char *detail, int64_t now)
{
	char id[ID_MAX];
	id_new("evt", id);
	sqlite3_stmt *st = sq_stmt(c, SQL_EVENT_INSERT);
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, session_id);
	sq_bind_text(st, 3, kind);
	sq_bind_text(st, 4, participant_id ? participant_id : "");
	sq_bind_text(st, 5, detail ? detail : "");
	sqlite3_bind_int64(st, 6, now);
	return sq_exec_stmt(c, st, "sq_event_insert");
}

static void read_session(sqlite3_stmt *st, struct session *s)
{
	struct sql_cursor k = sq_cursor(st, 0);
	sql_read_session(&k, s);
}

static int read_participants(struct sqlite_conn *c, struct session *s)
{
	sqlite3_stmt *st = sq_stmt(c, SQL_PARTICIPANTS_OF);
	sq_bind_text(st, 1, s->id);
	int rc;
	s->n_participants = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && s->n_participants < SESSION_PARTICIPANTS) {
		struct participant *p = &s->participants[s->n_participants++];
		sq_col_text(st, 0, p->id, sizeof(p->id));
		sq_col_text(st, 1, p->label, sizeof(p->label));
		sq_col_text(st, 2, p->masked, sizeof(p->masked));
		sq_col_text(st, 3, p->proxy_number_id, sizeof(p->proxy_number_id));
		sq_col_text(st, 4, p->proxy_e164, sizeof(p->proxy_e164));
		sq_col_text(st, 5, p->country, sizeof(p->country));
		p->hidden = sqlite3_column_int(st, 6) == 2;
		p->number[0] = '\0';
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "participants_of");
}

int sq_session_get(void *b, const char *id, struct session *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SESSION_GET);
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_session(st, out);
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "session_get");
	return read_participants(c, out);
}

int sq_session_list(void *b, const char *service_id, const struct session_filter *f,
			   void (*cb)(void *, const struct session *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SESSION_LIST);
	sq_bind(st, SQ_TEXT(service_id), SQ_INT(f->status), SQ_TEXT(f->unique_name), SQ_TEXT(f->after_id),
		SQ_INT(f->limit));
	/* Rows are collected first: reading participants reuses this connection. */
	int cap = f->limit > 0 ? f->limit : 1, n = 0, rc;
	struct session *rows = xcalloc((size_t)cap, sizeof(*rows));
	while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_session(st, &rows[n++]);
	sq_stmt_done(st);
	int err = 0;
	for (int i = 0; i < n && err == 0; i++) {
		err = read_participants(c, &rows[i]);
		if (err == 0)
			cb(ctx, &rows[i]);
	}
	free(rows);
	return err;
}

/* What the ops below need of one session (SQL_SESSION_BRIEF). */

/* ---------------------------------------------------------------- cool-off, re-open, add, swap */

/* ---------------------------------------------------------------- lifecycle primitives */

/* The store_tx_* primitives of store.h: rows only, no rules (flow/lifecycle.c).
 * They run inside sq_tx_run(), which holds db_lock, so they take no lock. */

int sq_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = sq_stmt(c, SQL_LC_SESSION_LOCK);
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		struct sq_cols r = {st, 0};
		out->status = sq_next_int(&r);
		sq_next_text(&r, out->service_id, sizeof(out->service_id));
		out->cooloff = sq_next_i64(&r);
		sq_next_text(&r, out->unique_name, sizeof(out->unique_name));
		sq_next_text(&r, out->pin, sizeof(out->pin));
		out->ttl = sq_next_i64(&r);
		out->expires_at = sq_next_i64(&r);
		out->last_activity_at = sq_next_i64(&r);
		out->closed_at = sq_next_i64(&r);
		out->updated_at = sq_next_i64(&r);
		out->mode = sq_next_int(&r);
	}
	sq_stmt_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "session_lock");
	st = sq_stmt(c, SQL_LC_PARTS);
	sq_bind_text(st, 1, id);
	while (out->n_parts < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_part_brief *p = &out->parts[out->n_parts++];
		struct sq_cols r = {st, 0};
		sq_next_text(&r, p->id, sizeof(p->id));
		p->idx = sq_next_int(&r);
		sq_next_text(&r, p->number_id, sizeof(p->number_id));
		p->active = sq_next_int(&r);
		p->purged = sq_next_int(&r);
		sq_next_text(&r, p->bidx, sizeof(p->bidx));
		sq_next_text(&r, p->peer, sizeof(p->peer));
		sq_next_text(&r, p->e164, sizeof(p->e164));
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "session_parts");
}

int sq_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b, int64_t deadline)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_LC_SESSION_PUT);
	sq_bind(st, SQ_TEXT(id), SQ_INT(b->status), SQ_INT(b->closed_at), SQ_INT(b->ttl), SQ_INT(b->expires_at),
		SQ_INT(b->last_activity_at), SQ_INT(b->updated_at), SQ_OPT(deadline));
	int rc = sq_exec_stmt(c, st, "session_put");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

int sq_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id,
			    const char *unique_name, const char *pin, int *name_taken, int *pin_taken)
{
	struct sqlite_conn *c = tx_conn(tx);
	*name_taken = *pin_taken = 0;
	sqlite3_stmt *st = sq_stmt(c, SQL_LC_OPEN_TAKEN);
	sq_bind_text(st, 1, service_id);
	sq_bind_text(st, 2, except_id ? except_id : "");
	sq_bind_text(st, 3, unique_name && *unique_name ? unique_name : NULL);
	sq_bind_text(st, 4, pin && *pin ? pin : NULL);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*name_taken = sqlite3_column_int(st, 0);
		*pin_taken = sqlite3_column_int(st, 1);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "open_taken");
}

int sq_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_BINDINGS_COOL);
	sq_bind_text(st, 1, session_id);
	sqlite3_bind_int64(st, 2, held_until);
	sqlite3_bind_int(st, 3, active != 0);
	int rc = sq_exec_stmt(c, st, "bindings_hold");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_sessions_close(struct store_tx *tx, const char (*ids)[ID_MAX], const int64_t *held_until, const int *active,
			 int n, enum session_status status, const char *kind, const char *detail, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct buf set;
	buf_init(&set);
	buf_puts(&set, "[");
	for (int i = 0; i < n; i++) {
		char evt[ID_MAX];
		id_new("evt", evt);
		/* ids are [a-z0-9_] only (id_new), so they need no JSON escaping */
		buf_printf(&set, "%s[\"%s\",%lld,%d,\"%s\"]", i ? "," : "", ids[i], (long long)held_until[i],
			   active[i] != 0, evt);
	}
	buf_puts(&set, "]");
	sqlite3_stmt *st = sq_stmt(c, SQL_CLOSE_SET_SESSIONS);
	sq_bind_text(st, 1, set.data);
	sqlite3_bind_int(st, 2, (int)status);
	sqlite3_bind_int64(st, 3, now);
	int rc = sq_exec_stmt(c, st, "sessions_close");
	int closed = rc < 0 ? 0 : sqlite3_changes(c->db);
	if (rc >= 0) {
		st = sq_stmt(c, SQL_CLOSE_SET_BINDINGS);
		sq_bind_text(st, 1, set.data);
		rc = sq_exec_stmt(c, st, "sessions_close_bindings");
	}
	if (rc >= 0) {
		st = sq_stmt(c, SQL_CLOSE_SET_EVENTS);
		sq_bind_text(st, 1, set.data);
		sq_bind_text(st, 2, kind);
		sq_bind_text(st, 3, detail);
		sqlite3_bind_int64(st, 4, now);
		rc = sq_exec_stmt(c, st, "sessions_close_events");
	}
	buf_free(&set);
	return rc < 0 ? rc : closed;
}

int sq_tx_binding_keep(struct store_tx *tx, const char *participant_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_LC_BINDING_KEEP);
	sq_bind_text(st, 1, participant_id);
	int rc = sq_exec_stmt(c, st, "binding_keep");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_binding_take(struct store_tx *tx, const char *participant_id, enum number_state retired)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_BINDING_TAKE);
	sq_bind_text(st, 1, participant_id);
	sqlite3_bind_int(st, 2, retired);
	int rc = sq_exec_stmt(c, st, "binding_take"); /* the bindings index refuses a binding someone took */
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n)
{
	struct sqlite_conn *c = tx_conn(tx);
	int changed = 0;
	for (int i = 0; i < n; i++) {
		int seen = 0, sum = 0;
		for (int j = 0; j < n; j++) {
			if (strcmp(number_id[j], number_id[i]) != 0)
				continue;
			seen |= j < i;
			sum += delta[j];
		}
		if (seen)
			continue; /* added with its first occurrence */
		sqlite3_stmt *st = sq_stmt(c, SQL_LC_IN_USE_ADD);
		sq_bind_text(st, 1, number_id[i]);
		sqlite3_bind_int(st, 2, sum);
		int rc = sq_exec_stmt(c, st, "numbers_in_use_add");
		if (rc < 0)
			return rc;
		changed += sqlite3_changes(c->db);
	}
	return changed;
}

/* Reads the first column of st's rows into ids (at most limit); *n how many. */
static int ids_of(struct sqlite_conn *c, sqlite3_stmt *st, int limit, char (*ids)[ID_MAX], int *n, const char *what)
{
	int rc = SQLITE_DONE;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		sq_col_text(st, 0, ids[(*n)++], ID_MAX);
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, what);
}

/* Ids of the rows statement id finds due at t (?1), at most limit (?2). */
static int due_ids(struct store_tx *tx, enum sql_id id, int64_t t, int limit, char (*ids)[ID_MAX], int *n,
		   const char *what)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, id);
	sqlite3_bind_int64(st, 1, t);
	sqlite3_bind_int(st, 2, limit);
	return ids_of(c, st, limit, ids, n, what);
}

int sq_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)
{
	return due_ids(tx, SQL_EXPIRE_DUE, now, limit, ids, n, "sessions_due");
}

int sq_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_BINDINGS_RELEASE_DUE);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	int rc = sq_exec_stmt(c, st, "bindings_release");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n)
{
	return due_ids(tx, SQL_PURGE_DUE, before, limit, ids, n, "purge_due");
}

int sq_tx_session_purge(struct store_tx *tx, const char *id, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_ENDED_MARK_PUT);
	sq_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	int rc = sq_exec_stmt(c, st, "ended_mark_put");
	if (rc < 0)
		return rc;
	st = sq_stmt(c, SQL_NUMBERS_PURGE);
	sq_bind_text(st, 1, id);
	rc = sq_exec_stmt(c, st, "numbers_purge");
	if (rc < 0)
		return rc;
	int rows = sqlite3_changes(c->db);
	st = sq_stmt(c, SQL_SESSION_PURGED);
	sq_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	rc = sq_exec_stmt(c, st, "session_purged");
	return rc < 0 ? rc : rows;
}

int sq_tx_ended_marks_expire(struct store_tx *tx, int64_t before)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_ENDED_MARKS_EXPIRE);
	sqlite3_bind_int64(st, 1, before);
	int rc = sq_exec_stmt(c, st, "ended_marks_expire");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_ended_mark(void *b, const char *bidx, const char *number_id, int *found)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_ENDED_MARK_FIND);
	sq_bind_text(st, 1, bidx);
	sq_bind_text(st, 2, number_id);
	int rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_db_fail(c, "ended_mark");
	*found = rc == SQLITE_ROW;
	return 0;
}

int sq_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *),
			     void *ctx)
{
	CONN_OR_FAIL(b, c);
	int rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_EVENTS_OF); /* no such session: no events */
	sq_bind_text(st, 1, session_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct session_event e;
		memset(&e, 0, sizeof(e));
		sq_col_text(st, 0, e.id, sizeof(e.id));
		sq_col_text(st, 1, e.session_id, sizeof(e.session_id));
		sq_col_text(st, 2, e.kind, sizeof(e.kind));
		sq_col_text(st, 3, e.participant_id, sizeof(e.participant_id));
		sq_col_text(st, 4, e.detail, sizeof(e.detail));
		e.created_at = sqlite3_column_int64(st, 5);
		cb(ctx, &e);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "session_events");
}
