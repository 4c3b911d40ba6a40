/* SPDX-License-Identifier: MIT */
/* test_proxy_wire.c - api/proxy_wire.h: SIDs are the native ids re-spelt both
 * ways (every prefix, every id character, refusals of foreign SIDs), page
 * tokens round-trip and refuse other shapes, a Participants item parses in any
 * key case and refuses what it must, and maskd's create errors get Twilio's
 * codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/proxy_wire.h"
#include "core/model.h"
#include "core/pick.h"
#include "util/err.h"
#include "util/ids.h"

static void test_sid_round_trip_every_prefix(void **state)
{
	(void)state;
	static const char *const pairs[][2] = {{"svc", "KS"}, {"ses", "KC"}, {"par", "KP"}, {"int", "KI"}, {"num", "PN"}};
	for (size_t i = 0; i < 5; i++) {
		for (int k = 0; k < 200; k++) {
			char id[ID_MAX], sid[PROXY_SID_LEN + 1], back[ID_MAX];
			id_new(pairs[i][0], id);
			assert_int_equal(proxy_sid_from_id(id, sid), 0);
			assert_int_equal(strlen(sid), PROXY_SID_LEN);
			assert_memory_equal(sid, pairs[i][1], 2);
			for (size_t c = 2; c < PROXY_SID_LEN; c++)
				assert_non_null(strchr("0123456789abcdef", sid[c]));
			assert_int_equal(proxy_id_from_sid(sid, pairs[i][1], back), 0);
			assert_string_equal(back, id);
		}
	}
}

static void test_sid_extremes(void **state)
{
	(void)state;
	char sid[PROXY_SID_LEN + 1], back[ID_MAX];
	/* the lowest and highest characters of the id alphabet */
	assert_int_equal(proxy_sid_from_id("ses_222222222222222222222222", sid), 0);
	assert_string_equal(sid, "KC00000000000000000000000000000000");
	assert_int_equal(proxy_sid_from_id("ses_zzzzzzzzzzzzzzzzzzzzzzzz", sid), 0);
	assert_string_equal(sid, "KC00ffffffffffffffffffffffffffffff");
	assert_int_equal(proxy_id_from_sid("KC00ffffffffffffffffffffffffffffff", "KC", back), 0);
	assert_string_equal(back, "ses_zzzzzzzzzzzzzzzzzzzzzzzz");
}

static void test_sid_refusals(void **state)
{
	(void)state;
	char sid[PROXY_SID_LEN + 1], id[ID_MAX];
	assert_int_equal(proxy_sid_from_id("leg_222222222222222222222222", sid), MASKD_EINVAL); /* no Proxy resource */
	assert_string_equal(sid, "");
	assert_int_equal(proxy_sid_from_id("ses_22222222222222222222222", sid), MASKD_EINVAL); /* 23 chars */
	assert_int_equal(proxy_sid_from_id("ses_22222222222222222222222l", sid), MASKD_EINVAL); /* not the alphabet */
	assert_int_equal(proxy_sid_from_id("nounderscore", sid), MASKD_EINVAL);
	/* wrong prefix asked for */
	assert_int_equal(proxy_id_from_sid("KC00000000000000000000000000000000", "KS", id), MASKD_EINVAL);
	assert_string_equal(id, "");
	/* upper-case hex, a pad that is not ours, a short one, a unique name */
	assert_int_equal(proxy_id_from_sid("KC00ABCDEF000000000000000000000000", "KC", id), MASKD_EINVAL);
	assert_int_equal(proxy_id_from_sid("KC10000000000000000000000000000000", "KC", id), MASKD_EINVAL);
	assert_int_equal(proxy_id_from_sid("KC0000000000000000000000000000000", "KC", id), MASKD_EINVAL);
	assert_int_equal(proxy_id_from_sid("order-1234", "KC", id), MASKD_EINVAL);
	assert_int_equal(proxy_id_from_sid("KC00000000000000000000000000000000", "XX", id), MASKD_EINVAL);
}

static void test_page_token(void **state)
{
	(void)state;
	char id[ID_MAX], sid[PROXY_SID_LEN + 1], tok[PROXY_TOKEN_LEN + 1], back[ID_MAX];
	id_new("int", id);
	assert_int_equal(proxy_sid_from_id(id, sid), 0);
	assert_int_equal(proxy_token_make(sid, tok), 0);
	assert_memory_equal(tok, "PT", 2);
	assert_string_equal(tok + 2, sid + 2);
	assert_int_equal(proxy_token_parse(tok, "KI", back), 0);
	assert_string_equal(back, id);
	assert_int_equal(proxy_token_parse(sid, "KI", back), MASKD_EINVAL); /* a SID is not a token */
	assert_int_equal(proxy_token_parse("PT123", "KI", back), MASKD_EINVAL);
	assert_int_equal(proxy_token_parse("PTzz000000000000000000000000000000", "KI", back), MASKD_EINVAL);
	assert_int_equal(proxy_token_make("short", tok), MASKD_EINVAL);
}

