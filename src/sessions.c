/* SPDX-License-Identifier: MIT */
/* sessions.c - session create above the store; see sessions.h. */
#include "sessions.h"
#include "core/pin.h"
#include "core/pool.h"
#include "util/metrics.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mask.h"
#include "util/phone.h"

#include <stdio.h>
#include <string.h>

#define PIN_DRAWS 8

int sessions_participant(const char *number, const char *label, struct participant *p)
{
	struct phone_info pi;
	if (phone_is_emergency(number))
		return PARTICIPANT_EMERGENCY; /* DESIGN §6: never masked or proxied */
	if (phone_parse(number, &pi) < 0)
		return PARTICIPANT_INVALID;
	memset(p, 0, sizeof(*p));
	id_new("par", p->id);
	snprintf(p->number, sizeof(p->number), "%s", pi.e164);
	snprintf(p->country, sizeof(p->country), "%s", pi.region);
	snprintf(p->area_code, sizeof(p->area_code), "%s", pi.area_code);
	snprintf(p->region, sizeof(p->region), "%s", pi.geo_region);
	mask_e164(pi.e164, p->masked, sizeof(p->masked));
	snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
	return PARTICIPANT_OK;
}

void sessions_rules(const struct service *svc, const struct pool_rules *overrides, struct create_rules *out)
{
	memset(out, 0, sizeof(*out));
	if (overrides != NULL)
		pool_rules_effective(&svc->pool, overrides, &out->pool);
	else
		out->pool = svc->pool;
	out->number_cap = svc->number_cap;
	out->cooloff_reuse = svc->cooloff_reuse;
}

void sessions_warn_headroom(const struct service *svc, const char *participant_id, int64_t held, int64_t free_left)
{
	if (!pool_near_exhaustion(held, free_left))
		return;
	metrics_inc(MC_POOL_WARNINGS);
	log_warn("service %s: pool use at %lld%% for participant %s: it holds %lld of the %lld numbers it can get; "
		 "add numbers before creates fail",
		 svc->id, (long long)((held * 200 + (held + free_left)) / (2 * (held + free_left))), participant_id,
		 (long long)held,
		 (long long)(held + free_left));
}

int sessions_create(struct store *st, const struct service *svc, struct session *s, int64_t now,
		    struct create_outcome *out)
{
	struct create_rules rules;
	sessions_rules(svc, &s->pool, &rules);
	int draw_pin = svc->unknown_caller == UNKNOWN_PIN && s->pin[0] == '\0';
	int rc = 0;
	for (int attempt = 0; attempt < PIN_DRAWS; attempt++) {
		if (draw_pin) {
			uint8_t rnd[PIN_RANDOM_BYTES(PIN_MAX_LEN)];
			random_bytes(rnd, sizeof(rnd));
			pin_from_random(rnd, sizeof(rnd), svc->pin_length, s->pin);
		}
		memset(out, 0, sizeof(*out));
		rc = store_session_create(st, s, &rules, now, out);
		if (!(rc == MASKD_ECONFLICT && out->failed_index == CREATE_FAIL_PIN && draw_pin))
			break;
	}
	if (rc == 0)
		for (int i = 0; i < s->n_participants; i++)
			sessions_warn_headroom(svc, s->participants[i].id, out->held[i], out->free_left[i]);
	return rc;
}
