/* SPDX-License-Identifier: MIT */
/* pick.h - the plan of a proxy-number pick for one participant: which steps run
 * in which order (named -> sticky -> geo levels -> cool-off reuse -> exhausted),
 * what each step accepts, the cap counting a session once, the headroom
 * arithmetic and the unique_name "same real numbers" rule. Pure: no I/O, no
 * clock, no store; flow/bind.c asks the store and follows these answers. */
#ifndef MASKD_PICK_H
#define MASKD_PICK_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* What session create (and swap, and add-participant) reports besides the result. */
#define CREATE_FAIL_UNIQUE_NAME (-1) /* failed_index: unique_name taken by a different pair */
#define CREATE_FAIL_PIN (-2)         /* failed_index: the PIN is taken among open sessions */
#define CREATE_FAIL_PURGED (-3)      /* failed_index (re-open): the real numbers were purged */
struct create_outcome {
	int failed_index;         /* participant index an error is about, or a CREATE_FAIL_* */
	char existing_id[ID_MAX]; /* MASKD_EEXISTS: the open session with this unique_name */
	/* per participant, on success: */
	int level[SESSION_PARTICIPANTS];  /* enum geo_match the number matched at (GEO_ANY = none) */
	int sticky[SESSION_PARTICIPANTS]; /* 1: the number this pair had last time */
	int reused_cooling[SESSION_PARTICIPANTS]; /* 1: took a cooling-off binding (same pair or reuse) */
	int64_t held[SESSION_PARTICIPANTS];  /* open bindings this real number holds in the service, this one included */
	int64_t free_left[SESSION_PARTICIPANTS]; /* numbers still free for it after this one at the
						    widest geo level it may get (the last of
						    pool_geo_levels()); capped at POOL_FREE_PROBE
						    (exact when smaller) */
	/* the geo level that failed, for a strict 409 (MASKD_EEXHAUSTED): enum geo_match */
	int failed_level;
};
#define POOL_FREE_PROBE 64

/* The per-service rules session create follows (the service's defaults with the
 * session's overrides applied by the caller). */
struct create_rules {
	struct pool_rules pool; /* nothing left to inherit */
	int number_cap;         /* open sessions per number, 0 = no cap */
	int cooloff_reuse;      /* see struct service */
	int pool_low_threshold; /* see struct service; 0 = no pool.low */
};

/* The steps of a pick, in the order pick_steps() lists them. */
enum pick_step {
	PICK_STEP_NAMED = 0,   /* the proxy number the app named */
	PICK_STEP_STICKY = 1,  /* the number this pair had last time (prefer-sticky) */
	PICK_STEP_POOL = 2,    /* the pool rule, level by level, over numbers free for it */
	PICK_STEP_COOLING = 3, /* the same over numbers it holds only cooling off (cooloff_reuse) */
};
#define PICK_STEPS_MAX 3

/* The steps to run for a participant: named set (it named a number) -> NAMED
 * only; else STICKY when prefer-sticky and the other side is known (has_peer)
 * and this is no swap, then POOL, then COOLING when cooloff_reuse and no swap.
 * Writes up to PICK_STEPS_MAX steps and returns how many (>= 1). */
int pick_steps(const struct create_rules *rules, int named, int has_peer, int swap, int steps[PICK_STEPS_MAX]);

/* Whether the pair's number of last time is looked up at all: not for a swap,
 * not without the other side. */
int pick_wants_sticky(int has_peer, int swap);

/* The number pool_pick_for() should avoid: the sticky one under avoid-sticky
 * (sticky_id "" = none), else NULL. */
const char *pick_avoid(const struct create_rules *rules, const char *sticky_id);

/* The geo levels of a participant under rules (pool_geo_levels() of its area
 * code and region). Returns how many (1..4). */
int pick_levels(const struct create_rules *rules, const struct participant *p, int levels[4]);

/* Whether number n is as close to p as geo level asks: GEO_ANY always; else the
 * same country (p's known), and for GEO_AREA_CODE / GEO_REGION the same non-empty
 * area code / region. The one definition the store's pool filter follows too. */
