/* SPDX-License-Identifier: MIT */
/* scope.h - what an API key may do: its role, its service, its expiry and
 * revocation, and the one rule that turns (key, action, owning service) into
 * allowed, forbidden (403) or hidden (404, so that another service's ids cannot
 * be probed). Pure: no I/O, the clock is passed in. Keys themselves live in the
 * store as hashes; this module never sees a key's secret. */
#ifndef MASKD_SCOPE_H
#define MASKD_SCOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ids.h" /* ID_MAX */

enum key_role {
	ROLE_ADMIN = 0,    /* everything, every service */
	ROLE_SERVICE = 1,  /* one service: its numbers, sessions, records, settings, keys */
	ROLE_READONLY = 2, /* one service, GET only */
	ROLE_RECORDS = 3,  /* one service: records and usage only */
	ROLE_PRIVACY = 4,  /* reveal and data-subject operations, every service */
	ROLE_COUNT
};

#define KEY_LABEL_MAX 64   /* bytes of a key's label */
#define KEY_HASH_HEX 65    /* SHA-256 hex and NUL */

/* One API key as stored: never its secret, only the SHA-256 (hex) of it. */
struct api_key {
	char id[ID_MAX];                /* "key_..."; "bootstrap" for MASKD_ADMIN_KEY */
	char hash[KEY_HASH_HEX];
	enum key_role role;
	char service_id[ID_MAX];        /* "" for admin and privacy keys */
	char label[KEY_LABEL_MAX + 1];
	int64_t created_at, expires_at; /* unix seconds; expires_at 0 = never */
	int64_t revoked_at;             /* 0 = not revoked */
	int64_t last_used_at;           /* 0 = never; updated at most every KEY_TOUCH_INTERVAL_S */
};

/* last_used_at is rewritten only when it is this much older than now: one write
 * per key per interval at most, not one per request. */
#define KEY_TOUCH_INTERVAL_S 60

/* What a route does, as the scope rule sees it. */
enum scope_action {
	SCOPE_READ = 0,       /* GET of a service's resources (services, numbers, sessions, pool...) */
	SCOPE_WRITE = 1,      /* any other method on a service's resources */
	SCOPE_RECORDS = 2,    /* GET records and usage */
	SCOPE_GLOBAL = 3,     /* create a service: admin only */
	SCOPE_KEYS = 4,       /* list, create, rotate, revoke keys (grants are checked apart) */
	SCOPE_AUDIT = 5,      /* read and verify the audit log: admin only */
	SCOPE_REVEAL = 6,     /* a participant's real number: admin and privacy */
	SCOPE_PRIVACY = 7,    /* data-subject lookup and erase: admin and privacy */
};

enum scope_verdict {
	SCOPE_ALLOW = 0,
	SCOPE_FORBIDDEN = 1, /* the role may not do this at all: 403 */
	SCOPE_HIDDEN = 2,    /* the resource belongs to another service: 404 */
};

/* The role named s ("admin", "service", "readonly", "records", "privacy"): 0 and
 * *out, or -1 for NULL or any other string. */
int scope_role_parse(const char *s, enum key_role *out);
/* The name of role r (static). */
const char *scope_role_name(enum key_role r);
/* True when r is bound to one service (service, readonly, records). */
bool scope_role_is_scoped(enum key_role r);

/* True when k may be used at now: not revoked and not expired (expires_at > now
 * or 0). */
bool scope_key_live(const struct api_key *k, int64_t now);

/* Whether k may do action a on a resource of service owner ("" or NULL = the
 * resource belongs to no service, e.g. the key list itself). A scoped key asking
 * about another service's resource gets SCOPE_HIDDEN, even when its role could
 * not do a there either, so that the answer never tells whether the id exists. */
enum scope_verdict scope_check(const struct api_key *k, enum scope_action a, const char *owner);

/* Whether k may create (or rotate) a key of role for service_id ("" = none):
 * admin may grant anything; a service key may grant service, readonly or records
 * on its own service; nothing else may grant. SCOPE_HIDDEN when service_id is
 * another service's. */
enum scope_verdict scope_can_grant(const struct api_key *k, enum key_role role, const char *service_id);

/* Whether k may see (list, rotate, revoke) the existing key other. */
bool scope_key_visible(const struct api_key *k, const struct api_key *other);

#endif
