/* SPDX-License-Identifier: MIT */
/* test_oneway.c - the one-way rules of core/oneway.c: the create shape (exactly
 * one hidden participant of two; none, two, or hidden in a two-way session
 * refused), the respondent's call back (window edges, several sessions, the
 * most recent wins, a closed session inside the window, a blocked one never),
 * the agent's plan (none, one, several open) and the PIN choice, and a caller
 * maskd cannot place (policy pin): when it is asked for a one-way PIN and
 * which session its PIN names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/oneway.h"

#define NOW 1000000
#define WINDOW 3600

static struct oneway_candidate open_at(const char *id, int64_t created)
{
	struct oneway_candidate c = {.status = SESSION_OPEN, .created_at = created, .last_activity_at = created};
	snprintf(c.session_id, sizeof(c.session_id), "%s", id);
	snprintf(c.participant_id, sizeof(c.participant_id), "par_%s", id);
	return c;
}

static struct oneway_candidate closed_at(const char *id, int64_t created, int64_t closed)
{
	struct oneway_candidate c = open_at(id, created);
	c.status = SESSION_CLOSED;
	c.closed_at = closed;
	return c;
}

static void test_shape(void **state)
{
	(void)state;
	struct participant p[2];
	memset(p, 0, sizeof(p));
	assert_int_equal(oneway_check(DIRECTION_TWO_WAY, p, 2), ONEWAY_SHAPE_OK);
	assert_int_equal(oneway_check(DIRECTION_ONE_WAY, p, 2), ONEWAY_SHAPE_NO_HIDDEN);
	p[0].hidden = 1;
	assert_int_equal(oneway_check(DIRECTION_ONE_WAY, p, 2), ONEWAY_SHAPE_OK);
	assert_int_equal(oneway_hidden_index(p, 2), 0);
	assert_int_equal(oneway_check(DIRECTION_TWO_WAY, p, 2), ONEWAY_SHAPE_HIDDEN_TWO_WAY);
	assert_int_equal(oneway_check(DIRECTION_ONE_WAY, p, 1), ONEWAY_SHAPE_NEEDS_TWO);
	p[1].hidden = 1;
	assert_int_equal(oneway_check(DIRECTION_ONE_WAY, p, 2), ONEWAY_SHAPE_TWO_HIDDEN);
	p[0].hidden = 0;
	assert_int_equal(oneway_hidden_index(p, 2), 1);
}

static void test_window_edges(void **state)
{
	(void)state;
	struct oneway_candidate c = closed_at("ses_a", NOW - 9000, NOW - WINDOW);
	assert_int_equal(oneway_callback_pick(&c, 1, NOW, WINDOW), 0); /* exactly at the edge: in */
	c.closed_at = NOW - WINDOW - 1;
	assert_int_equal(oneway_callback_pick(&c, 1, NOW, WINDOW), -1); /* one second past: out */
	c.closed_at = NOW - 1;
	assert_int_equal(oneway_callback_pick(&c, 1, NOW, 0), -1); /* no window: only open sessions */
	struct oneway_candidate o = open_at("ses_b", NOW - 9000000);
	assert_int_equal(oneway_callback_pick(&o, 1, NOW, 0), 0); /* open: always reached */
	/* an idle session past its deadline, not swept yet, ended at its deadline */
	o.ttl = 100;
	o.last_activity_at = NOW - 100 - WINDOW;
	assert_int_equal(oneway_callback_pick(&o, 1, NOW, WINDOW), 0);
	o.last_activity_at = NOW - 101 - WINDOW;
	assert_int_equal(oneway_callback_pick(&o, 1, NOW, WINDOW), -1);
}

static void test_most_recent_wins(void **state)
{
	(void)state;
	struct oneway_candidate c[3] = {
		closed_at("ses_old", NOW - 5000, NOW - 100),
		closed_at("ses_new", NOW - 3000, NOW - 50),
		closed_at("ses_mid", NOW - 4000, NOW - 10),
	};
	assert_int_equal(oneway_callback_pick(c, 3, NOW, WINDOW), 1);
	/* the newest one out of its window: the newest one still inside wins */
	c[1].closed_at = NOW - WINDOW - 10;
	assert_int_equal(oneway_callback_pick(c, 3, NOW, WINDOW), 2);
	/* same creation time: the larger id ("ses_old" > "ses_mid") */
	c[0].created_at = c[2].created_at;
	assert_int_equal(oneway_callback_pick(c, 3, NOW, WINDOW), 0);
	c[0].created_at = NOW - 5000;
	/* a blocked session is never reached, however recent */
	c[1] = open_at("ses_zz", NOW);
	c[1].status = SESSION_BLOCKED;
	assert_int_equal(oneway_callback_pick(c, 3, NOW, WINDOW), 2);
	assert_int_equal(oneway_callback_pick(c, 0, NOW, WINDOW), -1);
}

