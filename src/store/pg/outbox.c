/* SPDX-License-Identifier: MIT */
/* outbox.c - the outbox (store_outbox_* in store.h) on PostgreSQL, shared by every
 * node: the claim takes the first due row with FOR UPDATE SKIP LOCKED, so two
 * nodes never claim one message, and a claim holds a lease so a dead node's
 * message is claimed again once it runs out. No rules beyond the statements'. */
#include "pg_internal.h"
#include "../../util/xmalloc.h"

static void read_item(const PGresult *r, int row, struct outbox_item *out)
{
	out->seq = pg_col_i64(r, row, 0);
	pg_col_text(r, row, 1, out->id, sizeof(out->id));
	pg_col_text(r, row, 2, out->dedup_key, sizeof(out->dedup_key));
	out->kind = (enum outbox_kind)pg_col_int(r, row, 3);
	pg_col_text(r, row, 4, out->service_id, sizeof(out->service_id));
	pg_col_text(r, row, 5, out->destination, sizeof(out->destination));
	pg_col_text(r, row, 6, out->order_key, sizeof(out->order_key));
	pg_col_text(r, row, 7, out->interaction_id, sizeof(out->interaction_id));
	out->dialect = pg_col_int(r, row, 8);
	pg_col_text(r, row, 9, out->url, sizeof(out->url));
	out->status = (enum outbox_status)pg_col_int(r, row, 10);
	out->tries = pg_col_int(r, row, 11);
	out->next_at = pg_col_i64(r, row, 12);
	out->created_at = pg_col_i64(r, row, 13);
	out->done_at = pg_col_i64(r, row, 14);
	pg_col_text(r, row, 15, out->last_error, sizeof(out->last_error));
}

/* The put of it on c (inside its transaction when c holds one). */
static int put_on(struct store_pg *s, struct pg_conn *c, const struct outbox_item *it, int *existed)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = store_outbox_seal(s->vault, it->id, it->payload, it->payload_len, &sealed, &sealed_len);
	if (rc < 0)
		return rc;
	struct args a = {0};
	pg_arg_text(&a, it->id);
	pg_arg_text(&a, it->dedup_key);
	pg_arg_i64(&a, it->kind);
	pg_arg_text(&a, it->service_id);
	pg_arg_text(&a, it->destination);
	pg_arg_text(&a, it->order_key);
	pg_arg_text(&a, it->interaction_id);
	pg_arg_i64(&a, it->dialect);
	pg_arg_text(&a, it->url);
	pg_arg_bytes(&a, sealed, sealed_len);
	pg_arg_i64(&a, it->next_at);
	pg_arg_i64(&a, it->created_at);
	rc = pg_run_count(c, SQL_OUTBOX_PUT, &a);
	free(sealed);
	if (rc < 0)
		return rc;
	*existed = rc == 0;
	return 0;
}

int pg_outbox_put(void *b, const struct outbox_item *it, int *existed)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	return put_on(s, c, it, existed);
}

int pg_tx_outbox_put(struct store_tx *tx, const struct outbox_item *it, int *existed)
{
	return put_on(tx->b, tx_conn(tx), it, existed);
}

/* ---------------------------------------------------------------- service events */

int pg_tx_event_target(struct store_tx *tx, const char *session_id, char service_id[ID_MAX], char *events_url,
		       size_t cap, int *pull_off)
{
	struct args a = {0};
	pg_arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = pg_run_one(tx_conn(tx), SQL_EVENT_TARGET, &a, &r);
	if (rc < 0)
		return rc;
	pg_col_text(r, 0, 0, service_id, ID_MAX);
	pg_col_text(r, 0, 1, events_url, cap);
	*pull_off = (int)pg_col_i64(r, 0, 2);
	PQclear(r);
	return 0;
}

int pg_tx_service_event_insert(struct store_tx *tx, const char *id, const char *service_id, const char *type,
			       const char *body, int64_t created_at)
{
	struct pg_conn *c = tx_conn(tx);
	struct pg_event_pending *e = xmalloc(sizeof(*e));
	e->id = xstrdup(id);
	e->service_id = xstrdup(service_id);
	e->type = xstrdup(type);
	e->body = xstrdup(body);
	e->created_at = created_at;
	e->next = NULL;
	if (c->events == NULL)
		c->events_tail = &c->events;
	*c->events_tail = e;
	c->events_tail = &e->next;
	return 0;
}

/* qsort order of the queue: by service id, then as written (n: position). */
struct pending_ref {
	const struct pg_event_pending *e;
	size_t n;
};

