/* SPDX-License-Identifier: MIT */
/* json.c - API JSON helpers; see json.h. */
#include "json.h"
#include "../core/model.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_error_set(struct api_error *e, int status, const char *code, const char *fmt, ...)
{
	assert(e != NULL && code != NULL && fmt != NULL && status >= 400 && status <= 599);
	e->status = status;
	e->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* A fixed description of a jansson parse error. jansson's own text quotes the
 * input near the error ("near '\"+1415...'"), and the input may be a real number,
 * so an answer carries this, the line and the column, never that text. */
static const char *json_error_description(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "unexpected end of input";
	case json_error_end_of_input_expected:
		return "text after the JSON value";
	case json_error_null_character:
		return "NUL character in a string";
	case json_error_null_byte_in_key:
		return "NUL character in an object key";
	case json_error_duplicate_key:
		return "duplicate object key";
	case json_error_numeric_overflow:
		return "number out of range";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_out_of_memory:
		return "out of memory";
	case json_error_invalid_syntax:
	case json_error_invalid_format:
	case json_error_unknown:
	case json_error_cannot_open_file:
	case json_error_invalid_argument:
	case json_error_wrong_type:
	case json_error_null_value:
	case json_error_item_not_found:
	case json_error_index_out_of_range:
		break;
	}
	return "invalid syntax (for example an unquoted or unterminated string, a control character "
	       "in a string, a missing comma or colon)";
}

bool json_key_echoable(const char *key)
{
	assert(key != NULL);
	size_t n = 0, digits = 0;
	for (const char *c = key; *c != '\0'; c++, n++) {
		bool letter = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
		bool digit = *c >= '0' && *c <= '9';
		if (!letter && !(digit && n > 0))
			return false;
		digits += digit;
	}
	return n > 0 && n <= 64 && digits <= JSON_KEY_ECHO_DIGITS_MAX;
}

/* Maximum nesting of arrays/objects, skipping strings; stops counting past cap. */
static int json_depth(const char *s, size_t n, int cap)
{
	int depth = 0, max = 0, in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
			if (max > cap)
				return max;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return max;
}

json_t *json_body(const struct http_request *req, struct api_error *e)
{
	assert(req != NULL && e != NULL);
	const char *ct = http_header(req, "Content-Type");
	size_t ctlen = strlen("application/json");
	if (ct == NULL || strncasecmp(ct, "application/json", ctlen) != 0 || (ct[ctlen] != '\0' && ct[ctlen] != ';')) {
		api_error_set(e, 415, "unsupported_media_type", "Content-Type must be application/json");
		return NULL;
	}
	if (json_depth(req->body, req->body_len, JSON_DEPTH_MAX) > JSON_DEPTH_MAX) {
		api_error_set(e, 400, "invalid_json", "JSON nested deeper than %d levels", JSON_DEPTH_MAX);
		return NULL;
	}
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		api_error_set(e, 400, "invalid_json", "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
			      json_error_description(&jerr));
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		api_error_set(e, 400, "invalid_json", "the body must be a JSON object");
		return NULL;
	}
	return root;
}

static void field_path(char *out, size_t cap, const char *path, const char *key)
{
	if (path == NULL || path[0] == '\0')
		snprintf(out, cap, "%s", key);
	else
		snprintf(out, cap, "%s.%s", path, key);
}

bool json_only_fields(json_t *obj, const char *path, const char *const *allowed, struct api_error *e)
{
	assert(path != NULL && allowed != NULL && e != NULL);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok) {
			char p[128];
			if (json_key_echoable(key)) {
				field_path(p, sizeof(p), path, key);
				api_error_set(e, 400, "unknown_field", "unknown field %.100s", p);
			} else if (path[0] != '\0') {
				api_error_set(e, 400, "unknown_field",
					      "unknown field in %.100s (its name is not repeated: it is not a plain identifier)",
					      path);
			} else {
				api_error_set(e, 400, "unknown_field",
					      "unknown field (its name is not repeated: it is not a plain identifier)");
			}
			return false;
		}
	}
	return true;
}

bool json_string_field(json_t *obj, const char *path, const char *key, bool required, size_t max_len,
		       const char **out, struct api_error *e)
{
	assert(path != NULL && key != NULL && out != NULL && e != NULL);
	char p[128];
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (v == NULL || (json_is_null(v) && !required)) {
		if (required) {
			field_path(p, sizeof(p), path, key);
			api_error_set(e, 400, "missing_field", "%s is required", p);
			return false;
		}
		return true;
	}
	if (!json_is_string(v)) {
		field_path(p, sizeof(p), path, key);
		api_error_set(e, 400, "invalid_field", "%s must be a string", p);
		return false;
	}
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		field_path(p, sizeof(p), path, key);
		api_error_set(e, 400, "invalid_field", "%s must not contain NUL characters", p);
		return false;
	}
	if (json_string_length(v) > max_len) {
		field_path(p, sizeof(p), path, key);
		api_error_set(e, 400, "invalid_field", "%s is longer than %zu bytes", p, max_len);
		return false;
	}
	*out = s;
	return true;
}

bool json_int_field(json_t *obj, const char *path, const char *key, int64_t min, int64_t max, bool *present,
		    int64_t *out, struct api_error *e)
{
	assert(path != NULL && key != NULL && min <= max && present != NULL && out != NULL && e != NULL);
	json_t *v = json_object_get(obj, key);
	*present = false;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		char p[128];
		field_path(p, sizeof(p), path, key);
		api_error_set(e, 400, "invalid_field", "%s must be an integer from %lld to %lld", p, (long long)min,
			      (long long)max);
		return false;
	}
	*present = true;
	*out = json_integer_value(v);
	return true;
}

