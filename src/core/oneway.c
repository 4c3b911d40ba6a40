/* SPDX-License-Identifier: MIT */
/* oneway.c - one-way session rules: the create shape, the respondent's call
 * back within the callback window, the agent's outbound plan; see oneway.h. */
#include "oneway.h"
#include "pin.h"
#include "session.h"

#include <assert.h>
#include <string.h>

enum oneway_shape oneway_check(enum session_direction d, const struct participant *p, int n)
{
	assert(p != NULL || n == 0);
	int hidden = 0;
	for (int i = 0; i < n; i++)
		hidden += p[i].hidden != 0;
	if (d != DIRECTION_ONE_WAY)
		return hidden > 0 ? ONEWAY_SHAPE_HIDDEN_TWO_WAY : ONEWAY_SHAPE_OK;
	if (hidden > 1)
		return ONEWAY_SHAPE_TWO_HIDDEN;
	if (hidden == 0)
		return ONEWAY_SHAPE_NO_HIDDEN;
	if (n < 2)
		return ONEWAY_SHAPE_NEEDS_TWO;
	return ONEWAY_SHAPE_OK;
}

int oneway_hidden_index(const struct participant *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i].hidden)
			return i;
	return -1;
}

bool oneway_open(const struct oneway_candidate *c, int64_t now)
{
	return session_live(c->status, c->expires_at, c->ttl, c->last_activity_at, now);
}

/* When c ended: its close, or the deadline it passed while still marked open
 * (the sweeper lags); 0 when it has not ended. */
static int64_t ended_at(const struct oneway_candidate *c, int64_t now)
{
	if (oneway_open(c, now))
		return 0;
	if (c->status == SESSION_CLOSED || c->status == SESSION_FAILED)
		return c->closed_at > 0 ? c->closed_at : now;
	int64_t deadline = session_deadline(c->expires_at, c->ttl, c->last_activity_at);
	return deadline > 0 ? deadline : now;
}

/* 1 when a is more recent than b: created later, then the larger id. */
static int newer(const struct oneway_candidate *a, const struct oneway_candidate *b)
{
	if (a->created_at != b->created_at)
		return a->created_at > b->created_at;
	return strcmp(a->session_id, b->session_id) > 0;
}

int oneway_callback_pick(const struct oneway_candidate *c, int n, int64_t now, int64_t window)
{
	int best = -1;
	for (int i = 0; i < n; i++) {
		if (c[i].status == SESSION_BLOCKED)
			continue;
		int64_t end = ended_at(&c[i], now);
		if (end > 0 && (window <= 0 || now - end > window))
			continue;
		if (best < 0 || newer(&c[i], &c[best]))
			best = i;
	}
	return best;
}

enum oneway_agent oneway_agent_plan(const struct oneway_candidate *c, int n, int64_t now, int *which)
{
	int open = 0;
	*which = -1;
	for (int i = 0; i < n; i++)
		if (oneway_open(&c[i], now)) {
			if (open == 0)
				*which = i;
			open++;
		}
	if (open == 0)
		return ONEWAY_AGENT_NONE;
	if (open == 1)
		return ONEWAY_AGENT_BRIDGE;
	*which = -1;
	return ONEWAY_AGENT_ASK_PIN;
}

int oneway_pin_pick(const struct oneway_candidate *c, int n, const char *digits, int64_t now)
{
	if (digits == NULL || digits[0] == '\0')
		return -1;
	for (int i = 0; i < n; i++)
		if (c[i].pin[0] != '\0' && strcmp(c[i].pin, digits) == 0 && oneway_open(&c[i], now))
			return i;
	return -1;
}

bool oneway_stranger_asked(enum unknown_caller policy, enum channel channel, const struct oneway_candidate *c, int n,
			   int64_t now)
{
	if (policy != UNKNOWN_PIN || channel != CHANNEL_VOICE)
		return false;
	for (int i = 0; i < n; i++)
		if (oneway_open(&c[i], now))
			return true;
	return false;
}

int oneway_stranger_pin_pick(const struct oneway_candidate *c, int n, const char *digits)
{
	if (!pin_valid(digits))
		return -1;
	for (int i = 0; i < n; i++)
		if (c[i].status < SESSION_CLOSED && strcmp(c[i].pin, digits) == 0)
			return i;
	return -1;
}

const char *oneway_direction_name(enum session_direction d)
{
	return d == DIRECTION_ONE_WAY ? "one-way" : "two-way";
}
