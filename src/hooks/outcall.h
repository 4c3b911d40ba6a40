/* SPDX-License-Identifier: MIT */
/* outcall.h - the carrier REST request that starts a click-to-call (POST
 * /v1/sessions/{id}/calls): the carrier rings the first participant from their
 * proxy number and, once answered, fetches maskd's answer URL, which bridges the
 * other participant (flow/webhook.h webhook_answer). Pure: builds the request
 * into a struct outgoing that out/sender.c delivers through the durable outbox;
 * no I/O, no clock, and it never logs (the request carries a real number). Each
 * carrier's request is the one its official SDK sends for the same call. */
#ifndef MASKD_OUTCALL_H
#define MASKD_OUTCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/model.h"
#include "../out/sender.h"

/* One call to place; every string borrowed. */
struct outcall {
	const char *to;          /* the first participant's real number (E.164) */
	const char *from;        /* that participant's proxy number: the caller id they see */
	const char *answer_url;  /* absolute: fetched when the first leg answers */
	const char *status_url;  /* absolute: the first leg's status callbacks */
	int ring_timeout;        /* seconds to ring the first leg (> 0) */
	/* Vonage only (its request carries a signed JWT): */
	int64_t now;             /* Unix seconds: the JWT's iat (exp = now + OUTCALL_JWT_TTL) */
	const char *jti;         /* the JWT's unique id (a UUID v4 as @vonage/jwt makes it) */
};

#define OUTCALL_JWT_TTL 900 /* seconds a Vonage request's JWT is valid: @vonage/jwt's default */

/* True when maskd can place calls through carrier d's REST API. */
bool outcall_supported(enum dialect d);

/* Fills out (url, content type, authorization, body; malloc'd body owned by out)
 * with the request that places c through svc's account at carrier d. api_base: the
 * carrier's REST base URL (MASKD_<CARRIER>_API_URL, no trailing '/'); for
 * SignalWire "" means https://<space_url> of svc's credentials; for Vonage the Voice
 * API's (MASKD_VONAGE_VOICE_API_URL), not the SMS one. Returns 0; MASKD_EINVAL when svc
 * lacks a credential the request needs, or holds one that cannot be used (Vonage: a
 * private_key that is not an unencrypted PEM RSA key) (*missing names it, e.g.
 * "account_sid"; out->body NULL); MASKD_ENOTFOUND for a carrier outcall_supported() refuses; MASKD_ETOOBIG
 * when a URL does not fit. */
int outcall_build(enum dialect d, const struct service *svc, const char *api_base, const struct outcall *c,
		  struct outgoing *out, const char **missing);

#endif
