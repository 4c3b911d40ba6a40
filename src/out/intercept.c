/* SPDX-License-Identifier: MIT */
/* intercept.c - the intercept request and its answer; see intercept.h. The
 * document and the signature are events.c's form; the HTTP exchange is
 * client.c's. */
#include "intercept.h"
#include "callback.h"
#include "client.h"
#include "../hooks/twilio_sig.h"
#include "../util/buf.h"
#include "../util/form.h"
#include "events.h"
#include "../util/err.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

char *intercept_query_json(const struct intercept_query *q, int64_t now)
{
	json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "interaction_id", q->interaction_id, "channel",
			      channel_name(q->channel), "carrier", dialect_name(q->carrier), "carrier_sid",
			      q->carrier_sid != NULL ? q->carrier_sid : "");
	json_object_set_new(d, "session_id", str_or_null(q->session_id));
	json_object_set_new(d, "from_participant_id", str_or_null(q->from_participant));
	json_object_set_new(d, "to_participant_id", str_or_null(q->to_participant));
	json_object_set_new(d, "from", str_or_null(q->from_masked));
	json_object_set_new(d, "to", str_or_null(q->to_masked));
	json_object_set_new(d, "proxy_number", str_or_null(q->proxy_number));
	if (q->channel == CHANNEL_MESSAGE) {
		json_object_set_new(d, "body", json_string(q->body != NULL ? q->body : ""));
		json_object_set_new(d, "media_count", json_integer(q->n_media));
	}
	char ts[RFC3339_MAX];
	rfc3339_format(now, ts, sizeof(ts));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", q->interaction_id, "type", INTERCEPT_EVENT_TYPE,
				"timestamp", ts, "service_id", q->service_id, "data", d);
	if (doc == NULL)
		fatal("intercept: cannot build a document");
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		fatal("intercept: cannot encode a document");
	return text;
}

/* key of o as a string of at most INTERCEPT_TEXT_MAX bytes into out: 1 when
 * present, 0 when absent or null, -1 when not a string or too long. */
static int text_field(json_t *o, const char *key, char out[INTERCEPT_TEXT_MAX + 1])
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > INTERCEPT_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 1;
}

int intercept_parse_answer(const char *text, size_t len, enum channel channel, struct intercept_answer *out,
			   const char **why)
{
	memset(out, 0, sizeof(*out));
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = MASKD_EINVAL;
	const char *action = json_string_value(json_object_get(o, "action"));
	*why = "the answer is not a JSON object with an action";
	if (!json_is_object(o) || action == NULL)
		goto done;
	if (strcmp(action, "deny") == 0) {
		out->action = INTERCEPT_ACTION_DENY;
		int m = text_field(o, "message", out->message);
		*why = "deny: message must be a string of at most 1600 bytes";
		if (m < 0)
			goto done;
		out->has_message = m > 0;
	} else if (strcmp(action, "allow") == 0) {
		out->action = INTERCEPT_ACTION_ALLOW;
		if (channel == CHANNEL_MESSAGE) {
			int b = text_field(o, "body", out->body);
			*why = "allow: body must be a non-empty string of at most 1600 bytes";
			if (b < 0 || (b > 0 && out->body[0] == '\0'))
				goto done;
			out->has_body = b > 0;
		}
	} else {
		*why = "action must be allow or deny";
		goto done;
	}
	*why = NULL;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int intercept_ask(const char *url, const char *secret, int timeout_ms, int64_t now, const struct intercept_query *q,
		  struct intercept_answer *out, const char **why)
{
	char *body = intercept_query_json(q, now);
	size_t body_len = strlen(body);
	char sig[EVENTS_SIGNATURE_MAX], h_id[96], h_ts[48], h_sig[EVENTS_SIGNATURE_MAX + 32];
	if (events_sign(secret, q->interaction_id, (long long)now, body, body_len, sig) < 0) {
		free(body);
		*why = "the service's events secret does not decode";
		return MASKD_EINVAL;
	}
	snprintf(h_id, sizeof(h_id), "webhook-id: %s", q->interaction_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)now);
	snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
	struct client_request rq = {
		.url = url,
		.headers = {"Content-Type: application/json", "Accept: application/json", h_id, h_ts, h_sig},
		.body = body,
		.body_len = body_len,
		.timeout_ms = timeout_ms,
		.connect_timeout_ms = timeout_ms,
		.body_cap = INTERCEPT_ANSWER_MAX,
		.cap_is_error = 1,
	};
	struct client_response res;
	int rc = client_post(&rq, &res);
	free(body);
	if (rc == MASKD_ETOOBIG) {
		rc = MASKD_EINVAL;
		*why = "the intercept answer is too long";
	} else if (rc < 0) {
		*why = res.timed_out ? "the intercept_url timed out" : "the intercept_url could not be reached";
	} else if (res.status < 200 || res.status > 299) {
		rc = MASKD_EINVAL;
		*why = "the intercept_url answered with a non-2xx status";
	} else {
		rc = intercept_parse_answer(res.body, res.len, q->channel, out, why);
	}
	free(res.body);
	return rc;
}

