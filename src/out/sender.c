/* SPDX-License-Identifier: MIT */
/* sender.c - the outbox's delivery workers; see sender.h. Each worker has its own
 * out/client.c handle (keep-alive per worker), claims one due message at a time
 * under a lease, sends it, and settles it by core/outbox.h's rules. An idle worker
 * sleeps SENDER_POLL_MS or until an enqueue wakes it (other nodes' messages and
 * backoffs running out are found by the poll). The payload is the request's
 * header lines, a blank line, then its body. */
#include "sender.h"
#include "client.h"
#include "events.h"
#include "../core/model.h"
#include "../core/outbox.h"
#include "../store/store.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDER_RESPONSE_MAX (64 * 1024) /* answers beyond this are cut */
#define SENDER_TIMEOUT_S 15
#define SENDER_LEASE_MS ((SENDER_TIMEOUT_S + 15) * 1000L) /* longer than any attempt */
#define SENDER_POLL_MS 200
#define SENDER_HEADERS_MAX 6

struct sender {
	struct store *store;
	const struct vault *vault; /* the events' signing secrets; NULL: events are not signed, so failed */
	struct outbox_policy policy;
	pthread_t thread[SENDER_WORKERS];
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;     /* guarded by lock */
	unsigned pokes;   /* guarded by lock: enqueues since a worker last looked */
	char node[ID_MAX]; /* this process's claim prefix */
	atomic_uint_fast64_t claims;
	sender_leg_fn write_leg; /* set before the workers start */
};

/* The carrier's id for the sent message or placed call, from the answers of Telnyx
 * ({"data":{"id"}}), Plivo ({"message_uuid":[..]}), Vonage SMS
 * ({"messages":[{"message-id","status"}]}), the Twilio family's Calls ({"sid"}),
 * Telnyx TeXML Calls ({"call_sid"}), Plivo's and Vobiz's Call ({"request_uuid"}) and
 * Vonage's Voice API call ({"uuid"}). *refused is set when the carrier said
 * no inside a 2xx answer (Vonage reports per-message status "0" for success). */
static void sent_id(const char *body, char *sid, size_t cap, int *refused)
{
	sid[0] = '\0';
	*refused = 0;
	json_t *j = json_loads(body, 0, NULL);
	if (j == NULL)
		return;
	const char *id = json_string_value(json_object_get(json_object_get(j, "data"), "id"));
	if (id == NULL)
		id = json_string_value(json_array_get(json_object_get(j, "message_uuid"), 0));
	if (id == NULL)
		id = json_string_value(json_object_get(j, "sid"));
	if (id == NULL)
		id = json_string_value(json_object_get(j, "call_sid")); /* Telnyx TeXML Calls */
	if (id == NULL)
		id = json_string_value(json_object_get(j, "request_uuid")); /* Plivo and Vobiz Call */
	if (id == NULL)
		id = json_string_value(json_object_get(j, "uuid")); /* Vonage Voice API call */
	json_t *m = json_array_get(json_object_get(j, "messages"), 0);
	if (id == NULL && m != NULL) {
		id = json_string_value(json_object_get(m, "message-id"));
		const char *st = json_string_value(json_object_get(m, "status"));
		*refused = st != NULL && strcmp(st, "0") != 0;
	}
	if (id != NULL && strlen(id) < cap)
		snprintf(sid, cap, "%s", id);
	json_decref(j);
}

/* One attempt at message it. Returns its outcome; sid gets the carrier's message
 * id, why a short reason for last_error (no body, no number). */
/* The Standard Webhooks headers of event delivery it, signed now with its
 * service's secret, into the three lines of h. 0, or -1 when it cannot be signed. */
struct event_headers {
	char id[OUTBOX_KEY_MAX + 16], ts[48], sig[EVENTS_SIGNATURE_MAX + 24];
};
static int sign_event(const struct vault *v, const struct outbox_item *it, const char *body, size_t body_len,
		      struct event_headers *h)
{
	if (v == NULL)
		return -1;
	char key[VAULT_DERIVED_LEN + 1], secret[EVENTS_SECRET_MAX], sig[EVENTS_SIGNATURE_MAX];
	vault_derive(v, "events", it->service_id, key);
	events_secret(key, secret);
	long long ts = (long long)now_unix();
	int rc = events_sign(secret, it->dedup_key, ts, body, body_len, sig);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc < 0)
		return -1;
	snprintf(h->id, sizeof(h->id), "webhook-id: %s", it->dedup_key); /* the event id */
	snprintf(h->ts, sizeof(h->ts), "webhook-timestamp: %lld", ts);
	snprintf(h->sig, sizeof(h->sig), "webhook-signature: %s", sig);
	return 0;
}

