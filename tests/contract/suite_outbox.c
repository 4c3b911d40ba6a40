/* SPDX-License-Identifier: MIT */
/* suite_outbox.c - the store contract of the outbox primitives (store_outbox_* in
 * store.h), the same on both backends: a second put with a dedup key changes
 * nothing; the payload is sealed (no real number, no credential in the database)
 * and opens on claim; a session's messages are claimed in order; a destination has
 * at most dest_cap messages in flight and its hold delays only its own messages;
 * a lease that ran out gives the message to the next claim and the old claim can
 * no longer settle it; failed messages are listed and requeued; two stores on one
 * database (two nodes) never claim one message twice. */
#include "suite.h"

#include <pthread.h>

#include "util/err.h"

#define T0 1700000000000LL
#define KEY "Authorization: Bearer KEY-SECRET-0123\n\n"

static void put(struct fixture *f, const char *dedup, const char *dest, const char *order, int64_t at, char *id_out)
{
	struct outbox_item it;
	memset(&it, 0, sizeof(it));
	id_new("obx", it.id);
	snprintf(it.dedup_key, sizeof(it.dedup_key), "%s", dedup);
	it.kind = OUTBOX_CARRIER_SEND;
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.destination, sizeof(it.destination), "%s", dest);
	snprintf(it.order_key, sizeof(it.order_key), "%s", order);
	snprintf(it.url, sizeof(it.url), "%s/v2/messages", dest);
	char payload[256];
	snprintf(payload, sizeof(payload), KEY "{\"to\":\"%s\",\"n\":\"%s\"}", RIDER, dedup);
	it.payload = payload;
	it.payload_len = strlen(payload);
	it.created_at = at;
	it.next_at = at;
	int existed = -1;
	assert_int_equal(store_outbox_put(f->st, &it, &existed), 0);
	assert_int_equal(existed, 0);
	if (id_out != NULL)
		snprintf(id_out, ID_MAX, "%s", it.id);
}

/* Claims at now with claim token c: the claimed message's dedup key into key_out,
 * or returns MASKD_ENOTFOUND. */
static int claim(struct store *st, int64_t now, int64_t lease, int cap, const char *c, struct outbox_item *out)
{
	int rc = store_outbox_claim(st, now, lease, cap, c, out);
	if (rc == 0) {
		free(out->payload);
		out->payload = NULL;
	}
	return rc;
}

static void put_dedup_seal_claim(void **state)
{
	CX_FIXTURE(state);
	char id[ID_MAX];
	put(f, "rest:telnyx:m-1", "https://api.example", "", T0, id);
	struct outbox_item it;
	memset(&it, 0, sizeof(it));
	id_new("obx", it.id);
	snprintf(it.dedup_key, sizeof(it.dedup_key), "rest:telnyx:m-1");
	snprintf(it.destination, sizeof(it.destination), "https://api.example");
	snprintf(it.url, sizeof(it.url), "https://api.example/other");
	it.payload = "another body";
	it.payload_len = strlen(it.payload);
	int existed = 0;
	assert_int_equal(store_outbox_put(f->st, &it, &existed), 0);
	assert_int_equal(existed, 1); /* the first one stays, unchanged */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox"), 1);
	assert_false(cx_db_contains(f, RIDER));
	assert_false(cx_db_contains(f, "KEY-SECRET-0123"));
	struct outbox_item got;
	assert_int_equal(store_outbox_claim(f->st, T0, 1000, 2, "c1", &got), 0);
	assert_string_equal(got.id, id);
	assert_string_equal(got.url, "https://api.example/v2/messages");
	assert_int_equal(got.status, OUTBOX_SENDING);
	assert_int_equal(got.tries, 1);
	char want[256];
	snprintf(want, sizeof(want), KEY "{\"to\":\"%s\",\"n\":\"rest:telnyx:m-1\"}", RIDER);
	assert_string_equal(got.payload, want);
	assert_int_equal(got.payload_len, strlen(want));
	free(got.payload);
	assert_int_equal(store_outbox_settle(f->st, id, "c1", OUTBOX_SENT, 0, 0, NULL, T0 + 5), 0);
	assert_int_equal(store_outbox_get(f->st, id, &got), 0);
	assert_int_equal(got.status, OUTBOX_SENT);
	assert_int_equal(got.done_at, T0 + 5);
	assert_int_equal(claim(f->st, T0 + 10, 1000, 2, "c2", &got), MASKD_ENOTFOUND);
}

