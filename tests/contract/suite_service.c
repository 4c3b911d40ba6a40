/* SPDX-License-Identifier: MIT */
/* suite_service.c - the store contract, services and retention: every service
 * field round-trips, updates (also from many threads at once) and the service
 * cache of another store, sealed credentials; the purge of real numbers after
 * the retention period. */
#include "suite.h"

#include <pthread.h>
#include <unistd.h>

#include "flow/audit.h"
#include "flow/jobs.h"
#include "flow/privacy.h"
#include "flow/lifecycle.h"
#include "flow/sessions.h"
#include "util/err.h"
#include "vectors.h"

/* ---------------------------------------------------------------- service update */

#define NEW_TOKEN "twilio-auth-token-rotated-9876543210"
#define SW_KEY "PSK_signalwire-signing-key-abcdef"

/* Every field of struct service but created_at changed from the fixture's. */
static void service_changed(const struct service *from, struct service *to)
{
	memset(to, 0, sizeof(*to));
	snprintf(to->id, sizeof(to->id), "%s", from->id);
	to->created_at = from->created_at;
	snprintf(to->name, sizeof(to->name), "Rides renamed");
	snprintf(to->secrets[DIALECT_TWILIO], sizeof(to->secrets[0]), "{\"auth_token\":\"%s\"}", NEW_TOKEN);
	snprintf(to->secrets[DIALECT_SIGNALWIRE], sizeof(to->secrets[0]), "{\"signing_key\":\"%s\"}", SW_KEY);
	to->mode = MODE_VOICE;
	to->ttl = 900;
	snprintf(to->unknown_caller_message, sizeof(to->unknown_caller_message), "Not in service.");
	to->policy = (struct call_policy){.record = 1, .time_limit = 600, .ring_timeout = 25};
	snprintf(to->policy.consent_message, sizeof(to->policy.consent_message), "Recorded.");
	to->pool = (struct pool_rules){GEO_AREA_CODE, 1, SELECT_AVOID_STICKY};
	to->cooloff = 3600;
	to->cooloff_reuse = 1;
	to->number_cap = 7;
	to->unknown_caller = UNKNOWN_CALLBACK;
	snprintf(to->fallback_number, sizeof(to->fallback_number), "+14155559999");
	snprintf(to->pin_number, sizeof(to->pin_number), "+14155558888");
	to->pin_length = 8;
	to->pin_attempts = 5;
	snprintf(to->callback_url, sizeof(to->callback_url), "https://app.example/unknown");
	to->callback_timeout_ms = 900;
	to->callback_fail_open = 1;
	snprintf(to->ended_message, sizeof(to->ended_message), "Over.");
	snprintf(to->help_text, sizeof(to->help_text), "Help: example.org");
	to->rate_calls = 3;
	to->rate_texts = 4;
	to->rate_silent = 1;
}

static void assert_service_equal(const struct service *a, const struct service *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	for (int d = 0; d < DIALECT_COUNT; d++)
		assert_string_equal(a->secrets[d], b->secrets[d]);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->ttl, b->ttl);
	assert_string_equal(a->unknown_caller_message, b->unknown_caller_message);
	assert_int_equal(a->policy.record, b->policy.record);
	assert_int_equal(a->policy.time_limit, b->policy.time_limit);
	assert_int_equal(a->policy.ring_timeout, b->policy.ring_timeout);
	assert_string_equal(a->policy.consent_message, b->policy.consent_message);
	assert_int_equal(a->created_at, b->created_at);
	assert_memory_equal(&a->pool, &b->pool, sizeof(a->pool));
	assert_int_equal(a->cooloff, b->cooloff);
	assert_int_equal(a->cooloff_reuse, b->cooloff_reuse);
	assert_int_equal(a->number_cap, b->number_cap);
	assert_int_equal(a->unknown_caller, b->unknown_caller);
	assert_string_equal(a->fallback_number, b->fallback_number);
	assert_string_equal(a->pin_number, b->pin_number);
	assert_int_equal(a->pin_length, b->pin_length);
	assert_int_equal(a->pin_attempts, b->pin_attempts);
	assert_string_equal(a->callback_url, b->callback_url);
	assert_int_equal(a->callback_timeout_ms, b->callback_timeout_ms);
	assert_int_equal(a->callback_fail_open, b->callback_fail_open);
	assert_string_equal(a->ended_message, b->ended_message);
	assert_string_equal(a->help_text, b->help_text);
	assert_int_equal(a->rate_calls, b->rate_calls);
	assert_int_equal(a->rate_texts, b->rate_texts);
	assert_int_equal(a->rate_silent, b->rate_silent);
}

