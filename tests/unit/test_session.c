/* SPDX-License-Identifier: MIT */
/* test_session.c - the pure session lifecycle rules of core/session.h: deadlines
 * (absolute, idle, both, neither), live and due at the boundary, the close / block
 * / re-block steps and their refusals, event kinds, the cool-off of a binding
 * (0 = released at once), the re-open verdict with every refusal and its order,
 * keep-or-take of a binding, the retention cut-off, and policy overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/model.h"
#include "core/session.h"
#include "util/err.h"

static void test_deadline(void **state)
{
	assert_int_equal(session_deadline(0, 0, 1000), 0);       /* neither */
	assert_int_equal(session_deadline(5000, 0, 1000), 5000); /* absolute only */
	assert_int_equal(session_deadline(0, 60, 1000), 1060);   /* idle only */
	assert_int_equal(session_deadline(5000, 60, 1000), 1060); /* the earlier: idle */
	assert_int_equal(session_deadline(1030, 60, 1000), 1030); /* the earlier: absolute */
}

static void test_live_and_due(void **state)
{
	/* idle ttl 60 from 1000: due at 1060 */
	assert_true(session_live(SESSION_OPEN, 0, 60, 1000, 1059));
	assert_false(session_due(SESSION_OPEN, 0, 60, 1000, 1059));
	assert_false(session_live(SESSION_OPEN, 0, 60, 1000, 1060));
	assert_true(session_due(SESSION_OPEN, 0, 60, 1000, 1060));
	assert_true(session_due(SESSION_IN_PROGRESS, 2000, 0, 1000, 2000)); /* absolute */
	assert_false(session_due(SESSION_IN_PROGRESS, 2000, 0, 1000, 1999));
	/* no deadline: never due, always live while open */
	assert_false(session_due(SESSION_OPEN, 0, 0, 1000, 1 << 30));
	assert_true(session_live(SESSION_OPEN, 0, 0, 1000, 1 << 30));
	/* not open: never due, never live */
	const int ended[] = {SESSION_CLOSED, SESSION_FAILED, SESSION_BLOCKED};
	for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++) {
		assert_false(session_due(ended[i], 0, 60, 1000, 5000));
		assert_false(session_live(ended[i], 0, 0, 1000, 1001));
	}
}

