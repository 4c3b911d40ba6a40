/* SPDX-License-Identifier: MIT */
/* test_replay.c - a retried webhook is re-answered from its stored interaction:
 * the same kind, and for a bridge or forward the callee's number and proxy again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/replay.h"

static struct session two_party(void)
{
	struct session s;
	memset(&s, 0, sizeof(s));
	s.n_participants = 2;
	snprintf(s.participants[0].id, sizeof(s.participants[0].id), "par_a");
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "+14155550100");
	snprintf(s.participants[1].id, sizeof(s.participants[1].id), "par_b");
	snprintf(s.participants[1].proxy_e164, sizeof(s.participants[1].proxy_e164), "+14155550101");
	return s;
}

static void refusals_replayed_without_number(void **state)
{
	const int kinds[] = {DECISION_REJECT, DECISION_ACKNOWLEDGE, DECISION_ANNOUNCE, DECISION_GATHER};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct interaction it = {.decision = kinds[i]};
		assert_false(replay_needs_number(&it));
		struct decision d = {.reason = ROUTE_KEYWORD, .dial = "x", .from = "y"};
		replay_decide(&it, NULL, NULL, &d);
		assert_int_equal(d.kind, kinds[i]);
		assert_int_equal(d.reason, ROUTE_OK);
		assert_null(d.dial);
		assert_null(d.from);
	}
}

static void bridge_and_forward_dial_again(void **state)
{
	struct session s = two_party();
	const int kinds[] = {DECISION_BRIDGE, DECISION_FORWARD_MESSAGE};
	for (size_t i = 0; i < 2; i++) {
		struct interaction it = {.decision = kinds[i]};
		snprintf(it.to_participant, sizeof(it.to_participant), "par_b");
		assert_true(replay_needs_number(&it));
		struct decision d;
		replay_decide(&it, &s, "+13105550199", &d);
		assert_int_equal(d.kind, kinds[i]);
		assert_int_equal(d.reason, ROUTE_OK);
		assert_string_equal(d.dial, "+13105550199");
		assert_string_equal(d.from, "+14155550101");
	}
}

static void callee_gone_from_session(void **state)
{
	struct session s = two_party();
	struct interaction it = {.decision = DECISION_BRIDGE};
	snprintf(it.to_participant, sizeof(it.to_participant), "par_z");
	struct decision d;
	replay_decide(&it, &s, "+13105550199", &d);
	assert_string_equal(d.from, "");
	assert_string_equal(d.dial, "+13105550199");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refusals_replayed_without_number),
		cmocka_unit_test(bridge_and_forward_dial_again),
		cmocka_unit_test(callee_gone_from_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