/* A new service with every field set (service_changed's values, then the other
 * geo level and unknown-caller answer) reads back whole on its first read, from
 * the database. */
static void service_policy_fields(void **state)
{
	CX_FIXTURE(state);
	for (int variant = 0; variant < 2; variant++) {
		struct service svc, got;
		service_changed(&f->svc, &svc);
		id_new("svc", svc.id);
		if (variant == 1) {
			svc.pool = (struct pool_rules){GEO_REGION, 1, SELECT_AVOID_STICKY};
			svc.unknown_caller = UNKNOWN_PIN;
			svc.number_cap = 55;
		}
		assert_int_equal(store_service_insert(f->st, &svc), 0);
		assert_int_equal(store_service_get(f->st, svc.id, &got), 0);
		assert_service_equal(&got, &svc);
	}
}

static void service_update_round_trip(void **state)
{
	CX_FIXTURE(state);
	struct service got, upd;
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0); /* cached now */
	service_changed(&got, &upd);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	/* this handle: at once (its cache entry was replaced) */
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* the database: a fresh handle reads every column back */
	struct store *st2 = NULL;
	char err[256];
	assert_int_equal(store_open(f->url, f->vault, &st2, err, sizeof(err)), 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* a carrier whose secret is "" is removed; the other one is replaced */
	upd.secrets[DIALECT_SIGNALWIRE][0] = '\0';
	snprintf(upd.secrets[DIALECT_TWILIO], sizeof(upd.secrets[0]), "{\"auth_token\":\"third\"}");
	assert_int_equal(store_service_update(f->st, &upd), 0);
	store_service_cache_ttl(st2, 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	assert_string_equal(got.secrets[DIALECT_SIGNALWIRE], "");
	store_close(st2);
	/* the listing agrees; other services are untouched */
	struct service other;
	memset(&other, 0, sizeof(other));
	id_new("svc", other.id);
	snprintf(other.name, sizeof(other.name), "Other");
	snprintf(other.secrets[DIALECT_TWILIO], sizeof(other.secrets[0]), CX_SECRET);
	assert_int_equal(store_service_insert(f->st, &other), 0);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(f->st, other.id, &got), 0);
	assert_string_equal(got.name, "Other");
	assert_string_equal(got.secrets[DIALECT_TWILIO], CX_SECRET);
	/* the new credentials are sealed at rest like the first ones */
	const char *secrets[] = {NEW_TOKEN, SW_KEY};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_false(cx_db_contains(f, secrets[i]));
}

static void service_update_unknown(void **state)
{
	CX_FIXTURE(state);
	struct service upd, got;
	service_changed(&f->svc, &upd);
	id_new("svc", upd.id);
	assert_int_equal(store_service_update(f->st, &upd), MASKD_ENOTFOUND);
	assert_int_equal(store_service_get(f->st, upd.id, &got), MASKD_ENOTFOUND);
	/* nothing of it was written, not even its secrets */
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM service_secrets WHERE service_id = '%s'", upd.id);
	assert_int_equal(cx_sql_count(f, sql), 0);
	/* the fixture's service is unchanged */
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	assert_string_equal(got.secrets[DIALECT_TWILIO], CX_SECRET);
}

/* Another handle on the same database (another node) keeps its cached copy for
 * at most its TTL, then reloads: the new values, or ENOTFOUND once the row is gone. */
