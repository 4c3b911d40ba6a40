/* SPDX-License-Identifier: MIT */
/* model.c - the names of the model's enums, as the API and the schema spell them. */
#include "model.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../util/err.h"

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static const char *const dialect_names[DIALECT_COUNT] = {
	[DIALECT_TWILIO] = "twilio", [DIALECT_SIGNALWIRE] = "signalwire", [DIALECT_TELNYX] = "telnyx",
	[DIALECT_PLIVO] = "plivo",   [DIALECT_VOBIZ] = "vobiz",           [DIALECT_VONAGE] = "vonage",
	[DIALECT_SIP] = "sip",
};
static const char *const mode_names[] = {
	[MODE_VOICE] = "voice", [MODE_MESSAGE] = "message", [MODE_VOICE_AND_MESSAGE] = "voice-and-message",
};
static const char *const status_names[] = {
	[SESSION_OPEN] = "open",     [SESSION_IN_PROGRESS] = "in-progress", [SESSION_CLOSED] = "closed",
	[SESSION_FAILED] = "failed", [SESSION_BLOCKED] = "blocked",
};
static const char *const state_names[] = {
	[NUMBER_ACTIVE] = "active", [NUMBER_RESERVED] = "reserved", [NUMBER_RETIRED] = "retired",
};
static const char *const decision_names[] = {
	[DECISION_BRIDGE] = "bridge",	    [DECISION_FORWARD_MESSAGE] = "forward_message",
	[DECISION_REJECT] = "reject",	    [DECISION_ACKNOWLEDGE] = "acknowledge",
	[DECISION_ANNOUNCE] = "announce", [DECISION_GATHER] = "gather",
};
static const char *const channel_names[] = {[CHANNEL_VOICE] = "voice", [CHANNEL_MESSAGE] = "message"};
/* GEO_ANY is a fallback level, never named in the API */
static const char *const geo_names[] = {
	[GEO_COUNTRY] = "country", [GEO_AREA_CODE] = "area-code", [GEO_REGION] = "region",
};
static const char *const selection_names[] = {
	[SELECT_PREFER_STICKY] = "prefer-sticky", [SELECT_AVOID_STICKY] = "avoid-sticky",
};
static const char *const unknown_names[] = {
	[UNKNOWN_REJECT] = "reject", [UNKNOWN_FORWARD] = "forward", [UNKNOWN_PIN] = "pin",
	[UNKNOWN_CALLBACK] = "callback",
};
static const char *const mms_fallback_names[] = {
	[MMS_FALLBACK_TEXT_WITH_NOTE] = "text_with_note",
	[MMS_FALLBACK_REFUSE] = "refuse",
};

#define N_OF(tab) ((int)(sizeof(tab) / sizeof(tab[0])))
#define NAME_OF(tab, i) ((int)(i) >= 0 && (int)(i) < N_OF(tab) ? tab[i] : NULL)

const char *dialect_name(enum dialect d) { return NAME_OF(dialect_names, d); }
int dialect_from_name(const char *s) { return name_index(dialect_names, N_OF(dialect_names), s); }
const char *mode_name(enum session_mode m) { return NAME_OF(mode_names, m); }
int mode_from_name(const char *s) { return name_index(mode_names, N_OF(mode_names), s); }
const char *session_status_name(enum session_status s) { return NAME_OF(status_names, s); }
const char *number_state_name(enum number_state s) { return NAME_OF(state_names, s); }
int number_state_from_name(const char *s) { return name_index(state_names, N_OF(state_names), s); }
const char *decision_name(enum decision_kind d) { return NAME_OF(decision_names, d); }
const char *channel_name(enum channel c) { return NAME_OF(channel_names, c); }
const char *geo_match_name(enum geo_match g) { return NAME_OF(geo_names, g); }
int geo_match_from_name(const char *s) { return name_index(geo_names, N_OF(geo_names), s); }
const char *number_selection_name(enum number_selection n) { return NAME_OF(selection_names, n); }
int number_selection_from_name(const char *s) { return name_index(selection_names, N_OF(selection_names), s); }
const char *unknown_caller_name(enum unknown_caller u) { return NAME_OF(unknown_names, u); }
int unknown_caller_from_name(const char *s) { return name_index(unknown_names, N_OF(unknown_names), s); }
const char *mms_fallback_name(enum mms_fallback f) { return NAME_OF(mms_fallback_names, f); }
int mms_fallback_from_name(const char *s) { return name_index(mms_fallback_names, N_OF(mms_fallback_names), s); }

static const char *const cred_twilio[] = {"auth_token", "account_sid", NULL};
static const char *const cred_signalwire[] = {"signing_key", "project_id", "api_token", "space_url", NULL};
static const char *const cred_telnyx[] = {"public_key", "api_key", "messaging_profile_id", "account_sid",
						 "application_sid", NULL};
static const char *const cred_plivo[] = {"auth_token", "auth_id", NULL};
static const char *const cred_vobiz[] = {"auth_token", "auth_id", NULL};
static const char *const cred_vonage[] = {"signature_secret", "api_key",        "api_secret",
					 "signature_method", "application_id", "private_key", NULL};
/* SIP queries are signed with MASKD_SIP_SECRET, not a service credential */
static const char *const cred_sip[] = {NULL};
static const char *const *const cred_fields[DIALECT_COUNT] = {
	[DIALECT_TWILIO] = cred_twilio, [DIALECT_SIGNALWIRE] = cred_signalwire, [DIALECT_TELNYX] = cred_telnyx,
	[DIALECT_PLIVO] = cred_plivo,   [DIALECT_VOBIZ] = cred_vobiz,           [DIALECT_VONAGE] = cred_vonage,
	[DIALECT_SIP] = cred_sip,
};

const char *const *dialect_cred_fields(enum dialect d)
{
	return (int)d >= 0 && d < DIALECT_COUNT ? cred_fields[d] : NULL;
}

int service_cred(const struct service *svc, enum dialect d, const char *field, char *out, size_t cap)
{
	if ((int)d < 0 || d >= DIALECT_COUNT || svc->secrets[d][0] == '\0')
		return MASKD_ENOTFOUND;
	json_t *o = json_loads(svc->secrets[d], 0, NULL);
	const char *v = json_string_value(json_object_get(o, field));
	int rc = MASKD_ENOTFOUND;
	if (v != NULL && v[0] != '\0' && strlen(v) < cap) {
		snprintf(out, cap, "%s", v);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

bool leg_status_final(const char *status)
{
	static const char *const finals[] = {"completed", "busy", "failed", "no-answer", "canceled",
					     "delivered", "undelivered", "sent", NULL};
	for (int i = 0; status != NULL && finals[i]; i++)
		if (strcmp(status, finals[i]) == 0)
			return true;
	return false;
}

bool leg_status_stale(const char *stored, const char *reported)
{
	return leg_status_final(stored) && reported != NULL && reported[0] != '\0' && !leg_status_final(reported);
}

const struct leg *interaction_leg(const struct interaction *it, char leg, const char *carrier_sid)
{
	assert(it != NULL && carrier_sid != NULL);
	for (int i = 0; i < it->n_legs && i < INTERACTION_LEGS_MAX; i++)
		if (it->legs[i].leg == leg && strcmp(it->legs[i].carrier_sid, carrier_sid) == 0)
			return &it->legs[i];
	return NULL;
}
