/* SPDX-License-Identifier: MIT */
/* api_services.c - POST/GET /v1/services: a tenant with its carrier credentials
 * (sealed at rest, never echoed) and its session defaults. */
#include "api_internal.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_UNKNOWN_CALLER_MESSAGE "The number you have called is not available. Goodbye."
#define DEFAULT_CONSENT_MESSAGE "This call may be recorded."
#define TTL_MAX (366LL * 24 * 3600)

static json_t *service_json(const struct service *svc)
{
	json_t *carriers = json_object();
	for (int d = 0; d < DIALECT_COUNT; d++)
		json_object_set_new(carriers, dialect_name(d),
				    json_pack("{s:b}", "configured", svc->secrets[d][0] != '\0'));
	json_t *defaults = json_pack("{s:s,s:I,s:s}", "mode", mode_name(svc->mode), "ttl", (json_int_t)svc->ttl,
				     "unknown_caller_message", svc->unknown_caller_message);
	json_policy_set(defaults, &svc->policy, false);
	return json_pack("{s:s,s:s,s:o,s:o,s:o}", "id", svc->id, "name", svc->name, "carriers", carriers, "defaults",
			 defaults, "created_at", json_time(svc->created_at));
}

/* carriers.{name}: an object of that carrier's credential fields (model.h
 * dialect_cred_fields()), the signing one required, each a non-empty string.
 * Stored as compact JSON text, sealed by the store. */
static bool parse_carriers(json_t *carriers, struct service *svc, struct api_error *e)
{
	if (carriers == NULL || json_is_null(carriers))
		return true;
	if (!json_is_object(carriers)) {
		api_error_set(e, 400, "invalid_field", "carriers must be an object");
		return false;
	}
	const char *name;
	json_t *c;
	json_object_foreach(carriers, name, c)
	{
		int d = dialect_from_name(name);
		if (d < 0) {
			api_error_set(e, 400, "unknown_field",
				      "unknown field carriers.%.32s (twilio, signalwire, telnyx, plivo, vobiz, vonage)", name);
			return false;
		}
		char path[32];
		snprintf(path, sizeof(path), "carriers.%s", name);
		if (!json_is_object(c)) {
			api_error_set(e, 400, "invalid_field", "%s must be an object", path);
			return false;
		}
		const char *const *fields = dialect_cred_fields(d);
		if (!json_only_fields(c, path, fields, e))
			return false;
		for (size_t i = 0; fields[i] != NULL; i++) {
			const char *v = NULL;
			if (!json_string_field(c, path, fields[i], i == 0, SECRET_MAX_LEN, &v, e))
				return false;
			if (v != NULL && v[0] == '\0') {
				api_error_set(e, 400, "invalid_field", "%s.%s must not be empty", path, fields[i]);
				return false;
			}
		}
		char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
		size_t n = text ? strlen(text) : 0;
		if (text == NULL || n > CREDS_MAX_LEN) {
			free(text);
			api_error_set(e, 400, "invalid_field", "%s is too long", path);
			return false;
		}
		snprintf(svc->secrets[d], sizeof(svc->secrets[d]), "%s", text);
		free(text);
	}
	return true;
}

static bool parse_defaults(json_t *defaults, struct service *svc, struct api_error *e)
{
	if (defaults == NULL || json_is_null(defaults))
		return true;
	if (!json_is_object(defaults)) {
		api_error_set(e, 400, "invalid_field", "defaults must be an object");
		return false;
	}
	static const char *const names[] = {"mode", "ttl", "unknown_caller_message", "record", "time_limit",
					    "ring_timeout", "consent_message", NULL};
	const char *mode = NULL, *msg = NULL;
	bool has_ttl = false;
	int64_t ttl = 0;
	if (!json_only_fields(defaults, "defaults", names, e) ||
	    !json_string_field(defaults, "defaults", "mode", false, 32, &mode, e) ||
	    !json_int_field(defaults, "defaults", "ttl", 0, TTL_MAX, &has_ttl, &ttl, e) ||
	    !json_string_field(defaults, "defaults", "unknown_caller_message", false, MESSAGE_MAX_LEN, &msg, e) ||
	    !json_policy_fields(defaults, "defaults", &svc->policy, e))
		return false;
	if (mode != NULL) {
		svc->mode = mode_from_name(mode);
		if (svc->mode <= 0) {
			api_error_set(e, 400, "invalid_field",
				      "defaults.mode must be voice, message or voice-and-message");
			return false;
		}
	}
	if (has_ttl)
		svc->ttl = ttl;
	if (msg != NULL) {
		if (msg[0] == '\0') {
			api_error_set(e, 400, "invalid_field", "defaults.unknown_caller_message must not be empty");
			return false;
		}
		snprintf(svc->unknown_caller_message, sizeof(svc->unknown_caller_message), "%s", msg);
	}
	return true;
}

void api_service_create(struct api_req *r)
{
	struct api_error e = {0};
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"name", "carriers", "defaults", NULL};
	const char *name = NULL;
	struct service svc;
	memset(&svc, 0, sizeof(svc));
	svc.mode = MODE_VOICE_AND_MESSAGE;
	snprintf(svc.unknown_caller_message, sizeof(svc.unknown_caller_message), "%s", DEFAULT_UNKNOWN_CALLER_MESSAGE);
	snprintf(svc.policy.consent_message, sizeof(svc.policy.consent_message), "%s", DEFAULT_CONSENT_MESSAGE);
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "name", true, NAME_MAX_LEN, &name, &e) ||
	    !parse_carriers(json_object_get(body, "carriers"), &svc, &e) ||
	    !parse_defaults(json_object_get(body, "defaults"), &svc, &e))
		goto fail;
	if (name[0] == '\0') {
		api_error_set(&e, 400, "invalid_field", "name must not be empty");
		goto fail;
	}
	snprintf(svc.name, sizeof(svc.name), "%s", name);
	id_new("svc", svc.id);
	svc.created_at = now_unix();
	int rc = store_service_insert(r->app->store, &svc);
	json_decref(body);
	if (rc < 0) {
		api_store_failed(r, "service_insert", rc);
		return;
	}
	log_info("service %s created", svc.id);
	api_reply(r->res, 201, service_json(&svc));
	return;
fail:
	json_decref(body);
	api_reply_error(r->res, &e);
}

void api_service_get(struct api_req *r)
{
	struct service svc;
	int rc = store_service_get(r->app->store, r->id, &svc);
	if (rc == MASKD_ENOTFOUND) {
		api_not_found(r, "service");
		return;
	}
	if (rc < 0) {
		api_store_failed(r, "service_get", rc);
		return;
	}
	api_reply(r->res, 200, service_json(&svc));
}

static void add_service(void *ctx, const struct service *svc)
{
	json_array_append_new(ctx, service_json(svc));
}

void api_service_list(struct api_req *r)
{
	json_t *arr = json_array();
	int rc = store_service_list(r->app->store, add_service, arr);
	if (rc < 0) {
		json_decref(arr);
		api_store_failed(r, "service_list", rc);
		return;
	}
	api_reply(r->res, 200, json_pack("{s:o}", "services", arr));
}