static void service_cache_ttl(void **state)
{
	CX_FIXTURE(state);
	struct store *st2 = NULL;
	char err[256];
	assert_int_equal(store_open(f->url, f->vault, &st2, err, sizeof(err)), 0);
	store_service_cache_ttl(st2, 2);
	struct service got, upd;
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	service_changed(&got, &upd);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides renamed");
	/* within the TTL: the other handle still answers from its cache */
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	assert_string_equal(got.secrets[DIALECT_TWILIO], CX_SECRET);
	usleep(2100 * 1000);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* a service that vanished (no API deletes one; a restore might) is not served stale */
	store_service_cache_ttl(st2, 0);
	char sql[256];
	snprintf(sql, sizeof(sql), "DELETE FROM service_secrets WHERE service_id = '%s'; DELETE FROM services WHERE id = '%s'",
		 f->svc.id, f->svc.id);
	cx_sql_exec(f, sql);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), MASKD_ENOTFOUND);
	assert_int_equal(store_service_update(st2, &upd), MASKD_ENOTFOUND);
	store_close(st2);
}

/* ---------------------------------------------------------------- retention (DESIGN §1.5) */

/* length(number_sealed) and bidx of a participant row, read past the store. */
static void raw_participant(struct fixture *f, const char *id, int *sealed_len, char *bidx, size_t cap)
{
	char sql[160], v[64];
	snprintf(sql, sizeof(sql), "SELECT COALESCE(length(number_sealed), 0) FROM participants WHERE id = '%s'", id);
	if (!cx_sql_text(f, sql, v, sizeof(v)))
		fail_msg("no participant %s", id);
	*sealed_len = (int)strtol(v, NULL, 10);
	snprintf(sql, sizeof(sql), "SELECT bidx FROM participants WHERE id = '%s'", id);
	assert_true(cx_sql_text(f, sql, bidx, cap));
}