static void long_payload_round_trip(void **state)
{
	CX_FIXTURE(state);
	/* beyond one seal chunk, and exactly two chunks */
	size_t lens[] = {2500, 2000 /* two whole seal chunks (store_backend.h) */, 0};
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		char *body = malloc(lens[k] + 1);
		for (size_t i = 0; i < lens[k]; i++)
			body[i] = (char)('a' + i % 26);
		body[lens[k]] = '\0';
		struct outbox_item it;
		memset(&it, 0, sizeof(it));
		id_new("obx", it.id);
		snprintf(it.dedup_key, sizeof(it.dedup_key), "long-%zu", k);
		snprintf(it.destination, sizeof(it.destination), "https://long.example");
		snprintf(it.url, sizeof(it.url), "https://long.example/");
		it.payload = body;
		it.payload_len = lens[k];
		it.next_at = T0;
		int existed = 0;
		assert_int_equal(store_outbox_put(f->st, &it, &existed), 0);
		struct outbox_item got;
		assert_int_equal(store_outbox_claim(f->st, T0, 1000, 5, "c", &got), 0);
		assert_int_equal(got.payload_len, lens[k]);
		assert_memory_equal(got.payload, body, lens[k]);
		free(got.payload);
		assert_int_equal(store_outbox_settle(f->st, it.id, "c", OUTBOX_SENT, 0, 0, NULL, T0), 0);
		free(body);
	}
}

static void session_order(void **state)
{
	CX_FIXTURE(state);
	char a1[ID_MAX], a2[ID_MAX], b1[ID_MAX];
	put(f, "a1", "https://one.example", "ses_a", T0, a1);
	put(f, "a2", "https://two.example", "ses_a", T0, a2);
	put(f, "b1", "https://three.example", "ses_b", T0, b1);
	struct outbox_item got;
	assert_int_equal(claim(f->st, T0, 1000, 5, "c1", &got), 0);
	assert_string_equal(got.id, a1);
	assert_int_equal(claim(f->st, T0, 1000, 5, "c2", &got), 0);
	assert_string_equal(got.id, b1); /* a2 waits for a1, on another destination too */
	assert_int_equal(claim(f->st, T0, 1000, 5, "c3", &got), MASKD_ENOTFOUND);
	/* a1 back to pending keeps a2 waiting; once a1 is sent, a2 goes */
	assert_int_equal(store_outbox_settle(f->st, a1, "c1", OUTBOX_PENDING, T0 + 100, 0, "HTTP 503", T0), 0);
	assert_int_equal(claim(f->st, T0 + 50, 1000, 5, "c4", &got), MASKD_ENOTFOUND);
	assert_int_equal(claim(f->st, T0 + 100, 1000, 5, "c5", &got), 0);
	assert_string_equal(got.id, a1);
	assert_int_equal(got.tries, 2);
	assert_string_equal(got.last_error, "HTTP 503");
	assert_int_equal(store_outbox_settle(f->st, a1, "c5", OUTBOX_SENT, 0, 0, NULL, T0 + 101), 0);
	assert_int_equal(claim(f->st, T0 + 101, 1000, 5, "c6", &got), 0);
	assert_string_equal(got.id, a2);
	/* a failed message no longer holds its session back */
	char a3[ID_MAX], a4[ID_MAX];
	put(f, "a3", "https://one.example", "ses_a", T0 + 200, a3);
	put(f, "a4", "https://one.example", "ses_a", T0 + 200, a4);
	assert_int_equal(store_outbox_settle(f->st, a2, "c6", OUTBOX_SENT, 0, 0, NULL, T0 + 200), 0);
	assert_int_equal(claim(f->st, T0 + 200, 1000, 5, "c7", &got), 0);
	assert_string_equal(got.id, a3);
	assert_int_equal(store_outbox_settle(f->st, a3, "c7", OUTBOX_FAILED, 0, 0, "HTTP 400", T0 + 201), 0);
	assert_int_equal(claim(f->st, T0 + 201, 1000, 5, "c8", &got), 0);
	assert_string_equal(got.id, a4);
}

