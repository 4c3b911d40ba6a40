/* SPDX-License-Identifier: MIT */
/* suite_profiles.c - the store contract of profiles (store_tx_profile_* in
 * store.h, through flow/profiles.c), the same on both backends: a proxy number
 * belongs to one profile (the unique index) and becomes reserved; the real number
 * is sealed (not in the database in clear) and comes back only when asked; a
 * retired profile's number stays held until its cool-off has passed and then is
 * active again for anyone; a device swap moves the profile's sessions to the
 * new number, and is refused, writing nothing, when the new number holds one of
 * their proxy numbers already; key rotation re-seals profiles' numbers; and a
 * data-subject erasure (flow/privacy.c) finds a profile by its number, retires
 * it (its number freed after the cool-off), wipes its sealed number and blind
 * index in the erasure's transaction, and leaves nothing that routes. */
#include "suite.h"

#include "flow/audit.h"
#include "flow/lifecycle.h"
#include "flow/privacy.h"
#include "flow/profiles.h"
#include "util/err.h"
#include "vault/vault.h"

#define AGENT "+14152375001"
#define AGENT_NEW "+14152375002"
#define CUST1 "+14152375011"
#define CUST2 "+14152375012"

static void geo_of(const char *number, struct participant *geo)
{
	memset(geo, 0, sizeof(*geo));
	snprintf(geo->number, sizeof(geo->number), "%s", number);
	snprintf(geo->country, sizeof(geo->country), "US");
}

static int new_profile(struct fixture *f, const char *number, const char *proxy, int64_t now, struct profile *p)
{
	struct participant geo;
	geo_of(number, &geo);
	memset(p, 0, sizeof(*p));
	snprintf(p->number, sizeof(p->number), "%s", number);
	snprintf(p->masked, sizeof(p->masked), "+1******%s", number + 8);
	snprintf(p->country, sizeof(p->country), "US");
	snprintf(p->label, sizeof(p->label), "Agent");
	snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", proxy ? proxy : "");
	return profiles_create(f->st, &f->svc, &geo, p, now);
}

static enum number_state state_of(struct fixture *f, const char *id)
{
	struct number n;
	assert_int_equal(store_number_get(f->st, id, &n), 0);
	return n.state;
}

static void claim_is_exclusive_and_sealed(void **state)
{
	CX_FIXTURE(state);
	char a[ID_MAX], b[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, a);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 20, b);
	struct profile p, q;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	assert_string_equal(p.proxy_number_id, a);
	assert_int_equal(state_of(f, a), NUMBER_RESERVED);
	assert_int_equal(new_profile(f, CUST1, PA, 1001, &q), MASKD_ECONFLICT);
	assert_string_equal(q.proxy_e164, PA); /* given back as named */
	/* picked: the only active number left */
	assert_int_equal(new_profile(f, CUST1, NULL, 1002, &q), 0);
	assert_string_equal(q.proxy_number_id, b);
	/* nothing left to pick */
	struct profile r;
	assert_int_equal(new_profile(f, CUST2, NULL, 1003, &r), MASKD_EEXHAUSTED);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM profiles"), 2);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM profiles WHERE bidx LIKE '%5001%' OR masked = '" AGENT "'"),
			 0);
	struct profile got;
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 0, &got), 0);
	assert_string_equal(got.number, "");
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, AGENT);
	assert_string_equal(got.proxy_e164, PA);
	assert_int_equal(profiles_get(f->st, "svc_other", p.id, 0, &got), MASKD_ENOTFOUND);
}

static void retire_frees_after_cooloff(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 100);
	char a[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, a);
	struct profile p, q;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	struct profile_change c = {.retire = 1};
	struct profile out;
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 2000, &out), 0);
	assert_int_equal(out.state, PROFILE_RETIRED);
	assert_int_equal(out.free_at, 2100);
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 2001, &out), MASKD_ECONFLICT);
	/* still held one second before the end of the cool-off */
	assert_int_equal(new_profile(f, CUST1, PA, 2099, &q), MASKD_ECONFLICT);
	assert_int_equal(state_of(f, a), NUMBER_RESERVED);
	int released = -1;
	assert_int_equal(lifecycle_bindings_release(f->st, 2099, 100, &released), 0);
	assert_int_equal(state_of(f, a), NUMBER_RESERVED);
	assert_int_equal(lifecycle_bindings_release(f->st, 2100, 100, &released), 0);
	assert_int_equal(state_of(f, a), NUMBER_ACTIVE);
	assert_int_equal(new_profile(f, CUST1, PA, 2101, &q), 0);
	assert_int_equal(state_of(f, a), NUMBER_RESERVED);
}