static void test_participant_item(void **state)
{
	(void)state;
	struct proxy_participant_in in;
	char err[160];
	assert_int_equal(proxy_participant_item("{\"Identifier\":\"+14155550101\",\"FriendlyName\":\"Alice\"}", &in, err,
						sizeof(err)),
			 0);
	assert_string_equal(in.identifier, "+14155550101");
	assert_string_equal(in.friendly_name, "Alice");
	assert_string_equal(in.proxy_identifier, "");
	/* the app's own key spelling passes through the SDK */
	assert_int_equal(proxy_participant_item("{\"identifier\":\"+14155550102\",\"proxyIdentifier\":\"+14155550199\"}",
						&in, err, sizeof(err)),
			 0);
	assert_string_equal(in.identifier, "+14155550102");
	assert_string_equal(in.proxy_identifier, "+14155550199");
	/* refusals: not JSON, not an object, no Identifier, unknown key, non-string */
	assert_int_equal(proxy_participant_item("+14155550101", &in, err, sizeof(err)), MASKD_EINVAL);
	assert_int_equal(proxy_participant_item("[1]", &in, err, sizeof(err)), MASKD_EINVAL);
	assert_int_equal(proxy_participant_item("{\"FriendlyName\":\"A\"}", &in, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "Identifier"));
	assert_int_equal(proxy_participant_item("{\"Identifier\":\"+14155550101\",\"Fax\":\"1\"}", &in, err, sizeof(err)),
			 MASKD_EINVAL);
	assert_int_equal(proxy_participant_item("{\"Identifier\":14155550101}", &in, err, sizeof(err)), MASKD_EINVAL);
	/* an error never carries the submitted number */
	assert_null(strstr(err, "14155550101"));
	char big[400];
	snprintf(big, sizeof(big), "{\"Identifier\":\"%0250d\"}", 1);
	assert_int_equal(proxy_participant_item(big, &in, err, sizeof(err)), MASKD_EINVAL);
}

static void test_error_codes(void **state)
{
	(void)state;
	int status = 0;
	assert_int_equal(proxy_create_error_code(MASKD_ECONFLICT, CREATE_FAIL_UNIQUE_NAME, &status), 80603);
	assert_int_equal(status, 400);
	assert_int_equal(proxy_create_error_code(MASKD_ECONFLICT, 1, &status), 80604);
	assert_int_equal(proxy_create_error_code(MASKD_ECONFLICT, -5, &status), 80609);
	assert_int_equal(proxy_create_error_code(MASKD_ENOTFOUND, 0, &status), 80402);
	assert_int_equal(proxy_create_error_code(MASKD_EEXHAUSTED, 0, &status), 80206);
	assert_int_equal(proxy_create_error_code(MASKD_EINVAL, 1, &status), 80103);
	assert_int_equal(status, 400);
	assert_int_equal(proxy_create_error_code(MASKD_EDB, 0, &status), 20503);
	assert_int_equal(status, 503);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proxy_status_name(SESSION_OPEN), "open");
	assert_string_equal(proxy_status_name(SESSION_IN_PROGRESS), "in-progress");
	assert_string_equal(proxy_status_name(SESSION_CLOSED), "closed");
	assert_string_equal(proxy_status_name(SESSION_BLOCKED), "closed");
	assert_string_equal(proxy_status_name(SESSION_FAILED), "failed");
	assert_int_equal(proxy_mode_from_name("voice-only"), MODE_VOICE);
	assert_int_equal(proxy_mode_from_name("message-only"), MODE_MESSAGE);
	assert_int_equal(proxy_mode_from_name("voice-and-message"), MODE_VOICE_AND_MESSAGE);
	assert_int_equal(proxy_mode_from_name("fax"), -1);
	assert_string_equal(proxy_mode_name(MODE_MESSAGE), "message-only");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sid_round_trip_every_prefix),
		cmocka_unit_test(test_sid_extremes),
		cmocka_unit_test(test_sid_refusals),
		cmocka_unit_test(test_page_token),
		cmocka_unit_test(test_participant_item),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