static void numbers_purged_after_retention(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 0);
	char n[2][ID_MAX];
	add_number(f, "+14155550400", NUMBER_ACTIVE, CAP_ALL, 1, n[0]);
	add_number(f, "+14155550401", NUMBER_ACTIVE, CAP_ALL, 2, n[1]);
	struct session old, recent, open;
	open_pair(f, &old, RIDER, DRIVER1, 2000);
	open_pair(f, &recent, DRIVER2, DRIVER3, 2000);
	open_pair(f, &open, UK_CALLER, FR_CALLER, 2000);
	assert_int_equal(store_optout_set(f->st, f->svc.id, RIDER, n[0], 1, 2050), 0);
	assert_int_equal(lifecycle_close(f->st, old.id, SESSION_CLOSED, 2100), 0); /* cooloff 0: released */
	assert_int_equal(lifecycle_close(f->st, recent.id, SESSION_CLOSED, 5000), 0);
	/* bounded by limit, then idempotent */
	int purged = -1, sessions = -1;
	assert_int_equal(lifecycle_purge(f->st, 3000, 3001, 1, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2); /* both participants of the old session */
	assert_int_equal(lifecycle_purge(f->st, 3000, 3002, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 0);
	assert_int_equal(purged, 0);
	int len;
	char bidx[128], want[128];
	for (int i = 0; i < 2; i++) {
		raw_participant(f, old.participants[i].id, &len, bidx, sizeof(bidx));
		assert_int_equal(len, 0);
		snprintf(want, sizeof(want), "purged:%s", old.participants[i].id);
		assert_string_equal(bidx, want);
		char num[32];
		assert_int_equal(store_participant_number(f->st, old.participants[i].id, num, sizeof(num)),
				 MASKD_ENOTFOUND);
		raw_participant(f, recent.participants[i].id, &len, bidx, sizeof(bidx));
		assert_true(len > 0);
		assert_null(strstr(bidx, "purged:"));
		raw_participant(f, open.participants[i].id, &len, bidx, sizeof(bidx));
		assert_true(len > 0);
	}
	char num[32];
	assert_int_equal(store_participant_number(f->st, recent.participants[0].id, num, sizeof(num)), 0);
	assert_string_equal(num, DRIVER2);
	expect_route(f, open.participants[0].proxy_e164, UK_CALLER, open.id);
	/* the record survives: masked numbers, proxies, status */
	struct session got;
	assert_int_equal(store_session_get(f->st, old.id, &got), 0);
	/* a purged session cannot be re-opened: nothing is left to route to */
	int failed = 0;
	assert_int_equal(lifecycle_reopen(f->st, old.id, NULL, NULL, 6000, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_PURGED);
	assert_int_equal(got.status, SESSION_CLOSED);
	assert_int_equal(got.n_participants, 2);
	assert_string_equal(got.participants[0].masked, old.participants[0].masked);
	assert_string_equal(got.participants[1].proxy_number_id, old.participants[1].proxy_number_id);
	/* opt-outs are remembered */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
	/* the same pair again: a fresh session, not sticky to the purged rows */
	struct session again;
	struct create_outcome o;
	make_session(f, &again, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &again, &default_rules, 6000, &o), 0);
	assert_int_equal(o.sticky[0], 0);
	assert_int_equal(o.sticky[1], 0);
	expect_route(f, again.participants[0].proxy_e164, RIDER, again.id);
	assert_int_equal(store_participant_number(f->st, again.participants[1].id, num, sizeof(num)), 0);
	assert_string_equal(num, DRIVER1);
	/* later, the recent session goes too; the open ones never */
	assert_int_equal(lifecycle_purge(f->st, 1000000, 1000001, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2);
	raw_participant(f, open.participants[0].id, &len, bidx, sizeof(bidx));
	assert_true(len > 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE length(number_sealed) > 0"), 4);
	assert_counts_consistent(f);
}

/* ---------------------------------------------------------------- updates from many threads */

#define UPDATERS 12

struct updater {
	struct store *st;
	const struct service *base;
	int tag;
	int fails;
	pthread_barrier_t *go;
};

/* service_changed, with tag in its name and in two of its credentials, so that a
 * reader can tell whose update it sees. */
static void service_tagged(const struct service *from, struct service *to, int tag)
{
	service_changed(from, to);
	snprintf(to->name, sizeof(to->name), "Renamed %d", tag);
	snprintf(to->secrets[DIALECT_TWILIO], sizeof(to->secrets[0]), "{\"auth_token\":\"rotated-%d\"}", tag);
	snprintf(to->secrets[DIALECT_VONAGE], sizeof(to->secrets[0]), "{\"signature_secret\":\"vsec-%d\"}", tag);
}

static void *update_many(void *arg)
{
	struct updater *u = arg;
	pthread_barrier_wait(u->go);
	for (int i = 0; i < 5; i++) {
		struct service upd;
		service_tagged(u->base, &upd, u->tag * 10 + i);
		if (store_service_update(u->st, &upd) != 0)
			u->fails++;
	}
	return NULL;
}

/* Updates from many threads at once all land, and every read sees one whole
 * update: its row and its credentials from the same transaction. */
static void service_updates_in_parallel(void **state)
{
	CX_FIXTURE(state);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, UPDATERS);
	pthread_t t[UPDATERS];
	struct updater u[UPDATERS];
	for (int i = 0; i < UPDATERS; i++) {
		u[i] = (struct updater){.st = f->st, .base = &f->svc, .tag = i + 1, .go = &go};
		pthread_create(&t[i], NULL, update_many, &u[i]);
	}
	for (int i = 0; i < UPDATERS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(u[i].fails, 0);
	}
	pthread_barrier_destroy(&go);
	struct store *st2 = cx_open_again(f);
	struct service got;
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	int tag = -1;
	assert_int_equal(sscanf(got.name, "Renamed %d", &tag), 1);
	char want[64];
	snprintf(want, sizeof(want), "{\"auth_token\":\"rotated-%d\"}", tag);
	assert_string_equal(got.secrets[DIALECT_TWILIO], want);
	snprintf(want, sizeof(want), "{\"signature_secret\":\"vsec-%d\"}", tag);
	assert_string_equal(got.secrets[DIALECT_VONAGE], want);
	store_close(st2);
}

/* ---- changes and their audit entries, in one transaction */

static int fail_in_tx(struct store_tx *tx, void *ctx)
{
	(void)tx;
	(void)ctx;
	return MASKD_EDB;
}

static int audit_in_tx(struct store_tx *tx, void *ctx)
{
	return audit_append_tx(tx, ctx);
}

struct audit_seen {
	int n;
	struct audit_entry last;
};

static void audit_count(void *ctx, const struct audit_entry *e)
{
	struct audit_seen *a = ctx;
	a->n++;
	a->last = *e;
}

static struct audit_seen audit_all(struct store *st)
{
	struct audit_seen a;
	memset(&a, 0, sizeof(a));
	assert_int_equal(store_audit_list(st, 0, 1000, audit_count, &a), 0);
	return a;
}

static void test_entry(struct audit_entry *e, const char *action, const char *target)
{
	memset(e, 0, sizeof(*e));
	e->created_at = 2500;
	snprintf(e->key_id, sizeof(e->key_id), "key_contract");
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->target, sizeof(e->target), "%s", target);
}

/* The update commits with what also writes, or neither does. */
static void service_update_with_audit(void **state)
{
	CX_FIXTURE(state);
	struct service before, upd, got;
	assert_int_equal(store_service_get(f->st, f->svc.id, &before), 0);
	service_changed(&before, &upd);
	/* also fails: nothing of the update stays, on this handle nor in the database */
	assert_int_equal(store_service_update_with(f->st, &upd, fail_in_tx, NULL), MASKD_EDB);
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_service_equal(&got, &before);
	struct store *st2 = cx_open_again(f);
	store_service_cache_ttl(st2, 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &before);
	assert_int_equal(audit_all(st2).n, 0);
	/* also appends an entry: both are committed */
	struct audit_entry e;
	test_entry(&e, "service.changed", f->svc.id);
	assert_int_equal(store_service_update_with(f->st, &upd, audit_in_tx, &e), 0);
	assert_int_equal(e.seq, 1);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	struct audit_seen a = audit_all(st2);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.last.action, "service.changed");
	assert_string_equal(a.last.target, f->svc.id);
	/* an unknown service: MASKD_ENOTFOUND and no entry */
	struct service ghost = upd;
	id_new("svc", ghost.id);
	test_entry(&e, "service.changed", ghost.id);
	assert_int_equal(store_service_update_with(f->st, &ghost, audit_in_tx, &e), MASKD_ENOTFOUND);
	assert_int_equal(audit_all(st2).n, 1);
	store_close(st2);
}

