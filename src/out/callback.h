/* SPDX-License-Identifier: MIT */
/* callback.h - the unknown-caller callback: when a service's policy is
 * "callback", a call or text with no binding is POSTed as JSON to the app's URL,
 * which answers with what to do. Bounded by the service's timeout; the caller's
 * real number is never sent (masked, with its country), so the app decides from
 * the dialled proxy number, the carrier's ids and the text. Runs on the webhook
 * thread: only unknown callers of callback services pay for it. */
#ifndef MASKD_CALLBACK_H
#define MASKD_CALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "../core/model.h"
#include "../core/unknown.h" /* enum callback_decision: what an answer turns into is core's */

#define CALLBACK_ANSWER_MAX (16 * 1024) /* a longer answer is garbage */

struct callback_query {
	const char *service_id;
	enum channel channel;
	enum dialect carrier;
	const char *carrier_sid;
	const char *from_masked;
	const char *from_country; /* "" unknown */
	const char *to;           /* the dialled proxy number */
	const char *body;         /* texts; NULL for calls */
};

struct callback_answer {
	enum callback_decision decision;
	char message[MESSAGE_MAX_LEN + 1];         /* reject: "" = the service's message */
	char number[PHONE_E164_MAX + 1];           /* forward: E.164; session: the other participant */
	char label[LABEL_MAX_LEN + 1];             /* session: the other participant's label */
	char caller_label[LABEL_MAX_LEN + 1];      /* session: the caller's label */
	int64_t ttl;                               /* session: idle ttl, -1 = the service's */
};

/* The JSON body POSTed for q (malloc'd, caller frees). */
char *callback_query_json(const struct callback_query *q);

/* Parses an app's answer. Returns 0, or MASKD_EINVAL with a static reason in
 * *why (not JSON, unknown decision, a forward without a valid number, an
 * emergency number, an oversized field). Numbers are validated with
 * libphonenumber. */
int callback_parse_answer(const char *text, size_t len, struct callback_answer *out, const char **why);

/* The signature headers' value for body sent at ts with secret (the service's
 * callback secret, vault_derive("callback", service id)): lowercase hex of
 * HMAC-SHA256(secret, ts "." body). out holds 65 bytes. */
void callback_sign(const char *secret, long long ts, const char *body, char out[65]);

/* POSTs q to url through out/client.h, signed with secret at now (X-Maskd-Timestamp:
 * now, unix seconds; X-Maskd-Signature: v1=<callback_sign()>), and parses the answer,
 * waiting at most timeout_ms. Returns 0, MASKD_EINVAL (non-2xx, an answer over
 * CALLBACK_ANSWER_MAX, garbage; *why says which) or MASKD_ENOTFOUND (connect error,
 * timeout). Never logs a number. */
int callback_ask(const char *url, const char *secret, int timeout_ms, int64_t now, const struct callback_query *q,
		 struct callback_answer *out, const char **why);

/* Twilio Proxy's OutOfSessionCallbackUrl form of the same question: a
 * form-encoded POST of Proxy's out-of-session parameters (To, From masked as in
 * the JSON form, FromCountry, CallSid or MessageSid, Body for texts), signed with
 * X-Twilio-Signature by auth_token as Twilio signs (HMAC-SHA1 of url and the
 * sorted parameters). malloc'd body, caller frees; the signature into sig. */
char *callback_proxy_form(const char *url, const char *auth_token, const struct callback_query *q, char sig[29]);

struct buf;
/* Appends key=value to b, form-encoded (unreserved characters kept, the rest
 * %XX), after a '&' when b is not empty. Also the intercept's Proxy form. */
void callback_form_put(struct buf *b, const char *key, const char *value);

/* Parses Proxy's auto-create answer (JSON with participantIdentifier, the other
 * participant, and optional ttl) into a "session" decision. Anything else (TwiML,
 * no participantIdentifier) is MASKD_EINVAL with *why. */
int callback_parse_proxy_answer(const char *text, size_t len, struct callback_answer *out, const char **why);

/* callback_ask() in Proxy's form (callback_proxy_form, callback_parse_proxy_answer). */
int callback_ask_proxy(const char *url, const char *auth_token, int timeout_ms, const struct callback_query *q,
		       struct callback_answer *out, const char **why);

#endif
