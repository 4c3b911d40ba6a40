/* SPDX-License-Identifier: MIT */
/* test_outbox.c - core/outbox.c, the outbox's delivery rules: what an answer
 * means, the backoff (doubling, capped, jittered within its upper half), what
 * becomes of a message after a try (another try holding only its destination,
 * failed after the last try or a refusal), and what a destination is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/outbox.h"
#include "util/err.h"

static const struct outbox_policy policy = {.max_tries = 5, .base_ms = 1000, .max_backoff_ms = 30000};

static void classify_answers(void **state)
{
	(void)state;
	assert_int_equal(outbox_classify(1, 200, 0), OUTBOX_DELIVERED);
	assert_int_equal(outbox_classify(1, 202, 0), OUTBOX_DELIVERED);
	assert_int_equal(outbox_classify(1, 200, 1), OUTBOX_REFUSED);
	assert_int_equal(outbox_classify(0, 0, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(0, 200, 0), OUTBOX_TRANSIENT); /* no answer came: the status means nothing */
	assert_int_equal(outbox_classify(1, 408, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(1, 425, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(1, 429, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(1, 500, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(1, 503, 0), OUTBOX_TRANSIENT);
	assert_int_equal(outbox_classify(1, 400, 0), OUTBOX_REFUSED);
	assert_int_equal(outbox_classify(1, 401, 0), OUTBOX_REFUSED);
	assert_int_equal(outbox_classify(1, 404, 0), OUTBOX_REFUSED);
	assert_int_equal(outbox_classify(1, 301, 0), OUTBOX_REFUSED);
}

static void backoff_doubles_and_caps(void **state)
{
	(void)state;
	/* rnd 0: the lower bound, half the step; rnd max: just under the whole step */
	assert_int_equal(outbox_backoff_ms(&policy, 1, 0), 500);
	assert_int_equal(outbox_backoff_ms(&policy, 2, 0), 1000);
	assert_int_equal(outbox_backoff_ms(&policy, 3, 0), 2000);
	assert_int_equal(outbox_backoff_ms(&policy, 4, 0), 4000);
	assert_int_equal(outbox_backoff_ms(&policy, 1, UINT32_MAX), 999);
	assert_int_equal(outbox_backoff_ms(&policy, 3, UINT32_MAX), 3999);
	assert_int_equal(outbox_backoff_ms(&policy, 3, 1u << 31), 3000); /* the middle of the upper half */
	/* capped: 1000 << 9 is past 30000 */
	assert_int_equal(outbox_backoff_ms(&policy, 10, 0), 15000);
	assert_int_equal(outbox_backoff_ms(&policy, 10, UINT32_MAX), 29999);
	assert_int_equal(outbox_backoff_ms(&policy, 1000, 0), 15000); /* no overflow on a huge count */
}

static void jitter_spreads(void **state)
{
	(void)state;
	/* many messages failing together at try 2 come back over [1000, 2000), not at once */
	int64_t lo = INT64_MAX, hi = 0;
	uint32_t rnd = 12345;
	for (int i = 0; i < 1000; i++) {
		rnd = rnd * 1664525u + 1013904223u; /* a fixed sequence: the test is deterministic */
		int64_t d = outbox_backoff_ms(&policy, 2, rnd);
		assert_true(d >= 1000 && d < 2000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < 1100);
	assert_true(hi > 1900);
}

static void after_a_try(void **state)
{
	(void)state;
	struct outbox_step s;
	outbox_after(&policy, 1, OUTBOX_DELIVERED, 5000, 0, &s);
	assert_int_equal(s.status, OUTBOX_SENT);
	assert_int_equal(s.hold_until, 0);
	outbox_after(&policy, 1, OUTBOX_REFUSED, 5000, 0, &s);
	assert_int_equal(s.status, OUTBOX_FAILED); /* a refusal is final at once */
	assert_int_equal(s.hold_until, 0);         /* and says nothing about the destination */
	outbox_after(&policy, 2, OUTBOX_TRANSIENT, 5000, 0, &s);
	assert_int_equal(s.status, OUTBOX_PENDING);
	assert_int_equal(s.next_at, 6000);
	assert_int_equal(s.hold_until, 6000); /* the destination waits as long as the message */
	outbox_after(&policy, 4, OUTBOX_TRANSIENT, 5000, 0, &s);
	assert_int_equal(s.status, OUTBOX_PENDING);
	assert_int_equal(s.next_at, 9000);
	outbox_after(&policy, 5, OUTBOX_TRANSIENT, 5000, 0, &s);
	assert_int_equal(s.status, OUTBOX_FAILED); /* the last try */
	assert_int_equal(s.hold_until, 0);
	struct outbox_policy once = {.max_tries = 1, .base_ms = 10, .max_backoff_ms = 10};
	outbox_after(&once, 1, OUTBOX_TRANSIENT, 0, 0, &s);
	assert_int_equal(s.status, OUTBOX_FAILED);
}

static void destinations(void **state)
{
	(void)state;
	char d[64];
	assert_int_equal(outbox_destination("https://API.Telnyx.com/v2/messages?x=1", d, sizeof(d)), 0);
	assert_string_equal(d, "https://api.telnyx.com");
	assert_int_equal(outbox_destination("http://127.0.0.1:8080/x", d, sizeof(d)), 0);
	assert_string_equal(d, "http://127.0.0.1:8080");
	assert_int_equal(outbox_destination("https://user:pw@rest.example/y", d, sizeof(d)), 0);
	assert_string_equal(d, "https://rest.example"); /* no credential in a destination (metrics label) */
	assert_int_equal(outbox_destination("https://a.example", d, sizeof(d)), 0);
	assert_string_equal(d, "https://a.example");
	assert_int_equal(outbox_destination("https://a.example#f", d, sizeof(d)), 0);
	assert_string_equal(d, "https://a.example");
	/* two URLs on one host share the destination; two ports do not */
	char d2[64];
	assert_int_equal(outbox_destination("https://a.example/other", d2, sizeof(d2)), 0);
	assert_string_equal(d, d2);
	assert_int_equal(outbox_destination("https://a.example:8443/", d2, sizeof(d2)), 0);
	assert_string_not_equal(d, d2);
	assert_int_equal(outbox_destination("ftp://a.example/", d, sizeof(d)), MASKD_EINVAL);
	assert_int_equal(outbox_destination("https:///path", d, sizeof(d)), MASKD_EINVAL);
	assert_int_equal(outbox_destination("https://", d, sizeof(d)), MASKD_EINVAL);
	assert_int_equal(outbox_destination(NULL, d, sizeof(d)), MASKD_EINVAL);
	assert_int_equal(outbox_destination("https://a-very-long-host.example/", d, 16), MASKD_EINVAL);
}

static void status_names(void **state)
{
	(void)state;
	for (int s = OUTBOX_PENDING; s <= OUTBOX_FAILED; s++)
		assert_int_equal(outbox_status_parse(outbox_status_name(s)), s);
	assert_string_equal(outbox_status_name(OUTBOX_FAILED), "failed");
	assert_int_equal(outbox_status_parse("FAILED"), -1);
	assert_int_equal(outbox_status_parse(""), -1);
	assert_int_equal(outbox_status_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify_answers), cmocka_unit_test(backoff_doubles_and_caps),
		cmocka_unit_test(jitter_spreads),   cmocka_unit_test(after_a_try),
		cmocka_unit_test(destinations),	    cmocka_unit_test(status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
