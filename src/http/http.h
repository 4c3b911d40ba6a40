/* SPDX-License-Identifier: MIT */
/* http.h - libmicrohttpd glue: the listener, the request limits enforced at the
 * edge, and the request/response shapes handlers see. The one handler given to
 * http_start() gets a fully read, size-checked request and fills a response; it
 * never touches MHD. http/ knows no application: it calls that handler only.
 * One arena per request, freed after the response is queued. */
#ifndef MASKD_HTTP_H
#define MASKD_HTTP_H

#include <stddef.h>

#include "../util/arena.h"
#include "../util/buf.h"

#define HTTP_BODY_MAX (256 * 1024)   /* larger body: 413 */
#define HTTP_HEADERS_MAX 64          /* more header lines: 431 */
#define HTTP_HEADER_BYTES_MAX 16384  /* MHD's per-connection memory for the header block: 431 */
#define HTTP_TARGET_MAX 4096         /* request-target bytes: 414 */
#define HTTP_RESPONSE_HEADERS_MAX 8  /* extra answer headers a handler may add (http_add_header) */

struct http_header {
	const char *name;
	const char *value;
};

struct http_request {
	const char *method;
	const char *target; /* raw request-target as sent: path and query, not decoded */
	const char *path;   /* target up to '?', not decoded */
	const char *query;  /* after '?', not decoded; "" when none */
	const char *body;   /* NUL-terminated copy; body_len excludes the NUL */
	size_t body_len;
	struct http_header *headers; /* arena-owned */
	size_t n_headers;
	struct arena *arena; /* request-scoped memory for handlers */
	const char *remote;  /* the client's address ("127.0.0.1"; "" when unknown), arena */
};

struct http_response {
	int status;
	const char *content_type; /* static string */
	const char *retry_after;  /* static or arena string; NULL = none */
	struct buf body;
	/* further answer headers (http_add_header): names and values are static or
	 * request-arena strings; at most HTTP_RESPONSE_HEADERS_MAX */
	struct http_header headers[HTTP_RESPONSE_HEADERS_MAX];
	size_t n_headers;
};

/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);

/* Adds one answer header. name and value must outlive the answer (static or
 * request-arena strings) and must not contain CR or LF; more than
 * HTTP_RESPONSE_HEADERS_MAX headers is a programming error (asserted). */
void http_add_header(struct http_response *res, const char *name, const char *value);

/* Fills res with status and a plain-text body (a trailing newline is added). */
void http_text(struct http_response *res, int status, const char *text);

/* Answers one request: fills res (status preset to 500, body empty, content_type
 * NULL). Called on one of the server's threads, many at once: it must be
 * thread-safe. req and everything it points to live until the call returns, its
 * arena until the response is sent; res->body is freed by http/. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req, struct http_response *res);

struct http_options {
	const char *listen;     /* "host:port", IPv4 or "localhost" */
	unsigned threads;       /* request threads; fewer than 2 means 2 */
	http_handler_fn handler; /* every request that passes the edge checks */
	void *ctx;              /* handler's first argument; must outlive the server */
	unsigned head_timeout_s; /* a connection ready for a request (accepted, or its last response
				  * queued) that has not sent the whole head by then is closed; 0 = 10 */
	unsigned body_timeout_s; /* a body not complete this long after its head: closed; 0 = 30 */
	unsigned per_ip_max;     /* open connections per client address; 0 = no limit */
};

struct http_server;

/* Starts listening as opt says; requests that pass the edge checks go to
 * opt->handler(opt->ctx, ...). opt is copied. Raises RLIMIT_NOFILE's soft limit
 * to the hard one and caps open connections below it (http_connection_cap());
 * a connection over the cap is closed at accept, counted and logged (at most
 * once every 10 s). Returns 0 with *out set, or a
 * negative maskd_err with a message in err (a bad listen address, a port in use). */
int http_start(const struct http_options *opt, struct http_server **out, char *err, size_t err_len);
/* The connection cap of a running server (for logs and tests). */
unsigned http_connection_cap(const struct http_server *srv);
/* Stops accepting, closes every connection not inside the handler at once (idle,
 * slow or half-sent ones), lets in-flight requests finish, frees the server. */
void http_stop(struct http_server *srv);

#endif
