/* SPDX-License-Identifier: MIT */
/* client.h - the one HTTP client of maskd (libcurl), for everything it sends: the
 * carrier REST requests (out/sender.c) and the unknown-caller callback to the app
 * (out/callback.c). Bounded by a total and a connect timeout and a response-body
 * cap chosen by the caller; one easy handle per thread, reused, so a thread keeps
 * its connections alive. Logs nothing: URLs and bodies may carry real numbers. */
#ifndef MASKD_CLIENT_H
#define MASKD_CLIENT_H

#include <stddef.h>

#define CLIENT_HEADERS_MAX 8 /* request headers per request */

struct client_request {
	const char *url;      /* absolute http:// or https:// URL; other schemes refused by libcurl */
	const char *headers[CLIENT_HEADERS_MAX]; /* "Name: value" lines; NULL-terminated or full */
	const char *body;     /* POSTed; NULL = empty */
	size_t body_len;
	long timeout_ms;      /* the whole exchange */
	long connect_timeout_ms; /* 0 = libcurl's default */
	size_t body_cap;      /* the most response bytes kept (> 0) */
	int cap_is_error;     /* 1: a longer answer aborts the exchange (out->overflow); 0: it is cut */
};

struct client_response {
	long status;    /* HTTP status; 0 when none arrived */
	char *body;     /* malloc'd, NUL-terminated, at most body_cap bytes; caller frees */
	size_t len;
	int overflow;   /* the answer was longer than body_cap */
	int timed_out;  /* with MASKD_ENOTFOUND: the timeout elapsed */
	int unsent;     /* with MASKD_ENOTFOUND: no connection was made (name lookup or connect
			   failed), so the peer never saw the request */
	const char *error; /* with MASKD_ENOTFOUND: libcurl's static description */
};

/* POSTs rq on the calling thread's handle (made on first use, freed at thread
 * exit). Returns 0 when an HTTP answer arrived (any status: the caller judges it),
 * MASKD_ETOOBIG when cap_is_error and the answer overflowed, MASKD_ENOTFOUND on a
 * transport failure (no connection, timeout, TLS). out->body is always set (possibly
 * "") and owned by the caller. Thread-safe. */
int client_post(const struct client_request *rq, struct client_response *out);

#endif
