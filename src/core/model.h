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
#define PRIVATE_KEY_MAX_LEN 3500 /* one PEM private key credential (Vonage private_key: RSA up to 4096 bits) */
#define CREDS_MAX_LEN 4500  /* a carrier's credentials as sealed JSON text (a PEM key, escaped, included) */
#define SESSION_PARTICIPANTS 2

enum dialect {
	DIALECT_TWILIO = 0,
	DIALECT_SIGNALWIRE = 1,
	DIALECT_TELNYX = 2,
	DIALECT_PLIVO = 3,
	DIALECT_VOBIZ = 4,
	DIALECT_VONAGE = 5,
	DIALECT_SIP = 6, /* the SIP trunk edge (hooks/sip.h): no per-service credential */
	DIALECT_COUNT
};

/* A session's mode is the set of channels it allows. */
enum session_mode { MODE_VOICE = 1, MODE_MESSAGE = 2, MODE_VOICE_AND_MESSAGE = 3 };
/* Open means status < SESSION_CLOSED (the SQL says "status < 2"). A closed or
 * blocked session's bindings stay held for the service's cool-off. */
enum session_status {
	SESSION_OPEN = 0,
	SESSION_IN_PROGRESS = 1,
	SESSION_CLOSED = 2,
	SESSION_FAILED = 3,
	SESSION_BLOCKED = 4 /* shut by the API for abuse: every webhook is refused silently */
};
enum number_state { NUMBER_ACTIVE = 0, NUMBER_RESERVED = 1, NUMBER_RETIRED = 2 };
enum capability { CAP_VOICE = 1, CAP_SMS = 2, CAP_MMS = 4, CAP_ALL = 7 };
enum channel { CHANNEL_VOICE = 0, CHANNEL_MESSAGE = 1 };
enum decision_kind {
	DECISION_BRIDGE = 0,
	DECISION_FORWARD_MESSAGE = 1,
	DECISION_REJECT = 2,
	DECISION_ACKNOWLEDGE = 3,
	DECISION_ANNOUNCE = 4, /* say a message and end this document (the callee's consent notice) */
	DECISION_GATHER = 5    /* ask the caller for digits (a PIN) and post them to a URL */
};

/* How close to the participant a proxy number must be (DESIGN §2 geo-match). */
enum geo_match {
	GEO_INHERIT = -1, /* a session create's override: use the service's */
	GEO_COUNTRY = 0,
	GEO_AREA_CODE = 1,
	GEO_REGION = 2,
	GEO_ANY = 3 /* fallback only */
};
enum number_selection {
	SELECT_INHERIT = -1, /* a session create's override: use the service's */
	SELECT_PREFER_STICKY = 0,
	SELECT_AVOID_STICKY = 1
};
/* What a caller with no binding on the dialled number gets. */
enum unknown_caller { UNKNOWN_REJECT = 0, UNKNOWN_FORWARD = 1, UNKNOWN_PIN = 2, UNKNOWN_CALLBACK = 3 };
/* What a text with media becomes when the proxy number it would go out from has
 * no mms capability (core/route.h, route_media_plan). */
enum mms_fallback {
	MMS_FALLBACK_TEXT_WITH_NOTE = 0, /* the text alone, plus a note that media was left out (default) */
	MMS_FALLBACK_REFUSE = 1          /* nothing relayed; the sender is told why */
};

/* Defaults of a service's texts; also the column defaults of migration 2, so a
 * service created before it reads them too (no single quote in either). */
#define SERVICE_DEFAULT_ENDED_MESSAGE "This conversation has ended."
#define SERVICE_DEFAULT_HELP_TEXT "Masked messaging by maskd. Reply STOP to opt out of texts from this number."

#define PIN_MIN_LEN 4
#define PIN_MAX_LEN 8
#define REGION_MAX_LEN 47   /* a geocoded state or place name ("California") */
#define URL_MAX_LEN 512     /* callback URLs */
#define INTERCEPT_TEXT_MAX 1600 /* an intercept answer's message or replacement body, in bytes */

/* Pool rules of session create. In a service: the defaults; in a session
 * create request: overrides, GEO_INHERIT / SELECT_INHERIT / -1 = use the service's. */
struct pool_rules {
	enum geo_match geo_match; /* not GEO_ANY */
	int geo_match_strict;     /* 1: no number at the level is a 409; 0: try the next wider level */
	enum number_selection number_selection;
};

