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

#include "hooks/dialect.h"

#define SENDER_QUEUE_MAX 10000 /* enqueue beyond this fails (the leg is recorded failed) */
#define SENDER_TRIES 5          /* attempts per request */

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
