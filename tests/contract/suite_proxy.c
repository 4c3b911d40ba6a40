/* SPDX-License-Identifier: MIT */
/* suite_proxy.c - the store contract of the Twilio Proxy v1 pending sessions
 * (store_proxy_session_* in store.h), the same on both backends: a row
 * round-trips, an update changes only what it may, a delete removes it once,
 * and a service's rows go with store_tx_proxy_sessions_drop inside a
 * transaction (and stay when that transaction rolls back); an interaction is
 * deleted with its legs, only from its own session; a Proxy account's sealed
 * auth token is re-sealed by the vault key rotation; the settings memo a hot
 * path reads the Proxy rows through (store_setting_get_cached) sees this
 * handle's writes at once. */
#include "suite.h"

#include <jansson.h>

#include "util/err.h"
#include "util/hex.h"
#include "vault/vault.h"

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

struct delete_ctx {
	const char *session_id, *id;
};

static int delete_body(struct store_tx *tx, void *ctx)
{
	const struct delete_ctx *d = ctx;
	return store_tx_interaction_delete(tx, d->session_id, d->id);
}

static void interaction_deleted_with_legs(void **state)
{
	CX_FIXTURE(state);
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s, t;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	assert_int_equal(new_session(f, DRIVER2, DRIVER3, NULL, &t, NULL), 0);
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "CA777");
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", s.participants[0].id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", s.participants[1].id);
	it.decision = DECISION_BRIDGE;
	it.created_at = 2100;
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	struct leg_update ringing = {.status = "ringing", .duration = -1};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &ringing, 2101), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 1);
	/* another session's id for it: nothing goes */
	struct delete_ctx d = {t.id, it.id};
	assert_int_equal(store_tx_run(f->st, delete_body, &d), MASKD_ENOTFOUND);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 1);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	d.session_id = s.id;
	assert_int_equal(store_tx_run(f->st, delete_body, &d), 0);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), MASKD_ENOTFOUND);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM interactions"), 0);
	assert_int_equal(store_tx_run(f->st, delete_body, &d), MASKD_ENOTFOUND);
}

/* as long as the real ones: "<AC sid>.<key SHA-256 hex>" */
#define ACCOUNT_KEY                                                                                          \
	STORE_PROXY_ACCOUNT_PREFIX "AC0123456789abcdef0123456789abcdef."                                         \
				   "5d4613b00733c2fc28dc732db00e4275178483528952799c33e29b54aa22ae91"
#define ACCOUNT_TOKEN "proxy-account-auth-token-0123456789"

/* The account row as api/proxy_v1.c writes it, sealed by v. */
static void account_row(const struct vault *v, char *out, size_t cap)
{
	uint8_t blob[256];
	size_t n = 0;
	assert_int_equal(vault_seal(v, ACCOUNT_TOKEN, ACCOUNT_KEY, blob, sizeof(blob), &n), 0);
	char hex[2 * sizeof(blob) + 1];
	hex_encode(blob, n, hex);
	snprintf(out, cap, "{\"key_sha256\":\"%064d\",\"auth_token_sealed\":\"%s\"}", 7, hex);
}

/* The version of the row's sealed token and the token it opens to under v. */
static int account_version(struct store *st, const struct vault *v, char *token, size_t cap)
{
	char val[1024];
	assert_int_equal(store_setting_get(st, ACCOUNT_KEY, val, sizeof(val)), 0);
	json_t *o = json_loads(val, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "key_sha256")),
			    "0000000000000000000000000000000000000000000000000000000000000007");
	const char *hex = json_string_value(json_object_get(o, "auth_token_sealed"));
	assert_non_null(hex);
	uint8_t blob[256];
	long n = hex_decode(hex, strlen(hex), blob, sizeof(blob));
	assert_true(n > 0);
	assert_int_equal(vault_unseal(v, blob, (size_t)n, ACCOUNT_KEY, token, cap), 0);
	json_decref(o);
	return vault_sealed_version(blob, (size_t)n);
}

/* Key rotation covers the Proxy accounts: the row is counted stale under the
 * new version, re-sealed by the STORE_SEALED_PROXY_ACCOUNTS pass with its other
 * fields kept, then no longer counted; other settings rows are not touched. */
