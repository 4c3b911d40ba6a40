/* SPDX-License-Identifier: MIT */
/* app.h - what every handler shares: the store, the vault, the configuration, the
 * metrics. Built once by main(), read-only afterwards, freed at exit. */
#ifndef MASKD_APP_H
#define MASKD_APP_H

#include "http/http.h"

#include "core/model.h"

struct store;
struct vault;
struct sender;
struct limiter;

struct app {
	struct store *store;
	struct vault *vault;
	const char *public_url;         /* no trailing '/' */
	unsigned char admin_key_hash[32]; /* SHA-256 of the admin key */
	struct sender *sender;          /* carrier REST sends (Telnyx, Vonage SMS, Plivo MMS) */
	const char *api_base[DIALECT_COUNT]; /* carriers' REST base URLs (config.h) */
	struct limiter *limiter;        /* per-binding call/text limits and per-key API limits */
	unsigned api_rate;              /* MASKD_API_RATE: /v1 requests per second per key, 0 = no limit */
};

/* Routes one request to hooks/ or api/ (or /healthz, /readyz, /metrics). */
void app_dispatch(struct app *app, const struct http_request *req, struct http_response *res);

#endif
