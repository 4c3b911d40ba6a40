/* SPDX-License-Identifier: MIT */
/* app.h - the composition root's state and its request handler: what every
 * handler shares (the store, the vault, the configuration, the limiter), built
 * once by main(), read-only afterwards, freed at exit; and app_dispatch(), the
 * http_handler_fn main() gives to http_start(). */
#ifndef MASKD_APP_H
#define MASKD_APP_H

#include <stdbool.h>

#include "http/http.h"

#include "core/model.h"

struct store;
struct vault;
struct sender;
struct limiter;
struct console;

struct app {
	struct store *store;
	struct vault *vault;
	const char *public_url;         /* no trailing '/' */
	unsigned char admin_key_hash[32]; /* SHA-256 of the admin key */
	struct sender *sender;          /* carrier REST sends (Telnyx, Vonage SMS, Plivo MMS) */
	const char *api_base[DIALECT_COUNT]; /* carriers' REST base URLs (config.h) */
	const char *call_base[DIALECT_COUNT]; /* where calls are placed: api_base, but Vonage's Voice API
						(MASKD_VONAGE_VOICE_API_URL) */
	struct limiter *limiter;        /* per-binding call/text limits and per-key API limits */
	unsigned api_rate;              /* MASKD_API_RATE: /v1 requests per second per key, 0 = no limit */
	const char *sip_secret;         /* MASKD_SIP_SECRET; "" = the SIP edge answers 403 */
	const char *sip_trunk;          /* MASKD_SIP_TRUNK, host[:port] of bridged calls */
	const char *sip_announce;       /* MASKD_SIP_ANNOUNCE; "" = none */
	bool read_only;                 /* MASKD_READ_ONLY=1: started on a database that takes no writes */
	const struct console *console;  /* the admin console's files (web/console.h); NULL = none */
	unsigned reveal_rate;           /* MASKD_REVEAL_RATE: reveals per minute per key, 0 = no limit */
};

/* The http_handler_fn of maskd (ctx is a struct app *): routes one request to
 * /healthz, /readyz, /metrics, then api/ (/v1), then hooks/ (/hooks), then the
 * console (/console), else 404.
 * Thread-safe as long as app is not changed after http_start(). */
void app_dispatch(void *ctx, const struct http_request *req, struct http_response *res);

/* limiter_new() (util/limiter.h) counting with core/ratelimit.h's rate_allow():
 * the table behind app->limiter. Never NULL; free with limiter_free(). */
struct limiter *app_limiter_new(size_t max_keys);

#endif
