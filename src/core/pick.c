/* SPDX-License-Identifier: MIT */
/* pick.c - the rules of a proxy-number pick; see pick.h. */
#include "pick.h"
#include "pool.h"

#include <assert.h>
#include <string.h>

int pick_steps(const struct create_rules *rules, int named, int has_peer, int swap, int steps[PICK_STEPS_MAX])
{
	assert(rules != NULL && steps != NULL);
	int n = 0;
	if (named) {
		steps[n++] = PICK_STEP_NAMED;
		return n;
	}
	if (!swap && has_peer && rules->pool.number_selection == SELECT_PREFER_STICKY)
		steps[n++] = PICK_STEP_STICKY;
	steps[n++] = PICK_STEP_POOL;
	if (!swap && rules->cooloff_reuse)
		steps[n++] = PICK_STEP_COOLING;
	return n;
}

int pick_wants_sticky(int has_peer, int swap)
{
	return has_peer && !swap;
}

const char *pick_avoid(const struct create_rules *rules, const char *sticky_id)
{
	assert(rules != NULL);
	if (rules->pool.number_selection != SELECT_AVOID_STICKY || sticky_id == NULL || sticky_id[0] == '\0')
		return NULL;
	return sticky_id;
}

int pick_levels(const struct create_rules *rules, const struct participant *p, int levels[4])
{
	assert(rules != NULL && p != NULL);
	return pool_geo_levels(rules->pool.geo_match, rules->pool.geo_match_strict, p->area_code, p->region, levels);
}

int pick_geo_fits(enum geo_match level, const struct number *n, const struct participant *p)
{
	assert(n != NULL && p != NULL);
	if (level == GEO_ANY)
		return 1;
	if (p->country[0] == '\0' || strcmp(n->country, p->country) != 0)
		return 0;
	if (level == GEO_AREA_CODE)
		return p->area_code[0] != '\0' && strcmp(n->area_code, p->area_code) == 0;
	if (level == GEO_REGION)
		return p->region[0] != '\0' && strcmp(n->region, p->region) == 0;
	return 1;
}

int pick_level_of(const int *levels, int n_levels, const struct number *n, const struct participant *p)
{
	for (int i = 0; i < n_levels; i++)
		if (pick_geo_fits(levels[i], n, p))
			return levels[i];
	return -1;
}

int pick_level_possible(enum geo_match level, const struct participant *p)
{
	assert(p != NULL);
	if (level == GEO_ANY)
		return 1;
	if (p->country[0] == '\0')
		return 0;
	if (level == GEO_AREA_CODE)
		return p->area_code[0] != '\0';
	if (level == GEO_REGION)
		return p->region[0] != '\0';
	return 1;
}

int pick_under_cap(int64_t in_use, int64_t cap, int counted)
{
	if (counted)
		in_use--;
	return cap <= 0 || in_use < cap;
}

int pick_number_usable(const struct number *n, unsigned need, int64_t cap, int counted)
{
	assert(n != NULL);
	return pool_named_usable(n->state, n->caps, need, counted ? n->in_use - 1 : n->in_use, cap);
}

int pick_same_pair(const char *holder_peer, const char *my_peer)
{
	return my_peer != NULL && my_peer[0] != '\0' && holder_peer != NULL && strcmp(holder_peer, my_peer) == 0;
}

int pick_named_verdict(const struct pick_holder *h, const char *my_peer, int cooloff_reuse, int swap)
{
	assert(h != NULL);
	if (!h->found)
		return PICK_TAKE;
	if (swap || !h->cooling)
		return PICK_REFUSE;
	return pick_same_pair(h->peer, my_peer) || cooloff_reuse ? PICK_TAKE_RELEASE : PICK_REFUSE;
}

int pick_sticky_verdict(const struct pick_holder *h, const char *my_peer)
{
	assert(h != NULL);
	if (!h->found)
		return PICK_TAKE;
	return h->cooling && pick_same_pair(h->peer, my_peer) ? PICK_TAKE_RELEASE : PICK_REFUSE;
}

int pick_counted_candidate(const struct number *n, unsigned need, int64_t cap, enum geo_match level, const struct participant *p)
{
	assert(n != NULL && p != NULL);
	return cap > 0 && n->in_use >= cap && n->state == NUMBER_ACTIVE && (n->caps & need) == need &&
	       pick_under_cap(n->in_use, cap, 1) && pick_geo_fits(level, n, p);
}

int pick_headroom_level(const int *levels, int n_levels)
{
	assert(n_levels >= 1);
	return levels[n_levels - 1];
}

int64_t pick_free_left(int64_t total, int64_t k)
{
	int64_t left = total - k;
	if (left < 0)
		return 0;
	return left < POOL_FREE_PROBE ? left : POOL_FREE_PROBE;
}

int pick_same_headroom(int level_a, unsigned need_a, const struct participant *a, int level_b, unsigned need_b,
		       const struct participant *b)
{
	assert(a != NULL && b != NULL);
	if (level_a != level_b || need_a != need_b)
		return 0;
	if (level_a == GEO_ANY)
		return 1;
	return strcmp(a->country, b->country) == 0 &&
	       (level_a != GEO_AREA_CODE || strcmp(a->area_code, b->area_code) == 0) &&
	       (level_a != GEO_REGION || strcmp(a->region, b->region) == 0);
}

int pick_same_set(const char *const *have, int n_have, const char *const *mine, int n_mine)
{
	if (n_have != n_mine)
		return 0;
	for (int i = 0; i < n_have; i++) {
		int in_mine = 0, in_have = 0;
		for (int j = 0; j < n_have; j++) {
			in_mine |= strcmp(have[i], mine[j]) == 0;
			in_have |= strcmp(mine[i], have[j]) == 0;
		}
		if (!in_mine || !in_have)
			return 0;
	}
	return 1;
}
