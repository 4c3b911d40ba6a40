/* SPDX-License-Identifier: MIT */
/* ctl_import.c - maskctl's imports (ctl.h): a carrier's number CSV and a
 * SignalWire proxy_sessions.json, checked whole first (ctl_parse.h), then sent
 * row by row with a tally of added, skipped, refused and malformed rows. Names
 * lines of a file, never the numbers on them. */
#include "ctl.h"
#include "ctl_parse.h"
#include "../util/xmalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct import_tally {
	size_t added, skipped, refused, malformed, total;
	json_t *problems; /* [{line, why}] */
};

static void tally_problem(struct import_tally *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void tally_problem(struct import_tally *t, const char *file, int line, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%d: %s\n", file, line, why);
	json_array_append_new(t->problems, json_pack("{s:i,s:s}", "line", line, "why", why));
}

/* The refusal of one row (error code and message of the answer). */
static void refusal_text(const struct answer *a, char *out, size_t cap)
{
	json_t *j = json_loads(a->body, 0, NULL);
	json_t *err = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	snprintf(out, cap, "%ld %s: %s", a->status, code ? code : "error", msg ? msg : "(no message)");
	json_decref(j);
}

/* Reports a file's own problems. Returns EXIT_MALFORMED (nothing may be
 * imported: fatal, or problems without --partial) or 0. */
static int import_check(const struct opts *o, const char *file, const struct ctl_parsed *p, struct import_tally *t)
{
	for (size_t i = 0; i < p->n_problems; i++)
		tally_problem(t, file, p->problems[i].line, "%s", p->problems[i].why);
	t->malformed = p->n_problems;
	if (p->n_problems == 0)
		return 0;
	if (p->fatal || !o->partial) {
		fprintf(stderr, "maskctl: %s: %zu malformed line%s: nothing imported%s\n", file, p->n_problems,
			p->n_problems == 1 ? "" : "s", p->fatal ? "" : " (--partial imports the other lines)");
		return EXIT_MALFORMED;
	}
	return 0;
}

static int import_summary(const struct opts *o, const char *what, struct import_tally *t, int stop_rc)
{
	if (o->json) {
		json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "import", what, "rows", (json_int_t)t->total,
				      "added", (json_int_t)t->added, "skipped", (json_int_t)t->skipped, "refused",
				      (json_int_t)t->refused, "malformed", (json_int_t)t->malformed, "problems",
				      t->problems);
		print_json(j);
		json_decref(j);
	} else {
		printf("%s: added %zu, skipped %zu, refused %zu, malformed %zu\n", what, t->added, t->skipped, t->refused,
		       t->malformed);
		json_decref(t->problems);
	}
	t->problems = NULL;
	if (stop_rc != 0)
		return stop_rc;
	return t->refused > 0 || t->malformed > 0 ? EXIT_INCOMPLETE : EXIT_OK;
}

static void progress(const char *what, size_t done, size_t total)
{
	if (done % PROGRESS_EVERY == 0 || done == total)
		fprintf(stderr, "%s: %zu/%zu\n", what, done, total);
}

