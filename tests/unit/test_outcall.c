/* SPDX-License-Identifier: MIT */
/* test_outcall.c - click-to-call: the carrier request builders (hooks/outcall.c)
 * compared with what twilio (npm) 6.2.0 calls.create() and
 * @signalwire/compatibility-api 3.2.0 calls.create() put on the wire for the same
 * call (captured by a local server, the black-box suite's calls.test.mjs does the
 * same live), and likewise telnyx (npm) 7.24.0 texml.accounts.calls.calls() and plivo
 * (npm) 4.79.0 calls.create() (Vobiz: Plivo's request), their refusals without
 * credentials, @vonage/voice 1.21.0 createOutboundCall() (its RS256 JWT verified with
 * the key's public half), and the request check of
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
#include "util/crypto.h"
#include "util/err.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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
	/* Vonage: the application's id and private key; SMS credentials alone do not place calls */
	creds(&svc, DIALECT_VONAGE, "{\"signature_secret\":\"s\",\"api_key\":\"k\",\"api_secret\":\"x\"}");
	assert_int_equal(outcall_build(DIALECT_VONAGE, &svc, "https://api.nexmo.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "application_id");
	creds(&svc, DIALECT_VONAGE, "{\"signature_secret\":\"s\",\"application_id\":\"app-1\"}");
	assert_int_equal(outcall_build(DIALECT_VONAGE, &svc, "https://api.nexmo.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "private_key");
	/* a private_key that is no PEM RSA key is named too, and nothing is built */
	creds(&svc, DIALECT_VONAGE, "{\"signature_secret\":\"s\",\"application_id\":\"app-1\",\"private_key\":\"-----BEGIN "
				    "PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"}");
	assert_int_equal(outcall_build(DIALECT_VONAGE, &svc, "https://api.nexmo.com", &call, &out, &missing),
			 MASKD_EINVAL);
	assert_string_equal(missing, "private_key");
	assert_null(out.body);
	/* a carrier maskd cannot place calls with */
	assert_false(outcall_supported(DIALECT_SIP));
	assert_int_equal(outcall_build(DIALECT_SIP, &svc, "https://sip.example", &call, &out, &missing),
			 MASKD_ENOTFOUND);
	assert_true(outcall_supported(DIALECT_TWILIO) && outcall_supported(DIALECT_SIGNALWIRE));
	assert_true(outcall_supported(DIALECT_TELNYX) && outcall_supported(DIALECT_PLIVO) &&
		    outcall_supported(DIALECT_VOBIZ) && outcall_supported(DIALECT_VONAGE));
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

/* ------------------------------------------------------------------ Vonage */

/* A fresh RSA key of bits bits: the key, and its PKCS#8 PEM JSON-escaped into the
 * service's Vonage credentials (application_id "app-1"). */
static EVP_PKEY *vonage_creds(struct service *svc, int bits)
{
	EVP_PKEY *key = EVP_RSA_gen((unsigned)bits);
	assert_non_null(key);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	char *pem = NULL;
	long n = BIO_get_mem_data(bio, &pem);
	json_t *o = json_pack("{s:s,s:s,s:s%}", "signature_secret", "s", "application_id", "app-1", "private_key", pem,
			      (size_t)n);
	char *text = json_dumps(o, JSON_COMPACT);
	assert_true(strlen(text) <= CREDS_MAX_LEN);
	creds(svc, DIALECT_VONAGE, text);
	free(text);
	json_decref(o);
	BIO_free(bio);
	return key;
}

/* base64url (no padding) text of [s, s+n) decoded into out; its length. */
static size_t unb64url(const char *s, size_t n, uint8_t *out, size_t cap)
{
	char t[2048];
	assert_true(n + 4 < sizeof(t));
	memcpy(t, s, n);
	for (size_t i = 0; i < n; i++)
		t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	while (n % 4 != 0)
		t[n++] = '=';
	long len = base64_decode(t, n, out, cap);
	assert_true(len >= 0);
	return (size_t)len;
}

/* @vonage/voice 1.21.0 createOutboundCall({to: [{type: "phone", number}], from: {type:
 * "phone", number}, answerUrl: [ANSWER], eventUrl: [STATUS], ringingTimer: 30}) against
 * a local server: this URL, content type and body; its Bearer JWT (@vonage/jwt 1.14
 * tokenGenerate) is RS256 over {"alg":"RS256","typ":"JWT"} and the claims jti, iat,
 * exp (iat + 900), application_id, verified here with the public key. A 4096-bit key
 * still fits every cap. */
static void vonage_matches_sdk(void **state)
{
	(void)state;
	for (int bits = 2048; bits <= 4096; bits += 2048) {
		struct service svc = {0};
		EVP_PKEY *key = vonage_creds(&svc, bits);
		struct outcall c = call;
		c.now = 1800000000;
		c.jti = "0b7e5d2a-8c1f-4a3e-9d6b-2f4c8e1a7b90";
		struct outgoing out;
		memset(&out, 0, sizeof(out));
		const char *missing = NULL;
		assert_int_equal(outcall_build(DIALECT_VONAGE, &svc, "http://127.0.0.1:9", &c, &out, &missing), 0);
		assert_string_equal(out.url, "http://127.0.0.1:9/v1/calls");
		assert_string_equal(out.content_type, "application/json");
		assert_int_equal(out.dialect, DIALECT_VONAGE);
		const char *want = "{\"to\":[{\"type\":\"phone\",\"number\":\"14155550101\"}],\"from\":{\"type\":\"phone\","
				   "\"number\":\"14155550100\"},\"answer_url\":[\"" ANSWER "\"],\"event_url\":[\"" STATUS
				   "\"],\"ringing_timer\":30}";
		assert_string_equal(out.body, want);
		free(out.body);

		assert_memory_equal(out.authorization, "Bearer ", 7);
		const char *tok = out.authorization + 7;
		const char *dot1 = strchr(tok, '.');
		assert_non_null(dot1);
		const char *dot2 = strchr(dot1 + 1, '.');
		assert_non_null(dot2);
		uint8_t part[1024];
		size_t n = unb64url(tok, (size_t)(dot1 - tok), part, sizeof(part) - 1);
		part[n] = '\0';
		assert_string_equal((char *)part, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
		n = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), part, sizeof(part) - 1);
		part[n] = '\0';
		assert_string_equal((char *)part, "{\"jti\":\"0b7e5d2a-8c1f-4a3e-9d6b-2f4c8e1a7b90\",\"iat\":1800000000,"
						  "\"exp\":1800000900,\"application_id\":\"app-1\"}");
		uint8_t sig[1024];
		size_t sig_len = unb64url(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
		assert_int_equal(sig_len, (size_t)bits / 8);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)tok, (size_t)(dot2 - tok)), 1);
		/* one flipped bit of the claims: the signature no longer verifies */
		char forged[1200];
		snprintf(forged, sizeof(forged), "%.*s", (int)(dot2 - tok), tok);
		forged[(dot1 - tok) + 3] ^= 1;
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_not_equal(EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)forged, strlen(forged)), 1);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(key);
	}
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
	num.carrier = DIALECT_SIP;
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_int_equal(why.status, 409);
	assert_string_equal(why.field, "carrier");

	num.carrier = DIALECT_VONAGE; /* supported, but the service has no Vonage credentials */
	assert_int_equal(calls_check(&s, &svc, &num, "par_a", &idx, &d, &why), -1);
	assert_int_equal(why.status, 400);
	assert_string_equal(why.field, "carriers");

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
		cmocka_unit_test(vonage_matches_sdk),
		cmocka_unit_test(check_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
