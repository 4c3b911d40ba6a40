/* SPDX-License-Identifier: MIT */
/* events.h - the events maskd sends to a service's events_url (docs/EVENTS.md):
 * their types, the JSON document of one, the service's signing secret and the
 * Standard Webhooks signature of a delivery. No I/O and no clock: flow/events.c
 * records and enqueues the documents, out/sender.c signs each attempt when it
 * sends it. A document carries ids and masked numbers only, never a real number. */
#ifndef MASKD_EVENTS_H
#define MASKD_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum event_type {
	EVENT_SESSION_CREATED,
	EVENT_SESSION_UPDATED,
	EVENT_SESSION_CLOSED,
	EVENT_SESSION_REOPENED,
	EVENT_PARTICIPANT_ADDED,
	EVENT_PARTICIPANT_NUMBER_SWAPPED,
	EVENT_INTERACTION_CREATED,
	EVENT_LEG_UPDATED,
	EVENT_LEG_COMPLETED,
	EVENT_MESSAGE_OPTED_OUT,
	EVENT_MESSAGE_OPTED_IN,
	EVENT_NUMBER_RETIRED,
	EVENT_POOL_LOW,
	EVENT_POOL_EXHAUSTED,
	EVENT_TYPE_COUNT,
};

/* "session.created", ...: the document's type. */
const char *event_type_name(enum event_type t);

/* The document {"id", "type", "timestamp" (RFC 3339 of at, unix seconds),
 * "service_id", "data"} as compact JSON text with sorted keys: malloc'd, the caller
 * frees it. Takes the reference to data (an object). Aborts on out of memory. */
char *event_document(const char *id, enum event_type t, const char *service_id, int64_t at, json_t *data);

/* A service's signing secret, "whsec_" then the standard base64 of the 32 bytes
 * key_hex (64 hex digits: vault_derive("events", service id)) spells. */
#define EVENTS_SECRET_PREFIX "whsec_"
#define EVENTS_SECRET_MAX 64
void events_secret(const char *key_hex, char out[EVENTS_SECRET_MAX]);

/* The webhook-signature header value of a delivery (Standard Webhooks):
 * "v1," then the base64 of HMAC-SHA256(secret's key, msg_id "." ts "." body), the
 * key being the base64 after "whsec_" (or the whole secret without the prefix).
 * Returns 0, or MASKD_EINVAL when the secret's base64 does not decode. */
#define EVENTS_SIGNATURE_MAX 64
int events_sign(const char *secret, const char *msg_id, long long ts, const char *body, size_t body_len,
		char out[EVENTS_SIGNATURE_MAX]);

/* Whether url may be a service's events_url: an absolute https URL, or http to
 * a loopback host (localhost, 127.0.0.0/8, [::1]) for development; shorter than
 * URL_MAX_LEN, without spaces or control characters. 0, or MASKD_EINVAL with a
 * static reason in *why. */
int events_url_check(const char *url, const char **why);

#endif
