/* SPDX-License-Identifier: MIT */
/* pool.h - which proxy number is given to a participant (DESIGN §2, Twilio's rule).
 * One proxy number serves many sessions at once as long as no real number holds
 * it twice; among the numbers that fit, the least-loaded wins, the oldest on a
 * tie. Pure: the store finds the candidates, this picks. */
#ifndef MASKD_POOL_H
#define MASKD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct pool_candidate {
	const char *number_id;
	int state;        /* enum number_state */
	unsigned caps;    /* enum capability bits */
	int64_t in_use;   /* active bindings on the number */
	int64_t created_at;
	int held;         /* nonzero: this participant's real number already holds it */
};

/* Capabilities a number needs to serve a session of this mode. */
unsigned pool_caps_for_mode(int mode);

/* Index of the candidate to bind, or -1 when none fits: active, caps ⊇ need,
 * not held; least in_use first, then oldest. */
int pool_pick_for(const struct pool_candidate *c, size_t n, unsigned need);

/* Whether a number named explicitly by the app may be bound: any state but
 * retired (reserved numbers are picked only when named), caps ⊇ need. */
int pool_named_usable(int state, unsigned caps, unsigned need);

#endif
