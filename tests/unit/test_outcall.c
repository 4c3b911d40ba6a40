/* SPDX-License-Identifier: MIT */
/* test_outcall.c - click-to-call: the carrier request builders (hooks/outcall.c)
 * compared with what twilio (npm) 6.2.0 calls.create() and
 * @signalwire/compatibility-api 3.2.0 calls.create() put on the wire for the same
 * call (captured by a local server, the black-box suite's calls.test.mjs does the
 * same live), and likewise telnyx (npm) 7.24.0 texml.accounts.calls.calls() and plivo
 * (npm) 4.79.0 calls.create() (Vobiz: Plivo's request), their refusals without
 * credentials, and the request check of
 * flow/calls.c (calls_check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/calls.h"
#include "hooks/outcall.h"
#include "util/err.h"

#define ANSWER "https://maskd.example.com/hooks/twilio/answer?interaction=int_x"
#define STATUS "https://maskd.example.com/hooks/twilio/status?interaction=int_x"
#define ACCOUNT "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct outcall call = {
	.to = "+14155550101", .from = "+14155550100", .answer_url = ANSWER, .status_url = STATUS, .ring_timeout = 30};

static void creds(struct service *svc, enum dialect d, const char *json)
{
	snprintf(svc->secrets[d], sizeof(svc->secrets[0]), "%s", json);
}

static void twilio_matches_sdk(void **state)
{
	(void)state;
	struct service svc = {0};
	creds(&svc, DIALECT_TWILIO, "{\"account_sid\":\"" ACCOUNT "\",\"auth_token\":\"tok\"}");
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	const char *missing = NULL;
	assert_int_equal(outcall_build(DIALECT_TWILIO, &svc, "http://127.0.0.1:9", &call, &out, &missing), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/2010-04-01/Accounts/" ACCOUNT "/Calls.json");
	assert_string_equal(out.authorization, "Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYTp0b2s=");
	assert_string_equal(out.content_type, "application/x-www-form-urlencoded");
	assert_int_equal(out.dialect, DIALECT_TWILIO);
	const char *want = "To=%2B14155550101&From=%2B14155550100&StatusCallback=https%3A%2F%2Fmaskd.example.com%2Fhooks%"
			   "2Ftwilio%2Fstatus%3Finteraction%3Dint_x&Timeout=30&Url=https%3A%2F%2Fmaskd.example.com%2Fhooks%"
			   "2Ftwilio%2Fanswer%3Finteraction%3Dint_x";
	assert_string_equal(out.body, want);
	assert_int_equal(out.body_len, strlen(want));
	free(out.body);
}

static void signalwire_matches_sdk(void **state)
{
	(void)state;
	struct service svc = {0};
	creds(&svc, DIALECT_SIGNALWIRE,
	      "{\"signing_key\":\"k\",\"project_id\":\"proj-1\",\"api_token\":\"swtok\",\"space_url\":\"example.signalwire.com\"}");
	const char *want = "To=%2B14155550101&From=%2B14155550100&Url=https%3A%2F%2Fmaskd.example.com%2Fhooks%2Ftwilio%"
			   "2Fanswer%3Finteraction%3Dint_x&StatusCallback=https%3A%2F%2Fmaskd.example.com%2Fhooks%2Ftwilio%"
			   "2Fstatus%3Finteraction%3Dint_x&Timeout=30";
	/* the space of the credentials, as the SDK's signalwireSpaceUrl */
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	const char *missing = NULL;
	assert_int_equal(outcall_build(DIALECT_SIGNALWIRE, &svc, "", &call, &out, &missing), 0);
	assert_string_equal(out.url, "https://example.signalwire.com/2010-04-01/Accounts/proj-1/Calls.json");
	assert_string_equal(out.authorization, "Basic cHJvai0xOnN3dG9r");
	assert_string_equal(out.body, want);
	free(out.body);
	/* MASKD_SIGNALWIRE_API_URL replaces the space */
	memset(&out, 0, sizeof(out));
	assert_int_equal(outcall_build(DIALECT_SIGNALWIRE, &svc, "http://127.0.0.1:9", &call, &out, &missing), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/2010-04-01/Accounts/proj-1/Calls.json");
	assert_string_equal(out.body, want);
	free(out.body);
}

