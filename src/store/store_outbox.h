/* SPDX-License-Identifier: MIT */
/* store_outbox.h - the store's side of what maskd sends and re-keys: the durable
 * outbox of carrier REST sends and event deliveries, the service events kept for
 * the pull API (written with the change they describe), and the vault key and
 * blind-index rotations that re-seal and re-index stored values in small
 * batches. Implemented in store_outbox.c over the backend table (store_backend.h);
 * the contracts of store.h hold. */
#ifndef MASKD_STORE_OUTBOX_H
#define MASKD_STORE_OUTBOX_H

#include <stdint.h>

#include "../core/model.h"
#include "../core/outbox.h" /* enum outbox_status */

struct store;
struct store_tx;

/* ---------------------------------------------------------------- the outbox */
/* Every message maskd sends out (carrier REST sends, event deliveries), durable
 * from store_outbox_put() until it is sent or failed (out/sender.c delivers it).
 * Times are epoch milliseconds. The payload is sealed by the store (it holds the
 * recipient's real number and the request's credential) and is readable only
 * through store_outbox_claim(). */
enum outbox_kind {
	OUTBOX_CARRIER_SEND = 0, /* a carrier REST request (struct outgoing) */
	OUTBOX_EVENT = 1,        /* an event delivery to a service's events_url */
	OUTBOX_CARRIER_CALL = 2, /* a carrier REST request that rings a phone (click-to-call):
				    tried again only when the carrier cannot have taken it */
};
#define OUTBOX_PAYLOAD_MAX (64 * 1024) /* sealed payloads longer than this are refused (MASKD_ETOOBIG) */
#define OUTBOX_KEY_MAX 160
#define OUTBOX_URL_MAX 512
#define OUTBOX_ERROR_MAX 128
struct outbox_item {
	int64_t seq;                        /* set by the store: the order of enqueueing */
	char id[ID_MAX];                    /* obx_... */
	char dedup_key[OUTBOX_KEY_MAX];     /* a second put with the same key is a no-op */
	enum outbox_kind kind;
	char service_id[ID_MAX];            /* "" when none */
	char destination[OUTBOX_URL_MAX];   /* scheme://host[:port] of url: the unit of concurrency and backoff */
	char order_key[ID_MAX];             /* messages with the same non-empty key go out in seq order */
	char interaction_id[ID_MAX];        /* "" when none */
	int dialect;                        /* enum dialect of a carrier send */
	char url[OUTBOX_URL_MAX];
	enum outbox_status status;
	int tries;                          /* attempts started */
	int64_t next_at, created_at, done_at;
	char last_error[OUTBOX_ERROR_MAX];  /* ids, hosts and HTTP statuses only */
	char *payload;                      /* put: borrowed text; claim: malloc'd, the caller frees */
	size_t payload_len;
};
/* Enqueues it (payload sealed; seq, status, tries, claim set by the store) unless a
 * row with its dedup_key exists: then *existed = 1 and nothing changes. Returns
 * after the row is committed: 0, MASKD_ETOOBIG, MASKD_EDB. */
int store_outbox_put(struct store *st, const struct outbox_item *it, int *existed);
/* Claims the first message due at now (pending with next_at <= now, or sending
 * with its lease run out), by (next_at, seq), that is the oldest unsent of its
 * order_key and whose destination has fewer than dest_cap messages being sent:
 * status SENDING, tries + 1, the claim token and lease_until = now + lease_ms.
 * Fills *out with its payload opened (the caller frees out->payload). 0, or
 * MASKD_ENOTFOUND when none is due. On PostgreSQL many nodes claim concurrently
 * (FOR UPDATE SKIP LOCKED) and no message is claimed twice within a lease. */
int store_outbox_claim(struct store *st, int64_t now, int64_t lease_ms, int dest_cap, const char *claim,
		       struct outbox_item *out);