struct erase_then {
	const char *bidx;
	int64_t counts[STORE_ERASE_COUNTS];
	int rc; /* what the body returns after the erase */
};

static int erase_then_body(struct store_tx *tx, void *ctx)
{
	struct erase_then *j = ctx;
	int rc = store_tx_subject_erase(tx, j->bidx, j->counts);
	return rc < 0 ? rc : j->rc;
}

/* The erase primitive commits or rolls back with its transaction; privacy_erase
 * closes, erases and audits in one. */
static void subject_erase_in_tx(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 0);
	add_number(f, "+14155550410", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550411", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	open_pair(f, &s, RIDER, DRIVER1, 2000);
	char bidx[STORE_BIDX_MAX];
	store_blind_index(f->st, RIDER, bidx);
	char num[32];
	/* a body failing after the erase: the number is still there */
	struct erase_then j = {.bidx = bidx, .rc = MASKD_EDB};
	assert_int_equal(store_tx_run(f->st, erase_then_body, &j), MASKD_EDB);
	store_subject_settle(f->st);
	assert_int_equal(store_participant_number(f->st, s.participants[0].id, num, sizeof(num)), 0);
	assert_string_equal(num, RIDER);
	expect_route(f, s.participants[0].proxy_e164, RIDER, s.id);
	/* the flow: the open session closed, the number erased, one entry, together */
	struct audit_entry e;
	test_entry(&e, "privacy.erased", "");
	struct privacy_erase_result res;
	assert_int_equal(privacy_erase(f->st, RIDER, 2600, &e, &res), 0);
	assert_int_equal(res.sessions_closed, 1);
	assert_int_equal(res.participants_erased, 1);
	assert_int_equal(store_participant_number(f->st, s.participants[0].id, num, sizeof(num)), MASKD_ENOTFOUND);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_CLOSED);
	struct audit_seen a = audit_all(f->st);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.last.action, "privacy.erased");
	assert_string_equal(a.last.detail, "sessions_closed=1 participants=1 optouts=0 profiles=0 profiles_retired=0");
	assert_false(cx_db_contains(f, RIDER));
	/* again: nothing found, audited too */
	test_entry(&e, "privacy.erased", "");
	assert_int_equal(privacy_erase(f->st, RIDER, 2700, &e, &res), 0);
	assert_int_equal(res.sessions_closed + res.participants_erased + res.optouts_erased, 0);
	assert_int_equal(audit_all(f->st).n, 2);
}