/* A session of f->svc between profile p (participant 0) and customer. */
static void profile_session(struct fixture *f, const struct profile *p, const char *customer, struct session *s)
{
	make_session(f, s, NULL, 2, AGENT, customer);
	snprintf(s->participants[0].number, sizeof(s->participants[0].number), "%s", AGENT);
	snprintf(s->participants[0].profile_id, sizeof(s->participants[0].profile_id), "%s", p->id);
	snprintf(s->participants[1].proxy_e164, sizeof(s->participants[1].proxy_e164), "%s", p->proxy_e164);
	assert_int_equal(create_at(f, s, &default_rules, 3000, NULL), 0);
}

static void device_swap_moves_sessions(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 20, NULL);
	add_number(f, PC, NUMBER_ACTIVE, CAP_ALL, 30, NULL);
	struct profile p;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	struct session s1, s2;
	profile_session(f, &p, CUST1, &s1);
	profile_session(f, &p, CUST2, &s2);
	const char *q1 = s1.participants[0].proxy_e164, *q2 = s2.participants[0].proxy_e164;
	assert_string_not_equal(q1, q2);
	expect_route(f, PA, CUST1, s1.id);
	expect_route(f, PA, CUST2, s2.id);
	expect_route(f, q1, AGENT, s1.id);
	struct profile_change c = {.has_number = 1};
	snprintf(c.number.number, sizeof(c.number.number), "%s", AGENT_NEW);
	snprintf(c.number.masked, sizeof(c.number.masked), "+1******5002");
	snprintf(c.number.country, sizeof(c.number.country), "US");
	struct profile out;
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 4000, &out), 0);
	assert_string_equal(out.proxy_e164, PA);
	assert_string_equal(out.masked, "+1******5002");
	expect_route(f, q1, AGENT_NEW, s1.id);
	expect_route(f, q2, AGENT_NEW, s2.id);
	expect_route(f, q1, AGENT, "");
	expect_route(f, PA, CUST1, s1.id);
	struct profile got;
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, AGENT_NEW);
	/* the other participants' peer is the new number: the pair's stickiness follows */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE profile_id = '' AND peer_bidx IN "
					 "(SELECT bidx FROM participants WHERE profile_id <> '')"),
			 2);
}

static void device_swap_refused_writes_nothing(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 20, NULL);
	add_number(f, PC, NUMBER_ACTIVE, CAP_ALL, 30, NULL);
	struct profile p;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	struct session s1, other;
	profile_session(f, &p, CUST1, &s1);
	const char *q1 = s1.participants[0].proxy_e164;
	/* AGENT_NEW holds q1 in a session of its own */
	make_session(f, &other, NULL, 2, AGENT_NEW, CUST2);
	snprintf(other.participants[0].proxy_e164, sizeof(other.participants[0].proxy_e164), "%s", q1);
	assert_int_equal(create_at(f, &other, &default_rules, 3500, NULL), 0);
	struct profile_change c = {.has_number = 1, .has_label = 1};
	snprintf(c.label, sizeof(c.label), "renamed");
	snprintf(c.number.number, sizeof(c.number.number), "%s", AGENT_NEW);
	snprintf(c.number.masked, sizeof(c.number.masked), "+1******5002");
	struct profile out;
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 4000, &out), MASKD_ECONFLICT);
	struct profile got;
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, AGENT);
	assert_string_equal(got.label, "Agent");
	assert_int_equal(got.updated_at, 1000);
	expect_route(f, q1, AGENT, s1.id);
	expect_route(f, q1, AGENT_NEW, other.id);
}

/* Key rotation covers profiles: after a new key version, the reseal pass of
 * STORE_SEALED_PROFILES re-seals the profile's number, nothing is left stale
 * under the old version, and the number still opens. */
