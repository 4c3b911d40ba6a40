/* SPDX-License-Identifier: MIT */
/* test_sender.c - sender.c against a scripted HTTP server on 127.0.0.1: a transient
 * failure (503) is retried and the success recorded on leg 'b' with the carrier's
 * message id; a 400 is final and recorded failed; a Vonage-style refusal inside a
 * 200 is failed; the request carries the body, content type and Authorization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "out/sender.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/ids.h"
#include "util/metrics.h"
#include "util/timeutil.h"
#include "vault/vault.h"
#include "vectors.h"


struct script {
	int listen_fd;
	int port;
	const char *answers[4]; /* full HTTP responses, one per connection */
	int n_answers;
	char last_request[4096];
	int served;
};

static void *serve(void *arg)
{
	struct script *sc = arg;
	for (int i = 0; i < sc->n_answers; i++) {
		int fd = accept(sc->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(sc->last_request) - 1 &&
		       (n = read(fd, sc->last_request + got, sizeof(sc->last_request) - 1 - got)) > 0) {
			got += (size_t)n;
			sc->last_request[got] = '\0';
			const char *hdr_end = strstr(sc->last_request, "\r\n\r\n");
			const char *cl = strcasestr(sc->last_request, "Content-Length:");
			if (hdr_end && cl && got >= (size_t)(hdr_end + 4 - sc->last_request) + strtoul(cl + 15, NULL, 10))
				break;
		}
		ssize_t w = write(fd, sc->answers[i], strlen(sc->answers[i]));
		(void)w;
		close(fd);
		sc->served++;
	}
	return NULL;
}