/* Appends its entry, then fails: a failure after the change and its entry. */
static int audit_then_fail(struct store_tx *tx, void *ctx)
{
	int rc = audit_append_tx(tx, ctx);
	return rc < 0 ? rc : MASKD_EDB;
}

static void count_event(void *ctx, const struct session_event *ev)
{
	(void)ev;
	(*(int *)ctx)++;
}

static int session_events_n(struct store *st, const char *session_id)
{
	int n = 0;
	assert_int_equal(store_session_events(st, session_id, count_event, &n), 0);
	return n;
}

/* A session close, block, re-open, ttl change and number swap commit with the
 * caller's audit entry (lifecycle_change_with, lifecycle_reopen_with,
 * sessions_participant_swap_with), or neither does; a refused one calls no
 * then and writes nothing. */
static void session_changes_with_audit(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 0);
	char n[3][ID_MAX];
	add_number(f, "+14155550430", NUMBER_ACTIVE, CAP_ALL, 1, n[0]);
	add_number(f, "+14155550431", NUMBER_ACTIVE, CAP_ALL, 2, n[1]);
	add_number(f, "+14155550432", NUMBER_ACTIVE, CAP_ALL, 3, n[2]);
	struct session s;
	open_pair(f, &s, RIDER, DRIVER1, 2000);
	struct store *st2 = cx_open_again(f);
	struct session got;
	struct audit_entry e;
	bool changed = true;
	int events = session_events_n(f->st, s.id);

	/* close: a failure after it and its entry leaves the session open, routing */
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_change_with(f->st, s.id, NULL, NULL, SESSION_CLOSED, 2100, audit_then_fail, &e,
					       &changed),
			 MASKD_EDB);
	assert_false(changed);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	expect_route(f, s.participants[0].proxy_e164, RIDER, s.id);
	assert_int_equal(in_use_of(f, s.participants[0].proxy_number_id), 1);
	assert_int_equal(session_events_n(st2, s.id), events);
	assert_int_equal(audit_all(st2).n, 0);
	/* and with its entry: both */
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(
		lifecycle_change_with(f->st, s.id, NULL, NULL, SESSION_CLOSED, 2100, audit_then, &e, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_CLOSED);
	expect_route(f, s.participants[0].proxy_e164, RIDER, "");
	assert_int_equal(in_use_of(f, s.participants[0].proxy_number_id), 0);
	struct audit_seen a = audit_all(st2);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.last.action, "session.changed");
	assert_string_equal(a.last.target, s.id);
	/* refused (no such session; a close to another status): no entry */
	test_entry(&e, "session.deleted", "ses_nope");
	assert_int_equal(lifecycle_change_with(f->st, "ses_nope", NULL, NULL, SESSION_CLOSED, 2150, audit_then, &e,
					       &changed),
			 MASKD_ENOTFOUND);
	assert_int_equal(lifecycle_change_with(f->st, s.id, NULL, NULL, SESSION_FAILED, 2150, audit_then, &e, &changed),
			 MASKD_EINVAL);
	assert_int_equal(audit_all(st2).n, 1);

	/* block: rolled back, then committed with its entry */
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_change_with(f->st, s.id, NULL, NULL, SESSION_BLOCKED, 2200, audit_then_fail, &e,
					       &changed),
			 MASKD_EDB);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_CLOSED);
	assert_int_equal(audit_all(st2).n, 1);
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(
		lifecycle_change_with(f->st, s.id, NULL, NULL, SESSION_BLOCKED, 2200, audit_then, &e, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	assert_int_equal(audit_all(st2).n, 2);

	/* re-open: rolled back (still blocked, not routing), then committed */
	int failed = 0;
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_reopen_with(f->st, s.id, NULL, NULL, 2300, audit_then_fail, &e, &failed),
			 MASKD_EDB);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	expect_route(f, s.participants[0].proxy_e164, RIDER, "");
	assert_int_equal(in_use_of(f, s.participants[0].proxy_number_id), 0);
	assert_int_equal(audit_all(st2).n, 2);
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_reopen_with(f->st, s.id, NULL, NULL, 2300, audit_then, &e, &failed), 0);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	expect_route(f, s.participants[0].proxy_e164, RIDER, s.id);
	assert_int_equal(audit_all(st2).n, 3);
	/* a refused re-open (expires_at past): no entry */
	int64_t past = 2000;
	struct session t;
	open_pair(f, &t, DRIVER2, DRIVER3, 2300);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 2310), 0);
	test_entry(&e, "session.changed", t.id);
	assert_int_equal(lifecycle_reopen_with(f->st, t.id, NULL, &past, 2320, audit_then, &e, &failed), MASKD_EINVAL);
	assert_int_equal(audit_all(st2).n, 3);

	/* ttl: rolled back, then committed */
	int64_t ttl = 777;
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_change_with(f->st, s.id, &ttl, NULL, -1, 2400, audit_then_fail, &e, NULL), MASKD_EDB);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_not_equal(got.ttl, 777);
	test_entry(&e, "session.changed", s.id);
	assert_int_equal(lifecycle_change_with(f->st, s.id, &ttl, NULL, -1, 2400, audit_then, &e, NULL), 0);
	assert_int_equal(store_session_get(st2, s.id, &got), 0);
	assert_int_equal(got.ttl, 777);
	assert_int_equal(audit_all(st2).n, 4);

	/* swap: rolled back (same number, same in_use, no event), then committed */
	const char *old_id = s.participants[0].proxy_number_id;
	const char *spare = strcmp(old_id, n[2]) != 0 && strcmp(s.participants[1].proxy_number_id, n[2]) != 0 ? n[2]
			    : strcmp(old_id, n[0]) != 0 && strcmp(s.participants[1].proxy_number_id, n[0]) != 0 ? n[0]
														 : n[1];
	struct number sp;
	assert_int_equal(store_number_get(f->st, spare, &sp), 0);
	int64_t spare_use = sp.in_use;
	struct participant p;
	memset(&p, 0, sizeof(p));
	snprintf(p.country, sizeof(p.country), "US");
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "%s", sp.e164);
	events = session_events_n(st2, s.id);
	test_entry(&e, "participant.swapped", s.participants[0].id);
	assert_int_equal(sessions_participant_swap_with(f->st, s.id, s.participants[0].id, &p, &default_rules, 2500,
							audit_then_fail, &e),
			 MASKD_EDB);
	expect_route(f, s.participants[0].proxy_e164, RIDER, s.id);
	expect_route(f, sp.e164, RIDER, "");
	assert_int_equal(in_use_of(f, old_id), 1);
	assert_int_equal(in_use_of(f, spare), spare_use);
	assert_int_equal(session_events_n(st2, s.id), events);
	assert_int_equal(audit_all(st2).n, 4);
	test_entry(&e, "participant.swapped", s.participants[0].id);
	assert_int_equal(sessions_participant_swap_with(f->st, s.id, s.participants[0].id, &p, &default_rules, 2500,
							audit_then, &e),
			 0);
	expect_route(f, sp.e164, RIDER, s.id);
	expect_route(f, s.participants[0].proxy_e164, RIDER, "");
	assert_int_equal(in_use_of(f, spare), spare_use + 1);
	assert_int_equal(session_events_n(st2, s.id), events + 1);
	a = audit_all(st2);
	assert_int_equal(a.n, 5);
	assert_string_equal(a.last.action, "participant.swapped");
	assert_string_equal(a.last.target, s.participants[0].id);
	/* refused (not in the pool): no entry */
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "+14155550499");
	test_entry(&e, "participant.swapped", s.participants[0].id);
	assert_int_equal(sessions_participant_swap_with(f->st, s.id, s.participants[0].id, &p, &default_rules, 2600,
							audit_then, &e),
			 MASKD_ENOTFOUND);
	assert_int_equal(audit_all(st2).n, 5);
	struct audit_verifier v;
	assert_int_equal(audit_verify_store(st2, &v), 0);
	assert_int_equal(v.broken_seq, 0);
	assert_int_equal(v.checked, 5);
	store_close(st2);
}

