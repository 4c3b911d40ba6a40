/* SPDX-License-Identifier: MIT */
/* api_records.c - call records for billing: GET /v1/services/{id}/records (JSON, or
 * CSV with Accept: text/csv) and /usage (billable seconds and counts per UTC day).
 * Rows carry ids, proxy numbers and countries: never a real number. */
#include "api_internal.h"
#include "../core/intercept.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECORDS_PAGE_MAX 50000 /* rows per answer; more: "truncated" and next_from */
#define TIME_END (253402300799LL) /* 9999-12-31T23:59:59Z */

/* from/to: RFC 3339, or a date "YYYY-MM-DD" meaning its 00:00 UTC. */
static bool time_param(const struct form *q, const char *key, int64_t def, int64_t *out, struct api_error *e)
{
	const char *s = form_get(q, key);
	if (s == NULL || s[0] == '\0') {
		*out = def;
		return true;
	}
	char buf[32];
	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		s = buf;
	}
	if (rfc3339_parse(s, out) < 0) {
		api_error_set(e, 400, "invalid_field", "%s must be an RFC 3339 time or a date (YYYY-MM-DD)", key);
		return false;
	}
	return true;
}

static bool window(struct api_req *r, int64_t *from, int64_t *to, struct form *q)
{
	struct api_error e = {0};
	if (form_parse(r->http->arena, r->http->query, strlen(r->http->query), q) < 0) {
		api_error_set(&e, 400, "invalid_field", "malformed query string");
		goto fail;
	}
	const char *given = form_get(q, "from");
	bool from_given = given != NULL && given[0] != '\0';
	if (!time_param(q, "from", 0, from, &e) || !time_param(q, "to", TIME_END, to, &e))
		goto fail;
	if (from_given && *from >= *to) {
		api_error_set(&e, 400, "invalid_field", "from must be before to");
		goto fail;
	}
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return false;
	/* no from: since the service began, and the answer says so (no record is older) */
	if (!from_given)
		*from = svc.created_at < *to ? svc.created_at : *to - 1;
	return true;
fail:
	api_reply_error(r->res, &e);
	return false;
}

struct records_ctx {
	int csv;
	int n;
	int64_t next_from;
	json_t *rows;
	struct buf *out;
};

static void csv_field(struct buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_puts(b, "\"");
	for (; *s; s++) {
		if (*s == '"')
			buf_puts(b, "\"\"");
		else
			buf_append(b, s, 1);
	}
	buf_puts(b, "\"");
}

static void csv_time(struct buf *b, int64_t t)
{
	char s[RFC3339_MAX] = "";
	if (t > 0)
		rfc3339_format(t, s, sizeof(s));
	buf_puts(b, s);
}

#define CSV_HEADER                                                                                           \
	"interaction_id,session_id,channel,carrier,decision,leg,carrier_sid,status,proxy_number,other_country," \
	"started_at,answered_at,ended_at,billable_seconds,recording_id,recording_url,cost,currency\r\n"

