/* SPDX-License-Identifier: MIT */
/* callback.c - the unknown-caller callback; see callback.h. The JSON both ways and
 * the signature live here; the HTTP exchange is out/client.c's. */
#include "callback.h"
#include "client.h"
#include "../hooks/twilio_sig.h"
#include "../util/buf.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/phone.h"
#include "../util/xmalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *callback_query_json(const struct callback_query *q)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "event", "unknown_caller", "service_id",
			      q->service_id, "channel", channel_name(q->channel), "carrier", dialect_name(q->carrier),
			      "carrier_sid", q->carrier_sid ? q->carrier_sid : "", "from", q->from_masked,
			      "from_country", q->from_country ? q->from_country : "", "to", q->to);
	json_object_set_new(o, "body", q->body != NULL ? json_string(q->body) : json_null());
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static int copy_field(json_t *o, const char *key, char *out, size_t cap, int required)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	const char *s = json_string_value(v);
	if (s == NULL || strlen(s) >= cap)
		return -1;
	snprintf(out, cap, "%s", s);
	return 0;
}

/* Reads key of o as a phone number (punctuation allowed), normalised to E.164 in
 * out; 0 when absent, not a string, invalid or an emergency number. */
static int number_field(json_t *o, const char *key, char out[PHONE_E164_MAX + 1])
{
	char raw[64];
	struct phone_info pi;
	if (copy_field(o, key, raw, sizeof(raw), 1) < 0 || phone_is_emergency(raw) || phone_parse(raw, &pi) < 0)
		return 0;
	snprintf(out, PHONE_E164_MAX + 1, "%s", pi.e164);
	return 1;
}

int callback_parse_answer(const char *text, size_t len, struct callback_answer *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	out->ttl = -1;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = MASKD_EINVAL;
	const char *d = json_string_value(json_object_get(o, "decision"));
	*why = "the answer is not a JSON object with a decision";
	if (!json_is_object(o) || d == NULL)
		goto done;
	if (strcmp(d, "reject") == 0) {
		out->decision = CALLBACK_REJECT;
		*why = "reject: message must be a string of at most 512 characters";
		if (copy_field(o, "message", out->message, sizeof(out->message), 0) < 0)
			goto done;
	} else if (strcmp(d, "forward") == 0) {
		out->decision = CALLBACK_FORWARD;
		*why = "forward: number must be a valid, non-emergency E.164 number";
		if (!number_field(o, "number", out->number))
			goto done;
	} else if (strcmp(d, "session") == 0) {
		out->decision = CALLBACK_SESSION;
		json_t *p = json_object_get(o, "participant");
		*why = "session: participant.number must be a valid, non-emergency E.164 number";
		if (!json_is_object(p) || !number_field(p, "number", out->number))
			goto done;
		*why = "session: labels must be strings of at most 64 characters";
		if (copy_field(p, "label", out->label, sizeof(out->label), 0) < 0 ||
		    copy_field(o, "caller_label", out->caller_label, sizeof(out->caller_label), 0) < 0)
			goto done;
		json_t *ttl = json_object_get(o, "ttl");
		*why = "session: ttl must be an integer from 0 to 31622400";
		if (ttl != NULL) {
			if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 || json_integer_value(ttl) > 31622400)
				goto done;
			out->ttl = json_integer_value(ttl);
		}
	} else {
		*why = "decision must be reject, forward or session";
		goto done;
	}
	*why = NULL;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

void callback_sign(const char *secret, long long ts, const char *body, char out[65])
{
	size_t n = strlen(body);
	char head[32];
	int h = snprintf(head, sizeof(head), "%lld.", ts);
	char *msg = xmalloc((size_t)h + n);
	memcpy(msg, head, (size_t)h);
	memcpy(msg + h, body, n);
	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), msg, (size_t)h + n, mac);
	free(msg);
	hex_encode(mac, sizeof(mac), out);
}

/* Posts rq and reads the app's answer with parse: 0, or MASKD_EINVAL / another
 * negative maskd_err with *why saying what went wrong (never the body). */
static int post_and_parse(const struct client_request *rq,
			  int (*parse)(const char *, size_t, struct callback_answer *, const char **),
			  struct callback_answer *out, const char **why)
{
	struct client_response res;
	int rc = client_post(rq, &res);
	if (rc == MASKD_ETOOBIG) {
		rc = MASKD_EINVAL;
		*why = "the callback's answer is too long";
	} else if (rc < 0) {
		*why = res.timed_out ? "the callback timed out" : "the callback could not be reached";
	} else if (res.status < 200 || res.status > 299) {
		rc = MASKD_EINVAL;
		*why = "the callback answered with a non-2xx status";
	} else {
		rc = parse(res.body, res.len, out, why);
	}
	free(res.body);
	return rc;
}

