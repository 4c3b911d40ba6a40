/* SPDX-License-Identifier: MIT */
/* proxy_v1.h - the Twilio Proxy v1 wire-compatible API: /v1/Services/... with
 * HTTP Basic auth (Twilio account SID + maskd key), form-encoded requests and
 * Twilio's JSON answers, lists and errors, all mapped onto the native flows (a
 * Service here is a maskd service). The credentials behind Basic auth are set
 * with the native PUT /v1/account (api_account_put, api_internal.h). */
#ifndef MASKD_PROXY_V1_H
#define MASKD_PROXY_V1_H

#include "../app.h"
#include "../http/http.h"

/* Answers req when its path is /v1/Services or below (case-sensitive: the
 * native /v1/services is not one) and returns 1; returns 0 (res untouched)
 * for any other path. Thread-safe as app is. */
int proxy_v1_handle(struct app *app, const struct http_request *req, struct http_response *res);

#endif