static void destination_cap_and_hold(void **state)
{
	CX_FIXTURE(state);
	char x1[ID_MAX], x2[ID_MAX], x3[ID_MAX], y1[ID_MAX];
	put(f, "x1", "https://stuck.example", "", T0, x1);
	put(f, "x2", "https://stuck.example", "", T0, x2);
	put(f, "x3", "https://stuck.example", "", T0, x3);
	struct outbox_item got;
	assert_int_equal(claim(f->st, T0, 1000, 2, "c1", &got), 0);
	assert_string_equal(got.id, x1);
	assert_int_equal(claim(f->st, T0, 1000, 2, "c2", &got), 0);
	assert_string_equal(got.id, x2);
	assert_int_equal(claim(f->st, T0, 1000, 2, "c3", &got), MASKD_ENOTFOUND); /* two in flight: the cap */
	put(f, "y1", "https://fine.example", "", T0 + 1, y1);
	assert_int_equal(claim(f->st, T0 + 1, 1000, 2, "c4", &got), 0);
	assert_string_equal(got.id, y1); /* another destination is not held up */
	/* x1 failed transiently: it and its destination wait until T0 + 500 */
	assert_int_equal(store_outbox_settle(f->st, x1, "c1", OUTBOX_PENDING, T0 + 500, T0 + 500, "HTTP 503", T0 + 2), 0);
	assert_int_equal(claim(f->st, T0 + 2, 1000, 2, "c5", &got), MASKD_ENOTFOUND); /* x3 is held too */
	char y2[ID_MAX];
	put(f, "y2", "https://fine.example", "", T0 + 3, y2);
	assert_int_equal(claim(f->st, T0 + 3, 1000, 2, "c6", &got), 0);
	assert_string_equal(got.id, y2);
	assert_int_equal(claim(f->st, T0 + 500, 1000, 2, "c7", &got), 0);
	assert_string_equal(got.id, x1); /* by next_at, then seq */
	assert_int_equal(claim(f->st, T0 + 500, 1000, 2, "c8", &got), MASKD_ENOTFOUND); /* x1, x2 in flight */
	assert_int_equal(store_outbox_settle(f->st, x2, "c2", OUTBOX_SENT, 0, 0, NULL, T0 + 501), 0);
	assert_int_equal(claim(f->st, T0 + 501, 1000, 2, "c9", &got), 0);
	assert_string_equal(got.id, x3);
}

static void lease_runs_out(void **state)
{
	CX_FIXTURE(state);
	char id[ID_MAX];
	put(f, "l1", "https://a.example", "", T0, id);
	struct outbox_item got;
	assert_int_equal(claim(f->st, T0, 100, 2, "old", &got), 0);
	assert_int_equal(claim(f->st, T0 + 99, 100, 2, "new", &got), MASKD_ENOTFOUND);
	assert_int_equal(claim(f->st, T0 + 100, 100, 2, "new", &got), 0);
	assert_string_equal(got.id, id);
	assert_int_equal(got.tries, 2);
	assert_int_equal(store_outbox_settle(f->st, id, "old", OUTBOX_SENT, 0, 0, NULL, T0 + 101), MASKD_ENOTFOUND);
	assert_int_equal(store_outbox_settle(f->st, id, "new", OUTBOX_SENT, 0, 0, NULL, T0 + 101), 0);
	assert_int_equal(store_outbox_settle(f->st, id, "new", OUTBOX_FAILED, 0, 0, NULL, T0 + 102), MASKD_ENOTFOUND);
}

