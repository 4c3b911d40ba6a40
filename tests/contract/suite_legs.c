/* SPDX-License-Identifier: MIT */
/* suite_legs.c - the store contract for leg 'a', the inbound call or message:
 * no legs row is written when an interaction is recorded; every read of legs
 * (interaction get and list, records) derives leg 'a' from the interaction row
 * as the row of the webhook would have read; the first status callback on leg
 * 'a' inserts that row with the derived id and start, later ones update it; a
 * callback with another carrier sid is a leg of its own, as before. The writes
 * that take an event (store_*_ev) write it in their own transaction. */
#include "suite.h"

#include "util/err.h"

struct rec_rows {
	int n;
	struct leg legs[8];
	char interaction[8][ID_MAX];
};

static int keep_record(void *ctx, const struct interaction *it)
{
	struct rec_rows *r = ctx;
	if (r->n < 8) {
		r->legs[r->n] = it->legs[0];
		snprintf(r->interaction[r->n], ID_MAX, "%s", it->id);
		r->n++;
	}
	return 0;
}

struct list_rows {
	int n;
	struct interaction it[4];
};

static void keep_listed(void *ctx, const struct interaction *it)
{
	struct list_rows *l = ctx;
	if (l->n < 4)
		l->it[l->n++] = *it;
}

/* leg 'a' as the webhook's row used to read: "received", no duration, started at
 * the interaction, the caller's proxy number and country */
static void assert_received_a(const struct leg *l, const char *want_id, const char *sid, int64_t at,
			      const char *proxy)
{
	assert_string_equal(l->id, want_id);
	assert_int_equal(l->leg, 'a');
	assert_string_equal(l->carrier_sid, sid);
	assert_string_equal(l->status, "received");
	assert_int_equal(l->duration, -1);
	assert_int_equal(l->started_at, at);
	assert_int_equal(l->answered_at, 0);
	assert_int_equal(l->ended_at, 0);
	assert_string_equal(l->proxy_number, proxy);
	assert_string_equal(l->other_country, "US");
	assert_string_equal(l->recording_id, "");
	assert_string_equal(l->recording_url, "");
	assert_string_equal(l->cost, "");
	assert_string_equal(l->currency, "");
}

/* Two proxy numbers and a session of RIDER and DRIVER1 on them. */
static void pair_session(struct fixture *f, struct session *s)
{
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, s, NULL), 0);
}

/* A new bridged call CA777 from s's first participant to its second, at 2100 (not stored). */
static void bridged_call(struct fixture *f, const struct session *s, struct interaction *it)
{
	memset(it, 0, sizeof(*it));
	id_new("int", it->id);
	snprintf(it->session_id, sizeof(it->session_id), "%s", s->id);
	snprintf(it->service_id, sizeof(it->service_id), "%s", f->svc.id);
	snprintf(it->carrier_sid, sizeof(it->carrier_sid), "CA777");
	snprintf(it->from_participant, sizeof(it->from_participant), "%s", s->participants[0].id);
	snprintf(it->to_participant, sizeof(it->to_participant), "%s", s->participants[1].id);
	it->decision = DECISION_BRIDGE;
	it->created_at = 2100;
}

