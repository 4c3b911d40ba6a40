/* SPDX-License-Identifier: MIT */
/* maskctl.c - the operator's command line client of maskd's native API (docs/maskctl.1):
 * services, numbers (with a CSV import), sessions, records, API keys, and an import of a
 * SignalWire proxy_sessions.json. Talks HTTP to MASKD_URL with libcurl and knows
 * no rule of its own: every check that matters is the daemon's answer. It prints
 * what the API shows (masked participants) and never a number read from a file. */
#include "ctl_parse.h"
#include "../util/xmalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

/* Exit codes (docs/maskctl.1, EXIT STATUS). */
enum ctl_exit {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* the API refused the request (400, 409, other 4xx) */
	EXIT_USAGE = 2,       /* bad command line, no key, unreadable file */
	EXIT_CONNECT = 3,     /* maskd could not be reached, or its answer was not understood */
	EXIT_AUTH = 4,        /* 401: missing or wrong key */
	EXIT_NOT_FOUND = 5,   /* 404 */
	EXIT_UNAVAILABLE = 6, /* 5xx: the daemon or its database is unavailable */
	EXIT_INCOMPLETE = 7,  /* an import finished, but some rows were refused or malformed (--partial) */
	EXIT_MALFORMED = 8,   /* an import file is malformed: nothing imported */
};

#define ANSWER_MAX (64u * 1024 * 1024) /* bytes of one answer kept (a records export) */
#define IMPORT_FILE_MAX (64u * 1024 * 1024)
#define PROGRESS_EVERY 100
#define SESSION_PAGE 500

struct opts {
	const char *url;
	const char *key_file;
	bool json;
	bool partial;
	bool reserved;
	bool csv;
	const char *carrier, *capabilities, *status, *unique_name, *from, *to, *output, *body;
	const char *role, *service, *label, *expires_at;
};

struct answer {
	long status;
	char *body; /* NUL-terminated, xmalloc'd */
	size_t len;
	bool too_big;
};

static CURL *curl;
static char auth_header[1024];
static const char *base_url;

__attribute__((format(printf, 1, 2))) static void say_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("maskctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- HTTP ----------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t add = size * n;
	if (a->len + add > ANSWER_MAX) {
		a->too_big = true;
		return 0;
	}
	a->body = xrealloc(a->body, a->len + add + 1);
	memcpy(a->body + a->len, data, add);
	a->len += add;
	a->body[a->len] = '\0';
	return add;
}

static void answer_free(struct answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
}

/* One API call: method path (already URL-encoded), body (NULL: none; not
 * consumed), accept (NULL: application/json). 0 with *a filled (any status), or
 * EXIT_CONNECT after saying why. */
static int http_call(const char *method, const char *path, json_t *body, const char *accept, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->body = xstrdup("");
	char url[2048], accept_h[128];
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	snprintf(accept_h, sizeof(accept_h), "Accept: %s", accept ? accept : "application/json");
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, auth_header);
	h = curl_slist_append(h, accept_h);
	char *text = NULL;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(curl);
	curl_slist_free_all(h);
	free(text);
	if (rc != CURLE_OK) {
		say_error("%s %s: %s", method, base_url, a->too_big ? "the answer is too large" : curl_easy_strerror(rc));
		answer_free(a);
		return EXIT_CONNECT;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
	return 0;
}

/* The exit code of a refused answer, after printing the API's error (its code
 * and message: the daemon never echoes a real number in them). */
static int api_refused(const struct answer *a, const char *what)
{
	json_t *j = json_loads(a->body, 0, NULL);
	json_t *err = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (code != NULL && msg != NULL)
		say_error("%s: %ld %s: %s", what, a->status, code, msg);
	else
		say_error("%s: HTTP %ld", what, a->status);
	json_decref(j);
	if (a->status == 401)
		return EXIT_AUTH;
	if (a->status == 404)
		return EXIT_NOT_FOUND;
	if (a->status >= 500)
		return EXIT_UNAVAILABLE;
	return EXIT_REFUSED;
}

