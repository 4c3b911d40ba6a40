/* SPDX-License-Identifier: MIT */
/* http.c - libmicrohttpd glue: internal polling thread with epoll and a thread pool
 * (never a single thread: it stalls under many connections), the edge checks no
 * HTTP library makes on its own (one Content-Length, no Content-Length together
 * with Transfer-Encoding, only "chunked" as a transfer coding, header names and
 * values of legal characters, one Host, header count, target and body caps), the
 * connection guard (a cap from RLIMIT_NOFILE, deadlines for a request's head and
 * body enforced by a reaper thread, prompt close of a client that half-closed and
 * at stop), and the hand-off of a
 * complete request to the handler given to http_start(). */
#include "http.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include "../util/metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_IO_TIMEOUT_S 30     /* MHD's own inactivity timeout (a stalled reader of a response) */
#define HTTP_DRAIN_MAX (8 * 1024 * 1024) /* declared bodies up to this are read, then refused */
#define HTTP_FD_RESERVE 256      /* descriptors kept for the database, logs, outgoing HTTP */
#define HTTP_REAP_INTERVAL_MS 250 /* how often deadlines are checked */
#define HTTP_CAP_LOG_INTERVAL_MS 10000

/* One open connection, from MHD's STARTED notification to its CLOSED one (which
 * MHD sends before it closes the descriptor, so fd is valid while listed). */
struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	int64_t deadline_ms; /* monotonic; 0 while the handler runs (no deadline) */
	int peer_done;       /* the client's EOF was found and MHD woken for it */
};

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler_fn handler;
	void *ctx;
	int64_t head_ms, body_ms;
	unsigned cap;
	atomic_int open;
	atomic_llong last_cap_log_ms;
	pthread_mutex_t lock; /* guards conns and stopping */
	pthread_cond_t wake;
	struct conn_track conns; /* list sentinel */
	int stopping;
	pthread_t reaper;
	int reaper_started;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per-request state, created when MHD has the request line (URI log callback). */
struct req_ctx {
	struct arena arena;
	char *target;
	struct buf body;
	int started;
	int refused; /* a response was already queued on the first call */
	int too_big; /* body over HTTP_BODY_MAX: drained, then 413 */
};

/* This connection's tracking entry (NULL when MHD gave none). */
static struct conn_track *conn_track_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void conn_set_deadline(struct http_server *srv, struct MHD_Connection *con, int64_t deadline_ms)
{
	struct conn_track *t = conn_track_of(con);
	if (t == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	t->deadline_ms = deadline_ms;
	pthread_mutex_unlock(&srv->lock);
}

const char *http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

void http_text(struct http_response *res, int status, const char *text)
{
	res->status = status;
	res->content_type = "text/plain; charset=utf-8";
	buf_reset(&res->body);
	buf_puts(&res->body, text);
	buf_puts(&res->body, "\n");
}

void http_add_header(struct http_response *res, const char *name, const char *value)
{
	assert(res != NULL && name != NULL && value != NULL);
	assert(res->n_headers < HTTP_RESPONSE_HEADERS_MAX);
	assert(strpbrk(value, "\r\n") == NULL);
	res->headers[res->n_headers].name = name;
	res->headers[res->n_headers].value = value;
	res->n_headers++;
}

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->target = xstrdup(uri != NULL ? uri : "");
	buf_init(&ctx->body);
	return ctx;
}

/* A client that sent its FIN together with (or just behind) its last bytes:
 * libmicrohttpd 0.9.75 (edge-triggered epoll) stops reading after a short read, so it
 * never reads the EOF that is already queued and keeps the connection until the head
 * deadline. When the kernel holds nothing for the connection but that EOF, shut down
 * our reading side: the socket's state change wakes epoll again, MHD reads the EOF,
 * still answers what it has buffered (pipelined requests), and closes (a request cut
 * short can never complete: closed without an answer). Data still queued (bytes MHD
 * has not read yet) or no EOF: nothing to do. Called with srv->lock held, which keeps
 * the fd open (see conn_track). */