/* The retention purge leaves an ended mark of each purged participant on its
 * proxy number; old marks expire with a later purge, and an erasure deletes
 * its number's marks. */
static void ended_marks_after_purge(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 0);
	char n[2][ID_MAX];
	add_number(f, "+14155550420", NUMBER_ACTIVE, CAP_ALL, 1, n[0]);
	add_number(f, "+14155550421", NUMBER_ACTIVE, CAP_ALL, 2, n[1]);
	struct session a, b;
	open_pair(f, &a, RIDER, DRIVER1, 2000);
	open_pair(f, &b, DRIVER2, DRIVER3, 2000);
	assert_int_equal(lifecycle_close(f->st, a.id, SESSION_CLOSED, 2100), 0);
	assert_int_equal(lifecycle_close(f->st, b.id, SESSION_CLOSED, 2100), 0);
	int found = -1;
	/* closed and released, not purged: no mark yet */
	assert_int_equal(store_ended_mark(f->st, a.participants[0].proxy_number_id, RIDER, &found), 0);
	assert_int_equal(found, 0);
	int sessions = 0, purged = 0;
	assert_int_equal(lifecycle_purge(f->st, 3000, 3001, 10, &sessions, &purged), 0);
	assert_int_equal(sessions, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_ended_mark(f->st, a.participants[i].proxy_number_id, i ? DRIVER1 : RIDER, &found), 0);
		assert_int_equal(found, 1);
	}
	/* another caller, or the same caller on the other number, has none */
	const char *other = strcmp(a.participants[0].proxy_number_id, n[0]) == 0 ? n[1] : n[0];
	assert_int_equal(store_ended_mark(f->st, a.participants[0].proxy_number_id, UK_CALLER, &found), 0);
	assert_int_equal(found, 0);
	if (strcmp(a.participants[1].proxy_number_id, other) != 0) {
		assert_int_equal(store_ended_mark(f->st, other, RIDER, &found), 0);
		assert_int_equal(found, 0);
	}
	assert_int_equal(cx_sql_count(f, "SELECT count(*) FROM ended_marks"), 4);
	/* an erasure deletes its number's marks, and no other */
	struct audit_entry e;
	test_entry(&e, "privacy.erased", "");
	struct privacy_erase_result res;
	assert_int_equal(privacy_erase(f->st, RIDER, 3100, &e, &res), 0);
	assert_int_equal(store_ended_mark(f->st, a.participants[0].proxy_number_id, RIDER, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(cx_sql_count(f, "SELECT count(*) FROM ended_marks"), 3);
	/* a purge within LIFECYCLE_ENDED_MARK_MIN_S keeps them; one past it and past
	 * the retention cutoff deletes them */
	assert_int_equal(lifecycle_purge(f->st, 3500, 3001 + LIFECYCLE_ENDED_MARK_MIN_S - 1, 10, &sessions, &purged), 0);
	assert_int_equal(cx_sql_count(f, "SELECT count(*) FROM ended_marks"), 3);
	assert_int_equal(lifecycle_purge(f->st, 3500, 3002 + LIFECYCLE_ENDED_MARK_MIN_S, 10, &sessions, &purged), 0);
	assert_int_equal(cx_sql_count(f, "SELECT count(*) FROM ended_marks"), 0);
}

const struct CMUnitTest cx_service_tests[] = {
	CX_TEST(service_policy_fields), CX_TEST(service_update_round_trip), CX_TEST(service_update_unknown),
	CX_TEST(service_cache_ttl), CX_TEST(numbers_purged_after_retention), CX_TEST(service_updates_in_parallel),
	CX_TEST(service_update_with_audit), CX_TEST(subject_erase_in_tx),
	CX_TEST(session_changes_with_audit), CX_TEST(ended_marks_after_purge),
};
const size_t cx_service_count = sizeof(cx_service_tests) / sizeof(cx_service_tests[0]);
