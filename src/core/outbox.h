/* SPDX-License-Identifier: MIT */
/* outbox.h - the delivery rules of the outbox (out/sender.c runs them, store/ keeps
 * the rows): what an attempt's outcome means, when the next try is (exponential
 * backoff with jitter, per message and per destination), and what a destination
 * is (the unit of concurrency and backoff). Pure: time and randomness come in. */
#ifndef MASKD_CORE_OUTBOX_H
#define MASKD_CORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

enum outbox_status {
	OUTBOX_PENDING = 0, /* waiting for next_at */
	OUTBOX_SENDING = 1, /* claimed by a sender until its lease runs out */
	OUTBOX_SENT = 2,
	OUTBOX_FAILED = 3, /* no more tries; the API can make it pending again */
};

/* enum outbox_status's API name ("pending", ...), and back: -1 for an unknown name. */
const char *outbox_status_name(enum outbox_status s);
int outbox_status_parse(const char *name);

/* What one attempt came to. */
enum outbox_outcome {
	OUTBOX_DELIVERED, /* 2xx, and the receiver did not refuse it inside */
	OUTBOX_TRANSIENT, /* no connection, timeout, 408, 425, 429, 5xx: worth another try */
	OUTBOX_REFUSED,   /* any other answer: another try would get the same */
};

/* The outcome of an attempt: transport_ok 0 when no HTTP answer came (status is
 * then ignored); refused_inside: a 2xx whose body said no (Vonage). */
enum outbox_outcome outbox_classify(int transport_ok, long status, int refused_inside);

/* The order key of an event delivery: this prefix and the session's id (or the
 * number's), so a session's events are ordered among themselves and never wait
 * behind (or hold) its carrier sends, whose order key is the bare session id. */
#define OUTBOX_EVENT_ORDER_PREFIX "e:"

struct outbox_policy {
	int max_tries;         /* attempts before a message is failed (>= 1) */
	int64_t base_ms;       /* the first backoff */
	int64_t max_backoff_ms; /* no backoff is longer */
};

/* The backoff before try tries + 1 (tries >= 1 attempts made): base_ms doubled
 * per try, capped at max_backoff_ms, then "equal jitter": half of it fixed, the
 * other half scaled by rnd (any 32-bit value), so retries of many messages that
 * failed together spread out instead of arriving together. */
int64_t outbox_backoff_ms(const struct outbox_policy *p, int tries, uint32_t rnd);

/* What becomes of a message after its attempt number tries: */
struct outbox_step {
	enum outbox_status status; /* SENT, FAILED, or PENDING for another try */
	int64_t next_at;           /* PENDING: its next try */
	int64_t hold_until;        /* > 0: the destination's other messages wait until then too */
};
/* A transient failure holds the destination (its backoff: a struggling endpoint
 * is not hit by every queued message at once) but never another destination. */
void outbox_after(const struct outbox_policy *p, int tries, enum outbox_outcome o, int64_t now, uint32_t rnd,
		  struct outbox_step *out);

/* The destination of an absolute http(s) URL: "scheme://host[:port]" lowercased,
 * into out (cap bytes). 0, or MASKD_EINVAL for a URL that is not http(s) with a
 * host, or one that does not fit. */
int outbox_destination(const char *url, char *out, size_t cap);

#endif
