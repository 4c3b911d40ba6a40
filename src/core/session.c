/* SPDX-License-Identifier: MIT */
/* session.c - session deadlines; see session.h. */
#include "session.h"
#include "model.h"
#include "../util/err.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>

int64_t session_deadline(int64_t expires_at, int64_t ttl, int64_t last_activity)
{
	int64_t idle = ttl > 0 ? last_activity + ttl : 0;
	if (expires_at > 0 && (idle == 0 || expires_at < idle))
		return expires_at;
	return idle;
}

bool session_live(enum session_status status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now)
{
	if (status != SESSION_OPEN && status != SESSION_IN_PROGRESS)
		return false;
	int64_t d = session_deadline(expires_at, ttl, last_activity);
	return d == 0 || now < d;
}

bool session_due(enum session_status status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now)
{
	if (status != SESSION_OPEN && status != SESSION_IN_PROGRESS)
		return false;
	int64_t d = session_deadline(expires_at, ttl, last_activity);
	return d != 0 && d <= now;
}

int session_close_step(int from, int to, enum session_close_step *step)
{
	assert(step != NULL);
	*step = SESSION_CLOSE_NONE;
	if (to != SESSION_CLOSED && to != SESSION_BLOCKED)
		return MASKD_EINVAL;
	if (from == SESSION_OPEN || from == SESSION_IN_PROGRESS)
		*step = SESSION_CLOSE_BINDINGS;
	else if (to == SESSION_BLOCKED && from != SESSION_BLOCKED)
		*step = SESSION_CLOSE_REBLOCK;
	return 0;
}

const char *session_event_kind(enum session_status to)
{
	switch (to) {
	case SESSION_CLOSED:
		return "closed";
	case SESSION_BLOCKED:
		return "blocked";
	case SESSION_OPEN:
		return "reopened";
	case SESSION_IN_PROGRESS:
	case SESSION_FAILED:
		break;
	}
	return NULL;
}

int64_t session_held_until(int64_t closed_at, int64_t cooloff)
{
	return closed_at + (cooloff > 0 ? cooloff : 0);
}

bool session_binding_cools(int64_t cooloff)
{
	return cooloff > 0;
}

int session_reopen_verdict(const struct session_reopen_facts *f, int64_t now, enum session_refusal *why)
{
	assert(f != NULL && why != NULL);
	*why = SESSION_REFUSE_NONE;
	if (f->status == SESSION_OPEN || f->status == SESSION_IN_PROGRESS)
		return 1;
	if (f->purged)
		*why = SESSION_REFUSE_PURGED;
	else if (f->expires_at != 0 && f->expires_at <= now)
		*why = SESSION_REFUSE_EXPIRED;
	else if (f->name_taken)
		*why = SESSION_REFUSE_NAME;
	else if (f->pin_taken)
		*why = SESSION_REFUSE_PIN;
	if (*why == SESSION_REFUSE_NONE)
		return 0;
	return *why == SESSION_REFUSE_EXPIRED ? MASKD_EINVAL : MASKD_ECONFLICT;
}

enum session_rebind session_reopen_binding(bool holds_binding)
{
	return holds_binding ? SESSION_REBIND_KEEP : SESSION_REBIND_TAKE;
}

int64_t session_retention_cutoff(int64_t now, int64_t retention_s)
{
	return retention_s > 0 ? now - retention_s : 0;
}

void session_policy_effective(const struct call_policy *service, const struct call_policy *session,
			      struct call_policy *out)
{
	*out = *service;
	if (session->record >= 0)
		out->record = session->record;
	if (session->time_limit >= 0)
		out->time_limit = session->time_limit;
	if (session->ring_timeout >= 0)
		out->ring_timeout = session->ring_timeout;
	if (session->consent_message[0] != '\0')
		snprintf(out->consent_message, sizeof(out->consent_message), "%s", session->consent_message);
}
