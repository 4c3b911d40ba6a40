/* SPDX-License-Identifier: MIT */
/* suite.h - the helpers the store suites share (helpers.c): the real numbers the
 * tests use, numbers and sessions of the fixture's service or of a service with
 * a pool of its own, and the checks they repeat. Test-only. */
#ifndef MASKD_TEST_CONTRACT_SUITE_H
#define MASKD_TEST_CONTRACT_SUITE_H

#include "contract.h"

#include "flow/sessions.h"

#define RIDER "+14152371234"
#define DRIVER1 "+12124567890"
#define DRIVER2 "+13102345678"
#define DRIVER3 "+12127363100"
#define UK_CALLER "+447700900123"
#define FR_CALLER "+33612345678"
#define PA "+14152370001"
#define PB "+12129670002"
#define PC "+13105550003"
#define PD "+16175550004"

/* ---- the fixture's service f->svc */

/* A number of f->svc (US, no geo); its id to id_out when not NULL. */
void add_number(struct fixture *f, const char *e164, int state, unsigned caps, int64_t created, char *id_out);

/* A two-party session of f->svc (a, b; unique_name may be NULL) created at 2000 by
 * the vectors' default create; the create's result, *failed its failed index. */
int new_session(struct fixture *f, const char *a, const char *b, const char *unique_name, struct session *s,
		int *failed);

/* Replaces f->svc by a new service with this cool-off. */
void use_service(struct fixture *f, int64_t cooloff);

/* An active number of f->svc, every cap, at this country, area code and region. */
void add_geo_number(struct fixture *f, const char *e164, const char *country, const char *area, const char *region,
		    int64_t created, char *id_out);

/* Fills s: n participants (a, then b) of f->svc, US, no geo; not stored. */
void make_session(struct fixture *f, struct session *s, const char *unique_name, int n, const char *a,
		  const char *b);
void set_geo(struct participant *p, const char *country, const char *area, const char *region);
struct create_rules rules_of(int geo, int strict, int selection, int cap, int reuse);
extern const struct create_rules default_rules; /* country, not strict, prefer sticky */

/* sessions_create_bound at now; o may be NULL. */
int create_at(struct fixture *f, struct session *s, const struct create_rules *r, int64_t now,
	      struct create_outcome *o);

/* A two-party session created with default rules at now; asserts success. */
void open_pair(struct fixture *f, struct session *s, const char *a, const char *b, int64_t now);

/* Asserts that a call from `from` to proxy routes to session_id ("" for none). */
void expect_route(struct fixture *f, const char *proxy, const char *from, const char *session_id);

/* ---- a service with a pool of its own */

void svc_new(struct fixture *f, struct service *svc, int64_t cooloff, int reuse, int cap);
void num_new(struct fixture *f, const char *service_id, const char *country, const char *area, const char *region,
	     int64_t created_at, char id[ID_MAX]);
void ses_fill(struct session *s, const char *service_id, int n, const char *a, const char *b);
struct create_rules svc_rules(const struct service *svc);
int create_in(struct fixture *f, const struct service *svc, struct session *s, int64_t now,
	      struct create_outcome *o);
int64_t in_use_of(struct fixture *f, const char *id);
void route(struct fixture *f, const char *proxy, const char *from, struct route_view *rv);

/* in_use of every number equals its open sessions, and no open session is
 * without its bindings (raw SQL). */
void assert_counts_consistent(struct fixture *f);

struct events {
	int n;
	char kind[8][24];
	char detail[8][128];
	char participant[8][ID_MAX];
};

/* The events of a session, oldest first (the first 8; n counts all). */
void events_of(struct fixture *f, const char *session_id, struct events *ev);

#endif
