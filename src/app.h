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

struct app {
	struct store *store;
	struct vault *vault;
	const char *public_url;         /* no trailing '/' */
	unsigned char admin_key_hash[32]; /* SHA-256 of the admin key */
	struct sender *sender;          /* carrier REST sends (Telnyx, Vonage SMS, Plivo MMS) */
	const char *api_base[DIALECT_COUNT]; /* carriers' REST base URLs (config.h) */
};

/* Routes one request to hooks/ or api/ (or /healthz, /readyz, /metrics). */
void app_dispatch(struct app *app, const struct http_request *req, struct http_response *res);

#endif