/* Ends the claim of message id: status SENT or FAILED (done_at = now), or PENDING
 * again until next_at; error (may be NULL) becomes last_error. hold_until > 0 also
 * holds the destination's other pending messages until then (its backoff).
 * MASKD_ENOTFOUND when the claim was lost (the lease ran out and another took it). */
int store_outbox_settle(struct store *st, const char *id, const char *claim, enum outbox_status status,
			int64_t next_at, int64_t hold_until, const char *error, int64_t now);
/* The message (without payload). MASKD_ENOTFOUND when none. */
int store_outbox_get(struct store *st, const char *id, struct outbox_item *out);
/* A service's messages with status (or every status when status < 0) and seq >
 * after, in seq order, at most limit; cb gets each without payload. */
int store_outbox_list(struct store *st, const char *service_id, int status, int64_t after, int limit,
		      void (*cb)(void *ctx, const struct outbox_item *it), void *ctx);
/* A failed message pending again at now with no tries counted. MASKD_ENOTFOUND
 * when id is unknown or not failed. */
int store_outbox_requeue(struct store *st, const char *id, int64_t now);
/* Per destination with unsent or failed messages: cb(ctx, destination, unsent,
 * failed); and *unsent, *oldest (created_at of the oldest unsent message, 0 when
 * none) over all of them. */
int store_outbox_stats(struct store *st, int64_t *unsent, int64_t *oldest,
		       void (*cb)(void *ctx, const char *destination, int64_t unsent, int64_t failed), void *ctx);
/* At the start of the only process using the database (SQLite), messages left
 * SENDING by a previous run are pending again at now. On PostgreSQL, where other
 * nodes may hold claims, nothing changes: their leases run out. */
int store_outbox_recover(struct store *st, int64_t now);
/* store_outbox_put() inside tx: the message commits, or rolls back, with the rest
 * of the body's writes (an event is enqueued in the transaction that causes it). */
int store_tx_outbox_put(struct store_tx *tx, const struct outbox_item *it, int *existed);

/* ---------------------------------------------------------------- service events */
/* Every event of a service (flow/events.c writes them, docs/EVENTS.md lists
 * them), kept for the pull API in commit order: seq is the cursor. */
#define SERVICE_EVENT_PAGE_MAX 500
/* The service of session_id, its events_url ("" = none, cut to cap) and its
 * events_pull_off (1: none of its events is kept for the pull API), inside tx.
 * MASKD_ENOTFOUND when there is no such session. */
int store_tx_event_target(struct store_tx *tx, const char *session_id, char service_id[ID_MAX], char *events_url,
			  size_t cap, int *pull_off);
/* Appends the event document body (JSON text: ids and masked numbers only) of
 * type to service_id's events. On PostgreSQL the row is written just before the
 * COMMIT, under a per-service lock held to it, so the service's events commit in
 * seq order and that lock is the last any transaction takes (no deadlock with
 * the row locks of the transaction's other writes). */
int store_tx_service_event_insert(struct store_tx *tx, const char *id, const char *service_id, const char *type,
				  const char *body, int64_t created_at);
/* An event written together with the change it describes (flow/events.c
 * fills it; the strings and delivery are the caller's, borrowed for the call):
 * unless pull_off, the row of service_id's events (the pull API), and, when
 * delivery is not NULL, the outbox message delivering it to the service's
 * events_url. */
struct store_event {
	const char *id;         /* evt_... */
	const char *service_id;
	const char *type;       /* "interaction.created", ... */
	const char *body;       /* the JSON document: ids and masked numbers only */
	int64_t created_at;     /* unix seconds */
	const struct outbox_item *delivery;
	const struct outbox_item *proxy_delivery; /* NULL, or the Proxy API's CallbackUrl message */
	int pull_off;                             /* 1: no row for the pull API (the service's events_pull_off) */
};
/* Writes ev inside tx (store_tx_service_event_insert unless ev->pull_off, then the delivery's and
 * the proxy_delivery's store_tx_outbox_put). 0, or the store's error (the body must then fail). */