static void reseal_after_rotation(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	struct profile p;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	int old = vault_current_version(f->vault), version = 0;
	char key[128], err[512];
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_file_rotate(key, VAULT_ROTATE_ADD, 0, &version, err, sizeof(err)), 0);
	struct vault *v2 = NULL;
	assert_int_equal(vault_load(key, &v2, err, sizeof(err)), 0);
	struct store *st2 = NULL;
	assert_int_equal(store_open(f->url, v2, &st2, err, sizeof(err)), 0);
	int64_t stale = 0;
	assert_int_equal(store_vault_stale(st2, version, &stale), 0);
	assert_true(stale >= 1);
	char last[STORE_RESEAL_KEY_MAX];
	int seen = 0, resealed = 0;
	assert_int_equal(store_vault_reseal(st2, STORE_SEALED_PROFILES, "", 100, last, &seen, &resealed), 0);
	assert_int_equal(seen, 1);
	assert_int_equal(resealed, 1);
	assert_string_equal(last, p.id);
	struct profile got;
	assert_int_equal(profiles_get(st2, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, AGENT);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM profiles"), 1);
	assert_int_not_equal(old, version);
	store_close(st2);
	vault_free(v2);
}

struct profiles_seen {
	int n;
	struct subject_profile last;
};

static void count_profile(void *ctx, const struct subject_profile *sp)
{
	struct profiles_seen *seen = ctx;
	seen->n++;
	seen->last = *sp;
}

/* Erasure of a profile's number: found by its blind index (lookup), retired
 * with the service's cool-off, number and blind index wiped with the
 * participant rows in one transaction, audited with the counts; afterwards
 * nothing routes from the number, the proxy number comes back only after the
 * cool-off, and a second erasure finds nothing. */
static void erase_wipes_profile(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 100);
	char a[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, a);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 20, NULL);
	add_number(f, PC, NUMBER_ACTIVE, CAP_ALL, 30, NULL);
	struct profile p, q;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	assert_int_equal(new_profile(f, CUST2, PB, 1001, &q), 0); /* another number's: untouched */
	struct session s1;
	profile_session(f, &p, CUST1, &s1);
	const char *q1 = s1.participants[0].proxy_e164;
	expect_route(f, q1, AGENT, s1.id);
	char bidx[STORE_BIDX_MAX];
	store_blind_index(f->st, AGENT, bidx);
	struct profiles_seen seen = {0};
	assert_int_equal(privacy_profiles(f->st, bidx, count_profile, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.last.cooloff, 100); /* its service's */
	assert_string_equal(seen.last.p.id, p.id);
	assert_string_equal(seen.last.p.number, "");
	assert_string_equal(seen.last.p.masked, p.masked);

	struct audit_entry e;
	memset(&e, 0, sizeof(e));
	e.created_at = 4000;
	snprintf(e.key_id, sizeof(e.key_id), "key_contract");
	snprintf(e.action, sizeof(e.action), "privacy.erased");
	struct privacy_erase_result res;
	assert_int_equal(privacy_erase(f->st, AGENT, 4000, &e, &res), 0);
	assert_int_equal(res.sessions_closed, 1);
	assert_int_equal(res.participants_erased, 1);
	assert_int_equal(res.profiles_erased, 1);
	assert_int_equal(res.profiles_retired, 1);
	assert_string_equal(e.detail, "sessions_closed=1 participants=1 optouts=0 profiles=1 profiles_retired=1");
	struct profile got;
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, "");
	assert_string_equal(got.masked, "erased");
	assert_string_equal(got.label, "Agent");
	assert_string_equal(got.proxy_e164, PA);
	assert_int_equal(got.state, PROFILE_RETIRED);
	assert_int_equal(got.retired_at, 4000);
	assert_int_equal(got.free_at, 4100);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM profiles WHERE length(number_sealed) = 0"), 1);
	char where[STORE_BIDX_MAX + 64];
	snprintf(where, sizeof(where), "SELECT COUNT(*) FROM profiles WHERE bidx = '%s'", bidx);
	assert_int_equal(cx_sql_count(f, where), 0);
	assert_false(cx_db_contains(f, AGENT));
	assert_false(cx_db_contains(f, bidx));
	/* the other profile keeps its number */
	assert_int_equal(profiles_get(f->st, f->svc.id, q.id, 1, &got), 0);
	assert_string_equal(got.number, CUST2);
	assert_int_equal(got.state, PROFILE_ACTIVE);
	/* the number reaches no one, and the profile cannot be used nor changed */
	expect_route(f, q1, AGENT, "");
	/* the customer still cools off on the profile's number: its other side has no number */
	struct route_view rv;
	assert_int_equal(store_route_lookup(f->st, PA, CUST1, &rv), 0);
	assert_string_equal(rv.session_id, s1.id);
	assert_int_equal(rv.session_status, SESSION_CLOSED);
	assert_string_equal(rv.to_number, "");
	struct profile_change c = {.has_label = 1};
	snprintf(c.label, sizeof(c.label), "renamed");
	struct profile out;
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 4001, &out), MASKD_ECONFLICT);
	/* the proxy number is held through the cool-off, then active again */
	int released = -1;
	assert_int_equal(lifecycle_bindings_release(f->st, 4099, 100, &released), 0);
	assert_int_equal(state_of(f, a), NUMBER_RESERVED);
	assert_int_equal(lifecycle_bindings_release(f->st, 4100, 100, &released), 0);
	assert_int_equal(state_of(f, a), NUMBER_ACTIVE);
	/* again: nothing found */
	seen.n = 0;
	assert_int_equal(privacy_profiles(f->st, bidx, count_profile, &seen), 0);
	assert_int_equal(seen.n, 0);
	assert_int_equal(privacy_erase(f->st, AGENT, 4200, &e, &res), 0);
	assert_int_equal(res.participants_erased + res.profiles_erased + res.profiles_retired, 0);
}