static void test_close_step(void **state)
{
	enum session_close_step step;
	/* open or in progress -> closed or blocked: the bindings cool off */
	assert_int_equal(session_close_step(SESSION_OPEN, SESSION_CLOSED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_BINDINGS);
	assert_int_equal(session_close_step(SESSION_IN_PROGRESS, SESSION_BLOCKED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_BINDINGS);
	/* idempotent */
	assert_int_equal(session_close_step(SESSION_CLOSED, SESSION_CLOSED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_NONE);
	assert_int_equal(session_close_step(SESSION_BLOCKED, SESSION_BLOCKED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_NONE);
	/* closing a blocked session does not unblock it */
	assert_int_equal(session_close_step(SESSION_BLOCKED, SESSION_CLOSED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_NONE);
	assert_int_equal(session_close_step(SESSION_FAILED, SESSION_CLOSED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_NONE);
	/* blocking a closed (or failed) session: the status only */
	assert_int_equal(session_close_step(SESSION_CLOSED, SESSION_BLOCKED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_REBLOCK);
	assert_int_equal(session_close_step(SESSION_FAILED, SESSION_BLOCKED, &step), 0);
	assert_int_equal(step, SESSION_CLOSE_REBLOCK);
	/* refused targets */
	assert_int_equal(session_close_step(SESSION_OPEN, SESSION_FAILED, &step), MASKD_EINVAL);
	assert_int_equal(step, SESSION_CLOSE_NONE);
	assert_int_equal(session_close_step(SESSION_CLOSED, SESSION_OPEN, &step), MASKD_EINVAL);
	assert_int_equal(session_close_step(SESSION_OPEN, SESSION_IN_PROGRESS, &step), MASKD_EINVAL);
}

static void test_event_kind(void **state)
{
	assert_string_equal(session_event_kind(SESSION_CLOSED), "closed");
	assert_string_equal(session_event_kind(SESSION_BLOCKED), "blocked");
	assert_string_equal(session_event_kind(SESSION_OPEN), "reopened");
	assert_null(session_event_kind(SESSION_IN_PROGRESS));
	assert_null(session_event_kind(SESSION_FAILED));
}

static void test_cooloff(void **state)
{
	assert_int_equal(session_held_until(1000, 3600), 4600);
	assert_true(session_binding_cools(3600));
	/* no cool-off: released at once, held_until records when */
	assert_int_equal(session_held_until(1000, 0), 1000);
	assert_false(session_binding_cools(0));
	assert_int_equal(session_held_until(1000, -5), 1000);
	assert_false(session_binding_cools(-5));
}

static void test_reopen_verdict(void **state)
{
	enum session_refusal why;
	struct session_reopen_facts f = {.status = SESSION_CLOSED};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), 0);
	assert_int_equal(why, SESSION_REFUSE_NONE);
	f.status = SESSION_BLOCKED;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), 0);
	/* open already: no change, whatever else holds */
	struct session_reopen_facts open = {.status = SESSION_OPEN, .purged = true, .expires_at = 10};
	assert_int_equal(session_reopen_verdict(&open, 1000, &why), 1);
	assert_int_equal(why, SESSION_REFUSE_NONE);
	open.status = SESSION_IN_PROGRESS;
	assert_int_equal(session_reopen_verdict(&open, 1000, &why), 1);
	/* expires_at: after now is fine, at or before now is refused, 0 = none */
	f = (struct session_reopen_facts){.status = SESSION_CLOSED, .expires_at = 1001};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), 0);
	f.expires_at = 1000;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_EINVAL);
	assert_int_equal(why, SESSION_REFUSE_EXPIRED);
	f.expires_at = 0;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), 0);
	/* each refusal alone */
	f = (struct session_reopen_facts){.status = SESSION_CLOSED, .purged = true};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_PURGED);
	f = (struct session_reopen_facts){.status = SESSION_CLOSED, .name_taken = true};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_NAME);
	f = (struct session_reopen_facts){.status = SESSION_CLOSED, .pin_taken = true};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_PIN);
	/* the order: purged, expired, name, pin */
	f = (struct session_reopen_facts){.status = SESSION_CLOSED, .purged = true, .expires_at = 5,
					   .name_taken = true, .pin_taken = true};
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_PURGED);
	f.purged = false;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_EINVAL);
	assert_int_equal(why, SESSION_REFUSE_EXPIRED);
	f.expires_at = 0;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_NAME);
	f.name_taken = false;
	assert_int_equal(session_reopen_verdict(&f, 1000, &why), MASKD_ECONFLICT);
	assert_int_equal(why, SESSION_REFUSE_PIN);
}

static void test_reopen_binding(void **state)
{
	assert_int_equal(session_reopen_binding(true), SESSION_REBIND_KEEP);
	assert_int_equal(session_reopen_binding(false), SESSION_REBIND_TAKE);
}

static void test_retention_cutoff(void **state)
{
	assert_int_equal(session_retention_cutoff(100000, 86400), 100000 - 86400);
	assert_int_equal(session_retention_cutoff(100000, 0), 0);
	assert_int_equal(session_retention_cutoff(100000, -1), 0);
}

static void test_policy_effective(void **state)
{
	struct call_policy svc = {.record = 1, .time_limit = 600, .ring_timeout = 30};
	snprintf(svc.consent_message, sizeof(svc.consent_message), "%s", "recorded");
	struct call_policy ses = {.record = -1, .time_limit = -1, .ring_timeout = -1};
	struct call_policy out;
	session_policy_effective(&svc, &ses, &out);
	assert_int_equal(out.record, 1);
	assert_int_equal(out.time_limit, 600);
	assert_int_equal(out.ring_timeout, 30);
	assert_string_equal(out.consent_message, "recorded");
	ses = (struct call_policy){.record = 0, .time_limit = 60, .ring_timeout = 10};
	snprintf(ses.consent_message, sizeof(ses.consent_message), "%s", "hi");
	session_policy_effective(&svc, &ses, &out);
	assert_int_equal(out.record, 0);
	assert_int_equal(out.time_limit, 60);
	assert_int_equal(out.ring_timeout, 10);
	assert_string_equal(out.consent_message, "hi");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_live_and_due),
		cmocka_unit_test(test_close_step),
		cmocka_unit_test(test_event_kind),
		cmocka_unit_test(test_cooloff),
		cmocka_unit_test(test_reopen_verdict),
		cmocka_unit_test(test_reopen_binding),
		cmocka_unit_test(test_retention_cutoff),
		cmocka_unit_test(test_policy_effective),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