int numbers_import(const struct opts *o, const char *svc, const char *file)
{
	int rc = need_id("svc", svc, "numbers import");
	if (rc != 0)
		return rc;
	if (file == NULL) {
		say_error("numbers import: missing the CSV file");
		return EXIT_USAGE;
	}
	size_t len;
	char *text = read_file(file, &len);
	if (text == NULL)
		return EXIT_USAGE;
	struct ctl_parsed p;
	rc = ctl_parse_numbers_csv(text, len, &p);
	free(text);
	if (rc < 0) {
		say_error("%s: more rows than maskctl imports at once; split the file", file);
		return EXIT_MALFORMED;
	}
	struct import_tally t = {.problems = json_array()};
	rc = import_check(o, file, &p, &t);
	if (rc != 0) {
		json_decref(t.problems);
		ctl_parsed_free(&p);
		return rc;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/services/%s/numbers", svc);
	const struct ctl_number_row *rows = p.rows;
	t.total = p.n_rows;
	int stop = 0;
	for (size_t i = 0; i < p.n_rows && stop == 0; i++) {
		const char *carrier = rows[i].carrier[0] ? rows[i].carrier : o->carrier;
		const char *caps = rows[i].capabilities[0] ? rows[i].capabilities : o->capabilities;
		json_t *body = number_body(rows[i].number, carrier, caps, o->reserved);
		struct answer a;
		rc = http_call("POST", path, body, NULL, &a);
		json_decref(body);
		if (rc != 0) {
			stop = rc;
			break;
		}
		char why[512];
		if (a.status == 201) {
			t.added++;
		} else if (a.status == 409) {
			t.skipped++; /* already in a pool */
		} else if (a.status == 400) {
			t.refused++;
			refusal_text(&a, why, sizeof(why));
			tally_problem(&t, file, rows[i].line, "refused: %s", why);
		} else {
			stop = api_refused(&a, "numbers import");
		}
		answer_free(&a);
		progress("numbers import", i + 1, p.n_rows);
	}
	ctl_parsed_free(&p);
	return import_summary(o, "numbers import", &t, stop);
}


/* ---- import signalwire ------------------------------------------------------ */

int import_signalwire(const struct opts *o, const char *svc, const char *file)
{
	int rc = need_id("svc", svc, "import signalwire");
	if (rc != 0)
		return rc;
	if (file == NULL) {
		say_error("import signalwire: missing the proxy_sessions.json file");
		return EXIT_USAGE;
	}
	size_t len;
	char *text = read_file(file, &len);
	if (text == NULL)
		return EXIT_USAGE;
	struct ctl_parsed p;
	rc = ctl_parse_sessions_json(text, len, &p);
	free(text);
	if (rc < 0) {
		say_error("%s: more sessions than maskctl imports at once; split the file", file);
		return EXIT_MALFORMED;
	}
	struct import_tally t = {.problems = json_array()};
	rc = import_check(o, file, &p, &t);
	if (rc != 0) {
		json_decref(t.problems);
		ctl_parsed_free(&p);
		return rc;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/services/%s/sessions", svc);
	struct ctl_session_row *rows = p.rows;
	t.total = p.n_rows;
	int stop = 0;
	for (size_t i = 0; i < p.n_rows && stop == 0; i++) {
		/* one proxy number for both sides, as in the SignalWire session */
		json_t *body = json_pack("{s:s,s:[{s:s,s:s,s:s},{s:s,s:s,s:s}]}", "unique_name", rows[i].session_id,
					 "participants", "number", rows[i].number_a, "label", "A", "proxy_number",
					 rows[i].proxy_number, "number", rows[i].number_b, "label", "B", "proxy_number",
					 rows[i].proxy_number);
		struct answer a;
		rc = http_call("POST", path, body, NULL, &a);
		json_decref(body);
		/* the real numbers of this row are no longer needed */
		explicit_bzero(rows[i].number_a, sizeof(rows[i].number_a));
		explicit_bzero(rows[i].number_b, sizeof(rows[i].number_b));
		if (rc != 0) {
			stop = rc;
			break;
		}
		char why[512];
		if (a.status == 201) {
			t.added++;
		} else if (a.status == 200) {
			t.skipped++; /* imported before: the open session with this unique_name */
		} else if (a.status == 400 || a.status == 409) {
			t.refused++;
			refusal_text(&a, why, sizeof(why));
			tally_problem(&t, file, rows[i].line, "refused: %s", why);
		} else {
			stop = api_refused(&a, "import signalwire");
		}
		answer_free(&a);
		progress("import signalwire", i + 1, p.n_rows);
	}
	ctl_parsed_free(&p);
	return import_summary(o, "import signalwire", &t, stop);
}