struct listed {
	int n;
	char ids[8][ID_MAX];
	int64_t last;
};

static void add_listed(void *ctx, const struct outbox_item *it)
{
	struct listed *l = ctx;
	assert_true(l->n < 8);
	assert_null(it->payload);
	snprintf(l->ids[l->n++], ID_MAX, "%s", it->id);
	l->last = it->seq;
}

struct dests {
	int n;
	int64_t failed_stuck, unsent_stuck;
};

static void add_dest(void *ctx, const char *dest, int64_t unsent, int64_t failed)
{
	struct dests *d = ctx;
	d->n++;
	if (strcmp(dest, "https://stuck.example") == 0) {
		d->failed_stuck = failed;
		d->unsent_stuck = unsent;
	}
}

static void failed_listed_and_requeued(void **state)
{
	CX_FIXTURE(state);
	char f1[ID_MAX], f2[ID_MAX], ok[ID_MAX];
	put(f, "f1", "https://stuck.example", "", T0, f1);
	put(f, "f2", "https://stuck.example", "", T0 + 1, f2);
	put(f, "ok", "https://fine.example", "", T0 + 2, ok);
	struct outbox_item got;
	assert_int_equal(claim(f->st, T0 + 2, 1000, 5, "c1", &got), 0);
	assert_int_equal(store_outbox_settle(f->st, f1, "c1", OUTBOX_FAILED, 0, 0, "HTTP 400", T0 + 3), 0);
	assert_int_equal(claim(f->st, T0 + 3, 1000, 5, "c2", &got), 0);
	assert_int_equal(store_outbox_settle(f->st, f2, "c2", OUTBOX_FAILED, 0, 0, "HTTP 401", T0 + 4), 0);
	struct listed l = {0};
	assert_int_equal(store_outbox_list(f->st, f->svc.id, OUTBOX_FAILED, 0, 10, add_listed, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], f1);
	assert_string_equal(l.ids[1], f2);
	struct listed page = {0};
	assert_int_equal(store_outbox_list(f->st, f->svc.id, OUTBOX_FAILED, 0, 1, add_listed, &page), 0);
	assert_int_equal(page.n, 1);
	struct listed rest = {0};
	assert_int_equal(store_outbox_list(f->st, f->svc.id, OUTBOX_FAILED, page.last, 1, add_listed, &rest), 0);
	assert_int_equal(rest.n, 1);
	assert_string_equal(rest.ids[0], f2);
	struct listed all = {0};
	assert_int_equal(store_outbox_list(f->st, f->svc.id, -1, 0, 10, add_listed, &all), 0);
	assert_int_equal(all.n, 3);
	struct listed other = {0};
	assert_int_equal(store_outbox_list(f->st, "svc_other", -1, 0, 10, add_listed, &other), 0);
	assert_int_equal(other.n, 0);

	int64_t unsent = 0, oldest = 0;
	struct dests d = {0};
	assert_int_equal(store_outbox_stats(f->st, &unsent, &oldest, add_dest, &d), 0);
	assert_int_equal(unsent, 1); /* ok, pending */
	assert_int_equal(oldest, T0 + 2);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.failed_stuck, 2);
	assert_int_equal(d.unsent_stuck, 0);

	assert_int_equal(store_outbox_requeue(f->st, ok, T0 + 5), MASKD_ENOTFOUND); /* not failed */
	assert_int_equal(store_outbox_requeue(f->st, "obx_nope", T0 + 5), MASKD_ENOTFOUND);
	assert_int_equal(store_outbox_requeue(f->st, f1, T0 + 5), 0);
	assert_int_equal(store_outbox_get(f->st, f1, &got), 0);
	assert_int_equal(got.status, OUTBOX_PENDING);
	assert_int_equal(got.tries, 0);
	assert_int_equal(got.next_at, T0 + 5);
	assert_int_equal(store_outbox_requeue(f->st, f1, T0 + 6), MASKD_ENOTFOUND); /* pending now */
	assert_int_equal(store_outbox_get(f->st, "obx_nope", &got), MASKD_ENOTFOUND);
}

