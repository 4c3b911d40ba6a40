/* SPDX-License-Identifier: MIT */
/* intercept.c - the intercept rule; see intercept.h. */
#include "intercept.h"

#include <assert.h>
#include <stddef.h>

const char *intercept_outcome_name(int outcome)
{
	static const char *const names[] = {
		[INTERCEPT_ALLOWED] = "allowed",	 [INTERCEPT_DENIED] = "denied",
		[INTERCEPT_REPLACED] = "replaced",	 [INTERCEPT_FAILED_OPEN] = "failed_open",
		[INTERCEPT_FAILED_CLOSED] = "failed_closed",
	};
	return outcome >= INTERCEPT_ALLOWED && outcome <= INTERCEPT_FAILED_CLOSED ? names[outcome] : NULL;
}

enum intercept_outcome intercept_decide(bool answered, const struct intercept_answer *a, enum channel channel,
					bool fail_open)
{
	if (!answered)
		return fail_open ? INTERCEPT_FAILED_OPEN : INTERCEPT_FAILED_CLOSED;
	assert(a != NULL);
	if (a->action == INTERCEPT_ACTION_DENY)
		return INTERCEPT_DENIED;
	if (channel == CHANNEL_MESSAGE && a->has_body)
		return INTERCEPT_REPLACED;
	return INTERCEPT_ALLOWED;
}

bool intercept_refuses(enum intercept_outcome outcome)
{
	return outcome == INTERCEPT_DENIED || outcome == INTERCEPT_FAILED_CLOSED;
}

const char *intercept_text_of(enum intercept_outcome outcome, const struct intercept_answer *a)
{
	if (outcome == INTERCEPT_DENIED && a != NULL && a->has_message)
		return a->message;
	if (outcome == INTERCEPT_REPLACED && a != NULL)
		return a->body;
	return "";
}
