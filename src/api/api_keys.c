/* SPDX-License-Identifier: MIT */
/* api_keys.c - /v1/keys: create (the key shown once), list (never the key),
 * rotate and revoke scoped API keys. Keys are stored as the SHA-256 of their
 * secret; who may grant what is core/scope.h's rule; every change is audited in
 * the same transaction as the change. */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../store/store.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define KEY_SECRET_BYTES 32
#define KEY_SECRET_PREFIX "mk_"
#define KEY_SECRET_MAX (sizeof(KEY_SECRET_PREFIX) + 2 * KEY_SECRET_BYTES)

/* A fresh secret into secret and its SHA-256 (hex) into hash. */
static void key_secret_new(char secret[KEY_SECRET_MAX], char hash[KEY_HASH_HEX])
{
	uint8_t raw[KEY_SECRET_BYTES];
	random_bytes(raw, sizeof(raw));
	memcpy(secret, KEY_SECRET_PREFIX, sizeof(KEY_SECRET_PREFIX) - 1);
	hex_encode(raw, sizeof(raw), secret + sizeof(KEY_SECRET_PREFIX) - 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	uint8_t d[32];
	sha256(secret, strlen(secret), d);
	hex_encode(d, sizeof(d), hash);
}

/* A key as the API shows it: never its secret nor its hash. */
static json_t *key_json(const struct api_key *k)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "id", k->id, "role",
			      scope_role_name(k->role), "label", k->label, "created_at", json_time(k->created_at),
			      "expires_at", json_time(k->expires_at), "last_used_at", json_time(k->last_used_at),
			      "revoked_at", json_time(k->revoked_at), "revoked", k->revoked_at != 0);
	json_object_set_new(o, "service_id", k->service_id[0] ? json_string(k->service_id) : json_null());
	return o;
}

/* The body of a key change: the key row, and its audit entry, in one transaction. */
struct key_change {
	const struct api_key *insert; /* create: this row */
	const char *id;               /* rotate or revoke: this key */
	const char *hash;             /* rotate: the new hash */
	int64_t revoked_at;           /* revoke: now */
	struct audit_entry *audit;
	int changed;                  /* out: rows changed */
};

static int key_change_body(struct store_tx *tx, void *ctx)
{
	struct key_change *c = ctx;
	c->changed = 0;
	int rc;
	if (c->insert != NULL) {
		rc = store_tx_key_insert(tx, c->insert);
		c->changed = rc == 0;
	} else {
		rc = store_tx_key_update(tx, c->id, c->hash, c->revoked_at);
		c->changed = rc;
	}
	if (rc < 0)
		return rc;
	if (c->changed == 0)
		return MASKD_ENOTFOUND; /* nothing changed: nothing audited either */
	return audit_append_tx(tx, c->audit);
}

/* Answers 403 / 404 unless r's key may grant role on service_id. */
static bool grant_ok(struct api_req *r, enum key_role role, const char *service_id, json_t *body)
{
	enum scope_verdict v = scope_can_grant(r->key, role, service_id);
	if (v == SCOPE_ALLOW)
		return true;
	struct api_error e;
	if (v == SCOPE_HIDDEN)
		api_error_set(&e, 404, "not_found", "no such service");
	else
		api_error_set(&e, 403, "forbidden", "a %s key may not grant a %s key", scope_role_name(r->key->role),
			      scope_role_name(role));
	api_reply_refused(r, body, &e);
	return false;
}

