/* SPDX-License-Identifier: MIT */
/* test_http_limits.c - the request limits of http/http.c. Without a socket (the
 * .c is #included to reach its statics, h2o's way): the head verdict (header
 * count 431, target 414, a second Content-Length 400, Content-Length with
 * Transfer-Encoding 400, declared bodies: read then 413, or 413 at once), the body
 * cap, and the refusal bodies (JSON under /v1, text elsewhere). Over a socket on
 * 127.0.0.1 with an ephemeral port, only for what MHD itself enforces or what
 * needs the wiring: the header-bytes cap (431), and each verdict reaching the
 * client with the handler never called, while requests within every cap reach it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/http/http.c"

#include <errno.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <unistd.h>

/* ------------------------------------------------------------ the verdicts */

static int verdict(size_t n_headers, size_t target_len, int cls, int tes, const char *cl, int *too_big)
{
	struct edge_head h = {.n_headers = n_headers, .target_len = target_len, .content_lengths = cls,
			      .transfer_encodings = tes, .content_length = cl, .hosts = 1, .http11 = 1,
			      .chunked = tes, .final_chunked = tes > 0};
	const char *why = "unset";
	int status = edge_head_status(&h, too_big, &why);
	if (status == 0)
		assert_null(why);
	else
		assert_non_null(why);
	return status;
}

static void test_header_count(void **state)
{
	int big = -1;
	assert_int_equal(verdict(HTTP_HEADERS_MAX, 10, 0, 0, NULL, &big), 0);
	assert_int_equal(big, 0);
	assert_int_equal(verdict(HTTP_HEADERS_MAX + 1, 10, 0, 0, NULL, &big), 431);
	assert_int_equal(verdict(1000, 10, 2, 1, "5", &big), 431); /* checked first */
}

static void test_target_length(void **state)
{
	int big;
	assert_int_equal(verdict(3, HTTP_TARGET_MAX, 0, 0, NULL, &big), 0);
	assert_int_equal(verdict(3, HTTP_TARGET_MAX + 1, 0, 0, NULL, &big), 414);
}

static void test_content_length_rules(void **state)
{
	int big;
	assert_int_equal(verdict(3, 10, 1, 0, "12", &big), 0);
	assert_int_equal(verdict(3, 10, 2, 0, "12", &big), 400);      /* a second Content-Length */
	assert_int_equal(verdict(3, 10, 3, 1, "12", &big), 400);
	assert_int_equal(verdict(3, 10, 1, 1, "12", &big), 400);      /* with Transfer-Encoding */
	assert_int_equal(verdict(3, 10, 0, 1, NULL, &big), 0);        /* chunked alone is fine */
	assert_int_equal(verdict(3, 10, 0, 2, NULL, &big), 400);      /* chunked twice */
	assert_int_equal(verdict(3, 10, 1, 0, "-1", &big), 400);
	assert_int_equal(verdict(3, 10, 1, 0, "12, 13", &big), 400);
	assert_int_equal(verdict(3, 10, 1, 0, "", &big), 400);
}

/* The verdict of a head that is otherwise fine, after `edit` changed it. */
static int head_verdict(void (*edit)(struct edge_head *))
{
	struct edge_head h = {.n_headers = 3, .target_len = 10, .hosts = 1, .http11 = 1};
	edit(&h);
	int big;
	const char *why = NULL;
	return edge_head_status(&h, &big, &why);
}

static void e_none(struct edge_head *h) { (void)h; }
static void e_bad_name(struct edge_head *h) { h->bad_name = 1; }
static void e_bad_value(struct edge_head *h) { h->bad_value = 1; }
static void e_hidden(struct edge_head *h) { h->hidden_bytes = 1; }
static void e_no_host(struct edge_head *h) { h->hosts = 0; }
static void e_two_hosts(struct edge_head *h) { h->hosts = 2; }
static void e_http10_no_host(struct edge_head *h) { h->hosts = 0; h->http11 = 0; h->http10 = 1; }
static void e_te_http10(struct edge_head *h)
{
	h->http11 = 0; h->http10 = 1; h->transfer_encodings = 1; h->chunked = 1; h->final_chunked = 1;
}
static void e_gzip_chunked(struct edge_head *h)
{
	h->transfer_encodings = 1; h->chunked = 1; h->other_codings = 1; h->final_chunked = 1;
}
static void e_gzip(struct edge_head *h) { h->transfer_encodings = 1; h->other_codings = 1; }
static void e_chunked_gzip(struct edge_head *h)
{
	h->transfer_encodings = 1; h->chunked = 1; h->other_codings = 1; h->final_chunked = 0;
}