static void derived_leg_a_and_upsert(void **state)
{
	CX_FIXTURE(state);
	struct session s;
	pair_session(f, &s);
	struct interaction it;
	bridged_call(f, &s, &it);
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	assert_int_equal(existed, 0);
	char leg_a[ID_MAX] = "leg_";
	assert_true(strlen(it.id) == 28 && strncmp(it.id, "int_", 4) == 0);
	memcpy(leg_a + 4, it.id + 4, 25);

	/* recorded: no legs row at all, yet every read shows leg 'a' */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 0);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 1);
	assert_received_a(&back.legs[0], leg_a, "CA777", 2100, s.participants[0].proxy_e164);
	assert_int_equal(store_interaction_by_sid(f->st, it.carrier, "CA777", &back), 0);
	assert_int_equal(back.n_legs, 1);
	assert_received_a(&back.legs[0], leg_a, "CA777", 2100, s.participants[0].proxy_e164);
	struct list_rows lr = {0};
	assert_int_equal(store_interaction_list(f->st, s.id, keep_listed, &lr), 0);
	assert_int_equal(lr.n, 1);
	assert_int_equal(lr.it[0].n_legs, 1);
	assert_received_a(&lr.it[0].legs[0], leg_a, "CA777", 2100, s.participants[0].proxy_e164);
	struct rec_rows rr = {0};
	assert_int_equal(store_records(f->st, f->svc.id, 2000, 3000, keep_record, &rr), 0);
	assert_int_equal(rr.n, 1);
	assert_string_equal(rr.interaction[0], it.id);
	assert_received_a(&rr.legs[0], leg_a, "CA777", 2100, s.participants[0].proxy_e164);
	rr.n = 0; /* [from, to) by the leg's start, the interaction's time for the derived leg */
	assert_int_equal(store_records(f->st, f->svc.id, 2101, 3000, keep_record, &rr), 0);
	assert_int_equal(rr.n, 0);

	/* leg 'b' first: leg 'a' stays derived */
	struct leg_update ringing = {.status = "ringing", .duration = -1};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &ringing, 2101), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 1);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_received_a(&back.legs[0], leg_a, "CA777", 2100, s.participants[0].proxy_e164);
	assert_int_equal(back.legs[1].leg, 'b');

	/* a callback with only a price on leg 'a': the row is created with the derived
	 * id and start, "received" kept, the price added */
	struct leg_update price = {.duration = -1, .cost = "-0.0085", .currency = "USD"};
	assert_int_equal(store_leg_update(f->st, it.id, 'a', "CA777", &price, 2130), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs WHERE leg = 'a'"), 1);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[0].id, leg_a);
	assert_string_equal(back.legs[0].status, "received");
	assert_int_equal(back.legs[0].started_at, 2100);
	assert_int_equal(back.legs[0].duration, -1);
	assert_string_equal(back.legs[0].cost, "-0.0085");
	assert_string_equal(back.legs[0].proxy_number, s.participants[0].proxy_e164);

	/* then completed: the same row updated, no second one */
	struct leg_update completed = {.status = "completed", .duration = 61, .answered = 1};
	assert_int_equal(store_leg_update(f->st, it.id, 'a', "CA777", &completed, 2161), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs WHERE leg = 'a'"), 1);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[0].id, leg_a);
	assert_string_equal(back.legs[0].status, "completed");
	assert_int_equal(back.legs[0].duration, 61);
	assert_int_equal(back.legs[0].started_at, 2100);
	assert_int_equal(back.legs[0].answered_at, 2161);
	assert_int_equal(back.legs[0].ended_at, 2161);
	assert_string_equal(back.legs[0].cost, "-0.0085");
	rr.n = 0;
	assert_int_equal(store_records(f->st, f->svc.id, 2000, 3000, keep_record, &rr), 0);
	assert_int_equal(rr.n, 2);
	assert_string_equal(rr.legs[0].id, leg_a);
	assert_string_equal(rr.legs[0].status, "completed");
	assert_int_equal(rr.legs[1].leg, 'b');

	/* leg 'a' under another carrier sid is a leg of its own, started at the callback */
	struct leg_update other = {.status = "in-progress", .duration = -1};
	assert_int_equal(store_leg_update(f->st, it.id, 'a', "CA778", &other, 2170), 0);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 3);
	assert_string_equal(back.legs[0].id, leg_a);
	assert_string_equal(back.legs[1].carrier_sid, "CA778");
	assert_string_not_equal(back.legs[1].id, leg_a);
	assert_int_equal(back.legs[1].started_at, 2170);
	assert_string_equal(back.legs[1].status, "in-progress");
	/* and a callback for no interaction writes nothing */
	assert_int_equal(store_leg_update(f->st, "int_nope", 'a', "CA777", &other, 2170), MASKD_ENOTFOUND);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 3);
}

/* Callbacks of one leg arrive in parallel, so out of order: a status that is not
 * an end, stored after the leg ended, changes neither its status, duration nor
 * answer; a recording it carries is still kept. */