/* A JSON call expecting one of the 2xx answers: 0 with *out (owned) or an exit code. */
static int api_json(const char *method, const char *path, json_t *body, const char *what, json_t **out)
{
	struct answer a;
	*out = NULL;
	int rc = http_call(method, path, body, NULL, &a);
	if (rc != 0)
		return rc;
	if (a.status < 200 || a.status > 299) {
		rc = api_refused(&a, what);
		answer_free(&a);
		return rc;
	}
	if (a.status == 204) {
		answer_free(&a);
		*out = json_object();
		return 0;
	}
	json_error_t jerr;
	*out = json_loads(a.body, 0, &jerr);
	answer_free(&a);
	if (*out == NULL) {
		say_error("%s: the answer is not JSON", what);
		return EXIT_CONNECT;
	}
	return 0;
}

/* path + "?k=v&..." of the non-NULL pairs, URL-encoded, into out. */
static void with_query(char *out, size_t cap, const char *path, const char *const *kv, size_t n_kv)
{
	size_t used = (size_t)snprintf(out, cap, "%s", path);
	char sep = '?';
	for (size_t i = 0; i + 1 < n_kv; i += 2) {
		if (kv[i + 1] == NULL || used >= cap)
			continue;
		char *v = curl_easy_escape(curl, kv[i + 1], 0);
		used += (size_t)snprintf(out + used, cap - used, "%c%s=%s", sep, kv[i], v ? v : "");
		curl_free(v);
		sep = '&';
	}
}

/* ---- output --------------------------------------------------------------- */

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL)
		puts(s);
	free(s);
}

#define TABLE_COLS 8

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* row-major, nrows * ncols, xstrdup'd */
};

static void table_row(struct table *t, const char *const *cols)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cols[c] ? cols[c] : "-");
	t->nrows++;
}

/* Prints the rows with aligned columns and frees them. */
static void table_print(struct table *t)
{
	size_t width[TABLE_COLS] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);
			width[c] = w > width[c] ? w : width[c];
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 < t->ncols)
				printf("%-*s  ", (int)width[c], cell);
			else
				printf("%s\n", cell);
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static void int_text(json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, cap, "-");
}

/* ---- services --------------------------------------------------------------- */

static void carriers_text(json_t *svc, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	const char *name;
	json_t *c;
	json_object_foreach(json_object_get(svc, "carriers"), name, c)
	{
		if (!json_is_true(json_object_get(c, "configured")) || used >= cap)
			continue;
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "", name);
	}
	if (used == 0)
		snprintf(out, cap, "-");
}

static void service_table_row(struct table *t, json_t *svc)
{
	char carriers[128];
	carriers_text(svc, carriers, sizeof(carriers));
	const char *row[] = {str(svc, "id"), str(svc, "name"), carriers, str(json_object_get(svc, "defaults"), "mode"),
			     str(svc, "created_at")};
	table_row(t, row);
}

static int services_list(const struct opts *o, const char *unused1, const char *unused2)
{
	json_t *j;
	int rc = api_json("GET", "/v1/services", NULL, "services list", &j);
	if (rc != 0)
		return rc;
	if (o->json) {
		print_json(j);
	} else {
		struct table t = {.ncols = 5};
		table_row(&t, (const char *[]){"ID", "NAME", "CARRIERS", "MODE", "CREATED"});
		size_t i;
		json_t *svc;
		json_array_foreach(json_object_get(j, "services"), i, svc) service_table_row(&t, svc);
		table_print(&t);
	}
	json_decref(j);
	return 0;
}

static void service_print(json_t *svc)
{
	char carriers[128], ttl[24], cap[24];
	carriers_text(svc, carriers, sizeof(carriers));
	json_t *d = json_object_get(svc, "defaults");
	int_text(d, "ttl", ttl, sizeof(ttl));
	int_text(d, "number_cap", cap, sizeof(cap));
	printf("id:              %s\n", str(svc, "id"));
	printf("name:            %s\n", str(svc, "name"));
	printf("carriers:        %s\n", carriers);
	printf("mode:            %s\n", str(d, "mode"));
	printf("ttl:             %s\n", ttl);
	printf("number_cap:      %s\n", cap);
	printf("geo_match:       %s\n", str(d, "geo_match"));
	printf("unknown_caller:  %s\n", str(json_object_get(svc, "unknown_caller"), "policy"));
	printf("created_at:      %s\n", str(svc, "created_at"));
}