#define TIME_LIMIT_MAX (24 * 3600)
#define RING_TIMEOUT_MAX 600

bool json_policy_fields(json_t *obj, const char *path, struct call_policy *p, struct api_error *e)
{
	assert(path != NULL && p != NULL && e != NULL);
	json_t *rec = json_object_get(obj, "record");
	if (rec != NULL && !json_is_boolean(rec)) {
		api_error_set(e, 400, "invalid_field", "%s%srecord must be true or false", path, *path ? "." : "");
		return false;
	}
	bool has_limit = false, has_ring = false;
	int64_t limit = 0, ring = 0;
	const char *consent = NULL;
	if (!json_int_field(obj, path, "time_limit", 0, TIME_LIMIT_MAX, &has_limit, &limit, e) ||
	    !json_int_field(obj, path, "ring_timeout", 0, RING_TIMEOUT_MAX, &has_ring, &ring, e) ||
	    !json_string_field(obj, path, "consent_message", false, MESSAGE_MAX_LEN, &consent, e))
		return false;
	if (rec != NULL)
		p->record = json_is_true(rec);
	if (has_limit)
		p->time_limit = (int)limit;
	if (has_ring)
		p->ring_timeout = (int)ring;
	if (consent != NULL) {
		if (consent[0] == '\0') {
			api_error_set(e, 400, "invalid_field", "%s%sconsent_message must not be empty", path,
				      *path ? "." : "");
			return false;
		}
		snprintf(p->consent_message, sizeof(p->consent_message), "%s", consent);
	}
	return true;
}

void json_policy_set(json_t *obj, const struct call_policy *p, bool inherit)
{
	assert(obj != NULL && p != NULL);
	json_object_set_new(obj, "record", inherit && p->record < 0 ? json_null() : json_boolean(p->record > 0));
	json_object_set_new(obj, "time_limit", inherit && p->time_limit < 0 ? json_null() : json_integer(p->time_limit));
	json_object_set_new(obj, "ring_timeout",
			    inherit && p->ring_timeout < 0 ? json_null() : json_integer(p->ring_timeout));
	json_object_set_new(obj, "consent_message",
			    inherit && p->consent_message[0] == '\0' ? json_null() : json_string(p->consent_message));
}

void api_reply(struct http_response *res, int status, json_t *obj)
{
	assert(res != NULL && status >= 100 && status <= 599);
	res->status = status;
	res->content_type = "application/json";
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (s == NULL) {
		http_text(res, 500, "cannot encode the answer");
		return;
	}
	buf_puts(&res->body, s);
	buf_puts(&res->body, "\n");
	free(s);
}

void api_reply_error(struct http_response *res, const struct api_error *e)
{
	assert(res != NULL && e != NULL && e->code != NULL);
	api_reply(res, e->status, json_pack("{s:{s:s,s:s}}", "error", "code", e->code, "message", e->message));
}

json_t *json_time(int64_t t)
{
	if (t == 0)
		return json_null();
	char s[RFC3339_MAX];
	rfc3339_format(t, s, sizeof(s));
	return json_string(s);
}

bool json_bool_field(json_t *obj, const char *path, const char *key, bool *present, bool *out, struct api_error *e)
{
	assert(path != NULL && key != NULL && present != NULL && out != NULL && e != NULL);
	json_t *v = json_object_get(obj, key);
	*present = v != NULL;
	if (v == NULL)
		return true;
	if (!json_is_boolean(v)) {
		api_error_set(e, 400, "invalid_field", "%s%s%s must be true or false", path, *path ? "." : "", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

bool json_pool_fields(json_t *obj, const char *path, struct pool_rules *p, struct api_error *e)
{
	assert(path != NULL && p != NULL && e != NULL);
	const char *geo = NULL, *sel = NULL;
	bool has_strict = false, strict = false;
	if (!json_string_field(obj, path, "geo_match", false, 32, &geo, e) ||
	    !json_bool_field(obj, path, "geo_match_strict", &has_strict, &strict, e) ||
	    !json_string_field(obj, path, "number_selection", false, 32, &sel, e))
		return false;
	const char *dot = *path ? "." : "";
	if (geo != NULL) {
		int g = geo_match_from_name(geo);
		if (g < 0) {
			api_error_set(e, 400, "invalid_field", "%s%sgeo_match must be country, area-code or region", path,
				      dot);
			return false;
		}
		p->geo_match = (enum geo_match)g;
	}
	if (has_strict)
		p->geo_match_strict = strict;
	if (sel != NULL) {
		int n = number_selection_from_name(sel);
		if (n < 0) {
			api_error_set(e, 400, "invalid_field", "%s%snumber_selection must be prefer-sticky or avoid-sticky",
				      path, dot);
			return false;
		}
		p->number_selection = (enum number_selection)n;
	}
	return true;
}

void json_pool_set(json_t *obj, const struct pool_rules *p, bool inherit)
{
	assert(obj != NULL && p != NULL);
	json_object_set_new(obj, "geo_match",
			    inherit && p->geo_match == GEO_INHERIT ? json_null() : json_string(geo_match_name(p->geo_match)));
	json_object_set_new(obj, "geo_match_strict",
			    inherit && p->geo_match_strict < 0 ? json_null() : json_boolean(p->geo_match_strict > 0));
	json_object_set_new(obj, "number_selection",
			    inherit && p->number_selection == SELECT_INHERIT ? json_null()
							       : json_string(number_selection_name(p->number_selection)));
}
