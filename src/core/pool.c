/* SPDX-License-Identifier: MIT */
/* pool.c - proxy number choice; see pool.h. */
#include "pool.h"

#include <string.h>

unsigned pool_caps_for_mode(enum session_mode mode)
{
	unsigned need = 0;
	if (mode & MODE_VOICE)
		need |= CAP_VOICE;
	if (mode & MODE_MESSAGE)
		need |= CAP_SMS;
	return need;
}

static int fits(const struct pool_candidate *c, unsigned need, int64_t cap)
{
	return c->state == NUMBER_ACTIVE && (c->caps & need) == need && !c->held && (cap <= 0 || c->in_use < cap);
}

static int better(const struct pool_candidate *a, const struct pool_candidate *b)
{
	return a->in_use < b->in_use || (a->in_use == b->in_use && a->created_at < b->created_at);
}

int pool_pick_for(const struct pool_candidate *c, size_t n, unsigned need, int64_t cap, const char *avoid)
{
	int best = -1, avoided = -1;
	for (size_t i = 0; i < n; i++) {
		if (!fits(&c[i], need, cap))
			continue;
		if (avoid != NULL && c[i].number_id != NULL && strcmp(c[i].number_id, avoid) == 0) {
			avoided = (int)i;
			continue;
		}
		if (best < 0 || better(&c[i], &c[best]))
			best = (int)i;
	}
	return best >= 0 ? best : avoided;
}

int pool_named_usable(enum number_state state, unsigned caps, unsigned need, int64_t in_use, int64_t cap)
{
	return state != NUMBER_RETIRED && (caps & need) == need && (cap <= 0 || in_use < cap);
}

int pool_geo_levels(int geo_match, int strict, const char *area_code, const char *region, int levels[4])
{
	static const int chain_area[] = {GEO_AREA_CODE, GEO_REGION, GEO_COUNTRY, GEO_ANY};
	static const int chain_region[] = {GEO_REGION, GEO_COUNTRY, GEO_ANY};
	static const int chain_country[] = {GEO_COUNTRY, GEO_ANY};
	const int *chain = chain_country;
	int len = 2;
	if (geo_match == GEO_AREA_CODE) {
		chain = chain_area;
		len = 4;
	} else if (geo_match == GEO_REGION) {
		chain = chain_region;
		len = 3;
	}
	if (strict) {
		levels[0] = chain[0];
		return 1;
	}
	int n = 0;
	for (int i = 0; i < len; i++) {
		if (chain[i] == GEO_AREA_CODE && (area_code == NULL || area_code[0] == '\0'))
			continue;
		if (chain[i] == GEO_REGION && (region == NULL || region[0] == '\0'))
			continue;
		levels[n++] = chain[i];
	}
	return n;
}

void pool_rules_effective(const struct pool_rules *service, const struct pool_rules *session,
			  struct pool_rules *out)
{
	*out = *service;
	if (session->geo_match != GEO_INHERIT)
		out->geo_match = session->geo_match;
	if (session->geo_match_strict >= 0)
		out->geo_match_strict = session->geo_match_strict;
	if (session->number_selection != SELECT_INHERIT)
		out->number_selection = session->number_selection;
}

int pool_near_exhaustion(int64_t held, int64_t free_left)
{
	int64_t total = held + free_left;
	return total > 0 && held * 100 >= total * 85;
}