#define NODE_MESSAGES 40

struct node {
	struct store *st;
	char name[8];
	int claimed;
	char ids[NODE_MESSAGES][ID_MAX];
};

static void *drain(void *arg)
{
	struct node *n = arg;
	for (int k = 0;; k++) {
		char c[32];
		snprintf(c, sizeof(c), "%s-%d", n->name, k);
		struct outbox_item got;
		int rc = store_outbox_claim(n->st, T0, 60000, 100, c, &got);
		if (rc == MASKD_ENOTFOUND)
			break;
		if (rc < 0 || n->claimed >= NODE_MESSAGES)
			return (void *)1;
		free(got.payload);
		snprintf(n->ids[n->claimed++], ID_MAX, "%s", got.id);
		if (store_outbox_settle(n->st, got.id, c, OUTBOX_SENT, 0, 0, NULL, T0) < 0)
			return (void *)1;
	}
	return NULL;
}

static void two_nodes_claim_each_once(void **state)
{
	CX_FIXTURE(state);
	for (int i = 0; i < NODE_MESSAGES; i++) {
		char key[16];
		snprintf(key, sizeof(key), "n-%d", i);
		put(f, key, i % 2 ? "https://a.example" : "https://b.example", "", T0, NULL);
	}
	struct node a = {.st = f->st, .name = "a"}, b = {.st = cx_open_again(f), .name = "b"};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, drain, &a);
	pthread_create(&tb, NULL, drain, &b);
	void *ra, *rb;
	pthread_join(ta, &ra);
	pthread_join(tb, &rb);
	assert_null(ra);
	assert_null(rb);
	assert_int_equal(a.claimed + b.claimed, NODE_MESSAGES);
	for (int i = 0; i < a.claimed; i++)
		for (int j = 0; j < b.claimed; j++)
			assert_string_not_equal(a.ids[i], b.ids[j]);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox WHERE status = 2 AND tries = 1"), NODE_MESSAGES);
	store_close(b.st);
}

/* ---- a click-to-call: its interaction and its outbox message in one transaction */

struct call_tx {
	struct interaction it;
	struct outbox_item msg;
	int fail_after; /* 1: the body fails after both writes (the transaction rolls back) */
};

static int call_body(struct store_tx *tx, void *ctx)
{
	struct call_tx *c = ctx;
	struct interaction it = c->it;
	int existed = -1;
	int rc = store_tx_interaction_record(tx, &it, &existed);
	if (rc < 0)
		return rc;
	assert_int_equal(existed, 0);
	rc = store_tx_outbox_put(tx, &c->msg, &existed);
	if (rc < 0)
		return rc;
	return c->fail_after ? MASKD_EINVAL : 0;
}

