/* SPDX-License-Identifier: MIT */
/* fuzz_hookjson.c - libFuzzer target for the JSON webhook bodies: the Telnyx and
 * Vonage dialects' parse (hooks/telnyx.c, hooks/vonage.c), as the pipeline calls
 * them. Input layout: first byte = dialect (bit 0) and event (bits 1-3), rest =
 * body, sent as application/json POST. Properties: never crashes, never leaks;
 * a refusal is a 4xx with a reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/dialect.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct hook_dialect *d = (data[0] & 1) ? &hook_dialect_vonage : &hook_dialect_telnyx;
	enum hook_event ev = (enum hook_event)(((data[0] >> 1) & 7) % 5);
	struct arena a = ARENA_INIT;
	char *body = arena_strndup(&a, (const char *)data + 1, size - 1);
	struct http_header h[1] = {{"Content-Type", "application/json"}};
	struct http_request req = {.method = "POST", .target = "/hooks/x/y?interaction=i1", .path = "/hooks/x/y",
				   .query = "interaction=i1", .body = body, .body_len = size - 1,
				   .headers = h, .n_headers = 1, .arena = &a};
	struct hook_input in;
	memset(&in, 0, sizeof in);
	const char *why = NULL;
	int rc = d->parse(&req, ev, &in, &why);
	if (rc != 0 && (rc < 400 || rc > 499 || why == NULL))
		abort();
	arena_free(&a);
	return 0;
}
