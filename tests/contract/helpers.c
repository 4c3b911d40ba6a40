/* SPDX-License-Identifier: MIT */
/* helpers.c - what the store suites share to build their data: numbers, sessions
 * created through flow/ (create_at, create_in), services with their own pool, and
 * the checks every suite repeats (routing, in_use against the bindings, events).
 * Test-only; declared in suite.h. */
#include "suite.h"

#include "flow/sessions.h"
#include "util/err.h"
#include "vectors.h"

static int e164_seq; /* num_new: the next proxy number */

void add_number(struct fixture *f, const char *e164, int state, unsigned caps, int64_t created, char *id_out)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	snprintf(n.e164, sizeof(n.e164), "%s", e164);
	snprintf(n.country, sizeof(n.country), "US");
	n.caps = caps;
	n.state = state;
	n.created_at = created;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	if (id_out != NULL)
		snprintf(id_out, ID_MAX, "%s", n.id);
}

int new_session(struct fixture *f, const char *a, const char *b, const char *unique_name, struct session *s,
		       int *failed)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", f->svc.id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", unique_name ? unique_name : "");
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->n_participants = 2;
	const char *nums[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
	int dummy;
	return vectors_session_create(f->st, s, 2000, failed ? failed : &dummy);
}

/* Replaces the fixture's service by a new one with this cool-off. */
void use_service(struct fixture *f, int64_t cooloff)
{
	memset(&f->svc, 0, sizeof(f->svc));
	id_new("svc", f->svc.id);
	snprintf(f->svc.name, sizeof(f->svc.name), "Policy");
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	f->svc.created_at = 1000;
	f->svc.cooloff = cooloff;
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
}

void add_geo_number(struct fixture *f, const char *e164, const char *country, const char *area,
			   const char *region, int64_t created, char *id_out)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	snprintf(n.e164, sizeof(n.e164), "%s", e164);
	snprintf(n.country, sizeof(n.country), "%s", country);
	snprintf(n.area_code, sizeof(n.area_code), "%s", area);
	snprintf(n.region, sizeof(n.region), "%s", region);
	n.caps = CAP_ALL;
	n.created_at = created;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	if (id_out != NULL)
		snprintf(id_out, ID_MAX, "%s", n.id);
}

/* A session of n participants (a, then b) in the fixture's service, US numbers, no geo. */
void make_session(struct fixture *f, struct session *s, const char *unique_name, int n, const char *a,
			 const char *b)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", f->svc.id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", unique_name ? unique_name : "");
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->n_participants = n;
	const char *nums[2] = {a, b};
	for (int i = 0; i < n; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
}

void set_geo(struct participant *p, const char *country, const char *area, const char *region)
{
	snprintf(p->country, sizeof(p->country), "%s", country);
	snprintf(p->area_code, sizeof(p->area_code), "%s", area);
	snprintf(p->region, sizeof(p->region), "%s", region);
}

struct create_rules rules_of(int geo, int strict, int selection, int cap, int reuse)
{
	struct create_rules r = {.pool = {geo, strict, selection}, .number_cap = cap, .cooloff_reuse = reuse};
	return r;
}

const struct create_rules default_rules = {.pool = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}};

int create_at(struct fixture *f, struct session *s, const struct create_rules *r, int64_t now,
		     struct create_outcome *o)
{
	struct create_outcome scratch;
	return sessions_create_bound(f->st, s, r, now, o != NULL ? o : &scratch);
}

/* A two-party session created with default rules at now; asserts success. */
void open_pair(struct fixture *f, struct session *s, const char *a, const char *b, int64_t now)
{
	make_session(f, s, NULL, 2, a, b);
	assert_int_equal(create_at(f, s, &default_rules, now, NULL), 0);
}

void expect_route(struct fixture *f, const char *proxy, const char *from, const char *session_id)
{
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, proxy, from, &v), 0);
	assert_string_equal(v.session_id, session_id);
}

/* A second service of f's store with its own (empty) pool and these rules. */
void svc_new(struct fixture *f, struct service *svc, int64_t cooloff, int reuse, int cap)
{
	memset(svc, 0, sizeof(*svc));
	id_new("svc", svc->id);
	snprintf(svc->name, sizeof(svc->name), "Pool");
	svc->mode = MODE_VOICE_AND_MESSAGE;
	svc->cooloff = cooloff;
	svc->cooloff_reuse = reuse;
	svc->number_cap = cap;
	assert_int_equal(store_service_insert(f->st, svc), 0);
}

void num_new(struct fixture *f, const char *service_id, const char *country, const char *area,
		    const char *region, int64_t created_at, char id[ID_MAX])
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", service_id);
	snprintf(n.e164, sizeof(n.e164), "+1646555%04d", e164_seq++);
	snprintf(n.country, sizeof(n.country), "%s", country);
	snprintf(n.area_code, sizeof(n.area_code), "%s", area);
	snprintf(n.region, sizeof(n.region), "%s", region);
	n.caps = CAP_ALL;
	n.created_at = created_at;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	snprintf(id, ID_MAX, "%s", n.id);
}

/* A session of service_id with n participants (a, then b), country US. */
void ses_fill(struct session *s, const char *service_id, int n, const char *a, const char *b)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", service_id);
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s->n_participants = n;
	const char *nums[2] = {a, b};
	for (int i = 0; i < n; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%.4s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
}

struct create_rules svc_rules(const struct service *svc)
{
	return (struct create_rules){.pool = svc->pool, .number_cap = svc->number_cap, .cooloff_reuse = svc->cooloff_reuse};
}

int create_in(struct fixture *f, const struct service *svc, struct session *s, int64_t now,
		     struct create_outcome *o)
{
	struct create_rules r = svc_rules(svc);
	return sessions_create_bound(f->st, s, &r, now, o);
}

int64_t in_use_of(struct fixture *f, const char *id)
{
	struct number n;
	assert_int_equal(store_number_get(f->st, id, &n), 0);
	return n.in_use;
}

void route(struct fixture *f, const char *proxy, const char *from, struct route_view *rv)
{
	assert_int_equal(store_route_lookup(f->st, proxy, from, rv), 0);
}

/* in_use of every number equals its open sessions, and no open session is
 * without its bindings (but the hidden side of a one-way session, oneway 2,
 * which never holds one) */
void assert_counts_consistent(struct fixture *f)
{
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM (SELECT n.id FROM numbers n LEFT JOIN participants p "
				      "ON p.proxy_number_id = n.id AND p.active = 1 AND p.held_until IS NULL "
				      "GROUP BY n.id HAVING n.in_use <> COUNT(DISTINCT p.session_id)) x"),
			 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants p JOIN sessions s ON s.id = p.session_id "
				      "WHERE p.oneway < 2 AND (s.status < 2) <> (p.active = 1 AND p.held_until IS NULL)"),
			 0);
}


static void collect_event(void *ctx, const struct session_event *e)
{
	struct events *ev = ctx;
	if (ev->n < 8) {
		snprintf(ev->kind[ev->n], sizeof(ev->kind[0]), "%s", e->kind);
		snprintf(ev->detail[ev->n], sizeof(ev->detail[0]), "%s", e->detail);
		snprintf(ev->participant[ev->n], sizeof(ev->participant[0]), "%s", e->participant_id);
	}
	ev->n++;
}

void events_of(struct fixture *f, const char *session_id, struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	assert_int_equal(store_session_events(f->st, session_id, collect_event, ev), 0);
}

