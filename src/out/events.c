/* SPDX-License-Identifier: MIT */
/* events.c - event documents, the signing secret and the Standard Webhooks
 * signature; see events.h. */
#include "events.h"
#include "../core/model.h" /* URL_MAX_LEN */
#include "../core/outbox.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
	[EVENT_SESSION_CREATED] = "session.created",
	[EVENT_SESSION_UPDATED] = "session.updated",
	[EVENT_SESSION_CLOSED] = "session.closed",
	[EVENT_SESSION_REOPENED] = "session.reopened",
	[EVENT_PARTICIPANT_ADDED] = "participant.added",
	[EVENT_PARTICIPANT_NUMBER_SWAPPED] = "participant.number_swapped",
	[EVENT_INTERACTION_CREATED] = "interaction.created",
	[EVENT_LEG_UPDATED] = "leg.updated",
	[EVENT_LEG_COMPLETED] = "leg.completed",
	[EVENT_MESSAGE_OPTED_OUT] = "message.opted_out",
	[EVENT_MESSAGE_OPTED_IN] = "message.opted_in",
	[EVENT_NUMBER_RETIRED] = "number.retired",
	[EVENT_POOL_LOW] = "pool.low",
	[EVENT_POOL_EXHAUSTED] = "pool.exhausted",
};
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == EVENT_TYPE_COUNT, "an event type without a name");

const char *event_type_name(enum event_type t)
{
	assert((unsigned)t < EVENT_TYPE_COUNT);
	return type_names[t];
}

char *event_document(const char *id, enum event_type t, const char *service_id, int64_t at, json_t *data)
{
	assert(id != NULL && service_id != NULL && json_is_object(data));
	char ts[RFC3339_MAX];
	rfc3339_format(at, ts, sizeof(ts));
	json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", id, "type", event_type_name(t), "timestamp", ts,
				"service_id", service_id, "data", data);
	if (doc == NULL)
		fatal("events: cannot build a document");
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL)
		fatal("events: cannot encode a document");
	return text;
}

void events_secret(const char *key_hex, char out[EVENTS_SECRET_MAX])
{
	uint8_t key[32];
	long n = hex_decode(key_hex, strlen(key_hex), key, sizeof(key));
	assert(n == (long)sizeof(key));
	(void)n;
	size_t p = strlen(EVENTS_SECRET_PREFIX);
	memcpy(out, EVENTS_SECRET_PREFIX, p);
	_Static_assert(sizeof(EVENTS_SECRET_PREFIX) - 1 + 4 * ((32 + 2) / 3) + 1 <= EVENTS_SECRET_MAX, "secret size");
	base64_encode(key, sizeof(key), out + p);
	OPENSSL_cleanse(key, sizeof(key));
}

int events_sign(const char *secret, const char *msg_id, long long ts, const char *body, size_t body_len,
		char out[EVENTS_SIGNATURE_MAX])
{
	assert(secret != NULL && msg_id != NULL && (body != NULL || body_len == 0) && out != NULL);
	size_t p = strlen(EVENTS_SECRET_PREFIX);
	const char *b64 = strncmp(secret, EVENTS_SECRET_PREFIX, p) == 0 ? secret + p : secret;
	uint8_t key[64];
	long key_len = base64_decode(b64, strlen(b64), key, sizeof(key));
	if (key_len <= 0)
		return MASKD_EINVAL;
	char head[160];
	int hl = snprintf(head, sizeof(head), "%s.%lld.", msg_id, ts);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		OPENSSL_cleanse(key, sizeof(key));
		return MASKD_EINVAL;
	}
	char *msg = xmalloc((size_t)hl + body_len + 1);
	memcpy(msg, head, (size_t)hl);
	if (body_len > 0)
		memcpy(msg + hl, body, body_len);
	uint8_t mac[32];
	hmac_sha256(key, (size_t)key_len, msg, (size_t)hl + body_len, mac);
	free(msg);
	OPENSSL_cleanse(key, sizeof(key));
	memcpy(out, "v1,", 3);
	base64_encode(mac, sizeof(mac), out + 3);
	return 0;
}

/* Whether host (lowercase, maybe with ":port") names this machine. */
static int loopback_host(const char *host)
{
	if (strncmp(host, "[::1]", 5) == 0)
		return host[5] == '\0' || host[5] == ':';
	size_t n = strcspn(host, ":");
	if (n == 9 && strncmp(host, "localhost", 9) == 0)
		return 1;
	if (n < 4 || strncmp(host, "127.", 4) != 0)
		return 0;
	for (size_t i = 4; i < n; i++) /* 127.a.b.c: digits and dots */
		if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
			return 0;
	return 1;
}

int events_url_check(const char *url, const char **why)
{
	assert(url != NULL && why != NULL);
	*why = NULL;
	char dest[URL_MAX_LEN + 1];
	if (strlen(url) >= URL_MAX_LEN) {
		*why = "events_url is too long";
		return MASKD_EINVAL;
	}
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "events_url must not contain spaces or control characters";
			return MASKD_EINVAL;
		}
	if (outbox_destination(url, dest, sizeof(dest)) < 0) {
		*why = "events_url must be an absolute https URL";
		return MASKD_EINVAL;
	}
	if (strncmp(dest, "https://", 8) == 0)
		return 0;
	if (!loopback_host(dest + 7)) {
		*why = "events_url must be https (http only to a loopback host: localhost, 127.0.0.1, [::1])";
		return MASKD_EINVAL;
	}
	return 0;
}