int store_tx_event_put(struct store_tx *tx, const struct store_event *ev);
/* service_id's events with seq > after, in seq order, at most limit: cb(ctx, seq,
 * body) for each; body is valid during the call only. */
int store_service_events(struct store *st, const char *service_id, int64_t after, int limit,
			 void (*cb)(void *ctx, int64_t seq, const char *body), void *ctx);

/* ---------------------------------------------------------------- key rotation */
/* The sealed values the vault key rotation re-seals (docs/OPERATIONS.md, key
 * rotation): participants' real numbers, services' carrier credentials, outbox
 * payloads, profiles' numbers and the Proxy API accounts' auth tokens. An erased
 * or purged value (empty) is none of them. */
enum store_sealed {
	STORE_SEALED_PARTICIPANTS,
	STORE_SEALED_SECRETS,
	STORE_SEALED_OUTBOX,
	STORE_SEALED_PROFILES, /* profiles' real numbers (associated data store_profile_ad) */
	/* the Twilio Proxy API accounts' auth tokens: settings rows named
	 * STORE_PROXY_ACCOUNT_PREFIX "<AC sid>[.<key SHA-256 hex>]" whose value is the
	 * JSON {"key_sha256", "auth_token_sealed": hex of the sealed token}, sealed
	 * with the row's key as associated data (api/proxy_v1.c writes them) */
	STORE_SEALED_PROXY_ACCOUNTS,
	STORE_SEALED_COUNT
};
#define STORE_PROXY_ACCOUNT_PREFIX "proxy.account."
/* a row's cursor key and name (secrets: "service_id:carrier"; Proxy accounts: the
 * settings key, 113 bytes with its key hash) */
#define STORE_RESEAL_KEY_MAX 160
/* The blind-index rotation (docs/internals/blind-index-rotation.md). Kinds of a
 * re-index pass, in order: participants' and profiles' indexes (recomputed from
 * their sealed numbers), then the finish that moves the opt-outs and ended
 * marks of the indexes moved and forgets the moves. */
enum store_reindex { STORE_REINDEX_PARTICIPANTS, STORE_REINDEX_PROFILES, STORE_REINDEX_FINISH, STORE_REINDEX_COUNT };
/* Re-indexes, in one transaction, up to limit rows of kind what whose index is
 * not under the vault's current index version, with an id after `after`
 * ("" = from the start): opens each row's number, computes its new index and
 * rewrites the row (only if it still holds the old one), its session's peer
 * indexes and a move (old, new) that keeps opt-outs and ended marks found. *seen
 * gets the rows taken (< limit: the kind is done), last the last id, *moved the
 * rows rewritten. STORE_REINDEX_FINISH ignores after and limit (*seen 0). */
int store_index_sweep(struct store *st, enum store_reindex what, const char *after, int limit,
		      char last[STORE_RESEAL_KEY_MAX], int *seen, int *moved);
/* How many participants, profiles and opt-outs hold a live index not under the
 * current index version (what `maskd rotate-keys --index-drop` refuses on; ended
 * marks are moved when they can be, but not counted: they expire). */
int store_index_stale(struct store *st, int64_t *count);

/* Re-seals, in one transaction, the values of kind what that are not sealed with
 * the vault's current key version, taking up to limit rows with a key after
 * `after` ("" = from the start) in key order. *seen gets how many rows it took
 * (< limit: the kind is done), last the key of the last one, *resealed how many
 * it re-sealed; a value whose version the key file does not hold is left as it
 * is (vault_unseal logs it). Each row is rewritten only if it still holds the
 * value read, so a concurrent erase, purge or send wins. */
int store_vault_reseal(struct store *st, enum store_sealed what, const char *after, int limit,
		       char last[STORE_RESEAL_KEY_MAX], int *seen, int *resealed);
/* How many values of every kind are not sealed with key version `version`. */
int store_vault_stale(struct store *st, int version, int64_t *count);

#endif