static void late_status_changes_nothing(void **state)
{
	CX_FIXTURE(state);
	struct session s;
	pair_session(f, &s);
	struct interaction it;
	bridged_call(f, &s, &it);
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	struct leg_update ringing = {.status = "ringing", .duration = -1};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &ringing, 2101), 0);
	struct leg_update completed = {.status = "completed", .duration = 61, .answered = 1};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &completed, 2161), 0);

	struct leg_update late = {.status = "in-progress", .duration = 0, .answered = 1};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &late, 2170), 0);
	struct leg_update late_ring = {.status = "ringing", .duration = 0, .recording_id = "RE1",
				       .recording_url = "https://rec.example/RE1"};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA999", &late_ring, 2180), 0);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	const struct leg *b = interaction_leg(&back, 'b', "CA999");
	assert_non_null(b);
	assert_string_equal(b->status, "completed");
	assert_int_equal(b->duration, 61);
	assert_int_equal(b->answered_at, 2161);
	assert_int_equal(b->ended_at, 2161);
	assert_string_equal(b->recording_id, "RE1");
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs WHERE leg = 'b'"), 1);

	/* before the end, the same statuses still move the leg */
	bridged_call(f, &s, &it);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "CA778");
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA998", &ringing, 2201), 0);
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "CA998", &late, 2205), 0);
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	b = interaction_leg(&back, 'b', "CA998");
	assert_non_null(b);
	assert_string_equal(b->status, "in-progress");
	assert_int_equal(b->duration, 0);
	assert_int_equal(b->answered_at, 2205);
	assert_int_equal(b->ended_at, 0);
}

/* A status callback with a new status on a derived leg 'a' with none given: the
 * default is "received" (the derived row's), not "unknown" (a new leg's). */
static void derived_leg_a_status_default(void **state)
{
	CX_FIXTURE(state);
	struct session s;
	pair_session(f, &s);
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "SM100");
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", s.participants[0].id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", s.participants[1].id);
	it.channel = CHANNEL_MESSAGE;
	it.decision = DECISION_FORWARD_MESSAGE;
	it.created_at = 2200;
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	struct leg_update rec = {.duration = -1, .recording_id = "RE9"};
	assert_int_equal(store_leg_update(f->st, it.id, 'a', "SM100", &rec, 2210), 0);
	struct leg_update newleg = {.duration = -1, .recording_id = "RE8"};
	assert_int_equal(store_leg_update(f->st, it.id, 'b', "SM101", &newleg, 2211), 0);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_string_equal(back.legs[0].status, "received");
	assert_string_equal(back.legs[0].recording_id, "RE9");
	assert_int_equal(back.legs[0].started_at, 2200);
	assert_string_equal(back.legs[1].status, "unknown");
	assert_int_equal(back.legs[1].started_at, 2211);
}

/* An event of the service (the caller's document), with a delivery when url is not NULL. */
static void event_for(struct fixture *f, struct store_event *ev, struct outbox_item *delivery, char *id,
		      const char *type, const char *url)
{
	id_new("evt", id);
	*ev = (struct store_event){.id = id, .service_id = f->svc.id, .type = type, .body = "{\"data\":{}}",
				   .created_at = 2100};
	if (url == NULL)
		return;
	memset(delivery, 0, sizeof(*delivery));
	id_new("obx", delivery->id);
	snprintf(delivery->dedup_key, sizeof(delivery->dedup_key), "%s", id);
	delivery->kind = OUTBOX_EVENT;
	snprintf(delivery->service_id, sizeof(delivery->service_id), "%s", f->svc.id);
	snprintf(delivery->destination, sizeof(delivery->destination), "http://127.0.0.1:9");
	snprintf(delivery->url, sizeof(delivery->url), "%s", url);
	delivery->payload = "Content-Type: application/json\n\n{}";
	delivery->payload_len = strlen(delivery->payload);
	delivery->created_at = delivery->next_at = 2100 * 1000;
	ev->delivery = delivery;
}

static int64_t events_typed(struct fixture *f, const char *type)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM service_events WHERE type = '%s'", type);
	return cx_sql_count(f, sql);
}

/* The writes that take an event (store_*_ev) write it in their transaction: the
 * service's events row, and its delivery when it has one; a retried interaction
 * record writes none, a failed write none. */