static void test_head_syntax(void **state)
{
	assert_int_equal(head_verdict(e_none), 0);
	assert_int_equal(head_verdict(e_bad_name), 400);
	assert_int_equal(head_verdict(e_bad_value), 400);
	assert_int_equal(head_verdict(e_hidden), 400);
	assert_int_equal(head_verdict(e_no_host), 400);
	assert_int_equal(head_verdict(e_two_hosts), 400);
	assert_int_equal(head_verdict(e_http10_no_host), 0);
	assert_int_equal(head_verdict(e_te_http10), 400);
	assert_int_equal(head_verdict(e_gzip_chunked), 501);
	assert_int_equal(head_verdict(e_gzip), 400);
	assert_int_equal(head_verdict(e_chunked_gzip), 400);
}

static void test_names_values_codings(void **state)
{
	assert_true(edge_name_ok("Content-Length", 14));
	assert_false(edge_name_ok("Content-Length ", 15));
	assert_false(edge_name_ok("", 0));
	assert_false(edge_name_ok("A\"B", 3));
	assert_true(edge_value_ok("Bearer abc\t\x80", 12));
	assert_false(edge_value_ok("a\rb", 3));
	assert_false(edge_value_ok("a\x7f", 2));
	struct header_scan hs = {0};
	edge_scan_codings(&hs, "gzip, Chunked ");
	assert_int_equal(hs.chunked, 1);
	assert_int_equal(hs.other_codings, 1);
	assert_int_equal(hs.final_chunked, 1);
	edge_scan_codings(&hs, "chunked,gzip");
	assert_int_equal(hs.final_chunked, 0);
}

static void test_head_gaps(void **state)
{
	/* A head as MHD leaves it after parsing in place: NULs over the colon and
	 * the line ends. */
	char clean[] = "GET\0/\0HTTP/1.1\0\nHost\0 x\0\nAuthorization\0 Bearer k\0\n\0\n";
	const char *host = clean + 16;
	struct head_span ok[2] = {{host, host + 6, 4, 1}, {host + 9, host + 9 + 15, 13, 8}};
	assert_int_equal(edge_head_gaps(clean, sizeof(clean) - 1, ok, 2), 0);
	char nul[] = "GET\0/\0HTTP/1.1\0\nHost\0 x\0\nAuthorization\0 Bearer k\0junk\0\n\0\n";
	const char *h2 = nul + 16;
	struct head_span bad[2] = {{h2, h2 + 6, 4, 1}, {h2 + 9, h2 + 9 + 15, 13, 8}};
	assert_int_equal(edge_head_gaps(nul, sizeof(nul) - 1, bad, 2), 1);
}

static void test_declared_body(void **state)
{
	int big = -1;
	char v[32];
	snprintf(v, sizeof(v), "%d", HTTP_BODY_MAX);
	assert_int_equal(verdict(3, 10, 1, 0, v, &big), 0);
	assert_int_equal(big, 0);
	snprintf(v, sizeof(v), "%d", HTTP_BODY_MAX + 1);
	assert_int_equal(verdict(3, 10, 1, 0, v, &big), 0); /* read and dropped, then 413 */
	assert_int_equal(big, 1);
	snprintf(v, sizeof(v), "%d", HTTP_DRAIN_MAX);
	assert_int_equal(verdict(3, 10, 1, 0, v, &big), 0);
	assert_int_equal(big, 1);
	snprintf(v, sizeof(v), "%d", HTTP_DRAIN_MAX + 1);
	assert_int_equal(verdict(3, 10, 1, 0, v, &big), 413); /* refused before reading */
	assert_int_equal(verdict(3, 10, 1, 0, "99999999999999999999999", &big), 413);
}

