/* SPDX-License-Identifier: MIT */
/* http.c - libmicrohttpd glue: internal polling thread with epoll and a thread pool
 * (never a single thread: it stalls under many connections), the edge checks no
 * HTTP library makes on its own (one Content-Length, no Content-Length together
 * with Transfer-Encoding, header count, target and body caps), and the hand-off
 * of a complete request to the handler given to http_start(). */
#include "http.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HTTP_CONNECTION_TIMEOUT_S 30
#define HTTP_DRAIN_MAX (8 * 1024 * 1024) /* declared bodies up to this are read, then refused */

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler_fn handler;
	void *ctx;
};

/* Per-request state, created when MHD has the request line (URI log callback). */
struct req_ctx {
	struct arena arena;
	char *target;
	struct buf body;
	int started;
	int refused; /* a response was already queued on the first call */
	int too_big; /* body over HTTP_BODY_MAX: drained, then 413 */
};

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

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->target = xstrdup(uri != NULL ? uri : "");
	buf_init(&ctx->body);
	return ctx;
}

static void request_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
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
	if (h->content_lengths > 1) {
		*why = "more than one Content-Length header";
		return 400;
	}
	if (h->content_lengths == 1 && h->transfer_encodings > 0) {
		*why = "Content-Length together with Transfer-Encoding";
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
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_scan *hs = cls;
	if (strcasecmp(key, "Content-Length") == 0)
		hs->content_length++;
	if (strcasecmp(key, "Transfer-Encoding") == 0)
		hs->transfer_encoding++;
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
static int edge_check(struct MHD_Connection *con, struct req_ctx *ctx)
{
	struct header_scan hs = {0};
	MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, &hs);
	struct edge_head head = {
		.n_headers = hs.n,
		.target_len = strlen(ctx->target),
		.content_lengths = hs.content_length,
		.transfer_encodings = hs.transfer_encoding,
		.content_length = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
	};
	const char *why = NULL;
	int status = edge_head_status(&head, &ctx->too_big, &why);
	if (status == 0)
		return 0;
	queue_refusal(con, ctx->target, status, why);
	return 1;
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
		if (edge_check(con, ctx)) {
			ctx->refused = 1;
			return MHD_YES;
		}
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
	if (ctx->too_big)
		return queue_refusal(con, ctx->target, 413, "request body too large");

	struct header_scan hs = {.arena = &ctx->arena};
	hs.headers = arena_alloc(&ctx->arena, HTTP_HEADERS_MAX * sizeof(struct http_header));
	MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, &hs);
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
	srv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, access_handler,
				    srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
				    (unsigned)(threads < 2 ? 2 : threads), MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
				    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, srv, MHD_OPTION_NOTIFY_COMPLETED,
				    request_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				    (size_t)HTTP_HEADER_BYTES_MAX * 2, MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned)HTTP_CONNECTION_TIMEOUT_S, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
				    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		snprintf(err, err_len, "MASKD_LISTEN: cannot listen on %s (address in use or not permitted)", listen);
		free(srv);
		return MASKD_EINVAL;
	}
	*out = srv;
	return 0;
}

void http_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