static void writes_carry_their_event(void **state)
{
	CX_FIXTURE(state);
	char num[ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, num);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "CA888");
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", s.participants[0].id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", s.participants[1].id);
	it.decision = DECISION_BRIDGE;
	it.created_at = 2100;
	const struct interaction first = it;
	struct store_event ev;
	struct outbox_item delivery;
	char id[ID_MAX];
	event_for(f, &ev, &delivery, id, "interaction.created", "http://127.0.0.1:9/events");
	int existed = -1;
	assert_int_equal(store_interaction_record_ev(f->st, &it, &existed, &ev), 0);
	assert_int_equal(existed, 0);
	assert_int_equal(events_typed(f, "interaction.created"), 1);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox WHERE kind = 1"), 1);
	/* the carrier retries: nothing new, no second event */
	it = first;
	id_new("int", it.id);
	event_for(f, &ev, &delivery, id, "interaction.created", "http://127.0.0.1:9/events");
	assert_int_equal(store_interaction_record_ev(f->st, &it, &existed, &ev), 0);
	assert_int_equal(existed, 1);
	assert_int_equal(events_typed(f, "interaction.created"), 1);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox WHERE kind = 1"), 1);

	/* a leg update with its event (pull only: no delivery) */
	struct leg_update u = {.status = "completed", .duration = 42};
	event_for(f, &ev, NULL, id, "leg.completed", NULL);
	assert_int_equal(store_leg_update_ev(f->st, first.id, 'b', "CA889", &u, 2150, &ev), 0);
	assert_int_equal(events_typed(f, "leg.completed"), 1);
	/* a leg of no interaction fails, and its event goes with it */
	event_for(f, &ev, NULL, id, "leg.updated", NULL);
	assert_int_equal(store_leg_update_ev(f->st, "int_aaaabbbbccccddddeeeeffff", 'b', "CA9", &u, 2150, &ev),
			 MASKD_ENOTFOUND);
	assert_int_equal(events_typed(f, "leg.updated"), 0);

	/* an opt-out and an opt-in */
	event_for(f, &ev, NULL, id, "message.opted_out", NULL);
	assert_int_equal(store_optout_set_ev(f->st, f->svc.id, RIDER, num, 1, 2160, &ev), 0);
	event_for(f, &ev, NULL, id, "message.opted_in", NULL);
	assert_int_equal(store_optout_set_ev(f->st, f->svc.id, RIDER, num, 0, 2170, &ev), 0);
	assert_int_equal(events_typed(f, "message.opted_out"), 1);
	assert_int_equal(events_typed(f, "message.opted_in"), 1);

	/* a number retired; an unknown number fails with its event */
	event_for(f, &ev, NULL, id, "number.retired", NULL);
	assert_int_equal(store_number_set_state_ev(f->st, num, NUMBER_RETIRED, &ev), 0);
	event_for(f, &ev, NULL, id, "number.retired", NULL);
	assert_int_equal(store_number_set_state_ev(f->st, "num_aaaabbbbccccddddeeeeffff", NUMBER_RETIRED, &ev),
			 MASKD_ENOTFOUND);
	assert_int_equal(events_typed(f, "number.retired"), 1);
	/* every one is in the pull list too, in order */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM service_events"), 5 + cx_sql_count(f,
			 "SELECT COUNT(*) FROM service_events WHERE type LIKE 'session.%' OR type LIKE 'participant.%'"));
}

struct target_probe {
	const char *session_id;
	char service_id[ID_MAX];
	char url[256];
	int pull_off;
};

static int probe_target(struct store_tx *tx, void *ctx)
{
	struct target_probe *p = ctx;
	return store_tx_event_target(tx, p->session_id, p->service_id, p->url, sizeof(p->url), &p->pull_off);
}

/* A service's events_pull_off is written and read back (the service, and the
 * event target of its sessions), and an event of such a service writes its
 * delivery but no row of the pull API; turned back, the next one has its row. */
static void events_pull_off_keeps_no_row(void **state)
{
	CX_FIXTURE(state);
	struct session s;
	pair_session(f, &s);
	struct service svc;
	assert_int_equal(store_service_get(f->st, f->svc.id, &svc), 0);
	assert_int_equal(svc.events_pull_off, 0);
	struct target_probe probe = {.session_id = s.id, .pull_off = -1};
	assert_int_equal(store_tx_run(f->st, probe_target, &probe), 0);
	assert_int_equal(probe.pull_off, 0);
	svc.events_pull_off = 1;
	assert_int_equal(store_service_update(f->st, &svc), 0);
	struct service back;
	assert_int_equal(store_service_get(f->st, f->svc.id, &back), 0);
	assert_int_equal(back.events_pull_off, 1);
	probe.pull_off = -1;
	assert_int_equal(store_tx_run(f->st, probe_target, &probe), 0);
	assert_int_equal(probe.pull_off, 1);
	assert_string_equal(probe.service_id, f->svc.id);

	int64_t rows = cx_sql_count(f, "SELECT COUNT(*) FROM service_events");
	struct interaction it;
	bridged_call(f, &s, &it);
	struct store_event ev;
	struct outbox_item delivery;
	char id[ID_MAX];
	event_for(f, &ev, &delivery, id, "interaction.created", "http://127.0.0.1:9/events");
	ev.pull_off = 1;
	int existed = -1;
	assert_int_equal(store_interaction_record_ev(f->st, &it, &existed, &ev), 0);
	assert_int_equal(existed, 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM service_events"), rows);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM outbox WHERE kind = 1"), 1);
	/* the same write without pull_off keeps its row */
	struct leg_update u = {.status = "completed", .duration = 42};
	event_for(f, &ev, NULL, id, "leg.completed", NULL);
	assert_int_equal(store_leg_update_ev(f->st, it.id, 'b', "CA778", &u, 2150, &ev), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM service_events"), rows + 1);
	assert_int_equal(events_typed(f, "leg.completed"), 1);
}