static void test_closed_inside_window(void **state)
{
	(void)state;
	struct oneway_candidate c[2] = {open_at("ses_a", NOW - 900), closed_at("ses_b", NOW - 100, NOW - 20)};
	/* the closed one is the more recent, and inside the window: it wins over the open one */
	assert_int_equal(oneway_callback_pick(c, 2, NOW, WINDOW), 1);
	assert_false(oneway_open(&c[1], NOW));
	assert_true(oneway_open(&c[0], NOW));
}

static void test_agent_plan(void **state)
{
	(void)state;
	struct oneway_candidate c[3] = {closed_at("ses_a", NOW - 10, NOW - 5), open_at("ses_b", NOW - 9),
					open_at("ses_c", NOW - 8)};
	int which = 7;
	assert_int_equal(oneway_agent_plan(c, 1, NOW, &which), ONEWAY_AGENT_NONE);
	assert_int_equal(which, -1);
	assert_int_equal(oneway_agent_plan(c, 2, NOW, &which), ONEWAY_AGENT_BRIDGE);
	assert_int_equal(which, 1);
	assert_int_equal(oneway_agent_plan(c, 3, NOW, &which), ONEWAY_AGENT_ASK_PIN);
	assert_int_equal(which, -1);
	snprintf(c[0].pin, sizeof(c[0].pin), "1111");
	snprintf(c[1].pin, sizeof(c[1].pin), "2222");
	snprintf(c[2].pin, sizeof(c[2].pin), "3333");
	assert_int_equal(oneway_pin_pick(c, 3, "3333", NOW), 2);
	assert_int_equal(oneway_pin_pick(c, 3, "2222", NOW), 1);
	assert_int_equal(oneway_pin_pick(c, 3, "1111", NOW), -1); /* its session is closed */
	assert_int_equal(oneway_pin_pick(c, 3, "4444", NOW), -1);
	assert_int_equal(oneway_pin_pick(c, 3, NULL, NOW), -1);
	assert_int_equal(oneway_pin_pick(c, 3, "", NOW), -1);
}

static void test_stranger_asked(void **state)
{
	(void)state;
	struct oneway_candidate c[2] = {closed_at("ses_a", NOW - 10, NOW - 5), open_at("ses_b", NOW - 9)};
	/* only policy pin, only a call, only with an open one-way session on the number */
	assert_true(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_VOICE, c, 2, NOW));
	assert_false(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_MESSAGE, c, 2, NOW));
	assert_false(oneway_stranger_asked(UNKNOWN_FORWARD, CHANNEL_VOICE, c, 2, NOW));
	assert_false(oneway_stranger_asked(UNKNOWN_REJECT, CHANNEL_VOICE, c, 2, NOW));
	assert_false(oneway_stranger_asked(UNKNOWN_CALLBACK, CHANNEL_VOICE, c, 2, NOW));
	assert_false(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_VOICE, c, 1, NOW)); /* only a closed one */
	assert_false(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_VOICE, c, 0, NOW));
	/* marked open but past its absolute expiry (the sweeper lags): not open */
	c[1].expires_at = NOW - 1;
	assert_false(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_VOICE, c, 2, NOW));
	c[1].expires_at = NOW + 1;
	assert_true(oneway_stranger_asked(UNKNOWN_PIN, CHANNEL_VOICE, c, 2, NOW));
}

static void test_stranger_pin_pick(void **state)
{
	(void)state;
	struct oneway_candidate c[4] = {open_at("ses_a", NOW - 10), open_at("ses_b", NOW - 9),
					closed_at("ses_c", NOW - 8, NOW - 2), open_at("ses_d", NOW - 7)};
	snprintf(c[0].pin, sizeof(c[0].pin), "1111");
	snprintf(c[1].pin, sizeof(c[1].pin), "222222");
	snprintf(c[2].pin, sizeof(c[2].pin), "3333");
	snprintf(c[3].pin, sizeof(c[3].pin), "4444");
	c[3].status = SESSION_BLOCKED;
	c[1].status = SESSION_IN_PROGRESS;
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "1111"), 0);
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "222222"), 1);
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "3333"), -1); /* closed: its PIN may be another's now */
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "4444"), -1); /* blocked */
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "5555"), -1);
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "111"), -1);       /* too short to be a PIN */
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "1111x"), -1);     /* not digits */
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "123456789"), -1); /* too long */
	assert_int_equal(oneway_stranger_pin_pick(c, 4, NULL), -1);
	assert_int_equal(oneway_stranger_pin_pick(c, 4, ""), -1);
	/* past its deadline but not swept: named (the bridge then says it ended) */
	c[0].expires_at = NOW - 100;
	assert_int_equal(oneway_stranger_pin_pick(c, 4, "1111"), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(oneway_direction_name(DIRECTION_ONE_WAY), "one-way");
	assert_string_equal(oneway_direction_name(DIRECTION_TWO_WAY), "two-way");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),		    cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_most_recent_wins),    cmocka_unit_test(test_closed_inside_window),
		cmocka_unit_test(test_agent_plan),	    cmocka_unit_test(test_stranger_asked),
		cmocka_unit_test(test_stranger_pin_pick),   cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