static enum outbox_outcome attempt(const struct vault *v, const struct outbox_item *it, char *sid, size_t sid_cap,
				   char *why, size_t why_cap)
{
	/* the payload: header lines, "\n", body (split in place: the payload is ours) */
	char *p = it->payload, *headers[CLIENT_HEADERS_MAX];
	_Static_assert(SENDER_HEADERS_MAX + 2 <= CLIENT_HEADERS_MAX, "client headers");
	int n = 0;
	while (*p != '\0' && *p != '\n' && n < SENDER_HEADERS_MAX) {
		char *eol = strchr(p, '\n');
		if (eol == NULL)
			break;
		*eol = '\0';
		headers[n++] = p;
		p = eol + 1;
	}
	if (*p != '\n') {
		snprintf(why, why_cap, "malformed payload");
		return OUTBOX_REFUSED;
	}
	p++;
	headers[n++] = "Accept: application/json";
	headers[n++] = "Expect:";
	size_t body_len = it->payload_len - (size_t)(p - it->payload);
	struct event_headers eh;
	if (it->kind == OUTBOX_EVENT) {
		if (n + 3 > CLIENT_HEADERS_MAX || sign_event(v, it, p, body_len, &eh) < 0) {
			snprintf(why, why_cap, "the event cannot be signed");
			return OUTBOX_REFUSED;
		}
		headers[n++] = eh.id;
		headers[n++] = eh.ts;
		headers[n++] = eh.sig;
	}
	struct client_request rq = {
		.url = it->url,
		.body = p,
		.body_len = body_len,
		.timeout_ms = SENDER_TIMEOUT_S * 1000L,
		.body_cap = SENDER_RESPONSE_MAX,
	};
	for (int i = 0; i < n; i++)
		rq.headers[i] = headers[i];
	struct client_response resp;
	int rc = client_post(&rq, &resp);
	int refused = 0;
	if (rc == 0 && resp.status >= 200 && resp.status < 300 && it->kind != OUTBOX_EVENT)
		sent_id(resp.body ? resp.body : "", sid, sid_cap, &refused);
	enum outbox_outcome o = outbox_classify(rc == 0, resp.status, refused);
	if (o == OUTBOX_TRANSIENT && it->kind == OUTBOX_CARRIER_CALL &&
	    !(rc < 0 ? resp.unsent : resp.status == 429 || resp.status == 503))
		o = OUTBOX_REFUSED; /* the carrier may have placed it: another try could ring the phone twice */
	if (rc < 0)
		snprintf(why, why_cap, "%s", resp.error ? resp.error : maskd_strerror(rc));
	else if (refused)
		snprintf(why, why_cap, "HTTP %ld, refused inside the answer", resp.status);
	else
		snprintf(why, why_cap, "HTTP %ld", resp.status);
	free(resp.body);
	return o;
}

/* The outcome of a carrier send on its interaction's leg 'b'; of a click-to-call
 * on leg 'a' (the first participant's, "queued" until its status callbacks come). */
static void record_leg(struct sender *s, const struct outbox_item *it, const char *sid, const char *status)
{
	if (it->kind == OUTBOX_EVENT || it->interaction_id[0] == '\0')
		return; /* a reply to a sender (opt-out notice, HELP, ended): no interaction leg */
	int call = it->kind == OUTBOX_CARRIER_CALL;
	char call_sid[ID_MAX + 8];
	if (call) {
		if (sid[0] != '\0') {
			log_info("sender: interaction %s: the carrier placed call %s", it->interaction_id, sid);
			int crc = store_interaction_call_id(s->store, it->interaction_id, sid);
			if (crc < 0 && crc != MASKD_ENOTFOUND)
				log_error("sender: interaction %s: recording call id %s failed: %s", it->interaction_id,
					  sid, maskd_strerror(crc));
		}
		if (strcmp(status, "sent") == 0)
			status = "queued";
		snprintf(call_sid, sizeof(call_sid), INTERACTION_CALL_SID_PREFIX "%s", it->interaction_id);
		sid = call_sid; /* its leg 'a' keeps the interaction's own sid (model.h) */
	}
	struct leg_update u = {.status = status, .duration = -1};
	int rc = s->write_leg(s->store, it->interaction_id, call ? 'a' : 'b', sid[0] ? sid : "rest", &u, now_unix());
	if (rc < 0)
		log_error("sender: interaction %s: recording the %s leg failed: %s", it->interaction_id, status,
			  maskd_strerror(rc));
}