static int add_record(void *ctx, const struct interaction *it)
{
	struct records_ctx *rc = ctx;
	const struct leg *l = &it->legs[0];
	if (rc->n == RECORDS_PAGE_MAX) {
		rc->next_from = l->started_at;
		return 1;
	}
	rc->n++;
	if (!rc->csv) {
		json_t *o = api_leg_json(l);
		json_object_set_new(o, "interaction_id", json_string(it->id));
		json_object_set_new(o, "session_id", json_string(it->session_id));
		json_object_set_new(o, "channel", json_string(channel_name(it->channel)));
		json_object_set_new(o, "carrier", json_string(dialect_name(it->carrier)));
		json_object_set_new(o, "decision", json_string(decision_name(it->decision)));
		if (it->intercept != INTERCEPT_NONE) /* the intercept_url was asked */
			json_object_set_new(o, "intercept", json_string(intercept_outcome_name(it->intercept)));
		json_array_append_new(rc->rows, o);
		return 0;
	}
	struct buf *b = rc->out;
	char leg[2] = {l->leg, '\0'}, dur[24] = "";
	if (l->duration >= 0)
		snprintf(dur, sizeof(dur), "%lld", (long long)l->duration);
	const char *fields[] = {it->id, it->session_id, channel_name(it->channel), dialect_name(it->carrier),
				decision_name(it->decision), leg, l->carrier_sid, l->status, l->proxy_number,
				l->other_country};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		csv_field(b, fields[i]);
		buf_puts(b, ",");
	}
	csv_time(b, l->started_at);
	buf_puts(b, ",");
	csv_time(b, l->answered_at);
	buf_puts(b, ",");
	csv_time(b, l->ended_at);
	buf_printf(b, ",%s,", dur);
	const char *tail[] = {l->recording_id, l->recording_url, l->cost, l->currency};
	for (size_t i = 0; i < 4; i++) {
		csv_field(b, tail[i]);
		buf_puts(b, i < 3 ? "," : "\r\n");
	}
	return 0;
}

static int wants_csv(const struct http_request *req, const struct form *q)
{
	const char *fmt = form_get(q, "format");
	if (fmt != NULL)
		return strcmp(fmt, "csv") == 0;
	const char *accept = http_header(req, "Accept");
	return accept != NULL && strstr(accept, "text/csv") != NULL;
}

void api_records(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	int64_t from, to;
	struct form q;
	if (!window(r, &from, &to, &q))
		return;
	struct records_ctx ctx = {.csv = wants_csv(r->http, &q), .rows = json_array(), .out = &r->res->body};
	if (ctx.csv)
		buf_puts(&r->res->body, CSV_HEADER);
	int rc = store_records(r->app->store, r->id, from, to, add_record, &ctx);
	if (rc < 0) {
		json_decref(ctx.rows);
		buf_reset(&r->res->body);
		api_store_failed(r, "records", rc);
		return;
	}
	if (ctx.csv) {
		json_decref(ctx.rows);
		r->res->status = 200;
		r->res->content_type = "text/csv; charset=utf-8";
		return;
	}
	json_t *o = json_pack("{s:o,s:o,s:o}", "from", json_time(from), "to", json_time(to), "records", ctx.rows);
	json_object_set_new(o, "next_from", ctx.next_from ? json_time(ctx.next_from) : json_null());
	api_reply(r->res, 200, o);
}

struct usage_ctx {
	json_t *days;
	int64_t calls, messages, seconds, keywords;
};

static void add_day(void *ctx, const struct usage_day *u)
{
	struct usage_ctx *uc = ctx;
	char date[RFC3339_MAX];
	rfc3339_format(u->day, date, sizeof(date));
	date[10] = '\0';
	json_array_append_new(uc->days, json_pack("{s:s,s:I,s:I,s:I,s:I}", "date", date, "calls", (json_int_t)u->calls,
						  "messages", (json_int_t)u->messages, "keywords", (json_int_t)u->keywords,
						  "billable_seconds", (json_int_t)u->billable_seconds));
	uc->keywords += u->keywords;
	uc->calls += u->calls;
	uc->messages += u->messages;
	uc->seconds += u->billable_seconds;
}

void api_usage(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	int64_t from, to;
	struct form q;
	if (!window(r, &from, &to, &q))
		return;
	struct usage_ctx uc = {.days = json_array()};
	int rc = store_usage(r->app->store, r->id, from, to, add_day, &uc);
	if (rc < 0) {
		json_decref(uc.days);
		api_store_failed(r, "usage", rc);
		return;
	}
	api_reply(r->res, 200,
		  json_pack("{s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I}}", "from", json_time(from), "to", json_time(to), "days",
			    uc.days, "total", "calls", (json_int_t)uc.calls, "messages", (json_int_t)uc.messages,
			    "keywords", (json_int_t)uc.keywords, "billable_seconds", (json_int_t)uc.seconds));
}