static int pending_cmp(const void *a, const void *b)
{
	const struct pending_ref *x = a, *y = b;
	int c = strcmp(x->e->service_id, y->e->service_id);
	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

int pg_events_flush(struct pg_conn *c)
{
	size_t n = 0;
	for (const struct pg_event_pending *e = c->events; e != NULL; e = e->next)
		n++;
	if (n == 0)
		return 0;
	struct pending_ref *refs = xcalloc(n, sizeof(*refs));
	size_t i = 0;
	for (const struct pg_event_pending *e = c->events; e != NULL; e = e->next, i++)
		refs[i] = (struct pending_ref){e, i};
	qsort(refs, n, sizeof(*refs), pending_cmp);
	int rc = 0;
	for (i = 0; rc == 0 && i < n; i++) {
		const struct pg_event_pending *e = refs[i].e;
		if (i == 0 || strcmp(e->service_id, refs[i - 1].e->service_id) != 0) {
			struct args l = {0};
			pg_arg_text(&l, e->service_id);
			rc = pg_run(c, SQL_EVENT_LOCK, &l, NULL);
			if (rc < 0)
				break;
		}
		struct args a = {0};
		pg_arg_text(&a, e->id);
		pg_arg_text(&a, e->service_id);
		pg_arg_text(&a, e->type);
		pg_arg_i64(&a, e->created_at);
		pg_arg_text(&a, e->body);
		rc = pg_run(c, SQL_SERVICE_EVENT_INSERT, &a, NULL);
	}
	free(refs);
	return rc < 0 ? rc : 0;
}

void pg_events_drop(struct pg_conn *c)
{
	struct pg_event_pending *e = c->events;
	while (e != NULL) {
		struct pg_event_pending *next = e->next;
		free(e->id);
		free(e->service_id);
		free(e->type);
		free(e->body);
		free(e);
		e = next;
	}
	c->events = NULL;
	c->events_tail = &c->events;
}

int pg_service_events(void *b, const char *service_id, int64_t after, int limit,
		      void (*cb)(void *, int64_t, const char *), void *ctx)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, after);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SERVICE_EVENT_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++)
		cb(ctx, pg_col_i64(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	return 0;
}

int pg_outbox_claim(void *b, int64_t now, int64_t lease_ms, int dest_cap, const char *claim, struct outbox_item *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_i64(&a, now);
	pg_arg_i64(&a, lease_ms);
	pg_arg_text(&a, claim);
	pg_arg_i64(&a, dest_cap);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_OUTBOX_CLAIM, &a, &r);
	if (rc < 0)
		return rc;
	read_item(r, 0, out);
	size_t len = 0;
	unsigned char *blob = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 16), &len);
	PQclear(r);
	if (blob == NULL)
		return MASKD_ECRYPTO;
	rc = store_outbox_unseal(s->vault, out->id, blob, len, &out->payload, &out->payload_len);
	PQfreemem(blob);
	if (rc < 0)
		log_error("outbox: message %s: its payload does not open", out->id);
	return rc;
}

int pg_outbox_settle(void *b, const char *id, const char *claim, enum outbox_status status, int64_t next_at,
		     int64_t hold_until, const char *error, int64_t now)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, claim);
	pg_arg_i64(&a, status);
	pg_arg_i64(&a, next_at);
	pg_arg_text(&a, error);
	pg_arg_i64(&a, now);
	int rc = pg_run_count(c, SQL_OUTBOX_SETTLE, &a);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return MASKD_ENOTFOUND;
	if (hold_until <= 0)
		return 0;
	/* the destination's hold is its own statement: a lost hold only means an
	 * earlier try of its next message, never a lost or doubled one */
	struct outbox_item it;
	memset(&it, 0, sizeof(it));
	rc = pg_outbox_get(b, id, &it);
	if (rc < 0)
		return rc;
	struct args h = {0};
	pg_arg_text(&h, it.destination);
	pg_arg_i64(&h, hold_until);
	rc = pg_run_count(c, SQL_OUTBOX_HOLD, &h);
	return rc < 0 ? rc : 0;
}

int pg_outbox_get(void *b, const char *id, struct outbox_item *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_OUTBOX_GET, &a, &r);
	if (rc < 0)
		return rc;
	read_item(r, 0, out);
	PQclear(r);
	return 0;
}

int pg_outbox_list(void *b, const char *service_id, int status, int64_t after, int limit,
		   void (*cb)(void *, const struct outbox_item *), void *ctx)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, status);
	pg_arg_i64(&a, after);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_OUTBOX_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct outbox_item it;
		memset(&it, 0, sizeof(it));
		read_item(r, i, &it);
		cb(ctx, &it);
	}
	PQclear(r);
	return 0;
}

int pg_outbox_requeue(void *b, const char *id, int64_t now)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, now);
	int rc = pg_run_count(c, SQL_OUTBOX_REQUEUE, &a);
	if (rc < 0)
		return rc;
	return rc == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_outbox_stats(void *b, int64_t *unsent, int64_t *oldest,
		    void (*cb)(void *, const char *, int64_t, int64_t), void *ctx)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_OUTBOX_STATS, NULL, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		char dest[OUTBOX_URL_MAX];
		pg_col_text(r, i, 0, dest, sizeof(dest));
		int64_t n = pg_col_i64(r, i, 1), failed = pg_col_i64(r, i, 2);
		*unsent += n;
		if (!PQgetisnull(r, i, 3)) {
			int64_t at = pg_col_i64(r, i, 3);
			if (*oldest == 0 || at < *oldest)
				*oldest = at;
		}
		if (cb != NULL)
			cb(ctx, dest, n, failed);
	}
	PQclear(r);
	return 0;
}

int pg_outbox_recover(void *b, int64_t now)
{
	(void)b;
	(void)now; /* other nodes may hold claims: every claim ends with its lease */
	return 0;
}