static void wake_if_peer_done_locked(struct conn_track *t)
{
	if (t->fd < 0 || t->peer_done)
		return;
	char c;
	if (recv(t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
		t->peer_done = 1;
		metrics_inc(MC_HTTP_HALF_CLOSED);
		shutdown(t->fd, SHUT_RD);
	}
}

/* Right after an answer: the common case, a keep-alive client done with its requests. */
static void close_if_peer_done(struct http_server *srv, struct MHD_Connection *con)
{
	struct conn_track *t = conn_track_of(con);
	if (t == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	wake_if_peer_done_locked(t);
	pthread_mutex_unlock(&srv->lock);
}

static void request_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	conn_set_deadline(srv, con, mono_ms() + srv->head_ms); /* the next request's head */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		close_if_peer_done(srv, con);
	struct req_ctx *ctx = *con_cls;
	if (ctx == NULL)
		return;
	arena_free(&ctx->arena);
	buf_free(&ctx->body);
	free(ctx->target);
	free(ctx);
	*con_cls = NULL;
}

static enum MHD_Result queue(struct MHD_Connection *con, struct http_response *res)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(res->body.len, res->body.data ? res->body.data : (void *)"",
						MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (res->content_type != NULL && res->status != 204)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	if (res->retry_after != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, res->retry_after);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	for (size_t i = 0; i < res->n_headers && i < HTTP_RESPONSE_HEADERS_MAX; i++)
		MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
	enum MHD_Result ret = MHD_queue_response(con, (unsigned)res->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The body of an edge refusal: JSON {"error":{...}} under /v1 (the API's error
 * shape), plain text elsewhere (carriers only read the status). res->body must be
 * initialised. */
static void refusal_fill(struct http_response *res, const char *target, int status, const char *text)
{
	if (strncmp(target, "/v1/", 4) == 0) {
		const char *code = status == 413 ? "payload_too_large"
				   : status == 414 ? "uri_too_long"
				   : status == 431 ? "headers_too_large"
						   : "bad_request";
		res->status = status;
		res->content_type = "application/json";
		buf_reset(&res->body);
		buf_printf(&res->body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code, text);
	} else {
		http_text(res, status, text);
	}
}

/* Answers an edge refusal (refusal_fill). */
static enum MHD_Result queue_refusal(struct MHD_Connection *con, const char *target, int status, const char *text)
{
	struct http_response res = {0};
	buf_init(&res.body);
	refusal_fill(&res, target, status, text);
	enum MHD_Result ret = queue(con, &res);
	buf_free(&res.body);
	return ret;
}

/* What the edge knows of a request before its body: the numbers it checks. */
struct edge_head {
	size_t n_headers;           /* header lines */
	size_t target_len;          /* request-target bytes */
	int content_lengths;        /* Content-Length lines */
	int transfer_encodings;     /* Transfer-Encoding lines */
	const char *content_length; /* the (first) Content-Length value; NULL when none */
	int bad_name;               /* a header name with a character outside RFC 9110 tchar */
	int bad_value;              /* a header value with a NUL or another control character */
	int hosts;                  /* Host lines */
	int http11;                 /* HTTP/1.1 (Host required) */
	int http10;                 /* HTTP/1.0 (no Transfer-Encoding allowed) */
	int chunked;                /* "chunked" codings in all Transfer-Encoding lines */
	int other_codings;          /* any other coding there */
	int final_chunked;          /* the last coding of the last line is "chunked" */
	int hidden_bytes;           /* bytes in the head that no header shows (edge_head_gaps) */
};

/* The edge's verdict on a request head: 0 when the body may be read, else the
 * HTTP status to answer at once (431 too many header lines, 414 a long target,
 * 400 two Content-Lengths or one with Transfer-Encoding, 413 a declared body over
 * HTTP_DRAIN_MAX) with *why its text. *too_big is set (and 0 returned) for a
 * declared body over HTTP_BODY_MAX that is read and dropped before the 413.
 * Pure: the order of the checks is the order of the answers. */
static int edge_head_status(const struct edge_head *h, int *too_big, const char **why)
{
	*too_big = 0;
	*why = NULL;
	if (h->n_headers > HTTP_HEADERS_MAX) {
		*why = "too many header lines";
		return 431;
	}
	if (h->target_len > HTTP_TARGET_MAX) {
		*why = "request target too long";
		return 414;
	}
	if (h->bad_name) {
		*why = "malformed header name";
		return 400;
	}
	if (h->bad_value || h->hidden_bytes) {
		*why = h->bad_value ? "control character in a header value" : "NUL or empty name in a header line";
		return 400;
	}
	if (h->hosts > 1 || (h->http11 && h->hosts == 0)) {
		*why = h->hosts > 1 ? "more than one Host header" : "HTTP/1.1 request without a Host header";
		return 400;
	}
	if (h->transfer_encodings > 0 && h->http10) {
		*why = "Transfer-Encoding in an HTTP/1.0 request";
		return 400;
	}
	if (h->transfer_encodings > 0 && (!h->final_chunked || h->chunked != 1)) {
		*why = "Transfer-Encoding must end with chunked, once";
		return 400;
	}
	if (h->transfer_encodings > 0 && h->other_codings) {
		*why = "transfer coding not implemented (only chunked)";
		return 501;
	}
	if (h->content_lengths > 1) {
		*why = "more than one Content-Length header";
		return 400;
	}
	if (h->content_lengths == 1 && h->transfer_encodings > 0) {
		*why = "Content-Length together with Transfer-Encoding";
		return 400;
	}
	if (h->content_length != NULL &&
	    (h->content_length[0] == '\0' || h->content_length[strspn(h->content_length, "0123456789")] != '\0')) {
		*why = "malformed Content-Length";
		return 400;
	}
	unsigned long long len = h->content_length != NULL ? strtoull(h->content_length, NULL, 10) : 0;
	if (len > HTTP_DRAIN_MAX) {
		*why = "request body too large";
		return 413;
	}
	if (len > HTTP_BODY_MAX)
		*too_big = 1;
	return 0;
}

/* Whether `more` body bytes fit after `have`: the body cap, 1 or 0. */
static int edge_body_fits(size_t have, size_t more)
{
	return have <= HTTP_BODY_MAX && more <= HTTP_BODY_MAX - have;
}

struct header_scan {
	struct arena *arena;
	struct http_header *headers;
	size_t n;
	int content_length;
	int transfer_encoding;
	int bad_name, bad_value, hosts, chunked, other_codings, final_chunked;
};

/* RFC 9110 5.6.2 token characters. */
static int edge_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether a header name is a non-empty token: "Content-Length " (a space before
 * the colon) is not, and must not pass as an unknown header. */
static int edge_name_ok(const char *key, size_t key_size)
{
	if (key_size == 0)
		return 0;
	for (size_t i = 0; i < key_size; i++)
		if (!edge_tchar((unsigned char)key[i]))
			return 0;
	return 1;
}

/* Whether a header value holds only visible characters, SP, HTAB and obs-text:
 * a NUL would cut it short for every reader downstream. */
static int edge_value_ok(const char *value, size_t value_size)
{
	for (size_t i = 0; i < value_size; i++) {
		unsigned char c = (unsigned char)value[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Counts the codings of one Transfer-Encoding value (a comma list) into hs. */
static void edge_scan_codings(struct header_scan *hs, const char *v)
{
	while (*v != '\0') {
		v += strspn(v, " \t,");
		if (*v == '\0')
			break;
		size_t n = strcspn(v, ",");
		size_t len = n;
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		int is_chunked = len == 7 && strncasecmp(v, "chunked", 7) == 0;
		if (is_chunked)
			hs->chunked++;
		else
			hs->other_codings++;
		hs->final_chunked = is_chunked;
		v += n;
	}
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				      const char *value, size_t value_size)
{
	struct header_scan *hs = cls;
	if (!edge_name_ok(key, key_size))
		hs->bad_name = 1;
	if (value != NULL && (strlen(value) != value_size || !edge_value_ok(value, value_size)))
		hs->bad_value = 1;
	if (strcasecmp(key, "Host") == 0)
		hs->hosts++;
	if (strcasecmp(key, "Content-Length") == 0)
		hs->content_length++;
	if (strcasecmp(key, "Transfer-Encoding") == 0) {
		hs->transfer_encoding++;
		hs->final_chunked = 0;
		edge_scan_codings(hs, value != NULL ? value : "");
	}
	if (hs->headers != NULL && hs->n < HTTP_HEADERS_MAX) {
		hs->headers[hs->n].name = key;
		hs->headers[hs->n].value = value != NULL ? value : "";
	}
	hs->n++;
	return MHD_YES;
}

/* First call for a request: refuse what the edge rules forbid before reading a body.
 * Returns 1 when a response was queued. A body declared too large but under
 * HTTP_DRAIN_MAX is read and dropped first, so that clients which write their whole
 * body before reading (node's fetch, many SDKs) see the 413 rather than EPIPE. */
/* One header as MHD parsed it, in the order received. */
struct head_span {
	const char *key, *value;
	size_t key_size, value_size;
};

struct span_scan {
	struct head_span spans[HTTP_HEADERS_MAX + 1];
	size_t n;
};

static enum MHD_Result collect_span(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				    const char *value, size_t value_size)
{
	struct span_scan *ss = cls;
	if (ss->n < HTTP_HEADERS_MAX + 1)
		ss->spans[ss->n++] = (struct head_span){key, value != NULL ? value : key + key_size, key_size,
							value != NULL ? value_size : 0};
	return MHD_YES;
}

/* Whether bytes between [from, to) are only what a parser drops: the NULs it
 * writes over separators and line ends, CR, LF, SP and HTAB. */
static int edge_gap_clean(const char *from, const char *to)
{
	for (const char *p = from; p < to; p++)
		if (*p != '\0' && *p != '\r' && *p != '\n' && *p != ' ' && *p != '\t')
			return 0;
	return 1;
}

/* Whether the raw head [block, block + size) holds bytes no header shows. MHD
 * parses the head in place and ends a string at the first NUL, so
 * "Bearer key\0junk" would read as "Bearer key", and a line ": v" (an empty
 * name) ends its header block early; both leave visible bytes between one
 * parsed string and the next. The first n spans are in the order received.
 * Spans outside the block (none in MHD 0.9.75) are not judged. */
static int edge_head_gaps(const char *block, size_t size, const struct head_span *spans, size_t n)
{
	const char *end = block + size;
	for (size_t i = 0; i < n; i++) {
		const struct head_span *h = &spans[i];
		const char *next = i + 1 < n ? spans[i + 1].key : end;
		if (h->key < block || h->value < h->key || h->value + h->value_size > end || next < h->value ||
		    next > end)
			return 0;
		if (!edge_gap_clean(h->key + h->key_size, h->value) ||
		    !edge_gap_clean(h->value + h->value_size, next))
			return 1;
	}
	return 0;
}

static int edge_check(struct MHD_Connection *con, struct req_ctx *ctx, const char *method, const char *version)
{
	struct span_scan ss = {.n = 0};
	MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_span, &ss);
	const union MHD_ConnectionInfo *hi = MHD_get_connection_info(con, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	int hidden = hi != NULL && method != NULL && ss.n <= HTTP_HEADERS_MAX &&
		     edge_head_gaps(method, hi->header_size, ss.spans, ss.n);

	struct header_scan hs = {0};
	MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_header, &hs);
	struct edge_head head = {
		.n_headers = hs.n,
		.target_len = strlen(ctx->target),
		.content_lengths = hs.content_length,
		.transfer_encodings = hs.transfer_encoding,
		.content_length = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
		.bad_name = hs.bad_name,
		.bad_value = hs.bad_value,
		.hosts = hs.hosts,
		.http11 = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0,
		.http10 = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) == 0,
		.chunked = hs.chunked,
		.other_codings = hs.other_codings,
		.final_chunked = hs.final_chunked,
		.hidden_bytes = hidden,
	};
	const char *why = NULL;
	int status = edge_head_status(&head, &ctx->too_big, &why);
	if (status == 0)
		return 0;
	metrics_inc(MC_HTTP_EDGE_REFUSED);
	queue_refusal(con, ctx->target, status, why);
	return 1;
}

/* ------------------------------------------------------- connection guard */

static void notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn_track *t = xcalloc(1, sizeof(*t));
		t->fd = ci != NULL ? ci->connect_fd : -1;
		pthread_mutex_lock(&srv->lock);
		t->deadline_ms = mono_ms() + srv->head_ms;
		t->next = srv->conns.next;
		t->prev = &srv->conns;
		srv->conns.next->prev = t;
		srv->conns.next = t;
		pthread_mutex_unlock(&srv->lock);
		*socket_context = t;
		atomic_fetch_add(&srv->open, 1);
		metrics_gauge_add(MG_HTTP_CONNECTIONS_OPEN, 1);
		metrics_inc(MC_HTTP_CONNECTIONS_ACCEPTED);
		return;
	}
	struct conn_track *t = *socket_context;
	if (t == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	t->prev->next = t->next;
	t->next->prev = t->prev;
	pthread_mutex_unlock(&srv->lock);
	free(t);
	*socket_context = NULL;
	atomic_fetch_sub(&srv->open, 1);
	metrics_gauge_add(MG_HTTP_CONNECTIONS_OPEN, -1);
}

/* Accept policy: the connection cap. MHD's own limit is set a little higher so
 * that this count, the one the metric and the log line report, decides. */
/* The peer's address as text (arena), "" when MHD cannot tell. */
static const char *client_address(struct MHD_Connection *con, struct arena *a)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return "";
	char text[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = ci->client_addr;
	const void *src = NULL;
	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (src == NULL || inet_ntop(sa->sa_family, src, text, sizeof(text)) == NULL)
		return "";
	return arena_strndup(a, text, strlen(text));
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *srv = cls;
	if ((unsigned)atomic_load(&srv->open) < srv->cap)
		return MHD_YES;
	metrics_inc(MC_HTTP_CONNECTIONS_REFUSED);
	int64_t now = mono_ms();
	long long last = atomic_load(&srv->last_cap_log_ms);
	if ((now - last >= HTTP_CAP_LOG_INTERVAL_MS || last == 0) &&
	    atomic_compare_exchange_strong(&srv->last_cap_log_ms, &last, (long long)now))
		log_warn("http: connection cap of %u reached; refusing new connections (see "
			 "maskd_http_connections_refused_total)",
			 srv->cap);
	return MHD_NO;
}

/* Closes (shutdown, so MHD sees EOF and cleans up on its own thread) every listed
 * connection whose deadline passed, or every one outside the handler when
 * `all`. Called with srv->lock held, which keeps each fd open (see conn_track). */
static void reap_locked(struct http_server *srv, int64_t now, int all)
{
	for (struct conn_track *t = srv->conns.next; t != &srv->conns; t = t->next) {
		if (t->fd < 0 || t->deadline_ms == 0 || (!all && t->deadline_ms > now))
			continue;
		if (!all)
			metrics_inc(MC_HTTP_DEADLINE_CLOSED);
		shutdown(t->fd, SHUT_RDWR);
		t->deadline_ms = INT64_MAX; /* once is enough */
	}
}

/* Every connection waiting for the client (not in the handler, not closed already)
 * whose client is done sending: woken so that MHD reads the EOF. A backstop for the
 * after-answer case above: in the shapes tested (a head or a body cut short, then the
 * FIN) MHD reads the EOF itself, since it keeps reading while a request is incomplete.
 * The fuzz target calls it to have the server close first. Called with srv->lock held. */
static void wake_half_closed_locked(struct http_server *srv)
{
	for (struct conn_track *t = srv->conns.next; t != &srv->conns; t = t->next)
		if (t->deadline_ms != 0 && t->deadline_ms != INT64_MAX)
			wake_if_peer_done_locked(t);
}

static void *reaper_main(void *arg)
{
	struct http_server *srv = arg;
	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HTTP_REAP_INTERVAL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->wake, &srv->lock, &ts);
		if (!srv->stopping) {
			reap_locked(srv, mono_ms(), 0);
			wake_half_closed_locked(srv);
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* The connection cap for a descriptor limit: what is left after the reserve,
 * at least 64. */
static unsigned conn_cap_for(rlim_t nofile)
{
	if (nofile == RLIM_INFINITY || nofile > 1000000)
		nofile = 1000000;
	return nofile > HTTP_FD_RESERVE + 64 ? (unsigned)(nofile - HTTP_FD_RESERVE) : 64;
}

/* Raises the soft RLIMIT_NOFILE to the hard one; returns the limit in force. */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	return rl.rlim_cur;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				      const char *version, const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct http_server *srv = cls;
	struct req_ctx *ctx = *con_cls;
	if (ctx == NULL)
		return MHD_NO; /* the URI logger always sets it */
	if (!ctx->started) {
		ctx->started = 1;
		if (edge_check(con, ctx, method, version)) {
			ctx->refused = 1;
			return MHD_YES;
		}
		conn_set_deadline(srv, con, mono_ms() + srv->body_ms);
		return MHD_YES;
	}
	if (ctx->refused) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!ctx->too_big && edge_body_fits(ctx->body.len, *upload_data_size))
			buf_append(&ctx->body, upload_data, *upload_data_size);
		else
			ctx->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	conn_set_deadline(srv, con, 0); /* the handler's time is not the client's */
	if (ctx->too_big)
		return queue_refusal(con, ctx->target, 413, "request body too large");

	struct header_scan hs = {.arena = &ctx->arena};
	hs.headers = arena_alloc(&ctx->arena, HTTP_HEADERS_MAX * sizeof(struct http_header));
	MHD_get_connection_values_n(con, MHD_HEADER_KIND, collect_header, &hs);
	char *q = strchr(ctx->target, '?');
	struct http_request req = {
		.method = method,
		.target = ctx->target,
		.path = q ? arena_strndup(&ctx->arena, ctx->target, (size_t)(q - ctx->target)) : ctx->target,
		.query = q ? q + 1 : "",
		.body = ctx->body.data ? ctx->body.data : "",
		.body_len = ctx->body.len,
		.headers = hs.headers,
		.n_headers = hs.n < HTTP_HEADERS_MAX ? hs.n : HTTP_HEADERS_MAX,
		.arena = &ctx->arena,
		.remote = client_address(con, &ctx->arena),
	};
	struct http_response res = {.status = 500};
	buf_init(&res.body);
	srv->handler(srv->ctx, &req, &res);
	enum MHD_Result ret = queue(con, &res);
	buf_free(&res.body);
	return ret;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t err_len)
{
	const char *colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen) {
		snprintf(err, err_len, "MASKD_LISTEN: expected host:port, got \"%s\"", listen);
		return MASKD_EINVAL;
	}
	char host[64];
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen < 63 ? colon - listen : 63), listen);
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, err_len, "MASKD_LISTEN: expected an IPv4 address and a port such as 127.0.0.1:8080, got \"%s\"",
			 listen);
		return MASKD_EINVAL;
	}
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

