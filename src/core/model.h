/* SPDX-License-Identifier: MIT */
/* model.h - the nouns of maskd (DESIGN §2) as plain structs shared by core/, store/,
 * api/ and hooks/. Fixed-size fields: every string here has a cap that the API
 * checks before a value reaches a struct, so copying one is always safe.
 * A real number appears only in participant.number, and only while a request
 * needs it (session create, a bridge); the store never returns it in listings. */
#ifndef MASKD_MODEL_H
#define MASKD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/ids.h"
#include "../util/mask.h"
#include "../util/phone.h"

#define NAME_MAX_LEN 128    /* service name, unique_name */
#define LABEL_MAX_LEN 64    /* participant label */
#define MESSAGE_MAX_LEN 512 /* spoken messages */
#define SECRET_MAX_LEN 256  /* one carrier credential value */
#define CREDS_MAX_LEN 1000  /* a carrier's credentials as sealed JSON text */
#define SESSION_PARTICIPANTS 2

enum dialect {
	DIALECT_TWILIO = 0,
	DIALECT_SIGNALWIRE = 1,
	DIALECT_TELNYX = 2,
	DIALECT_PLIVO = 3,
	DIALECT_VOBIZ = 4,
	DIALECT_VONAGE = 5,
	DIALECT_COUNT
};

/* A session's mode is the set of channels it allows. */
enum session_mode { MODE_VOICE = 1, MODE_MESSAGE = 2, MODE_VOICE_AND_MESSAGE = 3 };
enum session_status { SESSION_OPEN = 0, SESSION_IN_PROGRESS = 1, SESSION_CLOSED = 2, SESSION_FAILED = 3 };
enum number_state { NUMBER_ACTIVE = 0, NUMBER_RESERVED = 1, NUMBER_RETIRED = 2 };
enum capability { CAP_VOICE = 1, CAP_SMS = 2, CAP_MMS = 4, CAP_ALL = 7 };
enum channel { CHANNEL_VOICE = 0, CHANNEL_MESSAGE = 1 };
enum decision_kind {
	DECISION_BRIDGE = 0,
	DECISION_FORWARD_MESSAGE = 1,
	DECISION_REJECT = 2,
	DECISION_ACKNOWLEDGE = 3,
	DECISION_ANNOUNCE = 4 /* say a message and end this document (the callee's consent notice) */
};

/* Recording and limits of a bridged call. In a service: the defaults; in a
 * session: overrides, -1 (or "" for the message) = use the service's. */
struct call_policy {
	int record;       /* 0 off, 1 on */
	int time_limit;   /* seconds a bridged call may last, 0 = the carrier's default */
	int ring_timeout; /* seconds to ring the callee, 0 = the carrier's default */
	char consent_message[MESSAGE_MAX_LEN + 1]; /* said to both parties when recording */
};

struct service {
	char id[ID_MAX];
	char name[NAME_MAX_LEN + 1];
	/* Per carrier, its credentials object as compact JSON text, e.g.
	 * {"auth_token":"..."}; "" = not configured. Read with service_cred(). */
	char secrets[DIALECT_COUNT][CREDS_MAX_LEN + 1];
	int mode;                                         /* default enum session_mode */
	int64_t ttl;                                      /* default idle timeout, 0 = none */
	char unknown_caller_message[MESSAGE_MAX_LEN + 1];
	struct call_policy policy;
	int64_t created_at;
};

struct number {
	char id[ID_MAX];
	char service_id[ID_MAX];
	char e164[PHONE_E164_MAX + 1];
	int carrier; /* enum dialect */
	unsigned caps;
	char country[3];
	char area_code[8];
	int state; /* enum number_state */
	int64_t in_use;
	int64_t created_at;
};

struct participant {
	char id[ID_MAX];
	char label[LABEL_MAX_LEN + 1];
	char masked[MASK_MAX];
	char number[PHONE_E164_MAX + 1]; /* real number: set on create, "" when read back */
	char proxy_number_id[ID_MAX];
	char proxy_e164[PHONE_E164_MAX + 1];
	char country[3]; /* region of the real number ("US"); coarse, not secret */
};

struct session {
	char id[ID_MAX];
	char service_id[ID_MAX];
	char unique_name[NAME_MAX_LEN + 1]; /* "" = none */
	int mode;
	int status;
	int64_t ttl;
	int64_t expires_at; /* 0 = none */
	int64_t created_at;
	int64_t updated_at;
	int64_t last_activity_at;
	int64_t closed_at; /* 0 = open */
	struct call_policy policy; /* overrides; see struct call_policy */
	int n_participants;
	struct participant participants[SESSION_PARTICIPANTS];
};

#define RECORDING_URL_MAX 512

struct leg {
	char id[ID_MAX];
	char leg; /* 'a' inbound, 'b' outbound */
	char carrier_sid[72];
	char status[24];
	int64_t duration; /* billable seconds, -1 unknown */
	int64_t started_at;
	int64_t answered_at; /* 0 = not answered (or not reported) */
	int64_t ended_at;    /* 0 = not ended */
	char proxy_number[PHONE_E164_MAX + 1]; /* the proxy number the leg used */
	char other_country[3];                 /* the other side's region */
	char recording_id[72];
	char recording_url[RECORDING_URL_MAX + 1];
	char cost[24];     /* decimal as the carrier reported it, "" = not reported */
	char currency[8];
};

/* What a status callback reports about one leg; NULL / -1 = not reported. */
struct leg_update {
	const char *status;
	int64_t duration;
	int answered; /* the callback says the leg was answered */
	const char *recording_id;
	const char *recording_url;
	const char *cost;
	const char *currency;
};

#define INTERACTION_LEGS_MAX 4

struct interaction {
	char id[ID_MAX];
	char session_id[ID_MAX];
	char service_id[ID_MAX];
	int channel;
	int carrier; /* enum dialect */
	char carrier_sid[72];
	int decision; /* enum decision_kind */
	char from_participant[ID_MAX];
	char to_participant[ID_MAX];
	int64_t created_at;
	int n_legs;
	struct leg legs[INTERACTION_LEGS_MAX];
};

/* The credential fields a carrier's object may hold; fields[0] is the one its
 * webhook signatures are checked with and is required. NULL-terminated. */
const char *const *dialect_cred_fields(int d);

/* Copies the value of field from svc's credentials for carrier d into out (cap
 * bytes). Returns 0, or MASKD_ENOTFOUND when the carrier or the field is not set. */
int service_cred(const struct service *svc, int d, const char *field, char *out, size_t cap);

/* True for a status after which a leg is over (completed, busy, failed, no-answer,
 * canceled, delivered, undelivered, sent): the store stamps ended_at once. */
bool leg_status_final(const char *status);

/* Names used in the API and the database; NULL/-1 for unknown values. */
const char *dialect_name(int d);
int dialect_from_name(const char *s);
const char *mode_name(int m);
int mode_from_name(const char *s);
const char *session_status_name(int s);
const char *number_state_name(int s);
int number_state_from_name(const char *s);
const char *decision_name(int d);
const char *channel_name(int c);

#endif
