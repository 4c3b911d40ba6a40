/* SPDX-License-Identifier: MIT */
/* suite_proxy.c - the store contract of the Twilio Proxy v1 pending sessions
 * (store_proxy_session_* in store.h), the same on both backends: a row
 * round-trips, an update changes only what it may, a delete removes it once,
 * and a service's rows go with store_tx_proxy_sessions_drop inside a
 * transaction (and stay when that transaction rolls back). */
#include "suite.h"

#include "util/err.h"

static void pending_row(struct fixture *f, const char *id, const char *name, struct store_proxy_session *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->service_id, sizeof(r->service_id), "%s", f->svc.id);
	snprintf(r->unique_name, sizeof(r->unique_name), "%s", name);
	r->mode = MODE_MESSAGE;
	r->ttl = 600;
	r->expires_at = 1900000000;
	r->created_at = 1700000000;
}

static void pending_round_trip_update_delete(void **state)
{
	CX_FIXTURE(state);
	struct store_proxy_session r, back;
	pending_row(f, "ses_pending1", "order-1", &r);
	assert_int_equal(store_proxy_session_get(f->st, r.id, &back), MASKD_ENOTFOUND);
	assert_int_equal(store_proxy_session_put(f->st, &r), 0);
	assert_int_equal(store_proxy_session_get(f->st, r.id, &back), 0);
	assert_string_equal(back.id, r.id);
	assert_string_equal(back.service_id, f->svc.id);
	assert_string_equal(back.unique_name, "order-1");
	assert_int_equal(back.mode, MODE_MESSAGE);
	assert_int_equal(back.ttl, 600);
	assert_int_equal(back.expires_at, 1900000000);
	assert_int_equal(back.created_at, 1700000000);
	/* an update: the new ttl, expiry, name and mode; service and creation stay */
	struct store_proxy_session u = r;
	u.ttl = 60;
	u.expires_at = 0;
	u.mode = MODE_VOICE;
	snprintf(u.unique_name, sizeof(u.unique_name), "order-1b");
	snprintf(u.service_id, sizeof(u.service_id), "svc_other");
	u.created_at = 5;
	assert_int_equal(store_proxy_session_put(f->st, &u), 0);
	assert_int_equal(store_proxy_session_get(f->st, r.id, &back), 0);
	assert_int_equal(back.ttl, 60);
	assert_int_equal(back.expires_at, 0);
	assert_int_equal(back.mode, MODE_VOICE);
	assert_string_equal(back.unique_name, "order-1b");
	assert_string_equal(back.service_id, f->svc.id);
	assert_int_equal(back.created_at, 1700000000);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM proxy_sessions"), 1);
	assert_int_equal(store_proxy_session_delete(f->st, r.id), 0);
	assert_int_equal(store_proxy_session_delete(f->st, r.id), MASKD_ENOTFOUND);
	assert_int_equal(store_proxy_session_get(f->st, r.id, &back), MASKD_ENOTFOUND);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM proxy_sessions"), 0);
}

struct drop_ctx {
	const char *service_id;
	int fail; /* return this after the drop, so the transaction rolls back */
};

static int drop_body(struct store_tx *tx, void *ctx)
{
	struct drop_ctx *d = ctx;
	int rc = store_tx_proxy_sessions_drop(tx, d->service_id);
	return rc < 0 ? rc : d->fail;
}

static void pending_dropped_with_service(void **state)
{
	CX_FIXTURE(state);
	struct store_proxy_session r;
	pending_row(f, "ses_pending2", "a", &r);
	assert_int_equal(store_proxy_session_put(f->st, &r), 0);
	pending_row(f, "ses_pending3", "b", &r);
	assert_int_equal(store_proxy_session_put(f->st, &r), 0);
	pending_row(f, "ses_pending4", "c", &r);
	snprintf(r.service_id, sizeof(r.service_id), "svc_another");
	assert_int_equal(store_proxy_session_put(f->st, &r), 0);
	struct drop_ctx d = {f->svc.id, MASKD_EINVAL};
	assert_int_equal(store_tx_run(f->st, drop_body, &d), MASKD_EINVAL);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM proxy_sessions"), 3);
	d.fail = 0;
	assert_int_equal(store_tx_run(f->st, drop_body, &d), 0);
	struct store_proxy_session back;
	assert_int_equal(store_proxy_session_get(f->st, "ses_pending2", &back), MASKD_ENOTFOUND);
	assert_int_equal(store_proxy_session_get(f->st, "ses_pending3", &back), MASKD_ENOTFOUND);
	assert_int_equal(store_proxy_session_get(f->st, "ses_pending4", &back), 0);
	assert_string_equal(back.service_id, "svc_another");
}

const struct CMUnitTest cx_proxy_tests[] = {
	CX_TEST(pending_round_trip_update_delete),
	CX_TEST(pending_dropped_with_service),
};
const size_t cx_proxy_count = sizeof(cx_proxy_tests) / sizeof(cx_proxy_tests[0]);
