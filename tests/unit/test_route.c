/* SPDX-License-Identifier: MIT */
/* test_route.c - route_inbound(): every way a call or text can be decided. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/optout.h"
#include "core/route.h"

static struct route_view live_view(void)
{
	struct route_view v;
	memset(&v, 0, sizeof(v));
	snprintf(v.number.id, sizeof(v.number.id), "%s", "num_x");
	snprintf(v.session_id, sizeof(v.session_id), "%s", "ses_x");
	v.session_status = SESSION_OPEN;
	v.session_mode = MODE_VOICE_AND_MESSAGE;
	v.session_last_activity_at = 1000;
	snprintf(v.from_participant, sizeof(v.from_participant), "%s", "par_a");
	snprintf(v.to_participant, sizeof(v.to_participant), "%s", "par_b");
	snprintf(v.to_number, sizeof(v.to_number), "%s", "+13105550199");
	snprintf(v.to_proxy_e164, sizeof(v.to_proxy_e164), "%s", "+14155550100");
	return v;
}

static const struct inbound voice = {.channel = CHANNEL_VOICE, .from = "+12125550123", .to = "+14155550101"};

static void bridge_to_other_side(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_BRIDGE);
	assert_string_equal(d.dial, "+13105550199");
	assert_string_equal(d.from, "+14155550100"); /* the other side's proxy, never the caller's real number */
}

static void unknown_caller_rejected(void **state)
{
	struct route_view v;
	memset(&v, 0, sizeof(v));
	snprintf(v.number.id, sizeof(v.number.id), "%s", "num_x");
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_UNKNOWN_CALLER);
	assert_null(d.dial);
	struct inbound text = {.channel = CHANNEL_MESSAGE, .body = "hi"};
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
}

static void closed_or_expired_rejected(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	v.session_status = SESSION_CLOSED;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_SESSION_ENDED);

	v = live_view();
	v.session_expires_at = 2000; /* the sweeper has not run yet */
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_SESSION_ENDED);
	route_inbound(&voice, &v, 1999, &d);
	assert_int_equal(d.kind, DECISION_BRIDGE);

	v = live_view();
	v.session_ttl = 60; /* idle since 1000 */
	route_inbound(&voice, &v, 1059, &d);
	assert_int_equal(d.kind, DECISION_BRIDGE);
	route_inbound(&voice, &v, 1060, &d);
	assert_int_equal(d.reason, ROUTE_SESSION_ENDED);
}

static void mode_limits_channel(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	v.session_mode = MODE_MESSAGE;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_CHANNEL_DENIED);
	struct inbound text = {.channel = CHANNEL_MESSAGE, .body = "hi"};
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_FORWARD_MESSAGE);
	v.session_mode = MODE_VOICE;
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(d.reason, ROUTE_CHANNEL_DENIED);
}

static void empty_message_acknowledged(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	struct inbound text = {.channel = CHANNEL_MESSAGE, .body = ""};
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(d.reason, ROUTE_EMPTY_MESSAGE);
	text.n_media = 1; /* media only is forwarded */
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_FORWARD_MESSAGE);
}

static void keywords_never_relayed(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	const char *words[] = {"STOP", " stop\n", "Unsubscribe", "stopall", "END", "quit", "REVOKE", "optout",
			       "START", "yes", "UNSTOP", "help", "Info"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct inbound text = {.channel = CHANNEL_MESSAGE, .body = words[i]};
		route_inbound(&text, &v, 2000, &d);
		assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
		assert_int_equal(d.reason, ROUTE_KEYWORD);
	}
	const char *sentences[] = {"STOP PLEASE", "please cancel", "stopp", "OPT OUT", "yes!", "the end"};
	for (size_t i = 0; i < sizeof(sentences) / sizeof(sentences[0]); i++) {
		struct inbound text = {.channel = CHANNEL_MESSAGE, .body = sentences[i]};
		route_inbound(&text, &v, 2000, &d);
		assert_int_equal(d.kind, DECISION_FORWARD_MESSAGE);
	}
	assert_int_equal(optout_classify(NULL), OPTOUT_NONE);
	assert_int_equal(optout_classify("Stop"), OPTOUT_STOP);
	assert_int_equal(optout_classify("UNSTOP"), OPTOUT_START);
	assert_int_equal(optout_classify("INFO"), OPTOUT_HELP);
}

static void missing_other_side_never_bridges(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	v.to_number[0] = '\0'; /* a half-read row must not become a bridge to nobody */
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_string_equal(route_reason_name(d.reason), "no_peer");
	assert_null(d.dial);
}

/* A single-party session waiting for its second participant: the lone caller is
 * told so, never bridged. */
static void single_party_waits(void **state)
{
	struct route_view v = live_view();
	v.to_participant[0] = v.to_number[0] = v.to_proxy_e164[0] = '\0';
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_NO_PEER);
}

/* Blocked wins over everything after the binding: even a live deadline. */
static void blocked_refused_silently(void **state)
{
	struct route_view v = live_view();
	v.session_status = SESSION_BLOCKED;
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_BLOCKED);
	struct inbound text = {.channel = CHANNEL_MESSAGE, .body = "hello"};
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_null(d.dial);
}

/* A closed session whose binding still cools off is "ended", not "unknown". */
static void cooling_off_is_ended(void **state)
{
	struct route_view v = live_view();
	v.session_status = SESSION_CLOSED;
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_SESSION_ENDED);
	assert_null(d.dial);
}

/* Texts towards an opted-out participant are not sent; calls still bridge; the
 * keyword check comes first so STOP from the other side is never relayed. */