static void call_tx_init(struct fixture *f, const struct session *s, struct call_tx *c, char *payload, size_t cap)
{
	memset(c, 0, sizeof(*c));
	id_new("int", c->it.id);
	snprintf(c->it.session_id, sizeof(c->it.session_id), "%s", s->id);
	snprintf(c->it.service_id, sizeof(c->it.service_id), "%s", f->svc.id);
	snprintf(c->it.carrier_sid, sizeof(c->it.carrier_sid), INTERACTION_CALL_SID_PREFIX "%s", c->it.id);
	snprintf(c->it.from_participant, sizeof(c->it.from_participant), "%s", s->participants[0].id);
	snprintf(c->it.to_participant, sizeof(c->it.to_participant), "%s", s->participants[1].id);
	c->it.decision = DECISION_BRIDGE;
	c->it.created_at = T0 / 1000;
	id_new("obx", c->msg.id);
	snprintf(c->msg.dedup_key, sizeof(c->msg.dedup_key), "call:%s", c->it.id);
	c->msg.kind = OUTBOX_CARRIER_CALL;
	snprintf(c->msg.service_id, sizeof(c->msg.service_id), "%s", f->svc.id);
	snprintf(c->msg.interaction_id, sizeof(c->msg.interaction_id), "%s", c->it.id);
	snprintf(c->msg.destination, sizeof(c->msg.destination), "https://api.example");
	snprintf(c->msg.url, sizeof(c->msg.url), "https://api.example/Calls.json");
	snprintf(payload, cap, KEY "To=%s", RIDER);
	c->msg.payload = payload;
	c->msg.payload_len = strlen(payload);
	c->msg.created_at = T0;
	c->msg.next_at = T0;
}

/* A body that fails after both writes leaves neither (no interaction without its
 * call, no call without its interaction); one that commits leaves both. The
 * carrier's call id is set once, and shows on every read of the interaction. */
static void call_interaction_and_message_commit_together(void **state)
{
	CX_FIXTURE(state);
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	struct call_tx c;
	char payload[128];
	call_tx_init(f, &s, &c, payload, sizeof(payload));
	c.fail_after = 1;
	assert_int_equal(store_tx_run(f->st, call_body, &c), MASKD_EINVAL);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM interactions"), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox"), 0);
	struct interaction got;
	assert_int_equal(store_interaction_get(f->st, c.it.id, &got), MASKD_ENOTFOUND);

	c.fail_after = 0;
	assert_int_equal(store_tx_run(f->st, call_body, &c), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM interactions"), 1);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox"), 1);
	assert_int_equal(store_interaction_get(f->st, c.it.id, &got), 0);
	assert_string_equal(got.carrier_sid, c.it.carrier_sid);
	assert_string_equal(got.carrier_call_id, "");
	struct outbox_item m;
	assert_int_equal(store_outbox_get(f->st, c.msg.id, &m), 0);
	assert_string_equal(m.interaction_id, c.it.id);
	assert_false(cx_db_contains(f, RIDER));

	/* the call id: set once, read back by id, by sid and in the session's list */
	assert_int_equal(store_interaction_call_id(f->st, c.it.id, "CA0123456789abcdef"), 0);
	assert_int_equal(store_interaction_call_id(f->st, c.it.id, "CAother"), MASKD_ENOTFOUND);
	assert_int_equal(store_interaction_call_id(f->st, "int_nosuchinteraction000000", "CAx"), MASKD_ENOTFOUND);
	assert_int_equal(store_interaction_get(f->st, c.it.id, &got), 0);
	assert_string_equal(got.carrier_call_id, "CA0123456789abcdef");
	assert_int_equal(store_interaction_by_sid(f->st, c.it.carrier, c.it.carrier_sid, &got), 0);
	assert_string_equal(got.carrier_call_id, "CA0123456789abcdef");
	char too_long[sizeof(got.carrier_call_id) + 1];
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(store_interaction_call_id(f->st, c.it.id, too_long), MASKD_ETOOBIG);
}

const struct CMUnitTest cx_outbox_tests[] = {
	CX_TEST(put_dedup_seal_claim),	  CX_TEST(long_payload_round_trip), CX_TEST(session_order),
	CX_TEST(destination_cap_and_hold), CX_TEST(lease_runs_out),	    CX_TEST(failed_listed_and_requeued),
	CX_TEST(two_nodes_claim_each_once),
	CX_TEST(call_interaction_and_message_commit_together),
};
const size_t cx_outbox_count = sizeof(cx_outbox_tests) / sizeof(cx_outbox_tests[0]);
