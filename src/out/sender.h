/* SPDX-License-Identifier: MIT */
/* sender.h - carrier REST requests through the durable outbox (store_outbox_* in
 * store/store.h): sender_enqueue() writes the request to the outbox and returns
 * once it is committed, so a text acknowledged to the carrier survives a stop, a
 * crash or kill -9; worker threads (on every node sharing a PostgreSQL store)
 * claim due messages and send them with libcurl. A transient failure (no
 * connection, 408, 425, 429, 5xx) is retried with exponential backoff and jitter
 * (core/outbox.h), which also holds that destination's other messages, never
 * another destination's; at most SENDER_DEST_CONCURRENCY messages per destination
 * are in flight per claim round. Messages sharing an order key (a session) go out
 * in enqueue order. After SENDER_TRIES attempts, or on a final refusal, a message
 * is failed: visible and retryable through the API. The outcome of a carrier send
 * lands on its interaction's leg 'b' (status "sent" with the carrier's message id
 * when it gives one, or "failed"). Never logs a body or a number: ids, hosts and
 * statuses only. */
#ifndef MASKD_SENDER_H
#define MASKD_SENDER_H

#include <stddef.h>

#include "../core/model.h" /* enum dialect */
#include "../store/store_outbox.h" /* OUTBOX_KEY_MAX */
#include "../util/ids.h"

#define SENDER_TRIES 5            /* attempts per message */
#define SENDER_WORKERS 4          /* sending threads per process */
#define SENDER_DEST_CONCURRENCY 2 /* messages of one destination in flight at once */
#define SENDER_MAX_BACKOFF_MS (10 * 60 * 1000L)

/* A carrier REST request that sends a message the markup cannot send (Telnyx and
 * Vonage SMS, Plivo MMS): a plain HTTP POST, built by the carrier's dialect
 * (hooks/dialect.h build_send), executed by a worker. The sender knows no dialect
 * beyond reading the carrier's message id from its answer. */
struct outgoing {
	char interaction_id[ID_MAX]; /* the interaction whose leg 'b' records the outcome ("" = none) */
	enum dialect dialect;        /* the carrier, for the answer's message id and logs */
	char url[512];               /* absolute URL: api_base + the carrier's path */
	char content_type[64];       /* of body */
	char authorization[1200];    /* the whole Authorization header value ("Basic ...", "Bearer ...";
					 an RS256 JWT of a 4096-bit key fits) */
	char *body;                  /* malloc'd, owned by the outgoing (sender_enqueue takes it) */
	size_t body_len;
	/* Optional: */
	char dedup_key[OUTBOX_KEY_MAX]; /* a second enqueue with this key sends nothing ("" = never a duplicate) */
	char order_key[ID_MAX];         /* requests with the same key go out in enqueue order (the session id) */
	char service_id[ID_MAX];        /* whose outbox lists it ("" = none) */
	int places_call;                /* 1: the request rings a phone (OUTBOX_CARRIER_CALL): its outcome
					   lands on leg 'a', and it is tried again only when it cannot
					   have reached the carrier (no connection, 429, 503) */
	int duplicate;                  /* set by sender_enqueue: 1 when dedup_key was enqueued before */
};

struct sender;
struct store;

/* Starts the workers. v (borrowed, outlives s) signs event deliveries (kind
 * OUTBOX_EVENT: Standard Webhooks headers with the service's events secret,
 * out/events.h, at each attempt); NULL fails them. retry_base_ms: the first
 * backoff (doubling each try; tests use a small value). Messages a previous run of this process left being sent are
 * due again (store_outbox_recover). Never fails (aborts on OOM or thread creation
 * failure). */
struct vault;
struct sender *sender_start(struct store *st, const struct vault *v, unsigned retry_base_ms);

/* How a worker records a carrier send's outcome on its interaction's leg: the
 * application's writer of the leg and its event (flow/events.h
 * events_leg_record), with store_leg_update()'s contract. */
typedef int (*sender_leg_fn)(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
			     const struct leg_update *u, int64_t now);
/* sender_start() whose workers record legs with write (NULL: store_leg_update()
 * alone, as sender_start() does), from the first message on. */
struct sender *sender_start_legs(struct store *st, const struct vault *v, unsigned retry_base_ms, sender_leg_fn write);

/* Writes *out to the outbox and wakes a worker; frees out->body (and sets it NULL)
 * in every case. Returns 0 once the message is committed (or was, under the same
 * dedup_key: out->duplicate = 1), MASKD_EINVAL for a URL that is not http(s),
 * MASKD_ETOOBIG for a request beyond OUTBOX_PAYLOAD_MAX, or MASKD_EDB.
 * Thread-safe; s may be stopping (the message then waits for the next start). */
int sender_enqueue(struct sender *s, struct outgoing *out);

/* sender_enqueue() inside tx: the message commits, or rolls back, with the body's
 * other writes (a click-to-call and its interaction). Frees out->body in every
 * case; wakes no worker: the caller calls sender_poke() once tx has committed.
 * Returns 0 (out->duplicate as sender_enqueue sets it), MASKD_EINVAL, or the
 * store's error. */
int sender_tx_enqueue(struct store_tx *tx, struct outgoing *out);

/* Wakes the workers at once (a message was made due by another path, e.g. an API
 * retry). Thread-safe. */
void sender_poke(struct sender *s);

/* Stops claiming, lets each worker finish the attempt in flight, frees s. Messages
 * not yet sent stay in the outbox for the next start (or another node). */
void sender_stop(struct sender *s);

#endif
