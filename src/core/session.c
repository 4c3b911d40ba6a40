/* SPDX-License-Identifier: MIT */
/* session.c - session deadlines; see session.h. */
#include "session.h"
#include "model.h"

#include <stdio.h>

int64_t session_deadline(int64_t expires_at, int64_t ttl, int64_t last_activity)
{
	int64_t idle = ttl > 0 ? last_activity + ttl : 0;
	if (expires_at > 0 && (idle == 0 || expires_at < idle))
		return expires_at;
	return idle;
}

bool session_live(int status, int64_t expires_at, int64_t ttl, int64_t last_activity, int64_t now)
{
	if (status != SESSION_OPEN && status != SESSION_IN_PROGRESS)
		return false;
	int64_t d = session_deadline(expires_at, ttl, last_activity);
	return d == 0 || now < d;
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
