/* SPDX-License-Identifier: MIT */
/* profile.h - profiles: a persistent identity of a service (an agent, a
 * customer) with a fixed proxy number that every session naming it shows to the
 * other side. The rules of a profile's life (states, when its number is free
 * again) and of a session that names profiles (which participant gets the
 * profile's number). Pure: no I/O, no clock, no store. */
#ifndef MASKD_PROFILE_H
#define MASKD_PROFILE_H

#include <stdint.h>

#include "model.h"

enum profile_state { PROFILE_ACTIVE = 0, PROFILE_RETIRED = 1 };

struct profile {
	char id[ID_MAX];
	char service_id[ID_MAX];
	char label[LABEL_MAX_LEN + 1];
	char masked[MASK_MAX];
	char number[PHONE_E164_MAX + 1]; /* real number: set on create and swap, and when read back
					    only when asked (store_tx_profile_get with_number) */
	char country[3];
	char proxy_number_id[ID_MAX];
	char proxy_e164[PHONE_E164_MAX + 1];
	enum profile_state state;
	int64_t created_at, updated_at;
	int64_t retired_at; /* 0 while active */
	int64_t free_at;    /* retired: when its proxy number returns to the pool */
};

const char *profile_state_name(enum profile_state s);
/* The enum profile_state of "active" / "retired", or -1. */
int profile_state_from_name(const char *s);

/* When a profile retired at retired_at frees its proxy number: after the
 * service's cool-off (seconds; negative counts as 0), so that a late call of a
 * customer on the old number cannot reach whoever gets the number next. */
int64_t profile_free_at(int64_t retired_at, int64_t cooloff);

/* Whether a session create may use a profile in state st (only active ones). */
int profile_usable(enum profile_state st);

/* What a session create does with profiles. profile[i] is 1 when participant i
 * names a profile, named[i] 1 when it names a proxy_number. A profile's number
 * is the number the OTHER participant dials and sees as the profile's caller id
 * (route.h: the caller id is the other side's proxy number), so the other
 * participant takes it as its named proxy number. */
enum profile_plan_error {
	PROFILE_PLAN_OK = 0,
	PROFILE_PLAN_ALONE = 1,      /* a profile in a single-party session: nobody to show it to */
	PROFILE_PLAN_NAMED = 2,      /* the other side of a profile names a proxy_number of its own */
	PROFILE_PLAN_SAME = 3,       /* both participants name the same profile */
};
/* Checks the plan for n participants (1 or 2; same_profile: both name one
 * profile); on an error *index is the participant the error is about. */
enum profile_plan_error profile_plan(int n, const int profile[SESSION_PARTICIPANTS],
				     const int named[SESSION_PARTICIPANTS], int same_profile, int *index);

/* The participant that takes participant i's profile number: the other one. */
int profile_number_holder(int i);

#endif