static bool id_ok(const char *prefix, const char *id)
{
	size_t n = strlen(prefix);
	if (strncmp(id, prefix, n) != 0 || id[n] != '_' || strlen(id) > 64)
		return false;
	for (const char *c = id + n + 1; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	return id[n + 1] != '\0';
}

static int need_id(const char *prefix, const char *id, const char *what)
{
	if (id == NULL) {
		say_error("%s: missing the %s id", what, prefix);
		return EXIT_USAGE;
	}
	if (!id_ok(prefix, id)) {
		say_error("%s: not a %s_ id", what, prefix);
		return EXIT_USAGE;
	}
	return 0;
}

static int services_show(const struct opts *o, const char *id, const char *unused)
{
	int rc = need_id("svc", id, "services show");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/services/%s", id);
	json_t *j;
	rc = api_json("GET", path, NULL, "services show", &j);
	if (rc != 0)
		return rc;
	if (o->json)
		print_json(j);
	else
		service_print(j);
	json_decref(j);
	return 0;
}

/* Reads a whole file (at most IMPORT_FILE_MAX bytes): xmalloc'd, NUL-terminated,
 * or NULL after saying why. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		say_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = xmalloc(1);
	size_t n = 0;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (n + got > IMPORT_FILE_MAX) {
			say_error("%s is larger than %u bytes", path, IMPORT_FILE_MAX);
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = xrealloc(buf, n + got + 1);
		memcpy(buf + n, chunk, got);
		n += got;
	}
	bool failed = ferror(f) != 0;
	fclose(f);
	if (failed) {
		say_error("cannot read %s", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int services_create(const struct opts *o, const char *name, const char *unused)
{
	if (name == NULL) {
		say_error("services create: missing the name");
		return EXIT_USAGE;
	}
	json_t *body;
	if (o->body != NULL) {
		size_t len;
		char *text = read_file(o->body, &len);
		if (text == NULL)
			return EXIT_USAGE;
		json_error_t jerr;
		body = json_loadb(text, len, 0, &jerr);
		free(text);
		if (!json_is_object(body)) {
			say_error("%s:%d: not a JSON object", o->body, body == NULL ? jerr.line : 1);
			json_decref(body);
			return EXIT_USAGE;
		}
	} else {
		body = json_object();
	}
	json_object_set_new(body, "name", json_string(name));
	json_t *j;
	int rc = api_json("POST", "/v1/services", body, "services create", &j);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (o->json)
		print_json(j);
	else
		printf("created service %s (%s)\n", str(j, "id"), str(j, "name"));
	json_decref(j);
	return 0;
}

/* ---- numbers ---------------------------------------------------------------- */

static json_t *number_body(const char *number, const char *carrier, const char *caps, bool reserved)
{
	json_t *b = json_pack("{s:s}", "number", number);
	if (carrier != NULL && carrier[0] != '\0')
		json_object_set_new(b, "carrier", json_string(carrier));
	if (caps != NULL && caps[0] != '\0') {
		json_t *arr = json_array();
		char tok[16];
		size_t t = 0;
		for (const char *c = caps;; c++) {
			if (*c == ',' || *c == '\0') {
				tok[t] = '\0';
				if (t > 0)
					json_array_append_new(arr, json_string(tok));
				t = 0;
			} else if (t + 1 < sizeof(tok)) {
				tok[t++] = *c;
			}
			if (*c == '\0')
				break;
		}
		json_object_set_new(b, "capabilities", arr);
	}
	if (reserved)
		json_object_set_new(b, "reserved", json_true());
	return b;
}

static void caps_text(json_t *n, char *out, size_t cap)
{
	size_t used = 0, i;
	json_t *v;
	out[0] = '\0';
	json_array_foreach(json_object_get(n, "capabilities"), i, v)
	{
		if (used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "", json_string_value(v));
	}
}

static int numbers_add(const struct opts *o, const char *svc, const char *number)
{
	int rc = need_id("svc", svc, "numbers add");
	if (rc != 0)
		return rc;
	if (number == NULL) {
		say_error("numbers add: missing the number");
		return EXIT_USAGE;
	}
	char path[128];
	snprintf(path, sizeof(path), "/v1/services/%s/numbers", svc);
	json_t *body = number_body(number, o->carrier, o->capabilities, o->reserved);
	json_t *j;
	rc = api_json("POST", path, body, "numbers add", &j);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (o->json) {
		print_json(j);
	} else {
		char caps[64];
		caps_text(j, caps, sizeof(caps));
		printf("added %s %s (%s, %s, %s)\n", str(j, "id"), str(j, "number"), str(j, "country"), caps,
		       str(j, "state"));
	}
	json_decref(j);
	return 0;
}

static int numbers_list(const struct opts *o, const char *svc, const char *unused)
{
	int rc = need_id("svc", svc, "numbers list");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/services/%s/numbers", svc);
	json_t *j;
	rc = api_json("GET", path, NULL, "numbers list", &j);
	if (rc != 0)
		return rc;
	if (o->json) {
		print_json(j);
	} else {
		struct table t = {.ncols = 7};
		table_row(&t, (const char *[]){"ID", "NUMBER", "CARRIER", "CAPABILITIES", "STATE", "IN_USE", "COOLING_OFF"});
		size_t i;
		json_t *n;
		json_array_foreach(json_object_get(j, "numbers"), i, n)
		{
			char caps[64], in_use[24], cooling[24];
			caps_text(n, caps, sizeof(caps));
			int_text(n, "in_use", in_use, sizeof(in_use));
			int_text(n, "cooling_off", cooling, sizeof(cooling));
			table_row(&t, (const char *[]){str(n, "id"), str(n, "number"), str(n, "carrier"), caps, str(n, "state"),
						       in_use, cooling});
		}
		table_print(&t);
	}
	json_decref(j);
	return 0;
}

/* Counts of an import, and its problems for --json. */
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

static int numbers_import(const struct opts *o, const char *svc, const char *file)
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

/* ---- sessions --------------------------------------------------------------- */

static void participants_text(json_t *s, char *out, size_t cap)
{
	size_t used = 0, i;
	json_t *p;
	out[0] = '\0';
	json_array_foreach(json_object_get(s, "participants"), i, p)
	{
		if (used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s via %s", used ? "; " : "", str(p, "number"),
						 str(p, "proxy_number"));
	}
}

static int sessions_list(const struct opts *o, const char *svc, const char *unused)
{
	int rc = need_id("svc", svc, "sessions list");
	if (rc != 0)
		return rc;
	char base[128], path[1024], limit[16];
	snprintf(base, sizeof(base), "/v1/services/%s/sessions", svc);
	snprintf(limit, sizeof(limit), "%d", SESSION_PAGE);
	json_t *all = json_array();
	char *after = NULL;
	for (;;) {
		const char *kv[] = {"status", o->status, "unique_name", o->unique_name, "limit", limit, "after", after};
		with_query(path, sizeof(path), base, kv, 8);
		json_t *j;
		rc = api_json("GET", path, NULL, "sessions list", &j);
		free(after);
		after = NULL;
		if (rc != 0) {
			json_decref(all);
			return rc;
		}
		json_array_extend(all, json_object_get(j, "sessions"));
		const char *next = json_string_value(json_object_get(j, "next"));
		after = next ? xstrdup(next) : NULL;
		json_decref(j);
		if (after == NULL)
			break;
	}
	if (o->json) {
		json_t *j = json_pack("{s:o}", "sessions", all);
		print_json(j);
		json_decref(j);
		return 0;
	}
	struct table t = {.ncols = 6};
	table_row(&t, (const char *[]){"ID", "UNIQUE_NAME", "STATUS", "MODE", "CREATED", "PARTICIPANTS"});
	size_t i;
	json_t *s;
	json_array_foreach(all, i, s)
	{
		char parts[256];
		participants_text(s, parts, sizeof(parts));
		table_row(&t, (const char *[]){str(s, "id"), str(s, "unique_name"), str(s, "status"), str(s, "mode"),
					       str(s, "created_at"), parts});
	}
	table_print(&t);
	json_decref(all);
	return 0;
}

static void session_print(json_t *s)
{
	char ttl[24];
	int_text(s, "ttl", ttl, sizeof(ttl));
	printf("id:           %s\n", str(s, "id"));
	printf("service_id:   %s\n", str(s, "service_id"));
	printf("unique_name:  %s\n", str(s, "unique_name"));
	printf("status:       %s\n", str(s, "status"));
	printf("mode:         %s\n", str(s, "mode"));
	printf("ttl:          %s\n", ttl);
	printf("expires_at:   %s\n", str(s, "expires_at"));
	printf("created_at:   %s\n", str(s, "created_at"));
	printf("closed_at:    %s\n", str(s, "closed_at"));
	struct table t = {.ncols = 4};
	table_row(&t, (const char *[]){"PARTICIPANT", "LABEL", "NUMBER", "PROXY_NUMBER"});
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(s, "participants"), i, p)
		table_row(&t, (const char *[]){str(p, "id"), str(p, "label"), str(p, "number"), str(p, "proxy_number")});
	table_print(&t);
}