/* maskd_sender_backlog: the outbox's unsent messages, as the store counts them. */
static void refresh_backlog(struct sender *s)
{
	int64_t unsent = 0, oldest = 0;
	if (store_outbox_stats(s->store, &unsent, &oldest, NULL, NULL) == 0)
		metrics_gauge_add(MG_SENDER_BACKLOG, unsent - metrics_gauge_value(MG_SENDER_BACKLOG));
}

/* Delivers one claimed message and settles it. */
static void deliver(struct sender *s, struct outbox_item *it, const char *claim)
{
	char sid[72] = "", why[OUTBOX_ERROR_MAX] = "";
	enum outbox_outcome o = attempt(s->vault, it, sid, sizeof(sid), why, sizeof(why));
	uint32_t rnd;
	random_bytes(&rnd, sizeof(rnd));
	int64_t now = now_ms();
	struct outbox_step step;
	outbox_after(&s->policy, it->tries, o, now, rnd, &step);
	int rc = store_outbox_settle(s->store, it->id, claim, step.status, step.next_at, step.hold_until,
				     o == OUTBOX_DELIVERED ? "" : why, now);
	if (rc == MASKD_ENOTFOUND)
		log_warn("sender: message %s: the claim ran out before the answer came", it->id);
	else if (rc < 0)
		log_error("sender: message %s: settling it failed: %s (its lease will run out)", it->id,
			  maskd_strerror(rc));
	log_info("sender: message %s (%s, interaction %s) try %d: %s%s%s", it->id, it->destination,
		 it->interaction_id[0] ? it->interaction_id : "-", it->tries, outbox_status_name(step.status),
		 why[0] && o != OUTBOX_DELIVERED ? ": " : "", o != OUTBOX_DELIVERED ? why : "");
	if (step.status == OUTBOX_FAILED)
		metrics_inc(MC_SENDER_FAILED);
	refresh_backlog(s); /* before the leg: whoever sees the leg sees the backlog without it */
	if (step.status == OUTBOX_SENT || step.status == OUTBOX_FAILED)
		record_leg(s, it, sid, step.status == OUTBOX_SENT ? "sent" : "failed");
}

/* Sleeps up to SENDER_POLL_MS unless poked or stopping. Returns 1 when stopping. */
static int idle(struct sender *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->stopping && s->pokes == 0) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SENDER_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->stopping && s->pokes == 0 && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
	}
	if (s->pokes > 0)
		s->pokes--;
	int stop = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static int stopping(struct sender *s)
{
	pthread_mutex_lock(&s->lock);
	int stop = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	while (!stopping(s)) {
		char claim[ID_MAX + 24];
		snprintf(claim, sizeof(claim), "%s:%llu", s->node, (unsigned long long)atomic_fetch_add(&s->claims, 1));
		struct outbox_item it;
		int rc = store_outbox_claim(s->store, now_ms(), SENDER_LEASE_MS, SENDER_DEST_CONCURRENCY, claim, &it);
		if (rc == MASKD_ECRYPTO) {
			/* a payload that does not open never will: fail it, visibly */
			store_outbox_settle(s->store, it.id, claim, OUTBOX_FAILED, 0, 0, "payload does not open", now_ms());
			metrics_inc(MC_SENDER_FAILED);
			continue;
		}
		if (rc < 0) {
			if (rc != MASKD_ENOTFOUND)
				log_warn("sender: claiming a message failed: %s", maskd_strerror(rc));
			if (idle(s))
				break;
			continue;
		}
		deliver(s, &it, claim);
		OPENSSL_cleanse(it.payload, it.payload_len);
		free(it.payload);
	}
	return NULL;
}

struct sender *sender_start(struct store *st, const struct vault *v, unsigned retry_base_ms)
{
	return sender_start_legs(st, v, retry_base_ms, NULL);
}

struct sender *sender_start_legs(struct store *st, const struct vault *v, unsigned retry_base_ms, sender_leg_fn write)
{
	struct sender *s = xcalloc(1, sizeof(*s));
	s->store = st;
	s->write_leg = write != NULL ? write : store_leg_update;
	s->vault = v;
	s->policy.max_tries = SENDER_TRIES;
	s->policy.base_ms = retry_base_ms ? retry_base_ms : 1;
	s->policy.max_backoff_ms = SENDER_MAX_BACKOFF_MS > s->policy.base_ms ? SENDER_MAX_BACKOFF_MS : s->policy.base_ms;
	id_new("obn", s->node);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	int rc = store_outbox_recover(st, now_ms());
	if (rc < 0)
		log_warn("sender: recovering the messages of the last run failed: %s (their leases will run out)",
			 maskd_strerror(rc));
	refresh_backlog(s);
	for (int i = 0; i < SENDER_WORKERS; i++)
		if (pthread_create(&s->thread[i], NULL, sender_main, s) != 0)
			fatal("sender: cannot start thread");
	return s;
}