static void refusals_name_the_credential(void **state)
{
	(void)state;
	struct service svc = {0};
	struct outgoing out;
	const char *missing = NULL;
	creds(&svc, DIALECT_TWILIO, "{\"auth_token\":\"tok\"}");
	memset(&out, 0, sizeof(out));
	assert_int_equal(outcall_build(DIALECT_TWILIO, &svc, "https://api.twilio.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "account_sid");
	assert_null(out.body);
	creds(&svc, DIALECT_SIGNALWIRE, "{\"signing_key\":\"k\",\"project_id\":\"p\",\"api_token\":\"t\"}");
	assert_int_equal(outcall_build(DIALECT_SIGNALWIRE, &svc, "", &call, &out, &missing), MASKD_EINVAL);
	assert_string_equal(missing, "space_url");
	creds(&svc, DIALECT_SIGNALWIRE, "{\"signing_key\":\"k\",\"space_url\":\"s\",\"api_token\":\"t\"}");
	assert_int_equal(outcall_build(DIALECT_SIGNALWIRE, &svc, "", &call, &out, &missing), MASKD_EINVAL);
	assert_string_equal(missing, "project_id");
	assert_null(out.body);
	/* Telnyx: the API key, the TeXML account and application, each named */
	creds(&svc, DIALECT_TELNYX, "{\"public_key\":\"k\",\"account_sid\":\"acc\",\"application_sid\":\"app\"}");
	assert_int_equal(outcall_build(DIALECT_TELNYX, &svc, "https://api.telnyx.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "api_key");
	assert_null(out.body);
	creds(&svc, DIALECT_TELNYX, "{\"public_key\":\"k\",\"api_key\":\"K\",\"application_sid\":\"app\"}");
	assert_int_equal(outcall_build(DIALECT_TELNYX, &svc, "https://api.telnyx.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "account_sid");
	creds(&svc, DIALECT_TELNYX, "{\"public_key\":\"k\",\"api_key\":\"K\",\"account_sid\":\"acc\"}");
	assert_int_equal(outcall_build(DIALECT_TELNYX, &svc, "https://api.telnyx.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "application_sid");
	/* an account id that would change the URL's path is refused, named */
	creds(&svc, DIALECT_TELNYX,
	      "{\"public_key\":\"k\",\"api_key\":\"K\",\"account_sid\":\"../x\",\"application_sid\":\"a\"}");
	assert_int_equal(outcall_build(DIALECT_TELNYX, &svc, "https://api.telnyx.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "account_sid");
	assert_null(out.body);
	/* Plivo and Vobiz: auth_id (letters, digits) and auth_token */
	static const enum dialect plivo_family[] = {DIALECT_PLIVO, DIALECT_VOBIZ};
	for (size_t i = 0; i < sizeof(plivo_family) / sizeof(plivo_family[0]); i++) {
		enum dialect d = plivo_family[i];
		creds(&svc, d, "{\"auth_token\":\"t\"}");
		assert_int_equal(outcall_build(d, &svc, "https://api.example", &call, &out, &missing), MASKD_EINVAL);
		assert_string_equal(missing, "auth_id");
		creds(&svc, d, "{\"auth_token\":\"t\",\"auth_id\":\"MA/1?x\"}");
		assert_int_equal(outcall_build(d, &svc, "https://api.example", &call, &out, &missing), MASKD_EINVAL);
		assert_string_equal(missing, "auth_id");
		creds(&svc, d, "{\"auth_id\":\"MA1\"}");
		assert_int_equal(outcall_build(d, &svc, "https://api.example", &call, &out, &missing), MASKD_EINVAL);
		assert_string_equal(missing, "auth_token");
		assert_null(out.body);
		svc.secrets[d][0] = '\0'; /* no credentials at all: the first field needed */
		assert_int_equal(outcall_build(d, &svc, "https://api.example", &call, &out, &missing), MASKD_EINVAL);
		assert_string_equal(missing, "auth_id");
	}
	/* a carrier maskd cannot place calls with yet */
	creds(&svc, DIALECT_VONAGE, "{\"signature_secret\":\"s\",\"api_key\":\"k\",\"api_secret\":\"x\"}");
	assert_false(outcall_supported(DIALECT_VONAGE));
	assert_false(outcall_supported(DIALECT_SIP));
	assert_int_equal(outcall_build(DIALECT_VONAGE, &svc, "https://api.nexmo.com", &call, &out, &missing),
			 MASKD_ENOTFOUND);
	assert_true(outcall_supported(DIALECT_TWILIO) && outcall_supported(DIALECT_SIGNALWIRE));
	assert_true(outcall_supported(DIALECT_TELNYX) && outcall_supported(DIALECT_PLIVO) &&
		    outcall_supported(DIALECT_VOBIZ));
}

/* telnyx (npm) 7.24.0 texml.accounts.calls.calls("acc-1", {body: {ApplicationSid, To,
 * From, Url, StatusCallback, Timeout}}) against a local server: this URL, headers and body. */
static void telnyx_matches_sdk(void **state)
{
	(void)state;
	struct service svc = {0};
	creds(&svc, DIALECT_TELNYX,
	      "{\"public_key\":\"k\",\"api_key\":\"KEYXX\",\"account_sid\":\"acc-1\",\"application_sid\":\"app1\"}");
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	const char *missing = NULL;
	assert_int_equal(outcall_build(DIALECT_TELNYX, &svc, "http://127.0.0.1:9", &call, &out, &missing), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/v2/texml/Accounts/acc-1/Calls");
	assert_string_equal(out.authorization, "Bearer KEYXX");
	assert_string_equal(out.content_type, "application/json");
	assert_int_equal(out.dialect, DIALECT_TELNYX);
	const char *want = "{\"ApplicationSid\":\"app1\",\"To\":\"+14155550101\",\"From\":\"+14155550100\",\"Url\":\"" ANSWER
			   "\",\"StatusCallback\":\"" STATUS "\",\"Timeout\":30}";
	assert_string_equal(out.body, want);
	assert_int_equal(out.body_len, strlen(want));
	free(out.body);
}

/* plivo (npm) 4.79.0 calls.create("14155550100", "14155550101", ANSWER, {answer_method:
 * "POST", hangup_url, hangup_method: "POST", ring_timeout: 30}) against a local server. */
static void plivo_matches_sdk(void **state)
{
	(void)state;
	struct service svc = {0};
	creds(&svc, DIALECT_PLIVO, "{\"auth_token\":\"tok\",\"auth_id\":\"MAXXXXXXXXXXXXXXXXXX\"}");
	creds(&svc, DIALECT_VOBIZ, "{\"auth_token\":\"tok\",\"auth_id\":\"MAXXXXXXXXXXXXXXXXXX\"}");
	const char *want = "{\"answer_method\":\"POST\",\"hangup_url\":\"" STATUS "\",\"hangup_method\":\"POST\","
			   "\"ring_timeout\":30,\"from\":\"14155550100\",\"to\":\"14155550101\",\"answer_url\":\"" ANSWER "\"}";
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	const char *missing = NULL;
	assert_int_equal(outcall_build(DIALECT_PLIVO, &svc, "http://127.0.0.1:9", &call, &out, &missing), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/");
	assert_string_equal(out.authorization, "Basic TUFYWFhYWFhYWFhYWFhYWFhYWFg6dG9r");
	assert_string_equal(out.content_type, "application/json");
	assert_int_equal(out.dialect, DIALECT_PLIVO);
	assert_string_equal(out.body, want);
	free(out.body);
	/* Vobiz: Plivo's request under Vobiz's /api prefix */
	memset(&out, 0, sizeof(out));
	assert_int_equal(outcall_build(DIALECT_VOBIZ, &svc, "http://127.0.0.1:9", &call, &out, &missing), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/api/v1/Account/MAXXXXXXXXXXXXXXXXXX/Call/");
	assert_string_equal(out.authorization, "Basic TUFYWFhYWFhYWFhYWFhYWFhYWFg6dG9r");
	assert_int_equal(out.dialect, DIALECT_VOBIZ);
	assert_string_equal(out.body, want);
	free(out.body);
}

/* ------------------------------------------------------------------ calls_check */

static void session2(struct session *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "ses_1");
	s->status = SESSION_OPEN;
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->n_participants = 2;
	snprintf(s->participants[0].id, ID_MAX, "par_a");
	snprintf(s->participants[1].id, ID_MAX, "par_b");
}

static void check_rules(void **state)
{
	(void)state;
	struct session s;
	struct service svc = {0};
	struct number num = {.carrier = DIALECT_TWILIO};
	struct calls_refusal why;
	int idx = -1;
	enum dialect d = DIALECT_COUNT;
	creds(&svc, DIALECT_TWILIO, "{\"auth_token\":\"tok\",\"account_sid\":\"AC1\"}");

	session2(&s);
	assert_int_equal(calls_check(&s, &svc, &num, "par_b", &idx, &d, &why), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(d, DIALECT_TWILIO);

	assert_int_equal(calls_check(&s, &svc, &num, "par_other", &idx, &d, &why), -1);
	assert_int_equal(why.status, 400);
	assert_string_equal(why.field, "from_participant");

	s.status = SESSION_CLOSED;
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_int_equal(why.status, 409);
	assert_string_equal(why.field, "session");

	session2(&s);
	s.mode = MODE_MESSAGE;
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_string_equal(why.field, "mode");

	session2(&s);
	s.n_participants = 1;
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_string_equal(why.field, "participants");

	session2(&s);
	num.carrier = DIALECT_VONAGE;
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_int_equal(why.status, 409);
	assert_string_equal(why.field, "carrier");

	num.carrier = DIALECT_SIGNALWIRE; /* supported, but the service has no SignalWire credentials */
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_int_equal(why.status, 400);
	assert_string_equal(why.field, "carriers");

	num.carrier_any = true; /* a number of any carrier: the first configured one that places calls */
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), 0);
	assert_int_equal(d, DIALECT_TWILIO);
	svc.secrets[DIALECT_TWILIO][0] = '\0';
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_string_equal(why.field, "carriers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(twilio_matches_sdk),
		cmocka_unit_test(signalwire_matches_sdk),
		cmocka_unit_test(refusals_name_the_credential),
		cmocka_unit_test(telnyx_matches_sdk),
		cmocka_unit_test(plivo_matches_sdk),
		cmocka_unit_test(check_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