int pick_geo_fits(enum geo_match level, const struct number *n, const struct participant *p);

/* The first (narrowest) of levels[0..n_levels) that n fits for p, or -1 when it
 * fits none (possible only when GEO_ANY is not among them: strict). */
int pick_level_of(const int *levels, int n_levels, const struct number *n, const struct participant *p);

/* Whether a level can match anything for p: a level whose key p lacks (no
 * country; no area code; no region) matches nothing. */
int pick_level_possible(enum geo_match level, const struct participant *p);

/* The cap rule counting a session once: whether one more session may be
 * counted on a number with in_use open sessions under cap (0 = no cap). counted:
 * this session is counted on the number already (the other participant holds
 * it), so in_use includes it. */
int pick_under_cap(int64_t in_use, int64_t cap, int counted);

/* A named (or sticky) number's own fitness: not retired, caps ⊇ need, under the
 * cap (counted as for pick_under_cap). */
int pick_number_usable(const struct number *n, unsigned need, int64_t cap, int counted);

/* The participant's existing binding on a number, as the store reports it. */
struct pick_holder {
	int found;
	int cooling;        /* held by a closed or blocked session during its cool-off */
	const char *peer;   /* that row's other real number's blind index ("" none) */
};

/* What to do with a number given its holder. */
enum pick_verdict {
	PICK_TAKE = 0,         /* bind it */
	PICK_TAKE_RELEASE = 1, /* release the cooling-off binding, then bind it */
	PICK_REFUSE = 2,       /* named: MASKD_ECONFLICT; sticky: skip to the pool */
};

/* Whether a cooling-off binding belongs to the same two real numbers: my_peer
 * (the other side's blind index, "" while single-party) known and equal. */
int pick_same_pair(const char *holder_peer, const char *my_peer);

/* Step 1: a named number this real number holds. Free -> TAKE. Held open, or
 * any hold on a swap -> REFUSE. Cooling off -> TAKE_RELEASE when same pair or
 * cooloff_reuse, else REFUSE. */
int pick_named_verdict(const struct pick_holder *h, const char *my_peer, int cooloff_reuse, int swap);

/* Step 2: the sticky number, already found active, usable and at one of the
 * participant's levels (the caller checks those with pick_number_usable and
 * pick_level_of). Free -> TAKE; cooling off for the same pair -> TAKE_RELEASE;
 * anything else -> REFUSE. */
int pick_sticky_verdict(const struct pick_holder *h, const char *my_peer);

/* Whether the number this session is counted on already (counted_state etc. of
 * that number) must be added as a last pool candidate: the pool filter keeps
 * "in_use < cap" a plain range, so a number at the cap because of this very
 * session is missing from it. Yes when cap > 0, in_use >= cap, active, caps ⊇
 * need, pick_under_cap(counted) and at the level for p. */
int pick_counted_candidate(const struct number *n, unsigned need, int64_t cap, enum geo_match level, const struct participant *p);

/* Headroom: the geo level free_left is counted at (the widest of the levels). */
int pick_headroom_level(const int *levels, int n_levels);

/* free_left from total (numbers at the headroom level under the cap, held or
 * not, counted up to POOL_FREE_PROBE + k) and k (of those, the ones this real
 * number holds): total - k, at most POOL_FREE_PROBE, never negative. */
int64_t pick_free_left(int64_t total, int64_t k);

/* Whether two participants' headroom counts are the same count (one query
 * serves both): same level, same caps needed, and for a level narrower than
 * GEO_ANY the same keys. */
int pick_same_headroom(int level_a, unsigned need_a, const struct participant *a, int level_b, unsigned need_b,
		       const struct participant *b);

/* The unique_name rule: whether the existing session's blind indexes have[0..n_have)
 * are the same set as the new session's mine[0..n_mine). */
int pick_same_set(const char *const *have, int n_have, const char *const *mine, int n_mine);

#endif
