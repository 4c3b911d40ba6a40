/* SPDX-License-Identifier: MIT */
/* json.h - the JSON edge of the API (jansson): strict body parsing with a depth
 * cap, field checks that name the offending field, and the error shape
 * {"error":{"code","message"}}. Messages never contain a submitted number. */
#ifndef MASKD_API_JSON_H
#define MASKD_API_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../http/http.h"

#define JSON_DEPTH_MAX 16 /* deeper nesting: 400 */

struct api_error {
	int status;       /* 0 = no error */
	const char *code; /* static */
	char message[256];
};

void api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parses the request body as a JSON object: 415 unless Content-Type is
 * application/json, 400 invalid_json (with line and column) for bad syntax, a
 * non-object or nesting deeper than JSON_DEPTH_MAX. Returns the object (caller
 * json_decref()s) or NULL with e set. */
json_t *json_body(const struct http_request *req, struct api_error *e);

/* Digits a field name may hold and still be repeated in an error answer: fewer
 * than any phone number has, so a number sent as a key is never echoed. */
#define JSON_KEY_ECHO_DIGITS_MAX 3

/* True when key may be quoted in an error answer or a log line: a plain
 * identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes) with at most
 * JSON_KEY_ECHO_DIGITS_MAX digits. Anything else may carry a client's data. */
bool json_key_echoable(const char *key);

/* 400 unknown_field naming path.key for the first key of obj not in allowed
 * (NULL-terminated); a key json_key_echoable() refuses is not named, only path. Returns false when e was set. */
bool json_only_fields(json_t *obj, const char *path, const char *const *allowed, struct api_error *e);

/* Field readers: absent -> *present false (or 400 missing_field when required);
 * wrong type or out of range -> 400 invalid_field naming path.key. */
bool json_string_field(json_t *obj, const char *path, const char *key, bool required, size_t max_len,
		       const char **out, struct api_error *e);
bool json_int_field(json_t *obj, const char *path, const char *key, int64_t min, int64_t max, bool *present,
		    int64_t *out, struct api_error *e);

struct call_policy;
/* Reads record / time_limit / ring_timeout / consent_message of obj (path for
 * messages) into p; absent fields are left as they are. */
bool json_policy_fields(json_t *obj, const char *path, struct call_policy *p, struct api_error *e);
/* Adds the four policy fields to obj; with inherit, a -1 / "" value is null. */
void json_policy_set(json_t *obj, const struct call_policy *p, bool inherit);

/* A boolean field: absent -> *present false; not true/false -> 400. */
bool json_bool_field(json_t *obj, const char *path, const char *key, bool *present, bool *out, struct api_error *e);

struct pool_rules;
/* Reads geo_match ("country", "area-code", "region"), geo_match_strict (bool) and
 * number_selection ("prefer-sticky", "avoid-sticky") of obj into p; absent
 * fields are left as they are. An unknown level or selection: 400 naming it. */
bool json_pool_fields(json_t *obj, const char *path, struct pool_rules *p, struct api_error *e);
/* Adds the three pool fields to obj; with inherit, a -1 value is null. */
void json_pool_set(json_t *obj, const struct pool_rules *p, bool inherit);

/* Writes obj (stolen) as the response with status. */
void api_reply(struct http_response *res, int status, json_t *obj);
void api_reply_error(struct http_response *res, const struct api_error *e);

/* "2026-11-22T02:29:26Z", or JSON null for 0. */
json_t *json_time(int64_t t);

#endif
