/* SPDX-License-Identifier: MIT */
/* test_events.c - out/events.c and the documents of flow/events.c: the Standard
 * Webhooks signature (the specification's own vector), the whsec_ secret, the
 * event document's shape, which events_url a service may have, and that a
 * session's event data carries masked numbers only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "flow/events.h"
#include "out/events.h"
#include "util/crypto.h"
#include "util/err.h"

static int setup(void **state)
{
	(void)state;
	crypto_init();
	return 0;
}

static void sign_matches_the_specification(void **state)
{
	(void)state;
	/* the example of the Standard Webhooks specification and its libraries' tests */
	const char *body = "{\"test\": 2432232314}";
	char sig[EVENTS_SIGNATURE_MAX];
	assert_int_equal(events_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
				     1614265330, body, strlen(body), sig),
			 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* the prefix is optional, as in the libraries */
	assert_int_equal(events_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
				     body, strlen(body), sig),
			 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* any change of id, time or body changes it */
	assert_int_equal(events_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
				     1614265331, body, strlen(body), sig),
			 0);
	assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void sign_refuses_a_bad_secret(void **state)
{
	(void)state;
	char sig[EVENTS_SIGNATURE_MAX];
	assert_int_equal(events_sign("whsec_***not base64***", "evt_1", 1, "{}", 2, sig), MASKD_EINVAL);
	assert_int_equal(events_sign("whsec_", "evt_1", 1, "{}", 2, sig), MASKD_EINVAL);
}

static void secret_is_whsec_base64(void **state)
{
	(void)state;
	char secret[EVENTS_SECRET_MAX];
	events_secret("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", secret);
	assert_string_equal(secret, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
}

static void document_shape(void **state)
{
	(void)state;
	char *doc = event_document("evt_abc", EVENT_SESSION_CLOSED, "svc_x", 1764720000,
				   json_pack("{s:s,s:s}", "session_id", "ses_1", "reason", "ttl"));
	json_error_t err;
	json_t *j = json_loads(doc, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "evt_abc");
	assert_string_equal(json_string_value(json_object_get(j, "type")), "session.closed");
	assert_string_equal(json_string_value(json_object_get(j, "service_id")), "svc_x");
	assert_string_equal(json_string_value(json_object_get(j, "timestamp")), "2025-12-03T00:00:00Z");
	json_t *d = json_object_get(j, "data");
	assert_string_equal(json_string_value(json_object_get(d, "session_id")), "ses_1");
	assert_string_equal(json_string_value(json_object_get(d, "reason")), "ttl");
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);
	free(doc);
	assert_string_equal(event_type_name(EVENT_SESSION_CREATED), "session.created");
	assert_string_equal(event_type_name(EVENT_SESSION_UPDATED), "session.updated");
	assert_string_equal(event_type_name(EVENT_SESSION_REOPENED), "session.reopened");
	assert_string_equal(event_type_name(EVENT_PARTICIPANT_ADDED), "participant.added");
	assert_string_equal(event_type_name(EVENT_PARTICIPANT_NUMBER_SWAPPED), "participant.number_swapped");
}

static void url_check(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(events_url_check("https://app.example.com/maskd/events", &why), 0);
	assert_int_equal(events_url_check("HTTPS://app.example.com", &why), MASKD_EINVAL); /* outbox_destination's rule */
	assert_int_equal(events_url_check("http://127.0.0.1:8080/events", &why), 0);
	assert_int_equal(events_url_check("http://127.1.2.3/events", &why), 0);
	assert_int_equal(events_url_check("http://localhost:9000/e", &why), 0);
	assert_int_equal(events_url_check("http://[::1]:9000/e", &why), 0);
	/* plain http elsewhere, and hosts that only look like loopback */
	assert_int_equal(events_url_check("http://app.example.com/events", &why), MASKD_EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, "https"));
	assert_int_equal(events_url_check("http://127.0.0.1.example.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("http://localhost.example.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("http://127.0.0.1@example.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("http://[::1].example.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("ftp://example.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("https://exa mple.com/", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("https://example.com/\r\nX: y", &why), MASKD_EINVAL);
	assert_int_equal(events_url_check("", &why), MASKD_EINVAL);
	char long_url[600];
	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "https://x.example/", 18);
	long_url[sizeof(long_url) - 1] = '\0';
	assert_int_equal(events_url_check(long_url, &why), MASKD_EINVAL);
}

static void session_data_is_masked(void **state)
{
	(void)state;
	struct session s;
	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "ses_1");
	snprintf(s.unique_name, sizeof(s.unique_name), "order-7");
	s.mode = MODE_VOICE_AND_MESSAGE;
	s.ttl = 3600;
	s.n_participants = 2;
	const char *real[2] = {"+14155550101", "+14155550102"};
	for (int i = 0; i < 2; i++) {
		struct participant *p = &s.participants[i];
		snprintf(p->id, sizeof(p->id), "par_%d", i);
		snprintf(p->number, sizeof(p->number), "%s", real[i]);
		snprintf(p->masked, sizeof(p->masked), "+1******010%d", i + 1);
		snprintf(p->proxy_e164, sizeof(p->proxy_e164), "+1415555090%d", i);
		snprintf(p->label, sizeof(p->label), "%s", i ? "Driver" : "Rider");
	}
	json_t *d = events_session_data(&s);
	char *text = json_dumps(d, JSON_COMPACT);
	assert_null(strstr(text, real[0]));
	assert_null(strstr(text, real[1]));
	assert_non_null(strstr(text, "\"number\":\"+1******0101\""));
	assert_non_null(strstr(text, "\"proxy_number\":\"+14155550901\""));
	assert_non_null(strstr(text, "\"unique_name\":\"order-7\""));
	free(text);
	json_decref(d);
	d = events_session_change("ses_1", "par_1", "+14155550903", NULL);
	assert_string_equal(json_string_value(json_object_get(d, "participant_id")), "par_1");
	assert_null(json_object_get(d, "reason"));
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_matches_the_specification),
		cmocka_unit_test(sign_refuses_a_bad_secret),
		cmocka_unit_test(secret_is_whsec_base64),
		cmocka_unit_test(document_shape),
		cmocka_unit_test(url_check),
		cmocka_unit_test(session_data_is_masked),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
