/* SPDX-License-Identifier: MIT */
/* session.c - session deadlines; see session.h. */
#include "session.h"
#include "model.h"

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