int http_start(const struct http_options *opt, struct http_server **out, char *err, size_t err_len)
{
	assert(opt != NULL && opt->listen != NULL && opt->handler != NULL && out != NULL);
	const char *listen = opt->listen;
	unsigned threads = opt->threads;
	struct sockaddr_in sa;
	int rc = parse_listen(listen, &sa, err, err_len);
	if (rc < 0)
		return rc;
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	srv->handler = opt->handler;
	srv->ctx = opt->ctx;
	srv->head_ms = (int64_t)(opt->head_timeout_s ? opt->head_timeout_s : 10) * 1000;
	srv->body_ms = (int64_t)(opt->body_timeout_s ? opt->body_timeout_s : 30) * 1000;
	srv->cap = conn_cap_for(raise_nofile());
	srv->conns.next = srv->conns.prev = &srv->conns;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->wake, NULL);
	unsigned pool = threads < 2 ? 2 : threads;
	/* Strictness stays MHD's default (0): at 1, 0.9.75 answers a missing Host with
	 * its header block written twice; edge_check() refuses that case itself. */
	srv->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, accept_policy, srv, access_handler, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, pool,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_HEADER_BYTES_MAX * 2, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)HTTP_IO_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, srv->cap + 2 * pool,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, opt->per_ip_max, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
		MHD_OPTION_END);
	if (srv->mhd == NULL) {
		snprintf(err, err_len, "MASKD_LISTEN: cannot listen on %s (address in use or not permitted)", listen);
		pthread_mutex_destroy(&srv->lock);
		pthread_cond_destroy(&srv->wake);
		free(srv);
		return MASKD_EINVAL;
	}
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) == 0)
		srv->reaper_started = 1;
	else
		log_warn("http: cannot start the deadline thread; only MHD's %d s inactivity timeout applies",
			 HTTP_IO_TIMEOUT_S);
	*out = srv;
	return 0;
}

unsigned http_connection_cap(const struct http_server *srv)
{
	return srv->cap;
}

void http_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	/* (MHD_quiesce_daemon() is a no-op without MHD_USE_ITC; MHD_stop_daemon()
	 * closes the listener itself a moment later.) */
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	reap_locked(srv, 0, 1); /* idle and half-sent connections go now, not at their timeout */
	pthread_cond_signal(&srv->wake);
	pthread_mutex_unlock(&srv->lock);
	if (srv->reaper_started)
		pthread_join(srv->reaper, NULL);
	MHD_stop_daemon(srv->mhd);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->wake);
	free(srv);
}