static void test_body_cap(void **state)
{
	assert_true(edge_body_fits(0, 0));
	assert_true(edge_body_fits(0, HTTP_BODY_MAX));
	assert_true(edge_body_fits(HTTP_BODY_MAX - 1, 1));
	assert_true(edge_body_fits(HTTP_BODY_MAX, 0));
	assert_false(edge_body_fits(HTTP_BODY_MAX, 1));
	assert_false(edge_body_fits(0, HTTP_BODY_MAX + 1));
	assert_false(edge_body_fits(1, SIZE_MAX)); /* no wrap-around */
}

static void test_refusal_bodies(void **state)
{
	struct http_response res = {0};
	buf_init(&res.body);
	refusal_fill(&res, "/v1/sessions", 413, "request body too large");
	assert_int_equal(res.status, 413);
	assert_string_equal(res.content_type, "application/json");
	assert_string_equal(res.body.data,
			    "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"request body too large\"}}\n");
	refusal_fill(&res, "/v1/x", 431, "too many header lines");
	assert_non_null(strstr(res.body.data, "\"headers_too_large\""));
	refusal_fill(&res, "/v1/x", 414, "t");
	assert_non_null(strstr(res.body.data, "\"uri_too_long\""));
	refusal_fill(&res, "/v1/x", 400, "t");
	assert_non_null(strstr(res.body.data, "\"bad_request\""));
	refusal_fill(&res, "/hooks/twilio/voice", 400, "more than one Content-Length header");
	assert_int_equal(res.status, 400);
	assert_string_equal(res.content_type, "text/plain; charset=utf-8");
	assert_string_equal(res.body.data, "more than one Content-Length header\n");
	buf_free(&res.body);
}

/* ------------------------------------------------------- over a socket */

struct server {
	struct http_server *srv;
	uint16_t port;
	atomic_int calls;
};

/* Answers 200 "<method> <path>?<query> <body bytes>". */
static void echo(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct server *s = ctx;
	atomic_fetch_add(&s->calls, 1);
	res->status = 200;
	res->content_type = "text/plain";
	buf_printf(&res->body, "%s %s?%s %zu", req->method, req->path, req->query, req->body_len);
}