/* ------------------------------------------------------------ Twilio Proxy's form */

char *intercept_proxy_form(const char *url, const char *auth_token, int64_t now, const struct intercept_proxy_query *q,
			   char sig[29])
{
	char created[RFC3339_MAX];
	rfc3339_format(now, created, sizeof(created));
	json_t *data = json_object();
	if (q->channel == CHANNEL_MESSAGE)
		json_object_set_new(data, "body", json_string(q->body != NULL ? q->body : ""));
	char *data_text = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (data_text == NULL)
		fatal("intercept: cannot encode interactionData");
	const int voice = q->channel == CHANNEL_VOICE;
	/* in the order Twilio's signature sorts them */
	struct form_field f[] = {
		{"inboundParticipantSid", q->participant_sid},
		{"inboundResourceSid", q->carrier_sid},
		{"inboundResourceStatus", voice ? "ringing" : "received"},
		{"inboundResourceType", voice ? "call" : "message"},
		{"interactionData", data_text},
		{"interactionDateCreated", created},
		{"interactionServiceSid", q->service_sid},
		{"interactionSessionSid", q->session_sid},
		{"interactionSid", q->interaction_sid},
		{"interactionType", voice ? "Voice" : "Message"},
	};
	const size_t n = sizeof(f) / sizeof(f[0]);
	struct form params = {.fields = f, .n = n};
	twilio_sig_compute(TWILIO_SIG_TWILIO, auth_token, url, &params, sig);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		callback_form_put(&b, f[i].key, f[i].value);
	free(data_text);
	return buf_steal(&b, NULL);
}

int intercept_ask_proxy(const char *url, const char *auth_token, int timeout_ms, int64_t now,
			const struct intercept_proxy_query *q, struct intercept_answer *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	char sig[29], h_sig[64];
	char *body = intercept_proxy_form(url, auth_token, now, q, sig);
	snprintf(h_sig, sizeof(h_sig), "X-Twilio-Signature: %s", sig);
	struct client_request rq = {
		.url = url,
		.headers = {"Content-Type: application/x-www-form-urlencoded", h_sig},
		.body = body,
		.body_len = strlen(body),
		.timeout_ms = timeout_ms,
		.connect_timeout_ms = timeout_ms,
		.body_cap = INTERCEPT_ANSWER_MAX,
		.cap_is_error = 0, /* the body is not read */
	};
	struct client_response res;
	int rc = client_post(&rq, &res);
	free(body);
	free(res.body);
	*why = NULL;
	if (rc < 0) {
		*why = res.timed_out ? "the InterceptCallbackUrl timed out" : "the InterceptCallbackUrl could not be reached";
		return rc;
	}
	if (res.status == 403) {
		out->action = INTERCEPT_ACTION_DENY;
		return 0;
	}
	if (res.status >= 200 && res.status <= 299) {
		out->action = INTERCEPT_ACTION_ALLOW;
		return 0;
	}
	*why = "the InterceptCallbackUrl answered with neither 2xx nor 403";
	return MASKD_EINVAL;
}