void api_key_create(struct api_req *r)
{
	assert(r != NULL && r->key != NULL);
	struct api_error e;
	json_t *body = json_body(r->http, &e);
	if (body == NULL) {
		api_reply_error(r->res, &e);
		return;
	}
	static const char *const fields[] = {"role", "service_id", "label", "expires_at", NULL};
	const char *role_s = NULL, *service_id = NULL, *label = NULL, *expires = NULL;
	if (!json_only_fields(body, "", fields, &e) || !json_string_field(body, "", "role", true, 16, &role_s, &e) ||
	    !json_string_field(body, "", "service_id", false, ID_MAX - 1, &service_id, &e) ||
	    !json_string_field(body, "", "label", false, KEY_LABEL_MAX, &label, &e) ||
	    !json_string_field(body, "", "expires_at", false, 64, &expires, &e)) {
		api_reply_refused(r, body, &e);
		return;
	}
	struct api_key k;
	memset(&k, 0, sizeof(k));
	int64_t now = now_unix();
	if (scope_role_parse(role_s, &k.role) < 0) {
		api_error_set(&e, 400, "invalid_field",
			      "role must be one of admin, service, readonly, records, privacy");
		api_reply_refused(r, body, &e);
		return;
	}
	if (expires != NULL && rfc3339_parse(expires, &k.expires_at) < 0) {
		api_error_set(&e, 400, "invalid_field", "expires_at must be an RFC 3339 time such as 2026-11-23T00:00:00Z");
		api_reply_refused(r, body, &e);
		return;
	}
	if (expires != NULL && k.expires_at <= now) {
		api_error_set(&e, 400, "invalid_field", "expires_at must be in the future");
		api_reply_refused(r, body, &e);
		return;
	}
	bool scoped = scope_role_is_scoped(k.role);
	if (scoped && (service_id == NULL || service_id[0] == '\0')) {
		api_error_set(&e, 400, "missing_field", "service_id is required for a %s key", role_s);
		api_reply_refused(r, body, &e);
		return;
	}
	if (!scoped && service_id != NULL) {
		api_error_set(&e, 400, "invalid_field", "service_id: a %s key covers every service; leave it out", role_s);
		api_reply_refused(r, body, &e);
		return;
	}
	if (!grant_ok(r, k.role, service_id ? service_id : "", body))
		return;
	if (scoped) {
		struct service *svc = arena_alloc(r->http->arena, sizeof(*svc));
		int rc = id_valid("svc", service_id) ? store_service_get(r->app->store, service_id, svc) : MASKD_ENOTFOUND;
		if (rc == MASKD_ENOTFOUND) {
			api_error_set(&e, 400, "invalid_field", "service_id: no such service");
			api_reply_refused(r, body, &e);
			return;
		}
		if (rc < 0) {
			json_decref(body);
			api_store_failed(r, "service_get", rc);
			return;
		}
		snprintf(k.service_id, sizeof(k.service_id), "%s", service_id);
	}
	snprintf(k.label, sizeof(k.label), "%s", label ? label : "");
	json_decref(body);
	id_new("key", k.id);
	k.created_at = now;
	char secret[KEY_SECRET_MAX];
	key_secret_new(secret, k.hash);
	char detail[96];
	snprintf(detail, sizeof(detail), "role=%s service=%s", scope_role_name(k.role), k.service_id);
	struct audit_entry audit;
	api_audit_entry(r, &audit, "key.created", k.id, NULL, detail, now);
	struct key_change c = {.insert = &k, .audit = &audit};
	int rc = store_tx_run(r->app->store, key_change_body, &c);
	if (rc < 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		api_store_failed(r, "key_create", rc);
		return;
	}
	log_info("key %s created (%s) by key %s", k.id, scope_role_name(k.role), r->key->id);
	json_t *o = key_json(&k);
	json_object_set_new(o, "key", json_string(secret));
	OPENSSL_cleanse(secret, sizeof(secret));
	api_reply(r->res, 201, o);
}

struct key_list_ctx {
	const struct api_key *viewer;
	json_t *arr;
};

static void add_key(void *ctx, const struct api_key *k)
{
	struct key_list_ctx *c = ctx;
	if (scope_key_visible(c->viewer, k))
		json_array_append_new(c->arr, key_json(k));
}

void api_key_list(struct api_req *r)
{
	assert(r != NULL && r->key != NULL);
	json_t *arr = json_array();
	struct key_list_ctx c = {r->key, arr};
	api_reply_list(r, store_key_list(r->app->store, add_key, &c), arr, "keys", "key_list");
}

/* Key r->id as r's key may see it: 0 with *k, or negative after answering 404 / 503. */
static int visible_key(struct api_req *r, struct api_key *k)
{
	int rc = store_key_get(r->app->store, r->id, k);
	if (rc == 0 && !scope_key_visible(r->key, k))
		rc = MASKD_ENOTFOUND;
	if (rc == 0 && k->revoked_at != 0)
		rc = MASKD_ENOTFOUND; /* a revoked key is gone for every purpose but the list */
	if (!api_store_ok(r, rc, "key", "key_get"))
		return rc < 0 ? rc : MASKD_EDB;
	return 0;
}

void api_key_rotate(struct api_req *r)
{
	assert(r != NULL && r->key != NULL && r->id != NULL);
	struct api_key k;
	if (visible_key(r, &k) < 0)
		return;
	if (!grant_ok(r, k.role, k.service_id, NULL))
		return;
	int64_t now = now_unix();
	char secret[KEY_SECRET_MAX];
	key_secret_new(secret, k.hash);
	struct audit_entry audit;
	api_audit_entry(r, &audit, "key.rotated", k.id, NULL, NULL, now);
	struct key_change c = {.id = k.id, .hash = k.hash, .audit = &audit};
	int rc = store_tx_run(r->app->store, key_change_body, &c);
	if (!api_store_ok(r, rc, "key", "key_rotate")) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return;
	}
	log_info("key %s rotated by key %s", k.id, r->key->id);
	json_t *o = key_json(&k);
	json_object_set_new(o, "key", json_string(secret));
	OPENSSL_cleanse(secret, sizeof(secret));
	api_reply(r->res, 200, o);
}

void api_key_revoke(struct api_req *r)
{
	assert(r != NULL && r->key != NULL && r->id != NULL);
	struct api_key k;
	if (visible_key(r, &k) < 0)
		return;
	int64_t now = now_unix();
	struct audit_entry audit;
	api_audit_entry(r, &audit, "key.revoked", k.id, NULL, NULL, now);
	struct key_change c = {.id = k.id, .revoked_at = now, .audit = &audit};
	int rc = store_tx_run(r->app->store, key_change_body, &c);
	if (!api_store_ok(r, rc, "key", "key_revoke"))
		return;
	k.revoked_at = now;
	log_info("key %s revoked by key %s", k.id, r->key->id);
	api_reply(r->res, 200, key_json(&k));
}
