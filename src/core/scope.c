/* SPDX-License-Identifier: MIT */
/* scope.c - the API key scope rule; see scope.h. */
#include "scope.h"

#include <assert.h>
#include <string.h>

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_ADMIN] = "admin",
	[ROLE_SERVICE] = "service",
	[ROLE_READONLY] = "readonly",
	[ROLE_RECORDS] = "records",
	[ROLE_PRIVACY] = "privacy",
};

int scope_role_parse(const char *s, enum key_role *out)
{
	assert(out != NULL);
	if (s == NULL)
		return -1;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum key_role)r;
			return 0;
		}
	}
	return -1;
}

const char *scope_role_name(enum key_role r)
{
	assert(r >= 0 && r < ROLE_COUNT);
	return role_names[r];
}

bool scope_role_is_scoped(enum key_role r)
{
	return r == ROLE_SERVICE || r == ROLE_READONLY || r == ROLE_RECORDS;
}

bool scope_key_live(const struct api_key *k, int64_t now)
{
	assert(k != NULL);
	if (k->revoked_at != 0)
		return false;
	return k->expires_at == 0 || k->expires_at > now;
}

/* True when owner names a service other than k's (k scoped). */
static bool other_service(const struct api_key *k, const char *owner)
{
	return owner != NULL && owner[0] != '\0' && strcmp(owner, k->service_id) != 0;
}

enum scope_verdict scope_check(const struct api_key *k, enum scope_action a, const char *owner)
{
	assert(k != NULL);
	if (k->role == ROLE_ADMIN)
		return SCOPE_ALLOW;
	if (scope_role_is_scoped(k->role) && other_service(k, owner))
		return SCOPE_HIDDEN;
	switch (k->role) {
	case ROLE_SERVICE:
		return a == SCOPE_READ || a == SCOPE_WRITE || a == SCOPE_RECORDS || a == SCOPE_KEYS ? SCOPE_ALLOW
												      : SCOPE_FORBIDDEN;
	case ROLE_READONLY:
		return a == SCOPE_READ || a == SCOPE_RECORDS ? SCOPE_ALLOW : SCOPE_FORBIDDEN;
	case ROLE_RECORDS:
		return a == SCOPE_RECORDS ? SCOPE_ALLOW : SCOPE_FORBIDDEN;
	case ROLE_PRIVACY:
		return a == SCOPE_REVEAL || a == SCOPE_PRIVACY ? SCOPE_ALLOW : SCOPE_FORBIDDEN;
	case ROLE_ADMIN:
	case ROLE_COUNT:
		break;
	}
	return SCOPE_FORBIDDEN;
}

enum scope_verdict scope_can_grant(const struct api_key *k, enum key_role role, const char *service_id)
{
	assert(k != NULL && role >= 0 && role < ROLE_COUNT);
	if (k->role == ROLE_ADMIN)
		return SCOPE_ALLOW;
	if (k->role != ROLE_SERVICE)
		return SCOPE_FORBIDDEN;
	if (other_service(k, service_id))
		return SCOPE_HIDDEN;
	return scope_role_is_scoped(role) ? SCOPE_ALLOW : SCOPE_FORBIDDEN;
}

bool scope_key_visible(const struct api_key *k, const struct api_key *other)
{
	assert(k != NULL && other != NULL);
	if (k->role == ROLE_ADMIN)
		return true;
	return k->role == ROLE_SERVICE && scope_role_is_scoped(other->role) &&
	       strcmp(other->service_id, k->service_id) == 0;
}
