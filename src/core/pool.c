/* SPDX-License-Identifier: MIT */
/* pool.c - proxy number choice; see pool.h. */
#include "pool.h"

unsigned pool_caps_for_mode(int mode)
{
	unsigned need = 0;
	if (mode & MODE_VOICE)
		need |= CAP_VOICE;
	if (mode & MODE_MESSAGE)
		need |= CAP_SMS;
	return need;
}

int pool_pick_for(const struct pool_candidate *c, size_t n, unsigned need)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (c[i].state != NUMBER_ACTIVE || (c[i].caps & need) != need || c[i].held)
			continue;
		if (best < 0 || c[i].in_use < c[best].in_use ||
		    (c[i].in_use == c[best].in_use && c[i].created_at < c[best].created_at))
			best = (int)i;
	}
	return best;
}

int pool_named_usable(int state, unsigned caps, unsigned need)
{
	return state != NUMBER_RETIRED && (caps & need) == need;
}
