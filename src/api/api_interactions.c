/* SPDX-License-Identifier: MIT */
/* api_interactions.c - a session's history: GET /v1/sessions/{id}/events (its
 * lifecycle events) and GET /v1/sessions/{id}/interactions (its calls and texts,
 * each with its legs). Ids, proxy numbers and statuses only: no real number is
 * in a session's history. */
#include "api_internal.h"
#include "../core/intercept.h"
#include "../store/store.h"

#include <assert.h>

static void add_event(void *ctx, const struct session_event *ev)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "id", ev->id, "session_id", ev->session_id, "kind", ev->kind,
			      "created_at", json_time(ev->created_at));
	json_object_set_new(o, "participant_id", ev->participant_id[0] ? json_string(ev->participant_id) : json_null());
	json_object_set_new(o, "detail", ev->detail[0] ? json_string(ev->detail) : json_null());
	json_array_append_new(ctx, o);
}

/* GET /v1/sessions/{id}/events */
void api_session_events(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct session s;
	if (api_session_load(r, &s) < 0)
		return;
	json_t *arr = json_array();
	api_reply_list(r, store_session_events(r->app->store, r->id, add_event, arr), arr, "events", "session_events");
}


json_t *api_leg_json(const struct leg *l)
{
	char leg[2] = {l->leg, '\0'};
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s}", "id", l->id, "leg", leg, "carrier_sid",
			      l->carrier_sid, "status", l->status, "duration",
			      l->duration >= 0 ? json_integer(l->duration) : json_null(), "started_at",
			      json_time(l->started_at), "answered_at", json_time(l->answered_at), "ended_at",
			      json_time(l->ended_at), "proxy_number", l->proxy_number, "other_country", l->other_country);
	json_object_set_new(o, "recording_id", l->recording_id[0] ? json_string(l->recording_id) : json_null());
	json_object_set_new(o, "recording_url", l->recording_url[0] ? json_string(l->recording_url) : json_null());
	json_object_set_new(o, "cost", l->cost[0] ? json_string(l->cost) : json_null());
	json_object_set_new(o, "currency", l->currency[0] ? json_string(l->currency) : json_null());
	return o;
}

static json_t *interaction_json(const struct interaction *it)
{
	json_t *legs = json_array();
	for (int i = 0; i < it->n_legs; i++) {
		const struct leg *l = &it->legs[i];
		json_array_append_new(legs, api_leg_json(l));
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", it->id, "session_id", it->session_id,
			      "channel", channel_name(it->channel), "carrier", dialect_name(it->carrier), "carrier_sid",
			      it->carrier_sid, "decision", decision_name(it->decision), "from_participant",
			      it->from_participant, "to_participant", it->to_participant, "created_at",
			      json_time(it->created_at), "legs", legs);
	/* a click-to-call's id at its carrier, once the carrier took the call */
	json_object_set_new(o, "carrier_call_id", it->carrier_call_id[0] ? json_string(it->carrier_call_id) : json_null());
	/* the intercept's decision (docs/EVENTS.md "Intercept"), when the service's intercept_url was asked */
	if (it->intercept != INTERCEPT_NONE)
		json_object_set_new(o, "intercept", json_string(intercept_outcome_name(it->intercept)));
	return o;
}

static void add_interaction(void *ctx, const struct interaction *it)
{
	json_array_append_new(ctx, interaction_json(it));
}

void api_interaction_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct session s;
	if (api_session_load(r, &s) < 0)
		return;
	json_t *arr = json_array();
	api_reply_list(r, store_interaction_list(r->app->store, r->id, add_interaction, arr), arr, "interactions",
		       "interaction_list");
}