static void account_token_resealed(void **state)
{
	CX_FIXTURE(state);
	char row[1024];
	account_row(f->vault, row, sizeof(row));
	assert_int_equal(store_setting_put(f->st, ACCOUNT_KEY, row), 0);
	assert_int_equal(store_setting_put(f->st, "proxy.accountant", "not an account"), 0);
	int old = vault_current_version(f->vault), version = 0;
	char key[128], err[512];
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_file_rotate(key, VAULT_ROTATE_ADD, 0, &version, err, sizeof(err)), 0);
	struct vault *v2 = NULL;
	assert_int_equal(vault_load(key, &v2, err, sizeof(err)), 0);
	struct store *st2 = NULL;
	assert_int_equal(store_open(f->url, v2, &st2, err, sizeof(err)), 0);
	int64_t before = 0, after = 0;
	assert_int_equal(store_vault_stale(st2, version, &before), 0);
	char last[STORE_RESEAL_KEY_MAX];
	int seen = 0, resealed = 0;
	assert_int_equal(store_vault_reseal(st2, STORE_SEALED_PROXY_ACCOUNTS, "", 100, last, &seen, &resealed), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(resealed, 1);
	assert_string_equal(last, ACCOUNT_KEY);
	assert_int_equal(store_vault_stale(st2, version, &after), 0);
	assert_int_equal(after, before - 1);
	char token[128];
	assert_int_equal(account_version(st2, v2, token, sizeof(token)), version);
	assert_string_equal(token, ACCOUNT_TOKEN);
	assert_int_not_equal(old, version);
	/* nothing left of the kind */
	assert_int_equal(store_vault_reseal(st2, STORE_SEALED_PROXY_ACCOUNTS, "", 100, last, &seen, &resealed), 0);
	assert_int_equal(seen, 0);
	char other[64];
	assert_int_equal(store_setting_get(st2, "proxy.accountant", other, sizeof(other)), 0);
	assert_string_equal(other, "not an account");
	store_close(st2);
	vault_free(v2);
}

/* store_setting_get_cached(): an absent row is remembered as absent; a write
 * through the same handle is seen at once; a write through another handle
 * (another node) is not seen before the memo's TTL (an hour here, so no
 * timing is involved), while the plain read sees it; TTL 0 turns the memo off. */
static void settings_memo(void **state)
{
	CX_FIXTURE(state);
	char out[64];
	const char *key = "proxy.service.svc_memo";
	store_service_cache_ttl(f->st, 3600);
	assert_int_equal(store_setting_get_cached(f->st, key, out, sizeof(out)), MASKD_ENOTFOUND);
	assert_int_equal(store_setting_put(f->st, key, "{\"callback_url\":\"https://a.example/cb\"}"), 0);
	assert_int_equal(store_setting_get_cached(f->st, key, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"callback_url\":\"https://a.example/cb\"}");
	struct store *other = cx_open_again(f);
	assert_int_equal(store_setting_put(other, key, "{}"), 0);
	store_close(other);
	assert_int_equal(store_setting_get(f->st, key, out, sizeof(out)), 0);
	assert_string_equal(out, "{}");
	assert_int_equal(store_setting_get_cached(f->st, key, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"callback_url\":\"https://a.example/cb\"}"); /* within the TTL */
	assert_int_equal(store_setting_put(f->st, "unrelated", "1"), 0);
	assert_int_equal(store_setting_get_cached(f->st, key, out, sizeof(out)), 0);
	assert_string_equal(out, "{}"); /* any write through this handle forgets the memo */
	store_service_cache_ttl(f->st, 0);
	other = cx_open_again(f);
	assert_int_equal(store_setting_put(other, key, "{\"n\":2}"), 0);
	store_close(other);
	assert_int_equal(store_setting_get_cached(f->st, key, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"n\":2}");
}

const struct CMUnitTest cx_proxy_tests[] = {
	CX_TEST(pending_round_trip_update_delete),
	CX_TEST(pending_dropped_with_service),
	CX_TEST(interaction_deleted_with_legs),
	CX_TEST(account_token_resealed),
	CX_TEST(settings_memo),
};
const size_t cx_proxy_count = sizeof(cx_proxy_tests) / sizeof(cx_proxy_tests[0]);