static int keep_intercept_record(void *ctx, const struct interaction *it)
{
	*(struct interaction *)ctx = *it;
	return 0;
}

/* The intercept settings of a service and the intercept decision of an
 * interaction are written and read back whole, by every read. */
static void intercept_round_trips(void **state)
{
	CX_FIXTURE(state);
	struct service svc;
	assert_int_equal(store_service_get(f->st, f->svc.id, &svc), 0);
	snprintf(svc.intercept_url, sizeof(svc.intercept_url), "https://app.example.com/intercept");
	svc.intercept_timeout_ms = 4321;
	svc.intercept_fail_open = 0;
	assert_int_equal(store_service_update(f->st, &svc), 0);
	struct service back_svc;
	assert_int_equal(store_service_get(f->st, f->svc.id, &back_svc), 0);
	assert_string_equal(back_svc.intercept_url, "https://app.example.com/intercept");
	assert_int_equal(back_svc.intercept_timeout_ms, 4321);
	assert_int_equal(back_svc.intercept_fail_open, 0);

	struct session s;
	pair_session(f, &s);
	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "SM42");
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", s.participants[0].id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", s.participants[1].id);
	it.channel = CHANNEL_MESSAGE;
	it.decision = DECISION_FORWARD_MESSAGE;
	it.created_at = 2300;
	it.intercept = 3;
	snprintf(it.intercept_text, sizeof(it.intercept_text), "call me at [redacted]");
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	assert_int_equal(existed, 0);
	static struct interaction back;
	assert_int_equal(store_interaction_get(f->st, it.id, &back), 0);
	assert_int_equal(back.intercept, 3);
	assert_string_equal(back.intercept_text, "call me at [redacted]");
	memset(&back, 0, sizeof(back));
	assert_int_equal(store_interaction_by_sid(f->st, it.carrier, "SM42", &back), 0);
	assert_int_equal(back.intercept, 3);
	assert_string_equal(back.intercept_text, "call me at [redacted]");
	/* a retry of the same carrier id is answered from the first row */
	static struct interaction retry;
	retry = it;
	id_new("int", retry.id);
	retry.intercept = 0;
	retry.intercept_text[0] = '\0';
	assert_int_equal(store_interaction_record(f->st, &retry, &existed), 0);
	assert_int_equal(existed, 1);
	assert_string_equal(retry.id, it.id);
	assert_int_equal(retry.intercept, 3);
	assert_string_equal(retry.intercept_text, "call me at [redacted]");
	memset(&back, 0, sizeof(back));
	assert_int_equal(store_records(f->st, f->svc.id, 0, 100000, keep_intercept_record, &back), 0);
	assert_string_equal(back.id, it.id);
	assert_int_equal(back.intercept, 3);
	assert_int_equal(back.n_legs, 1);
	assert_int_equal(back.legs[0].leg, 'a');
	assert_string_equal(back.legs[0].carrier_sid, "SM42");
}

const struct CMUnitTest cx_legs_tests[] = {
	CX_TEST(intercept_round_trips),
	CX_TEST(derived_leg_a_and_upsert),
	CX_TEST(derived_leg_a_status_default),
	CX_TEST(late_status_changes_nothing),
	CX_TEST(writes_carry_their_event),
	CX_TEST(events_pull_off_keeps_no_row),
};
const size_t cx_legs_count = sizeof(cx_legs_tests) / sizeof(cx_legs_tests[0]);