static int sessions_show(const struct opts *o, const char *id, const char *unused)
{
	int rc = need_id("ses", id, "sessions show");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	json_t *j;
	rc = api_json("GET", path, NULL, "sessions show", &j);
	if (rc != 0)
		return rc;
	if (o->json)
		print_json(j);
	else
		session_print(j);
	json_decref(j);
	return 0;
}

static int sessions_close(const struct opts *o, const char *id, const char *unused)
{
	int rc = need_id("ses", id, "sessions close");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	json_t *body = json_pack("{s:s}", "status", "closed");
	json_t *j;
	rc = api_json("PATCH", path, body, "sessions close", &j);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (o->json)
		print_json(j);
	else
		printf("closed %s (status %s)\n", str(j, "id"), str(j, "status"));
	json_decref(j);
	return 0;
}

/* ---- records ---------------------------------------------------------------- */

static int records_export(const struct opts *o, const char *svc, const char *unused)
{
	int rc = need_id("svc", svc, "records export");
	if (rc != 0)
		return rc;
	char base[128], path[1024];
	snprintf(base, sizeof(base), "/v1/services/%s/records", svc);
	const char *kv[] = {"from", o->from, "to", o->to, "format", o->json ? NULL : "csv"};
	with_query(path, sizeof(path), base, kv, 6);
	struct answer a;
	rc = http_call("GET", path, NULL, o->json ? "application/json" : "text/csv", &a);
	if (rc != 0)
		return rc;
	if (a.status != 200) {
		rc = api_refused(&a, "records export");
		answer_free(&a);
		return rc;
	}
	FILE *f = stdout;
	if (o->output != NULL) {
		f = fopen(o->output, "w");
		if (f == NULL) {
			say_error("cannot write %s: %s", o->output, strerror(errno));
			answer_free(&a);
			return EXIT_USAGE;
		}
	}
	bool ok = fwrite(a.body, 1, a.len, f) == a.len;
	if (f != stdout)
		ok = fclose(f) == 0 && ok;
	answer_free(&a);
	if (!ok) {
		say_error("cannot write the export");
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- import signalwire ------------------------------------------------------ */

static int import_signalwire(const struct opts *o, const char *svc, const char *file)
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

/* ---- API keys --------------------------------------------------------------- */

static void key_table_row(struct table *t, json_t *k)
{
	const char *state = json_is_true(json_object_get(k, "revoked")) ? "revoked" : "active";
	const char *row[] = {str(k, "id"), str(k, "role"), str(k, "service_id"), str(k, "label"), state,
			     str(k, "expires_at"), str(k, "last_used_at")};
	table_row(t, row);
}

static int keys_list(const struct opts *o, const char *unused1, const char *unused2)
{
	json_t *j;
	int rc = api_json("GET", "/v1/keys", NULL, "keys list", &j);
	if (rc != 0)
		return rc;
	if (o->json) {
		print_json(j);
	} else {
		struct table t = {.ncols = 7};
		table_row(&t, (const char *[]){"ID", "ROLE", "SERVICE", "LABEL", "STATE", "EXPIRES", "LAST USED"});
		size_t i;
		json_t *k;
		json_array_foreach(json_object_get(j, "keys"), i, k) key_table_row(&t, k);
		table_print(&t);
	}
	json_decref(j);
	return 0;
}

/* Prints an answer that carries a new key: the key goes to stdout (alone, or in
 * the JSON), the warning that it is shown only once to stderr. */
static void key_secret_print(const struct opts *o, json_t *j, const char *verb)
{
	if (o->json)
		print_json(j);
	else
		printf("%s key %s (role %s)\n%s\n", verb, str(j, "id"), str(j, "role"), str(j, "key"));
	fputs("maskctl: this key is shown only once: store it now\n", stderr);
}

static int keys_create(const struct opts *o, const char *unused1, const char *unused2)
{
	if (o->role == NULL) {
		say_error("keys create: missing --role");
		return EXIT_USAGE;
	}
	json_t *body = json_pack("{s:s}", "role", o->role);
	if (o->service != NULL)
		json_object_set_new(body, "service_id", json_string(o->service));
	if (o->label != NULL)
		json_object_set_new(body, "label", json_string(o->label));
	if (o->expires_at != NULL)
		json_object_set_new(body, "expires_at", json_string(o->expires_at));
	json_t *j;
	int rc = api_json("POST", "/v1/keys", body, "keys create", &j);
	json_decref(body);
	if (rc != 0)
		return rc;
	key_secret_print(o, j, "created");
	json_decref(j);
	return 0;
}

static int keys_rotate(const struct opts *o, const char *id, const char *unused)
{
	int rc = need_id("key", id, "keys rotate");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s/rotate", id);
	json_t *j;
	rc = api_json("POST", path, NULL, "keys rotate", &j);
	if (rc != 0)
		return rc;
	key_secret_print(o, j, "rotated");
	json_decref(j);
	return 0;
}

static int keys_revoke(const struct opts *o, const char *id, const char *unused)
{
	int rc = need_id("key", id, "keys revoke");
	if (rc != 0)
		return rc;
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	json_t *j;
	rc = api_json("DELETE", path, NULL, "keys revoke", &j);
	if (rc != 0)
		return rc;
	if (o->json)
		print_json(j);
	else
		printf("revoked %s\n", id);
	json_decref(j);
	return 0;
}

/* ---- command line ----------------------------------------------------------- */

static const char usage_text[] =
	"usage: maskctl [--json] [--url URL] [--key-file FILE] COMMAND ...\n"
	"  services list | show SVC | create NAME [--body FILE.json]\n"
	"  numbers  list SVC | add SVC NUMBER [--carrier C] [--capabilities voice,sms,mms] [--reserved]\n"
	"           import SVC FILE.csv [--carrier C] [--capabilities L] [--partial]\n"
	"  sessions list SVC [--status S] [--unique-name U] | show SES | close SES\n"
	"  records  export SVC [--from T] [--to T] [--output FILE]\n"
	"  keys     list | create --role R [--service SVC] [--label L] [--expires-at T]\n"
	"           rotate KEY | revoke KEY\n"
	"  import   signalwire SVC proxy_sessions.json [--partial]\n"
	"The key: MASKD_API_KEY, or --key-file. The daemon: MASKD_URL (default http://127.0.0.1:8080).\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* Reads the key (its first line) from path into auth_header. */
static int key_from_file(const char *path, char *key, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		say_error("cannot read the key file %s: %s", path, strerror(errno));
		return EXIT_USAGE;
	}
	bool got = fgets(key, (int)cap, f) != NULL;
	fclose(f);
	if (!got) {
		say_error("the key file %s is empty", path);
		return EXIT_USAGE;
	}
	key[strcspn(key, "\r\n")] = '\0';
	return 0;
}

struct flag {
	const char *name;
	const char **value; /* NULL: a boolean */
	bool *on;
};

/* The commands: two words, then `words` in all (ids, a name, a file). */
static const struct command {
	const char *cmd, *sub;
	int words;
	int (*fn)(const struct opts *o, const char *arg1, const char *arg2);
} commands[] = {
	{"services", "list", 2, services_list},	   {"services", "show", 3, services_show},
	{"services", "create", 3, services_create},  {"numbers", "list", 3, numbers_list},
	{"numbers", "add", 4, numbers_add},	   {"numbers", "import", 4, numbers_import},
	{"sessions", "list", 3, sessions_list},	   {"sessions", "show", 3, sessions_show},
	{"sessions", "close", 3, sessions_close},    {"records", "export", 3, records_export},
	{"import", "signalwire", 4, import_signalwire}, {"keys", "list", 2, keys_list},
	{"keys", "create", 2, keys_create},	   {"keys", "rotate", 3, keys_rotate},
	{"keys", "revoke", 3, keys_revoke},
};

static int run(const struct opts *o, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(argv[0], c->cmd) != 0 || strcmp(argv[1], c->sub) != 0)
			continue;
		if (argc > c->words) {
			say_error("%s %s takes %d argument%s", c->cmd, c->sub, c->words - 2, c->words == 3 ? "" : "s");
			return EXIT_USAGE;
		}
		return c->fn(o, argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL);
	}
	return usage();
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	const struct flag flags[] = {
		{"--json", NULL, &o.json},
		{"--partial", NULL, &o.partial},
		{"--reserved", NULL, &o.reserved},
		{"--url", &o.url, NULL},
		{"--key-file", &o.key_file, NULL},
		{"--carrier", &o.carrier, NULL},
		{"--capabilities", &o.capabilities, NULL},
		{"--status", &o.status, NULL},
		{"--unique-name", &o.unique_name, NULL},
		{"--from", &o.from, NULL},
		{"--to", &o.to, NULL},
		{"--output", &o.output, NULL},
		{"--body", &o.body, NULL},
		{"--role", &o.role, NULL},
		{"--service", &o.service, NULL},
		{"--label", &o.label, NULL},
		{"--expires-at", &o.expires_at, NULL},
	};
	char **words = xcalloc((size_t)argc + 1, sizeof(char *));
	int n_words = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			free(words);
			return EXIT_OK;
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			words[n_words++] = argv[i];
			continue;
		}
		const struct flag *f = NULL;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (strcmp(argv[i], flags[k].name) == 0)
				f = &flags[k];
		if (f == NULL) {
			say_error("unknown option %s", argv[i]);
			free(words);
			return usage();
		}
		if (f->on != NULL) {
			*f->on = true;
		} else if (i + 1 < argc) {
			*f->value = argv[++i];
		} else {
			say_error("%s needs a value", argv[i]);
			free(words);
			return EXIT_USAGE;
		}
	}
	if (n_words < 2) {
		free(words);
		return usage();
	}
	char key[512] = "";
	const char *env_key = getenv("MASKD_API_KEY");
	if (o.key_file != NULL) {
		int rc = key_from_file(o.key_file, key, sizeof(key));
		if (rc != 0) {
			free(words);
			return rc;
		}
	} else if (env_key != NULL) {
		snprintf(key, sizeof(key), "%s", env_key);
	}
	if (key[0] == '\0') {
		say_error("no API key: set MASKD_API_KEY or give --key-file");
		free(words);
		return EXIT_USAGE;
	}
	snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", key);
	explicit_bzero(key, sizeof(key));
	base_url = o.url ? o.url : getenv("MASKD_URL");
	if (base_url == NULL || base_url[0] == '\0')
		base_url = "http://127.0.0.1:8080";
	static char base[1024];
	snprintf(base, sizeof(base), "%s", base_url);
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		base[--bl] = '\0';
	base_url = base;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == 0)
		curl = curl_easy_init();
	if (curl == NULL) {
		say_error("cannot start libcurl");
		free(words);
		return EXIT_CONNECT;
	}
	int rc = run(&o, n_words, words);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	explicit_bzero(auth_header, sizeof(auth_header));
	free(words);
	return rc;
}
