/* SPDX-License-Identifier: MIT */
/* intercept.h - the intercept request: before a bridge or a forwarded text, a
 * service with an intercept_url is POSTed the interaction as JSON (ids, channel,
 * masked numbers, the text's body), signed as events are (Standard Webhooks,
 * the service's events secret), and answers allow, deny (with a message) or, for
 * a text, allow with a replacement body. Bounded by the service's timeout; runs
 * on the webhook thread, so only services with an intercept_url pay for it.
 * What an answer (or its absence) turns into is core/intercept.c's rule. Never
 * sends or logs a real number. */
#ifndef MASKD_OUT_INTERCEPT_H
#define MASKD_OUT_INTERCEPT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/intercept.h"
#include "../core/model.h"

#define INTERCEPT_ANSWER_MAX (16 * 1024) /* a longer answer is garbage */
#define INTERCEPT_EVENT_TYPE "interaction.intercept"

struct intercept_query {
	const char *interaction_id;  /* the id the interaction will be recorded with; the webhook-id */
	const char *service_id;
	const char *session_id;
	enum channel channel;
	enum dialect carrier;
	const char *carrier_sid;
	const char *from_participant; /* ids */
	const char *to_participant;
	const char *from_masked;      /* the caller, masked */
	const char *to_masked;        /* the other participant, masked */
	const char *proxy_number;     /* the proxy number the caller reached */
	const char *body;             /* texts: the body ("" none); NULL for calls */
	int n_media;                  /* texts: media attached */
};

/* The document POSTed for q at now (unix seconds): {"id", "type":
 * "interaction.intercept", "timestamp", "service_id", "data": {...}}, compact
 * with sorted keys. malloc'd, the caller frees it. */
char *intercept_query_json(const struct intercept_query *q, int64_t now);

/* Parses an app's answer to a query on channel: {"action": "allow"} or
 * {"action": "allow", "body": "..."} (a text's replacement, 1..INTERCEPT_TEXT_MAX
 * bytes; ignored on a call) or {"action": "deny", "message": "..."} (optional, at
 * most INTERCEPT_TEXT_MAX bytes). Other keys are ignored. Returns 0, or
 * MASKD_EINVAL with a static reason in *why. */
int intercept_parse_answer(const char *text, size_t len, enum channel channel, struct intercept_answer *out,
			   const char **why);

/* POSTs q to url through out/client.h, signed with secret ("whsec_...", the
 * service's events secret) at now (webhook-id: q->interaction_id), waiting at most
 * timeout_ms for the whole exchange, and parses the answer. Returns 0,
 * MASKD_EINVAL (non-2xx, an answer over INTERCEPT_ANSWER_MAX, garbage) or
 * MASKD_ENOTFOUND (connect error, timeout), *why saying which (a static string,
 * never the body). */
int intercept_ask(const char *url, const char *secret, int timeout_ms, int64_t now, const struct intercept_query *q,
		  struct intercept_answer *out, const char **why);

/* Twilio Proxy's InterceptCallbackUrl form of the same question: a form-encoded
 * POST of Proxy's intercept parameters (interactionSid, interactionServiceSid,
 * interactionSessionSid, interactionType Voice or Message, interactionData
 * {"body": ...} for texts, interactionDateCreated, inboundParticipantSid,
 * inboundResourceSid, inboundResourceType call or message,
 * inboundResourceStatus), signed with X-Twilio-Signature by auth_token as Twilio
 * signs. The SIDs are the Proxy API's (api/proxy_wire.h). */
struct intercept_proxy_query {
	const char *interaction_sid, *service_sid, *session_sid, *participant_sid;
	enum channel channel;
	const char *carrier_sid;
	const char *body; /* texts */
};

/* The form body (malloc'd, caller frees) for url at now, its signature into sig. */
char *intercept_proxy_form(const char *url, const char *auth_token, int64_t now, const struct intercept_proxy_query *q,
			   char sig[29]);

/* POSTs the Proxy form, waiting at most timeout_ms. As Proxy does: a 403 is a
 * deny (without a message), any other 2xx an allow; anything else (another
 * status, a timeout, a connection error) MASKD_EINVAL or MASKD_ENOTFOUND with
 * *why, for intercept_fail_open to decide (the Proxy API sets it true). */
int intercept_ask_proxy(const char *url, const char *auth_token, int timeout_ms, int64_t now,
			const struct intercept_proxy_query *q, struct intercept_answer *out, const char **why);

#endif