static int server_up(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	char err[256];
	struct http_options opt = {.listen = "127.0.0.1:0", .threads = 2, .handler = echo, .ctx = s};
	if (http_start(&opt, &s->srv, err, sizeof(err)) != 0) {
		print_error("http_start: %s\n", err);
		free(s);
		return -1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : 0;
	if (s->port == 0) {
		http_stop(s->srv);
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int server_down(void **state)
{
	struct server *s = *state;
	http_stop(s->srv);
	free(s);
	return 0;
}

/* Sends req (len bytes) on a fresh connection and returns the status of the
 * answer, its body (after the blank line) copied into body when not NULL. */
static int roundtrip(struct server *s, const char *req, size_t len, char *body, size_t body_cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer and close before reading it all */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	static char in[65536];
	size_t have = 0;
	for (;;) {
		ssize_t n = recv(fd, in + have, sizeof(in) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	in[have] = '\0';
	int status = -1;
	if (strncmp(in, "HTTP/1.1 ", 9) == 0 || strncmp(in, "HTTP/1.0 ", 9) == 0)
		status = (int)strtol(in + 9, NULL, 10);
	if (body != NULL) {
		const char *b = strstr(in, "\r\n\r\n");
		snprintf(body, body_cap, "%s", b != NULL ? b + 4 : "");
	}
	return status;
}

static int send_text(struct server *s, const char *req, char *body, size_t body_cap)
{
	return roundtrip(s, req, strlen(req), body, body_cap);
}

static void test_wire_within_caps(void **state)
{
	struct server *s = *state;
	char body[256];
	int before = atomic_load(&s->calls);
	assert_int_equal(send_text(s, "GET /x/y?a=1&b=%20 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", body,
				   sizeof(body)),
			 200);
	assert_string_equal(body, "GET /x/y?a=1&b=%20 0");
	/* exactly HTTP_HEADERS_MAX header lines, a header block near its byte cap */
	struct buf r;
	buf_init(&r);
	buf_puts(&r, "POST /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 5\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX - 3; i++)
		buf_printf(&r, "X-H%d: %0200d\r\n", i, i);
	buf_puts(&r, "\r\nhello");
	assert_true(r.len < HTTP_HEADER_BYTES_MAX);
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 200);
	assert_string_equal(body, "POST /p? 5");
	/* a body of exactly HTTP_BODY_MAX bytes, chunked */
	buf_reset(&r);
	buf_puts(&r, "POST /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < HTTP_BODY_MAX / 4096; i++) {
		buf_puts(&r, "1000\r\n");
		for (int j = 0; j < 4096 / 64; j++)
			buf_puts(&r, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		buf_puts(&r, "\r\n");
	}
	buf_puts(&r, "0\r\n\r\n");
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 200);
	snprintf(r.data, r.cap, "POST /big? %d", HTTP_BODY_MAX);
	assert_string_equal(body, r.data);
	buf_free(&r);
	assert_int_equal(atomic_load(&s->calls), before + 3);
}

static void test_wire_refusals(void **state)
{
	struct server *s = *state;
	char body[256];
	int before = atomic_load(&s->calls);
	assert_int_equal(send_text(s,
				   "POST /v1/sessions HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
				   "Connection: close\r\n\r\n{}",
				   body, sizeof(body)),
			 400);
	assert_string_equal(body, "{\"error\":{\"code\":\"bad_request\",\"message\":\"more than one Content-Length "
				  "header\"}}\n");
	assert_int_equal(send_text(s,
				   "POST /hooks/twilio/voice HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
				   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
				   body, sizeof(body)),
			 400);
	assert_string_equal(body, "Content-Length together with Transfer-Encoding\n");

	struct buf r;
	buf_init(&r);
	buf_puts(&r, "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		buf_printf(&r, "X-H%d: v\r\n", i);
	buf_puts(&r, "\r\n");
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 431);
	assert_string_equal(body, "too many header lines\n");

	/* the header-bytes cap is MHD's connection memory: MHD answers it itself */
	buf_reset(&r);
	buf_printf(&r, "GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: ");
	for (int i = 0; i < 2 * HTTP_HEADER_BYTES_MAX; i++)
		buf_puts(&r, "a");
	buf_puts(&r, "\r\nConnection: close\r\n\r\n");
	assert_int_equal(roundtrip(s, r.data, r.len, NULL, 0), 431);

	buf_reset(&r);
	buf_puts(&r, "GET /");
	for (int i = 0; i < HTTP_TARGET_MAX; i++)
		buf_puts(&r, "t");
	buf_puts(&r, " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 414);

	/* declared over the cap: read, dropped, 413 */
	buf_reset(&r);
	buf_printf(&r, "POST /v1/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		   HTTP_BODY_MAX + 1);
	for (int i = 0; i <= HTTP_BODY_MAX; i++)
		buf_append(&r, "b", 1);
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 413);
	assert_non_null(strstr(body, "\"payload_too_large\""));
	/* chunked over the cap: 413 */
	buf_reset(&r);
	buf_puts(&r, "POST /big HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i <= HTTP_BODY_MAX / 4096; i++) {
		buf_puts(&r, "1000\r\n");
		for (int j = 0; j < 4096; j++)
			buf_append(&r, "c", 1);
		buf_puts(&r, "\r\n");
	}
	buf_puts(&r, "0\r\n\r\n");
	assert_int_equal(roundtrip(s, r.data, r.len, body, sizeof(body)), 413);
	buf_free(&r);
	assert_int_equal(atomic_load(&s->calls), before); /* the handler saw none of them */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_count),
		cmocka_unit_test(test_target_length),
		cmocka_unit_test(test_content_length_rules),
		cmocka_unit_test(test_head_syntax),
		cmocka_unit_test(test_names_values_codings),
		cmocka_unit_test(test_head_gaps),
		cmocka_unit_test(test_declared_body),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_refusal_bodies),
		cmocka_unit_test_setup_teardown(test_wire_within_caps, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_wire_refusals, server_up, server_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