int callback_ask(const char *url, const char *secret, int timeout_ms, int64_t now, const struct callback_query *q,
		 struct callback_answer *out, const char **why)
{
	char *body = callback_query_json(q);
	*why = "the callback could not be reached in time";
	if (body == NULL)
		return MASKD_ENOTFOUND;
	long long ts = (long long)now;
	char sig[65], h_ts[48], h_sig[96];
	callback_sign(secret, ts, body, sig);
	snprintf(h_ts, sizeof(h_ts), "X-Maskd-Timestamp: %lld", ts);
	snprintf(h_sig, sizeof(h_sig), "X-Maskd-Signature: v1=%s", sig);
	struct client_request rq = {
		.url = url,
		.headers = {"Content-Type: application/json", "Accept: application/json", h_ts, h_sig},
		.body = body,
		.body_len = strlen(body),
		.timeout_ms = timeout_ms,
		.connect_timeout_ms = timeout_ms,
		.body_cap = CALLBACK_ANSWER_MAX,
		.cap_is_error = 1,
	};
	int rc = post_and_parse(&rq, callback_parse_answer, out, why);
	free(body);
	return rc;
}

/* ------------------------------------------------------------ Twilio Proxy's form */

void callback_form_put(struct buf *b, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	if (b->len > 0)
		buf_puts(b, "&");
	const char *parts[2] = {key, value};
	for (int k = 0; k < 2; k++) {
		if (k == 1)
			buf_puts(b, "=");
		for (const unsigned char *c = (const unsigned char *)parts[k]; *c; c++) {
			if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			    *c == '-' || *c == '_' || *c == '.' || *c == '~') {
				char one[2] = {(char)*c, '\0'};
				buf_puts(b, one);
			} else {
				char esc[4] = {'%', hex[*c >> 4], hex[*c & 15], '\0'};
				buf_puts(b, esc);
			}
		}
	}
}

char *callback_proxy_form(const char *url, const char *auth_token, const struct callback_query *q, char sig[29])
{
	struct form_field f[6];
	size_t n = 0;
	f[n++] = (struct form_field){q->channel == CHANNEL_MESSAGE ? "MessageSid" : "CallSid", q->carrier_sid};
	f[n++] = (struct form_field){"From", q->from_masked};
	f[n++] = (struct form_field){"FromCountry", q->from_country};
	f[n++] = (struct form_field){"To", q->to};
	if (q->body != NULL)
		f[n++] = (struct form_field){"Body", q->body};
	struct form params = {.fields = f, .n = n};
	twilio_sig_compute(TWILIO_SIG_TWILIO, auth_token, url, &params, sig);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		callback_form_put(&b, f[i].key, f[i].value);
	return buf_steal(&b, NULL);
}

int callback_parse_proxy_answer(const char *text, size_t len, struct callback_answer *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	out->ttl = -1;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = MASKD_EINVAL;
	*why = "the answer is not Proxy's auto-create JSON (TwiML answers are not supported)";
	if (!json_is_object(o))
		goto done;
	out->decision = CALLBACK_SESSION;
	*why = "auto-create: participantIdentifier must be a valid, non-emergency E.164 number";
	if (!number_field(o, "participantIdentifier", out->number))
		goto done;
	json_t *ttl = json_object_get(o, "ttl");
	*why = "auto-create: ttl must be an integer from 0 to 31622400";
	if (ttl != NULL) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 || json_integer_value(ttl) > 31622400)
			goto done;
		out->ttl = json_integer_value(ttl);
	}
	*why = NULL;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int callback_ask_proxy(const char *url, const char *auth_token, int timeout_ms, const struct callback_query *q,
		       struct callback_answer *out, const char **why)
{
	char sig[29], h_sig[64];
	char *body = callback_proxy_form(url, auth_token, q, sig);
	snprintf(h_sig, sizeof(h_sig), "X-Twilio-Signature: %s", sig);
	struct client_request rq = {
		.url = url,
		.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json", h_sig},
		.body = body,
		.body_len = strlen(body),
		.timeout_ms = timeout_ms,
		.connect_timeout_ms = timeout_ms,
		.body_cap = CALLBACK_ANSWER_MAX,
		.cap_is_error = 1,
	};
	int rc = post_and_parse(&rq, callback_parse_proxy_answer, out, why);
	free(body);
	return rc;
}