/* A session create's pool_rules before any override: everything the service's. */
#define POOL_RULES_INHERIT \
	((struct pool_rules){.geo_match = GEO_INHERIT, .geo_match_strict = -1, .number_selection = SELECT_INHERIT})

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
	enum session_mode mode;                           /* the default */
	int64_t ttl;                                      /* default idle timeout, 0 = none */
	char unknown_caller_message[MESSAGE_MAX_LEN + 1];
	struct call_policy policy;
	int64_t created_at;
	/* pool and session policy */
	struct pool_rules pool;
	int64_t cooloff;      /* seconds a closed session's bindings stay held (default 86400) */
	int cooloff_reuse;    /* 1: another session may take a cooling-off binding when nothing else fits */
	int number_cap;       /* open sessions per proxy number (default 100) */
	enum unknown_caller unknown_caller;
	char fallback_number[PHONE_E164_MAX + 1]; /* forward (and callback fail-open): the support line */
	char pin_number[PHONE_E164_MAX + 1];      /* pin: the shared proxy number callers dial */
	int pin_length;       /* pin: digits of a generated PIN, 4..8 (default 6) */
	int pin_attempts;     /* pin: tries before the call is refused (default 3) */
	char callback_url[URL_MAX_LEN + 1];       /* callback: where the interaction is POSTed */
	int callback_timeout_ms;                  /* callback: bounded wait (default 2000) */
	int callback_fail_open; /* callback: on timeout or garbage, 1 = forward to fallback_number, 0 = reject */
	char ended_message[MESSAGE_MAX_LEN + 1];  /* said/texted on a closed session's binding */
	char help_text[MESSAGE_MAX_LEN + 1];      /* the answer to HELP/INFO */
	int rate_calls;       /* per binding per hour, 0 = no limit */
	int rate_texts;       /* per binding per hour, 0 = no limit */
	int rate_silent;      /* 1: a refused call is rejected without a spoken message */
	enum mms_fallback mms_fallback; /* media towards a number without mms */
	char events_url[URL_MAX_LEN + 1]; /* where events are POSTed (docs/EVENTS.md); "" = none */
	int pool_low_threshold;           /* pool.low at or below this many free numbers; 0 = off */
	/* one-way sessions (core/oneway.h) */
	char branded_number[PHONE_E164_MAX + 1]; /* the respondents' proxy number; "" = by the pool rule */
	int64_t callback_window; /* seconds after a one-way session ends that its respondent still reaches
				    the hidden participant (default ONEWAY_CALLBACK_WINDOW_DEFAULT) */
	char intercept_url[URL_MAX_LEN + 1]; /* asked before a bridge or a forwarded text; "" = none */
	int intercept_timeout_ms;            /* intercept: bounded wait, 1..5000 (default 2000) */
	int intercept_fail_open;             /* intercept: on timeout or garbage, 1 = allow, 0 = deny */
	int events_pull_off;                 /* 1: no event kept for the pull API (events_pull false); 0 = kept */
};

struct number {
	char id[ID_MAX];
	char service_id[ID_MAX];
	char e164[PHONE_E164_MAX + 1];
	enum dialect carrier; /* with carrier_any 0: the only dialect whose webhooks the number takes */
	bool carrier_any;     /* no carrier given: webhooks of any dialect (stored as carrier -1) */
	unsigned caps; /* enum capability bits */
	char country[3];
	char area_code[8];
	char region[REGION_MAX_LEN + 1]; /* geocoded state/province ("California"); "" unknown */
	enum number_state state;
	int64_t in_use;   /* open sessions bound to the number */
	int64_t cooling;  /* cooling-off bindings on the number (number_list and number_get only) */
	int64_t created_at;
};

/* A session's direction: two-way (both sides call and text each other), or
 * one-way (core/oneway.h: a hidden side reaches a respondent, who sees the
 * service's branded number and may call it back within the callback window). */
enum session_direction { DIRECTION_TWO_WAY = 0, DIRECTION_ONE_WAY = 1 };
#define ONEWAY_CALLBACK_WINDOW_DEFAULT (7 * 86400)

struct participant {
	char id[ID_MAX];
	char label[LABEL_MAX_LEN + 1];
	char masked[MASK_MAX];
	char number[PHONE_E164_MAX + 1]; /* real number: set on create, "" when read back */
	char proxy_number_id[ID_MAX];
	char proxy_e164[PHONE_E164_MAX + 1];
	char country[3]; /* region of the real number ("US"); coarse, not secret */
	/* Geo of the real number, for choosing its proxy number at create or swap.
	 * Set by the API from libphonenumber; never stored (the area code is part of
	 * the real number). */
	char area_code[8];
	char region[REGION_MAX_LEN + 1];
	char profile_id[ID_MAX]; /* the profile (core/profile.h) it was made from; "" = none */
	int hidden; /* 1: the hidden side of a one-way session (core/oneway.h): holds no binding */
};

