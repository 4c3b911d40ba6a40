/* SPDX-License-Identifier: MIT */
/* test_client.c - out/client.c against a scripted HTTP server on 127.0.0.1: the
 * status and body come back, headers and body are sent, a longer answer is cut at
 * the cap or refused (cap_is_error), nothing listening is a transport failure, and
 * a timeout says so. */
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

#include "out/client.h"
#include "util/err.h"

struct script {
	int listen_fd;
	int port;
	const char *answer; /* a full HTTP response; NULL = read, then say nothing for a while */
	char request[4096];
};

static void *serve(void *arg)
{
	struct script *sc = arg;
	int fd = accept(sc->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(sc->request) - 1 && (n = read(fd, sc->request + got, sizeof(sc->request) - 1 - got)) > 0) {
		got += (size_t)n;
		sc->request[got] = '\0';
		const char *end = strstr(sc->request, "\r\n\r\n");
		const char *cl = strcasestr(sc->request, "Content-Length:");
		if (end && cl && got >= (size_t)(end + 4 - sc->request) + strtoul(cl + 15, NULL, 10))
			break;
	}
	if (sc->answer != NULL) {
		ssize_t w = write(fd, sc->answer, strlen(sc->answer));
		(void)w;
	} else {
		usleep(400 * 1000);
	}
	close(fd);
	return NULL;
}

static void post(struct script *sc, struct client_request *rq, struct client_response *res, int *rc)
{
	sc->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(sc->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	getsockname(sc->listen_fd, (struct sockaddr *)&sa, &len);
	sc->port = ntohs(sa.sin_port);
	assert_int_equal(listen(sc->listen_fd, 4), 0);
	pthread_t t;
	pthread_create(&t, NULL, serve, sc);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", sc->port);
	rq->url = url;
	*rc = client_post(rq, res);
	pthread_join(t, NULL);
	close(sc->listen_fd);
}

#define ANSWER_10 "HTTP/1.1 201 Created\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"

static void status_and_body(void **state)
{
	struct script sc = {.answer = ANSWER_10};
	struct client_request rq = {.headers = {"X-Test: yes"}, .body = "hello", .body_len = 5, .timeout_ms = 5000,
				    .body_cap = 64};
	struct client_response res;
	int rc;
	post(&sc, &rq, &res, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.status, 201);
	assert_string_equal(res.body, "0123456789");
	assert_int_equal(res.len, 10);
	assert_false(res.overflow);
	assert_non_null(strstr(sc.request, "POST /x HTTP/1.1"));
	assert_non_null(strstr(sc.request, "X-Test: yes"));
	assert_non_null(strstr(sc.request, "\r\n\r\nhello"));
	free(res.body);
}

static void cap_cuts_or_refuses(void **state)
{
	struct script sc = {.answer = ANSWER_10};
	struct client_request rq = {.timeout_ms = 5000, .body_cap = 4};
	struct client_response res;
	int rc;
	post(&sc, &rq, &res, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(res.body, "0123"); /* cut */
	assert_true(res.overflow);
	free(res.body);
	rq.cap_is_error = 1;
	post(&sc, &rq, &res, &rc);
	assert_int_equal(rc, MASKD_ETOOBIG);
	assert_true(res.overflow);
	free(res.body);
}

static void transport_failures(void **state)
{
	struct client_request rq = {.url = "http://127.0.0.1:1/x", .timeout_ms = 1000, .body_cap = 16};
	struct client_response res;
	assert_int_equal(client_post(&rq, &res), MASKD_ENOTFOUND);
	assert_non_null(res.error);
	assert_false(res.timed_out);
	free(res.body);
	struct script sc = {.answer = NULL}; /* says nothing: the timeout elapses */
	struct client_request slow = {.timeout_ms = 100, .body_cap = 16};
	int rc;
	post(&sc, &slow, &res, &rc);
	assert_int_equal(rc, MASKD_ENOTFOUND);
	assert_true(res.timed_out);
	free(res.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_and_body),
		cmocka_unit_test(cap_cuts_or_refuses),
		cmocka_unit_test(transport_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
