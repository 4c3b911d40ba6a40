/* SPDX-License-Identifier: MIT */
/* api.h - the native JSON API under /v1 (DESIGN §5): bearer authentication with the
 * admin key, routing, and the handlers for services, numbers, sessions and
 * interactions. Real numbers appear masked in every answer. */
#ifndef MASKD_API_H
#define MASKD_API_H

#include "../http/http.h"

struct app;

/* Handles /v1/...; returns 0 when path is not under /v1. */
int api_handle(struct app *app, const struct http_request *req, struct http_response *res);

#endif