struct session {
	char id[ID_MAX];
	char service_id[ID_MAX];
	char unique_name[NAME_MAX_LEN + 1]; /* "" = none */
	enum session_mode mode;
	enum session_status status;
	int64_t ttl;
	int64_t expires_at; /* 0 = none */
	int64_t created_at;
	int64_t updated_at;
	int64_t last_activity_at;
	int64_t closed_at; /* 0 = open */
	struct call_policy policy; /* overrides; see struct call_policy */
	struct pool_rules pool;    /* create only: overrides (POOL_RULES_INHERIT); not stored */
	char pin[PIN_MAX_LEN + 1]; /* the service's unknown-caller policy is pin, or a one-way session: "" otherwise */
	enum session_direction direction;
	int n_participants;        /* 2, or 1 while a single-party session waits for its second */
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

/* The carrier_sid of a click-to-call's interaction (flow/calls.h): this prefix and
 * the interaction's id, as the carrier's call id is known only once the call is
 * placed. Its first leg 'a' keeps that sid through every update, so it stays the
 * one leg 'a' the interaction row stands for (store.h store_leg_update). */
#define INTERACTION_CALL_SID_PREFIX "ctc:"

struct interaction {
	char id[ID_MAX];
	char session_id[ID_MAX];
	char service_id[ID_MAX];
	enum channel channel;
	enum dialect carrier;
	char carrier_sid[72];
	enum decision_kind decision;
	char from_participant[ID_MAX];
	char to_participant[ID_MAX];
	int64_t created_at;
	char carrier_call_id[72]; /* a click-to-call's id at its carrier, once placed; "" otherwise */
	int keyword; /* 1: a STOP, START or HELP text (answered, never relayed); written, not read back */
	int intercept; /* enum intercept_outcome (core/intercept.h): the app's decision; 0 = not asked */
	char intercept_text[INTERCEPT_TEXT_MAX + 1]; /* its deny message or replacement body; "" = none */
	int n_legs;
	struct leg legs[INTERACTION_LEGS_MAX];
};

/* The credential fields a carrier's object may hold; fields[0] is the one its
 * webhook signatures are checked with and is required. NULL-terminated. */
const char *const *dialect_cred_fields(enum dialect d);

/* Copies the value of field from svc's credentials for carrier d into out (cap
 * bytes). Returns 0, or MASKD_ENOTFOUND when the carrier or the field is not set. */
int service_cred(const struct service *svc, enum dialect d, const char *field, char *out, size_t cap);

/* True for a status after which a leg is over (completed, busy, failed, no-answer,
 * canceled, delivered, undelivered, sent): the store stamps ended_at once. */
bool leg_status_final(const char *status);

/* True when a callback reporting `reported` about a leg whose stored status is
 * `stored` is late: the leg has ended and the report is not an end (a "ringing"
 * or "in-progress" delivered after "completed"). Such a report changes nothing
 * of the leg's status, answer or duration; a recording or cost it carries is
 * still recorded. NULL or "" reported: not a status report, never stale. */
bool leg_status_stale(const char *stored, const char *reported);

/* The leg of it that a status callback for (leg, carrier_sid) updates, or NULL
 * when the callback starts a new one. */
const struct leg *interaction_leg(const struct interaction *it, char leg, const char *carrier_sid);

/* Names used in the API and the database: x_name() gives NULL for a value outside
 * the enum (GEO_INHERIT, SELECT_INHERIT included); x_from_name() gives the value, or
 * -1 for an unknown name (an int, so a caller checks it before it is an enum). */
const char *dialect_name(enum dialect d);
int dialect_from_name(const char *s);
const char *mode_name(enum session_mode m);
int mode_from_name(const char *s);
const char *session_status_name(enum session_status s);
const char *number_state_name(enum number_state s);
int number_state_from_name(const char *s);
const char *decision_name(enum decision_kind d);
const char *channel_name(enum channel c);
const char *geo_match_name(enum geo_match g);
int geo_match_from_name(const char *s);
const char *number_selection_name(enum number_selection n);
int number_selection_from_name(const char *s);
const char *unknown_caller_name(enum unknown_caller u);
int unknown_caller_from_name(const char *s);
const char *mms_fallback_name(enum mms_fallback f);
int mms_fallback_from_name(const char *s);

#endif