static void opted_out_recipient(void **state)
{
	struct route_view v = live_view();
	v.to_opted_out = 1;
	struct decision d;
	struct inbound text = {.channel = CHANNEL_MESSAGE, .body = "are you there?"};
	route_inbound(&text, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(d.reason, ROUTE_OPTED_OUT);
	assert_null(d.dial);
	route_inbound(&voice, &v, 2000, &d);
	assert_int_equal(d.kind, DECISION_BRIDGE);
	struct inbound stop = {.channel = CHANNEL_MESSAGE, .body = " stop "};
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
}

static void refuse_clears_target(void **state)
{
	struct route_view v = live_view();
	struct decision d;
	route_inbound(&voice, &v, 2000, &d);
	route_refuse(&d, CHANNEL_VOICE, ROUTE_RATE_LIMITED);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_null(d.dial);
	assert_null(d.from);
	assert_string_equal(route_reason_name(ROUTE_RATE_LIMITED), "rate_limited");
	assert_string_equal(route_reason_name(99), "unknown");
}

/* What each keyword does: STOP/START record the state, HELP answers with the
 * service's text, anything else does nothing. */
static void keyword_actions(void **state)
{
	struct service svc;
	memset(&svc, 0, sizeof(svc));
	snprintf(svc.help_text, sizeof(svc.help_text), "help here");
	struct optout_action a;
	optout_action(&svc, OPTOUT_STOP, &a);
	assert_true(a.record);
	assert_int_equal(a.opted_out, 1);
	assert_null(a.reply);
	optout_action(&svc, OPTOUT_START, &a);
	assert_true(a.record);
	assert_int_equal(a.opted_out, 0);
	assert_null(a.reply);
	optout_action(&svc, OPTOUT_HELP, &a);
	assert_false(a.record);
	assert_string_equal(a.reply, "help here");
	optout_action(&svc, OPTOUT_NONE, &a);
	assert_false(a.record);
	assert_null(a.reply);
}

/* A keyword is read as one in every session state: the sender's STOP, START or
 * HELP is recorded and answered even when the session ended, is blocked, waits
 * for its peer or takes no texts. A session-less sender is the caller's case. */
static void keywords_by_session_state(void **state)
{
	struct inbound stop = {.channel = CHANNEL_MESSAGE, .body = "STOP"};
	struct decision d;
	struct route_view v = live_view();
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	v.to_opted_out = 1; /* the recipient opted out: the sender's own keyword still counts */
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	v = live_view();
	v.session_status = SESSION_CLOSED;
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_null(d.dial);
	v = live_view();
	v.session_expires_at = 1500; /* past its deadline, not yet swept */
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	v = live_view();
	v.session_status = SESSION_BLOCKED;
	struct inbound help = {.channel = CHANNEL_MESSAGE, .body = " help "};
	route_inbound(&help, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	v = live_view();
	v.to_participant[0] = '\0';
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	v = live_view();
	v.session_mode = MODE_VOICE;
	struct inbound start = {.channel = CHANNEL_MESSAGE, .body = "START"};
	route_inbound(&start, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_KEYWORD);
	/* not a keyword: the state's own refusal */
	struct inbound hi = {.channel = CHANNEL_MESSAGE, .body = "stop please"};
	route_inbound(&hi, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_CHANNEL_DENIED);
	v = live_view();
	v.session_id[0] = '\0';
	route_inbound(&stop, &v, 2000, &d);
	assert_int_equal(d.reason, ROUTE_UNKNOWN_CALLER);
}

/* Media leaves only from a proxy number with mms; otherwise the service's choice. */
static void media_needs_mms(void **state)
{
	assert_int_equal(route_media_plan(0, CAP_VOICE | CAP_SMS, MMS_FALLBACK_REFUSE), ROUTE_MEDIA_RELAY);
	assert_int_equal(route_media_plan(2, CAP_ALL, MMS_FALLBACK_REFUSE), ROUTE_MEDIA_RELAY);
	assert_int_equal(route_media_plan(1, CAP_SMS | CAP_MMS, MMS_FALLBACK_TEXT_WITH_NOTE), ROUTE_MEDIA_RELAY);
	assert_int_equal(route_media_plan(1, CAP_VOICE | CAP_SMS, MMS_FALLBACK_TEXT_WITH_NOTE), ROUTE_MEDIA_DROP);
	assert_int_equal(route_media_plan(1, CAP_VOICE | CAP_SMS, MMS_FALLBACK_REFUSE), ROUTE_MEDIA_REFUSE);
	assert_int_equal(route_media_plan(1, 0, MMS_FALLBACK_TEXT_WITH_NOTE), ROUTE_MEDIA_DROP);
	assert_string_equal(route_reason_name(ROUTE_MEDIA_REFUSED), "media_refused");
	assert_string_equal(route_reason_name(ROUTE_WRONG_PIN), "wrong_pin");
	assert_string_equal(mms_fallback_name(MMS_FALLBACK_TEXT_WITH_NOTE), "text_with_note");
	assert_int_equal(mms_fallback_from_name("refuse"), MMS_FALLBACK_REFUSE);
	assert_int_equal(mms_fallback_from_name("drop"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bridge_to_other_side),
		cmocka_unit_test(single_party_waits),
		cmocka_unit_test(blocked_refused_silently),
		cmocka_unit_test(cooling_off_is_ended),
		cmocka_unit_test(opted_out_recipient),
		cmocka_unit_test(refuse_clears_target),
		cmocka_unit_test(unknown_caller_rejected),
		cmocka_unit_test(closed_or_expired_rejected),
		cmocka_unit_test(mode_limits_channel),
		cmocka_unit_test(empty_message_acknowledged),
		cmocka_unit_test(missing_other_side_never_bridges),
		cmocka_unit_test(keywords_never_relayed),
		cmocka_unit_test(keyword_actions),
		cmocka_unit_test(keywords_by_session_state),
		cmocka_unit_test(media_needs_mms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
