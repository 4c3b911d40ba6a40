/* SPDX-License-Identifier: MIT */
/* api_pool.c - GET /v1/services/{id}/pool: capacity and headroom of a service's
 * pool, in total and by country, area code and capability, so an operator sees
 * the pool running out before creates fail. Proxy numbers and counts only. */
#include "api_internal.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

/* One group of numbers (a country, an area code, a capability, or all). */
struct pool_group {
	int64_t numbers, active, reserved, retired, sessions, cooling, capacity;
};

struct pool_ctx {
	int64_t cap; /* the service's number_cap, 0 = none */
	struct pool_group total;
	json_t *by_country, *by_area, *by_cap; /* objects of group objects, filled at the end */
	struct pool_group caps[3];
	/* per country and per "country/area" keys: small, so a linear list will do */
	struct keyed {
		char key[16];
		struct pool_group g;
	} * keyed;
	size_t n_keyed, cap_keyed;
	int failed;
};

static void group_add(struct pool_group *g, const struct number *n, int64_t cap)
{
	g->numbers++;
	g->sessions += n->in_use;
	g->cooling += n->cooling;
	if (n->state == NUMBER_ACTIVE) {
		g->active++;
		g->capacity += cap;
	} else if (n->state == NUMBER_RESERVED) {
		g->reserved++;
	} else {
		g->retired++;
	}
}

static struct pool_group *keyed_group(struct pool_ctx *c, const char *key)
{
	for (size_t i = 0; i < c->n_keyed; i++)
		if (strcmp(c->keyed[i].key, key) == 0)
			return &c->keyed[i].g;
	if (c->n_keyed == c->cap_keyed) {
		c->cap_keyed = c->cap_keyed ? c->cap_keyed * 2 : 16;
		c->keyed = xrealloc(c->keyed, c->cap_keyed * sizeof(*c->keyed));
	}
	struct keyed *k = &c->keyed[c->n_keyed++];
	memset(k, 0, sizeof(*k));
	snprintf(k->key, sizeof(k->key), "%s", key);
	return &k->g;
}

static void add_number(void *ctx, const struct number *n)
{
	struct pool_ctx *c = ctx;
	/* capacity in sessions of an active number: the cap, or its own load when uncapped */
	int64_t cap = c->cap > 0 ? c->cap : 0;
	group_add(&c->total, n, cap);
	group_add(keyed_group(c, n->country), n, cap);
	char key[16];
	snprintf(key, sizeof(key), "%s/%s", n->country, n->area_code[0] ? n->area_code : "-");
	group_add(keyed_group(c, key), n, cap);
	static const unsigned bits[3] = {CAP_VOICE, CAP_SMS, CAP_MMS};
	for (int i = 0; i < 3; i++)
		if (n->caps & bits[i])
			group_add(&c->caps[i], n, cap);
}

static json_t *group_json(const struct pool_group *g, int64_t cap)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "numbers", (json_int_t)g->numbers, "active",
			      (json_int_t)g->active, "reserved", (json_int_t)g->reserved, "retired", (json_int_t)g->retired,
			      "sessions", (json_int_t)g->sessions, "cooling_off", (json_int_t)g->cooling);
	if (cap > 0) {
		int64_t headroom = g->capacity - g->sessions;
		json_object_set_new(o, "capacity", json_integer(g->capacity));
		json_object_set_new(o, "headroom", json_integer(headroom > 0 ? headroom : 0));
		json_object_set_new(o, "utilisation",
				    json_real(g->capacity > 0 ? (double)g->sessions / (double)g->capacity : 0.0));
	} else {
		json_object_set_new(o, "capacity", json_null());
		json_object_set_new(o, "headroom", json_null());
		json_object_set_new(o, "utilisation", json_null());
	}
	return o;
}

void api_pool(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct service svc;
	int rc = api_service_load(r, r->id, &svc);
	if (rc < 0)
		return;
	struct pool_ctx c;
	memset(&c, 0, sizeof(c));
	c.cap = svc.number_cap;
	rc = store_number_list(r->app->store, svc.id, add_number, &c);
	struct pool_stats ps;
	if (rc == 0)
		rc = store_pool_stats(r->app->store, svc.id, &ps);
	if (rc < 0) {
		free(c.keyed);
		api_store_failed(r, "pool", rc);
		return;
	}
	json_t *by_country = json_object(), *by_area = json_object();
	for (size_t i = 0; i < c.n_keyed; i++)
		json_object_set_new(strchr(c.keyed[i].key, '/') ? by_area : by_country, c.keyed[i].key,
				    group_json(&c.keyed[i].g, c.cap));
	free(c.keyed);
	json_t *by_cap = json_pack("{s:o,s:o,s:o}", "voice", group_json(&c.caps[0], c.cap), "sms",
				   group_json(&c.caps[1], c.cap), "mms", group_json(&c.caps[2], c.cap));
	/* A real number can hold each active number once: the most any one holds
	 * against the active numbers is how close the busiest participant is to a 409. */
	json_t *participants = json_pack("{s:I,s:I,s:I}", "with_open_sessions", (json_int_t)ps.participants,
					 "max_sessions_of_one", (json_int_t)ps.max_held, "headroom_of_busiest",
					 (json_int_t)(c.total.active > ps.max_held ? c.total.active - ps.max_held : 0));
	json_t *o = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "service_id", svc.id, "number_cap",
			      (json_int_t)svc.number_cap, "total", group_json(&c.total, c.cap), "participants",
			      participants, "by_country", by_country, "by_area_code", by_area, "by_capability", by_cap);
	api_reply(r->res, 200, o);
}
