/* SPDX-License-Identifier: MIT */
/* fuzz_sig.c - libFuzzer target for every webhook signature scheme: Twilio and
 * SignalWire (URL + form params), Plivo/Vobiz V2 and V3, Telnyx Ed25519 headers,
 * Vonage JWT and the SMS API "sig". Properties: never crashes; input the fuzzer
 * made up never verifies against the fixed secrets below (an abort() here is a
 * forgery or a check that accepts anything); a signature computed by maskd over
 * the parsed input itself verifies (the check agrees with the signer).
 * Input layout: line 1 = signature header, line 2 = URL (or JWT / timestamp),
 * line 3 = nonce, rest = form body (or the raw body for Telnyx / Vonage JWT). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/plivo_sig.h"
#include "hooks/telnyx_sig.h"
#include "hooks/twilio_sig.h"
#include "hooks/vonage_sig.h"
#include "util/crypto.h"
#include "util/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Telnyx's documented test key pair is not needed: any fixed public key works,
 * since the fuzzer never holds the private half. */
#define TELNYX_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define NOW 1767225600 /* 2026-01-01 */

static const char *next_line(struct arena *a, const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl ? nl : end;
	char *s = arena_strndup(a, *p, (size_t)(stop - *p));
	*p = nl ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		crypto_init();
		inited = 1;
	}
	struct arena a = ARENA_INIT;
	const char *p = (const char *)data, *end = p + size;
	const char *sig = next_line(&a, &p, end);
	const char *url = next_line(&a, &p, end);
	const char *nonce = next_line(&a, &p, end);
	const char *body = p;
	size_t body_len = (size_t)(end - p);
	struct form f = {0}, empty = {0};
	int parsed = form_parse(&a, body, body_len, &f) == 0;
	const struct form *params = parsed ? &f : &empty;

	/* Twilio / SignalWire */
	for (int fl = TWILIO_SIG_TWILIO; fl <= TWILIO_SIG_SIGNALWIRE; fl++) {
		if (twilio_sig_check(fl, "token", url, params, body, body_len, sig))
			abort();
		char good[29];
		twilio_sig_compute(fl, "token", url, params, good);
		if (strstr(url, "bodySHA256") == NULL &&
		    !twilio_sig_check(fl, "token", url, params, body, body_len, good))
			abort();
	}

	/* Plivo / Vobiz V2 and V3 */
	if (plivo_sig_v2_check("token", url, nonce, sig))
		abort();
	char v2[PLIVO_SIG_LEN + 1];
	if (plivo_sig_v2_compute("token", url, nonce, v2) && nonce[0] != '\0' &&
	    !plivo_sig_v2_check("token", url, nonce, v2))
		abort();
	for (int fl = PLIVO_SIG_PLIVO; fl <= PLIVO_SIG_VOBIZ; fl++) {
		if (plivo_sig_v3_check(fl, "token", "POST", url, params, nonce, sig) ||
		    plivo_sig_v3_check(fl, "token", "GET", url, NULL, nonce, sig))
			abort();
	}
	size_t mlen;
	char *msg = plivo_sig_v3_message("POST", url, params, nonce, &mlen);
	free(msg);

	/* Telnyx: header = signature, line 2 = timestamp */
	const char *detail = NULL;
	if (telnyx_sig_check(TELNYX_KEY, body, body_len, sig, url, NOW, &detail) == 0)
		abort();
	uint8_t key[TELNYX_SIG_KEY_LEN];
	(void)telnyx_sig_key_parse(sig, key);

	/* Vonage: line 1 as the Authorization header, and the SMS sig over the form */
	struct vonage_jwt_claims claims;
	if (vonage_sig_check_jwt("secret", sig, "POST", body, body_len, NOW, 300, 60, &claims, &detail) == 0 ||
	    vonage_sig_check_jwt("secret", sig, "GET", NULL, 0, NOW, 300, 60, NULL, &detail) == 0)
		abort();
	for (int alg = VONAGE_SMS_MD5HASH; alg <= VONAGE_SMS_SHA512HMAC; alg++) {
		if (parsed && vonage_sms_sig_check(alg, "secret", &f, NOW, 300, &detail) == 0)
			abort();
		char out[VONAGE_SMS_SIG_MAX + 1];
		(void)vonage_sms_sig_compute(alg, "secret", params, out);
	}
	enum vonage_sms_sig_alg alg;
	(void)vonage_sms_sig_alg_parse(nonce, &alg);
	arena_free(&a);
	return 0;
}
