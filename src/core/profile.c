/* SPDX-License-Identifier: MIT */
/* profile.c - the rules of profiles; see profile.h. */
#include "profile.h"

#include <assert.h>
#include <string.h>

static const char *const state_names[] = {[PROFILE_ACTIVE] = "active", [PROFILE_RETIRED] = "retired"};

const char *profile_state_name(enum profile_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

int profile_state_from_name(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < (int)(sizeof(state_names) / sizeof(state_names[0])); i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int64_t profile_free_at(int64_t retired_at, int64_t cooloff)
{
	return retired_at + (cooloff > 0 ? cooloff : 0);
}

int profile_usable(enum profile_state st)
{
	return st == PROFILE_ACTIVE;
}

int profile_number_holder(int i)
{
	assert(i == 0 || i == 1);
	return 1 - i;
}

enum profile_plan_error profile_plan(int n, const int profile[SESSION_PARTICIPANTS],
				     const int named[SESSION_PARTICIPANTS], int same_profile, int *index)
{
	assert(n >= 1 && n <= SESSION_PARTICIPANTS && profile != NULL && named != NULL && index != NULL);
	*index = -1;
	if (n == 1) {
		if (profile[0]) {
			*index = 0;
			return PROFILE_PLAN_ALONE;
		}
		return PROFILE_PLAN_OK;
	}
	if (profile[0] && profile[1] && same_profile) {
		*index = 1;
		return PROFILE_PLAN_SAME;
	}
	for (int i = 0; i < n; i++) {
		int other = profile_number_holder(i);
		if (profile[i] && named[other]) {
			*index = other;
			return PROFILE_PLAN_NAMED;
		}
	}
	return PROFILE_PLAN_OK;
}