void sender_poke(struct sender *s)
{
	pthread_mutex_lock(&s->lock);
	s->pokes = SENDER_WORKERS;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* The outbox row of *out into *it, with a malloc'd payload (*cap bytes, wiped and
 * freed by the caller). 0, or MASKD_EINVAL (not an http(s) URL, a body with a NUL,
 * a header value with a line break). */
static int outgoing_item(const struct outgoing *out, struct outbox_item *it, size_t *cap)
{
	memset(it, 0, sizeof(*it));
	int rc = outbox_destination(out->url, it->destination, sizeof(it->destination));
	if (rc < 0 || strlen(out->url) >= sizeof(it->url)) {
		log_warn("sender: interaction %s: not an http(s) URL; not sent", out->interaction_id);
		return MASKD_EINVAL;
	}
	if (memchr(out->body ? out->body : "", '\0', out->body_len) != NULL ||
	    strpbrk(out->content_type, "\r\n") != NULL || strpbrk(out->authorization, "\r\n") != NULL)
		return MASKD_EINVAL; /* the payload is text, its header lines single lines */
	id_new("obx", it->id);
	if (out->dedup_key[0] != '\0')
		snprintf(it->dedup_key, sizeof(it->dedup_key), "%s", out->dedup_key);
	else
		snprintf(it->dedup_key, sizeof(it->dedup_key), "%s", it->id);
	it->kind = out->places_call ? OUTBOX_CARRIER_CALL : OUTBOX_CARRIER_SEND;
	snprintf(it->service_id, sizeof(it->service_id), "%s", out->service_id);
	snprintf(it->order_key, sizeof(it->order_key), "%s", out->order_key);
	snprintf(it->interaction_id, sizeof(it->interaction_id), "%s", out->interaction_id);
	it->dialect = out->dialect;
	snprintf(it->url, sizeof(it->url), "%s", out->url);
	*cap = out->body_len + sizeof(out->content_type) + sizeof(out->authorization) + 64;
	char *payload = xmalloc(*cap);
	int hl = snprintf(payload, *cap, "Content-Type: %s\n%s%s%s\n", out->content_type,
			  out->authorization[0] ? "Authorization: " : "", out->authorization,
			  out->authorization[0] ? "\n" : "");
	memcpy(payload + hl, out->body ? out->body : "", out->body_len);
	payload[hl + out->body_len] = '\0';
	it->payload = payload;
	it->payload_len = (size_t)hl + out->body_len;
	int64_t now = now_ms();
	it->created_at = now;
	it->next_at = now;
	return 0;
}

/* Wipes and frees out's body and the item's payload. */
static void outgoing_done(struct outgoing *out, struct outbox_item *it, size_t cap)
{
	if (it->payload != NULL) {
		OPENSSL_cleanse(it->payload, cap);
		free(it->payload);
		it->payload = NULL;
	}
	if (out->body != NULL)
		OPENSSL_cleanse(out->body, out->body_len);
	free(out->body);
	out->body = NULL;
}

int sender_enqueue(struct sender *s, struct outgoing *out)
{
	struct outbox_item it;
	size_t cap = 0;
	out->duplicate = 0;
	int rc = outgoing_item(out, &it, &cap);
	int existed = 0;
	if (rc == 0)
		rc = store_outbox_put(s->store, &it, &existed);
	outgoing_done(out, &it, cap);
	if (rc < 0) {
		log_warn("sender: interaction %s: the outbox did not take the message: %s", out->interaction_id,
			 maskd_strerror(rc));
		return rc;
	}
	out->duplicate = existed;
	if (!existed) {
		metrics_gauge_add(MG_SENDER_BACKLOG, 1);
		sender_poke(s);
	}
	return 0;
}

int sender_tx_enqueue(struct store_tx *tx, struct outgoing *out)
{
	struct outbox_item it;
	size_t cap = 0;
	out->duplicate = 0;
	int rc = outgoing_item(out, &it, &cap);
	int existed = 0;
	if (rc == 0)
		rc = store_tx_outbox_put(tx, &it, &existed);
	outgoing_done(out, &it, cap);
	if (rc == 0)
		out->duplicate = existed;
	return rc;
}

void sender_stop(struct sender *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < SENDER_WORKERS; i++)
		pthread_join(s->thread[i], NULL);
	int64_t unsent = 0, oldest = 0;
	if (store_outbox_stats(s->store, &unsent, &oldest, NULL, NULL) == 0 && unsent > 0)
		log_info("sender: stopping; %lld messages stay in the outbox for the next start", (long long)unsent);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
