/* SPDX-License-Identifier: MIT */
/* replay.c - re-answering a retried webhook; see replay.h. */
#include "replay.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

bool replay_needs_number(const struct interaction *it)
{
	assert(it != NULL);
	return it->decision == DECISION_BRIDGE || it->decision == DECISION_FORWARD_MESSAGE;
}

void replay_decide(const struct interaction *it, const struct session *s, const char *number, struct decision *d)
{
	assert(it != NULL && d != NULL);
	d->kind = it->decision;
	d->reason = ROUTE_OK;
	d->dial = d->from = NULL;
	if (!replay_needs_number(it))
		return;
	assert(s != NULL && number != NULL);
	d->dial = number;
	d->from = "";
	for (int i = 0; i < s->n_participants; i++)
		if (strcmp(s->participants[i].id, it->to_participant) == 0)
			d->from = s->participants[i].proxy_e164;
}