static void script_start(struct script *sc, pthread_t *t)
{
	sc->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(sc->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	getsockname(sc->listen_fd, (struct sockaddr *)&sa, &len);
	sc->port = ntohs(sa.sin_port);
	assert_int_equal(listen(sc->listen_fd, 8), 0);
	pthread_create(t, NULL, serve, sc);
}

struct fx {
	char dir[64];
	struct vault *vault;
	struct store *st;
	struct interaction it;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/maskd-test-sender-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/k", f->dir);
	assert_int_equal(vault_load(path, &f->vault, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/db", f->dir);
	assert_int_equal(store_open(path, f->vault, &f->st, err, sizeof(err)), 0);
	/* a service, a number, a session and an interaction for the leg to land on */
	struct service svc = {.mode = MODE_VOICE_AND_MESSAGE, .created_at = 1};
	id_new("svc", svc.id);
	snprintf(svc.name, sizeof(svc.name), "s");
	assert_int_equal(store_service_insert(f->st, &svc), 0);
	struct number n = {.caps = CAP_ALL, .created_at = 1};
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", svc.id);
	snprintf(n.e164, sizeof(n.e164), "+14155550100");
	assert_int_equal(store_number_insert(f->st, &n), 0);
	struct session s = {.mode = MODE_VOICE_AND_MESSAGE, .n_participants = 2};
	id_new("ses", s.id);
	snprintf(s.service_id, sizeof(s.service_id), "%s", svc.id);
	for (int i = 0; i < 2; i++) {
		id_new("par", s.participants[i].id);
		snprintf(s.participants[i].number, sizeof(s.participants[i].number), i ? "+12124567890" : "+14152371234");
	}
	int failed;
	assert_int_equal(vectors_session_create(f->st, &s, 100, &failed), 0);
	id_new("int", f->it.id);
	snprintf(f->it.session_id, sizeof(f->it.session_id), "%s", s.id);
	snprintf(f->it.service_id, sizeof(f->it.service_id), "%s", svc.id);
	snprintf(f->it.carrier_sid, sizeof(f->it.carrier_sid), "msg-in-1");
	snprintf(f->it.from_participant, sizeof(f->it.from_participant), "%s", s.participants[0].id);
	snprintf(f->it.to_participant, sizeof(f->it.to_participant), "%s", s.participants[1].id);
	f->it.channel = CHANNEL_MESSAGE;
	f->it.decision = DECISION_FORWARD_MESSAGE;
	f->it.created_at = 101;
	int existed;
	assert_int_equal(store_interaction_record(f->st, &f->it, &existed), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->st);
	vault_free(f->vault);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void send_with(struct fx *f, struct script *sc, int dialect, sender_leg_fn write)
{
	pthread_t t;
	script_start(sc, &t);
	struct sender *s = sender_start_legs(f->st, NULL, 5, write);
	struct outgoing o;
	memset(&o, 0, sizeof(o));
	snprintf(o.interaction_id, sizeof(o.interaction_id), "%s", f->it.id);
	o.dialect = dialect;
	snprintf(o.url, sizeof(o.url), "http://127.0.0.1:%d/v2/messages", sc->port);
	snprintf(o.content_type, sizeof(o.content_type), "application/json");
	snprintf(o.authorization, sizeof(o.authorization), "Bearer KEY123");
	o.body = strdup("{\"text\":\"hi\"}");
	o.body_len = strlen(o.body);
	assert_int_equal(sender_enqueue(s, &o), 0);
	assert_null(o.body); /* ownership moved */
	pthread_join(t, NULL); /* the script serves exactly n_answers connections */
	/* the outcome is recorded right after the last answer: poll the leg (bounded) */
	struct interaction back;
	for (int i = 0; i < 500; i++) {
		assert_int_equal(store_interaction_get(f->st, f->it.id, &back), 0);
		if (back.n_legs == 2)
			break;
		usleep(10000);
	}
	sender_stop(s);
	close(sc->listen_fd);
}

static void send_one(struct fx *f, struct script *sc, int dialect)
{
	send_with(f, sc, dialect, NULL);
}

/* The leg writer handed to sender_start_legs: records what it was given, then
 * writes the leg as the store does. */
static struct {
	int calls;
	char leg;
	char status[32];
	char sid[32];
} seen;

static int seen_write(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		      const struct leg_update *u, int64_t now)
{
	seen.calls++;
	seen.leg = leg;
	snprintf(seen.status, sizeof(seen.status), "%s", u->status);
	snprintf(seen.sid, sizeof(seen.sid), "%s", carrier_sid);
	return store_leg_update(st, interaction_id, leg, carrier_sid, u, now);
}

static void leg_writer_gets_the_outcome(void **state)
{
	struct fx *f = *state;
	struct script sc = {.n_answers = 1,
			    .answers = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n"
					"Connection: close\r\n\r\n{\"data\":{\"id\":\"m-43\"}}  "}};
	memset(&seen, 0, sizeof(seen));
	send_with(f, &sc, DIALECT_TELNYX, seen_write);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.leg, 'b');
	assert_string_equal(seen.status, "sent");
	assert_string_equal(seen.sid, "m-43");
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, f->it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[1].status, "sent");
}

static void retried_then_sent(void **state)
{
	struct fx *f = *state;
	struct script sc = {.n_answers = 2,
			    .answers = {"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n"
					"Connection: close\r\n\r\n{\"data\":{\"id\":\"m-42\"}}  "}};
	uint64_t failed_before = metrics_counter_value(MC_SENDER_FAILED);
	send_one(f, &sc, DIALECT_TELNYX);
	assert_int_equal(sc.served, 2);
	assert_int_equal(metrics_gauge_value(MG_SENDER_BACKLOG), 0); /* sent: off the backlog */
	assert_int_equal(metrics_counter_value(MC_SENDER_FAILED), failed_before);
	assert_non_null(strstr(sc.last_request, "POST /v2/messages HTTP/1.1"));
	assert_non_null(strstr(sc.last_request, "Authorization: Bearer KEY123"));
	assert_non_null(strstr(sc.last_request, "Content-Type: application/json"));
	assert_non_null(strstr(sc.last_request, "{\"text\":\"hi\"}"));
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, f->it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[1].status, "sent");
	assert_string_equal(back.legs[1].carrier_sid, "m-42");
}

static void client_error_is_final(void **state)
{
	struct fx *f = *state;
	struct script sc = {.n_answers = 1,
			    .answers = {"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"}};
	uint64_t failed_before = metrics_counter_value(MC_SENDER_FAILED);
	send_one(f, &sc, DIALECT_TELNYX);
	assert_int_equal(sc.served, 1);
	assert_int_equal(metrics_gauge_value(MG_SENDER_BACKLOG), 0);
	assert_int_equal(metrics_counter_value(MC_SENDER_FAILED), failed_before + 1);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, f->it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[1].status, "failed");
}

static void refusal_inside_200(void **state)
{
	struct fx *f = *state;
	struct script sc = {.n_answers = 1,
			    .answers = {"HTTP/1.1 200 OK\r\nContent-Length: 54\r\nConnection: close\r\n\r\n"
					"{\"messages\":[{\"message-id\":\"v-1\",\"status\":\"4\"}]}      "}};
	send_one(f, &sc, DIALECT_VONAGE);
	assert_int_equal(sc.served, 1); /* a refusal is final, not retried */
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, f->it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[1].status, "failed");
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(retried_then_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(client_error_is_final, setup, teardown),
		cmocka_unit_test_setup_teardown(refusal_inside_200, setup, teardown),
		cmocka_unit_test_setup_teardown(leg_writer_gets_the_outcome, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
