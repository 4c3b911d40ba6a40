/* SPDX-License-Identifier: MIT */
/* pool.h - which proxy number is given to a participant (DESIGN §2, Twilio's rule).
 * One proxy number serves many sessions at once as long as no real number holds
 * it twice; among the numbers that fit, the least-loaded wins, the oldest on a
 * tie. Geo-match narrows the candidates to the participant's area code, region or
 * country, widening level by level unless strict. Pure: the store finds the
 * candidates, this picks. */
#ifndef MASKD_POOL_H
#define MASKD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct pool_candidate {
	const char *number_id;
	enum number_state state;
	unsigned caps;    /* enum capability bits */
	int64_t in_use;   /* open sessions on the number */
	int64_t created_at;
	int held;         /* nonzero: this participant's real number already holds it */
};

/* Capabilities a number needs to serve a session of this mode. */
unsigned pool_caps_for_mode(enum session_mode mode);

/* Index of the candidate to bind, or -1 when none fits: active, caps ⊇ need,
 * not held, in_use < cap (cap 0 = no cap); least in_use first, then oldest. The
 * candidate whose number_id equals avoid (NULL = none; avoid-sticky) is taken
 * only when nothing else fits. */
int pool_pick_for(const struct pool_candidate *c, size_t n, unsigned need, int64_t cap, const char *avoid);

/* Whether a number named explicitly by the app may be bound: any state but
 * retired (reserved numbers are picked only when named), caps ⊇ need, in_use <
 * cap (cap 0 = no cap). */
int pool_named_usable(enum number_state state, unsigned caps, unsigned need, int64_t in_use, int64_t cap);

/* The geo levels to try, narrowest first, for geo_match and strict: area-code →
 * area-code, region, country, any; region → region, country, any; country →
 * country, any. strict keeps the first only. A level whose key the participant
 * lacks (no area code, no region: a mobile or non-geographic number) is skipped,
 * unless it is the only one (strict), which then matches nothing. Writes up to 4
 * enum geo_match values to levels and returns how many. */
int pool_geo_levels(int geo_match, int strict, const char *area_code, const char *region, int levels[4]);

/* Effective rules: each override >= 0 wins over the service default. */
void pool_rules_effective(const struct pool_rules *service, const struct pool_rules *session,
			  struct pool_rules *out);

/* Whether a service's pool use warrants the operator's attention: held of
 * held + free_left at or over 85%. */
int pool_near_exhaustion(int64_t held, int64_t free_left);

#endif
