/* SPDX-License-Identifier: MIT */
/* sender.h - carrier REST requests off the webhook thread (libcurl): a bounded
 * in-memory queue and one worker thread that sends each request, retries transient
 * failures (connection errors, 429, 5xx) with exponential backoff, and records the
 * outcome on the interaction's leg 'b' (status "sent" with the carrier's message id
 * when it gives one, or "failed"). A request is enqueued once per interaction (the
 * webhook pipeline enqueues only for a new interaction), so a retried webhook never
 * sends twice. Never logs a body or a number: ids, URLs' hosts and statuses only. */
#ifndef MASKD_SENDER_H
#define MASKD_SENDER_H

#include <stddef.h>

#include "../core/model.h" /* enum dialect */
#include "../util/ids.h"

#define SENDER_QUEUE_MAX 10000 /* enqueue beyond this fails (the leg is recorded failed) */
#define SENDER_TRIES 5          /* attempts per request */

/* A carrier REST request that sends a message the markup cannot send (Telnyx and
 * Vonage SMS, Plivo MMS): a plain HTTP POST, built by the carrier's dialect
 * (hooks/dialect.h build_send), executed here off the webhook thread. The sender
 * knows no dialect beyond reading the carrier's message id from its answer. */
struct outgoing {
	char interaction_id[ID_MAX]; /* the interaction whose leg 'b' records the outcome ("" = none) */
	enum dialect dialect;        /* the carrier, for the answer's message id and logs */
	char url[512];               /* absolute URL: api_base + the carrier's path */
	char content_type[64];       /* of body */
	char authorization[600];     /* the whole Authorization header value ("Basic ...", "Bearer ...") */
	char *body;                  /* malloc'd, owned by the outgoing (sender_enqueue takes it) */
	size_t body_len;
};

struct sender;
struct store;

/* Starts the worker. retry_base_ms: the first backoff (doubling each try; tests
 * use a small value). Never fails (aborts on OOM or thread creation failure). */
struct sender *sender_start(struct store *st, unsigned retry_base_ms);

/* Takes ownership of *out (its body is freed by the sender). Returns 0, or
 * MASKD_ETOOBIG when the queue is full (out->body freed as well). Thread-safe. */
int sender_enqueue(struct sender *s, struct outgoing *out);

/* Stops taking requests, finishes the one in flight, drops the rest (logged with
 * their interaction ids), frees s. */
void sender_stop(struct sender *s);

#endif