/* profiles_change_with: what then writes (an audit entry) commits with the
 * change or neither does; a refused change calls no then. */
struct then_probe {
	int calls, fail;
	struct audit_entry e;
};

static int then_audit(struct store_tx *tx, void *ctx)
{
	struct then_probe *t = ctx;
	t->calls++;
	struct audit_entry e = t->e; /* a retried body appends it afresh */
	int rc = audit_append_tx(tx, &e);
	return rc < 0 ? rc : t->fail ? MASKD_EDB : 0;
}

static void count_entry(void *ctx, const struct audit_entry *e)
{
	if (strcmp(e->action, "profile.changed") == 0)
		(*(int *)ctx)++;
}

static int profile_entries(struct fixture *f)
{
	int n = 0;
	assert_int_equal(store_audit_list(f->st, 0, 1000, count_entry, &n), 0);
	return n;
}

static void change_commits_with_then(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	struct profile p, out, got;
	assert_int_equal(new_profile(f, AGENT, PA, 1000, &p), 0);
	struct then_probe t = {.fail = 1};
	t.e.created_at = 2000;
	snprintf(t.e.key_id, sizeof(t.e.key_id), "key_contract");
	snprintf(t.e.action, sizeof(t.e.action), "profile.changed");
	snprintf(t.e.target, sizeof(t.e.target), "%s", p.id);
	struct profile_change c = {.has_label = 1};
	snprintf(c.label, sizeof(c.label), "renamed");
	/* then fails after its entry: neither the label nor the entry stays */
	assert_int_equal(profiles_change_with(f->st, &f->svc, p.id, &c, 2000, then_audit, &t, &out), MASKD_EDB);
	assert_true(t.calls >= 1);
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 0, &got), 0);
	assert_string_equal(got.label, "Agent");
	assert_int_equal(profile_entries(f), 0);
	/* then succeeds: both */
	t.fail = 0;
	assert_int_equal(profiles_change_with(f->st, &f->svc, p.id, &c, 2001, then_audit, &t, &out), 0);
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 0, &got), 0);
	assert_string_equal(got.label, "renamed");
	assert_int_equal(profile_entries(f), 1);
	/* refused (retired; no such profile): then is not called, no entry */
	struct profile_change retire = {.retire = 1};
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &retire, 2002, &out), 0);
	t.calls = 0;
	assert_int_equal(profiles_change_with(f->st, &f->svc, p.id, &c, 2003, then_audit, &t, &out), MASKD_ECONFLICT);
	assert_int_equal(profiles_change_with(f->st, &f->svc, "prf_nope", &c, 2003, then_audit, &t, &out),
			 MASKD_ENOTFOUND);
	assert_int_equal(t.calls, 0);
	assert_int_equal(profile_entries(f), 1);
}

const struct CMUnitTest cx_profiles_tests[] = {
	CX_TEST(claim_is_exclusive_and_sealed),
	CX_TEST(retire_frees_after_cooloff),
	CX_TEST(device_swap_moves_sessions),
	CX_TEST(device_swap_refused_writes_nothing),
	CX_TEST(reseal_after_rotation),
	CX_TEST(erase_wipes_profile),
	CX_TEST(change_commits_with_then),
};
const size_t cx_profiles_count = sizeof(cx_profiles_tests) / sizeof(cx_profiles_tests[0]);
