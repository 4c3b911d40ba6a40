/* SPDX-License-Identifier: MIT */
/* sender.c - carrier REST requests off the webhook thread; see sender.h.
 * One worker, whose out/client.c handle is reused across requests (keep-alive to
 * the carrier), a FIFO of pending requests. A transient failure (no connection, 408,
 * 429, 5xx) is retried after retry_base_ms, doubling, up to SENDER_TRIES; anything
 * else is final. The outcome lands on leg 'b' of the request's interaction. */
#include "sender.h"
#include "client.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/metrics.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDER_RESPONSE_MAX (64 * 1024) /* carrier answers beyond this are cut */
#define SENDER_TIMEOUT_S 15

struct pending {
	struct outgoing out;
	int tries;
	struct pending *next;
};

struct sender {
	struct store *store;
	unsigned retry_base_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pending *head, *tail;
	size_t queued;
	int stopping;
};

/* The carrier's id for the sent message, from the answers of Telnyx
 * ({"data":{"id"}}), Plivo ({"message_uuid":[..]}) and Vonage SMS
 * ({"messages":[{"message-id","status"}]}). *refused is set when the carrier said
 * no inside a 2xx answer (Vonage reports per-message status "0" for success). */
static void sent_id(enum dialect dialect, const char *body, char *sid, size_t cap, int *refused)
{
	sid[0] = '\0';
	*refused = 0;
	json_t *j = json_loads(body, 0, NULL);
	if (j == NULL)
		return;
	const char *id = json_string_value(json_object_get(json_object_get(j, "data"), "id"));
	if (id == NULL)
		id = json_string_value(json_array_get(json_object_get(j, "message_uuid"), 0));
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

/* One attempt. Returns 1 done (ok), 0 final failure, -1 retry. */
static int attempt(struct pending *p, char *sid, size_t sid_cap)
{
	struct outgoing *o = &p->out;
	char ct[96], auth[sizeof(o->authorization) + 32];
	snprintf(ct, sizeof(ct), "Content-Type: %s", o->content_type);
	snprintf(auth, sizeof(auth), "Authorization: %s", o->authorization);
	struct client_request rq = {
		.url = o->url,
		.body = o->body,
		.body_len = o->body_len,
		.timeout_ms = SENDER_TIMEOUT_S * 1000L,
		.body_cap = SENDER_RESPONSE_MAX,
	};
	int n = 0;
	rq.headers[n++] = ct;
	if (o->authorization[0] != '\0')
		rq.headers[n++] = auth;
	rq.headers[n++] = "Accept: application/json";
	rq.headers[n++] = "Expect:";
	struct client_response resp;
	int rc = client_post(&rq, &resp);
	long code = resp.status;
	int result;
	if (rc < 0) {
		log_warn("sender: interaction %s (%s): try %d: %s", o->interaction_id, dialect_name(o->dialect),
			 p->tries, resp.error ? resp.error : maskd_strerror(rc));
		result = -1;
	} else if (code >= 200 && code < 300) {
		int refused = 0;
		sent_id(o->dialect, resp.body, sid, sid_cap, &refused);
		result = refused ? 0 : 1;
		if (refused)
			log_warn("sender: interaction %s (%s): the carrier refused the message", o->interaction_id,
				 dialect_name(o->dialect));
	} else {
		result = code == 408 || code == 429 || code >= 500 ? -1 : 0;
		log_warn("sender: interaction %s (%s): try %d: HTTP %ld", o->interaction_id, dialect_name(o->dialect),
			 p->tries, code);
	}
	free(resp.body);
	return result;
}

static void record(struct sender *s, const struct pending *p, const char *sid, const char *status)
{
	if (p->out.interaction_id[0] == '\0')
		return; /* a reply to a sender (opt-out notice, HELP, ended): no interaction leg */
	struct leg_update u = {.status = status, .duration = -1};
	int rc = store_leg_update(s->store, p->out.interaction_id, 'b', sid[0] ? sid : "rest", &u, now_unix());
	if (rc < 0)
		log_error("sender: interaction %s: recording the %s leg failed: %s", p->out.interaction_id, status,
			  maskd_strerror(rc));
}

static void pending_free(struct pending *p)
{
	free(p->out.body);
	free(p);
}

/* Sleeps ms unless the sender is stopping; called with the lock held. */
static void backoff(struct sender *s, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
		;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->head == NULL)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->stopping)
			break;
		struct pending *p = s->head;
		s->head = p->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->queued--;
		pthread_mutex_unlock(&s->lock);

		char sid[72] = "";
		int result = -1;
		for (p->tries = 1; p->tries <= SENDER_TRIES; p->tries++) {
			result = attempt(p, sid, sizeof(sid));
			if (result >= 0 || p->tries == SENDER_TRIES)
				break;
			pthread_mutex_lock(&s->lock);
			backoff(s, s->retry_base_ms << (p->tries - 1));
			int stop = s->stopping;
			pthread_mutex_unlock(&s->lock);
			if (stop)
				break;
		}
		record(s, p, sid, result == 1 ? "sent" : "failed");
		if (result != 1)
			metrics_inc(MC_SENDER_FAILED);
		metrics_gauge_add(MG_SENDER_BACKLOG, -1); /* queued until here: in flight counts */
		log_info("sender: interaction %s (%s): %s after %d tries", p->out.interaction_id,
			 dialect_name(p->out.dialect), result == 1 ? "sent" : "failed", p->tries > SENDER_TRIES ? SENDER_TRIES : p->tries);
		pending_free(p);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct sender *sender_start(struct store *st, unsigned retry_base_ms)
{
	struct sender *s = xcalloc(1, sizeof(*s));
	s->store = st;
	s->retry_base_ms = retry_base_ms ? retry_base_ms : 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (pthread_create(&s->thread, NULL, sender_main, s) != 0)
		fatal("sender: cannot start thread");
	return s;
}

int sender_enqueue(struct sender *s, struct outgoing *out)
{
	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->queued >= SENDER_QUEUE_MAX) {
		pthread_mutex_unlock(&s->lock);
		log_warn("sender: queue full; interaction %s not sent", out->interaction_id);
		free(out->body);
		out->body = NULL;
		return MASKD_ETOOBIG;
	}
	struct pending *p = xcalloc(1, sizeof(*p));
	p->out = *out;
	out->body = NULL; /* owned by the queue now */
	if (s->tail != NULL)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->queued++;
	metrics_gauge_add(MG_SENDER_BACKLOG, 1);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void sender_stop(struct sender *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	for (struct pending *p = s->head; p != NULL;) {
		struct pending *next = p->next;
		log_warn("sender: stopping; interaction %s not sent", p->out.interaction_id);
		metrics_gauge_add(MG_SENDER_BACKLOG, -1);
		pending_free(p);
		p = next;
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
