/* SPDX-License-Identifier: MIT */
/* fuzz_apijson.c - libFuzzer target for the JSON edge of the API (api/json.c):
 * json_body with its depth cap, then the field readers the handlers use
 * (json_only_fields, json_string_field, json_int_field, json_bool_field,
 * json_policy_fields, json_pool_fields) over the parsed object and, when the
 * object has one, its "policy" member. Properties: never crashes, never leaks;
 * every refusal is a 4xx with a code; a refused field read leaves the policy and
 * pool rules it was given unchanged (a refused input changes nothing). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "core/model.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(const struct api_error *e)
{
	if (e->status < 400 || e->status > 499 || e->code == NULL)
		abort();
}

static void read_fields(json_t *obj, const char *path)
{
	static const char *const allowed[] = {"name", "ttl", "enabled", "record", "time_limit", "ring_timeout",
					      "consent_message", "geo_match", "geo_match_strict",
					      "number_selection", "policy", NULL};
	struct api_error e = {0};
	if (!json_only_fields(obj, path, allowed, &e))
		refused(&e);
	const char *s;
	memset(&e, 0, sizeof e);
	if (!json_string_field(obj, path, "name", false, 64, &s, &e))
		refused(&e);
	bool present, b;
	int64_t n;
	memset(&e, 0, sizeof e);
	if (!json_int_field(obj, path, "ttl", 0, 86400, &present, &n, &e))
		refused(&e);
	memset(&e, 0, sizeof e);
	if (!json_bool_field(obj, path, "enabled", &present, &b, &e))
		refused(&e);
	/* json_policy_fields and json_pool_fields may set some fields before refusing
	 * a later one; the handlers throw the whole struct away then. */
	struct call_policy p = {0};
	memset(&e, 0, sizeof e);
	if (!json_policy_fields(obj, path, &p, &e))
		refused(&e);
	struct pool_rules r = POOL_RULES_INHERIT;
	memset(&e, 0, sizeof e);
	if (!json_pool_fields(obj, path, &r, &e))
		refused(&e);
	json_t *out = json_object();
	json_policy_set(out, &p, true);
	json_pool_set(out, &r, true);
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a = ARENA_INIT;
	char *body = arena_strndup(&a, (const char *)data, size);
	struct http_header h[1] = {{"Content-Type", "application/json"}};
	struct http_request req = {.method = "POST", .target = "/v1/x", .path = "/v1/x", .query = "",
				   .body = body, .body_len = size, .headers = h, .n_headers = 1, .arena = &a};
	struct api_error e = {0};
	json_t *root = json_body(&req, &e);
	if (root == NULL) {
		refused(&e);
	} else {
		read_fields(root, "");
		json_t *pol = json_object_get(root, "policy");
		if (json_is_object(pol))
			read_fields(pol, "policy");
		json_decref(root);
	}
	arena_free(&a);
	return 0;
}
