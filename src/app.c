/* SPDX-License-Identifier: MIT */
/* app.c - the top of the routing table (health, readiness, metrics, /v1, /hooks),
 * the handler main() gives to http/, and the limiter wired to core's rate rule. */
#include "app.h"
#include "api/api.h"
#include "core/ratelimit.h"
#include "hooks/hooks.h"
#include "hooks/sip.h"
#include "flow/stats.h"
#include "util/limiter.h"
#include "store/store.h"
#include "web/console.h"

#include <assert.h>
#include <string.h>

void app_dispatch(void *ctx, const struct http_request *req, struct http_response *res)
{
	assert(ctx != NULL && req != NULL && res != NULL);
	struct app *app = ctx;
	if (strcmp(req->path, "/healthz") == 0) {
		http_text(res, 200, "ok");
		return;
	}
	if (strcmp(req->path, "/readyz") == 0) {
		/* ready = the database answers and takes writes (the last write, or the
		 * sweeper's probe, succeeded); a read-only start is never ready */
		if (store_ping(app->store) != 0)
			http_text(res, 503, "database unavailable");
		else if (app->read_only)
			http_text(res, 503, "read-only");
		else if (store_write_health(app->store) != 0)
			http_text(res, 503, "database takes no writes (the last write failed)");
		else
			http_text(res, 200, "ready");
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		res->status = 200;
		res->content_type = "text/plain; version=0.0.4";
		stats_render(&res->body);
		return;
	}
	if (api_handle(app, req, res))
		return;
	if (hooks_handle(app, req, res))
		return;
	if (console_handle(app->console, req, res))
		return;
	if (sip_handle(app, req, res))
		return;
	http_text(res, 404, "not found");
}

_Static_assert(sizeof(struct rate_window) <= LIMITER_STATE_BYTES, "a rate window fits a limiter state");
_Static_assert(_Alignof(struct rate_window) <= 8, "a limiter state is 8-byte aligned");

/* rate_allow() on a limiter slot's state. */
static int app_rate_rule(void *state, int64_t now_ms, int64_t window_ms, uint32_t limit, int64_t *retry_after_ms)
{
	return rate_allow(state, now_ms, window_ms, limit, retry_after_ms);
}

struct limiter *app_limiter_new(size_t max_keys)
{
	return limiter_new(max_keys, app_rate_rule);
}
