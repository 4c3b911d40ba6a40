/* SPDX-License-Identifier: MIT */
/* ctl_parse.c - maskctl's CSV and JSON file readers; see ctl_parse.h. Checks only
 * the file's own shape (columns, quoting, field types, the look of a number);
 * whether a number is valid for its country is the daemon's answer. */
#include "ctl_parse.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#define CTL_ROWS_MAX 1000000 /* rows of one file; more is refused whole */
#define CSV_COLUMNS_MAX 64

/* ---- shared -------------------------------------------------------------- */

struct vec {
	void *items;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->items = xrealloc(v->items, v->cap * v->size);
	}
	void *slot = (char *)v->items + v->n * v->size;
	memset(slot, 0, v->size);
	v->n++;
	return slot;
}

__attribute__((format(printf, 3, 4))) static void problem(struct vec *problems, int line, const char *fmt, ...)
{
	struct ctl_problem *p = vec_push(problems);
	p->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* Looks like E.164 as people write it: '+', then 8 to 15 digits with spaces,
 * dots, dashes or parentheses between them. */
static bool looks_e164(const char *s)
{
	if (s[0] != '+')
		return false;
	size_t digits = 0;
	for (const char *c = s + 1; *c != '\0'; c++) {
		if (isdigit((unsigned char)*c))
			digits++;
		else if (strchr(" .-()", *c) == NULL)
			return false;
	}
	return digits >= 8 && digits <= 15;
}

static const char *const dialects[] = {"twilio", "signalwire", "telnyx", "plivo", "vobiz", "vonage", NULL};

static bool known_dialect(const char *s)
{
	for (size_t i = 0; dialects[i] != NULL; i++)
		if (strcmp(s, dialects[i]) == 0)
			return true;
	return false;
}

static void finish(struct ctl_parsed *out, struct vec *rows, struct vec *problems, int fatal)
{
	out->rows = rows->items;
	out->n_rows = rows->n;
	out->problems = problems->items;
	out->n_problems = problems->n;
	out->fatal = fatal;
}

void ctl_parsed_free(struct ctl_parsed *p)
{
	if (p == NULL)
		return;
	free(p->rows);
	free(p->problems);
	memset(p, 0, sizeof(*p));
}

/* ---- CSV ----------------------------------------------------------------- */

struct csv_reader {
	const char *s, *end;
	int line; /* of the next character */
};

/* One record: its fields (trimmed, at most CTL_FIELD_MAX - 1 bytes each; a
 * longer one sets *too_long), its first line. Returns the number of fields, 0 at
 * the end of the text, -1 for an unterminated quote, -2 for a quote inside an
 * unquoted field, -3 for more than CSV_COLUMNS_MAX fields. */
static int csv_record(struct csv_reader *r, char fields[][CTL_FIELD_MAX], int *first_line, bool *too_long)
{
	*too_long = false;
	/* blank lines are no records */
	while (r->s < r->end && (*r->s == '\n' || *r->s == '\r')) {
		if (*r->s == '\n')
			r->line++;
		r->s++;
	}
	if (r->s >= r->end)
		return 0;
	*first_line = r->line;
	int n = 0;
	for (;;) {
		if (n == CSV_COLUMNS_MAX)
			return -3;
		char *f = fields[n++];
		size_t len = 0;
		bool quoted = false;
		while (r->s < r->end && (*r->s == ' ' || *r->s == '\t'))
			r->s++;
		if (r->s < r->end && *r->s == '"') {
			quoted = true;
			r->s++;
			for (;;) {
				if (r->s >= r->end)
					return -1;
				char c = *r->s++;
				if (c == '"') {
					if (r->s < r->end && *r->s == '"')
						r->s++;
					else
						break;
				}
				if (c == '\n')
					r->line++;
				if (len + 1 < CTL_FIELD_MAX)
					f[len++] = c;
				else
					*too_long = true;
			}
		}
		while (r->s < r->end && *r->s != ',' && *r->s != '\n' && *r->s != '\r') {
			char c = *r->s++;
			if (c == '"')
				return -2;
			if (quoted && c != ' ' && c != '\t')
				return -2; /* text after a closing quote */
			if (len + 1 < CTL_FIELD_MAX)
				f[len++] = c;
			else
				*too_long = true;
		}
		while (len > 0 && !quoted && (f[len - 1] == ' ' || f[len - 1] == '\t'))
			len--;
		f[len] = '\0';
		if (r->s < r->end && *r->s == ',') {
			r->s++;
			continue;
		}
		if (r->s < r->end && *r->s == '\r')
			r->s++;
		if (r->s < r->end && *r->s == '\n') {
			r->s++;
			r->line++;
		}
		return n;
	}
}

static int column_of(char header[][CTL_FIELD_MAX], int n, const char *const *names)
{
	for (int i = 0; i < n; i++)
		for (size_t k = 0; names[k] != NULL; k++)
			if (strcasecmp(header[i], names[k]) == 0)
				return i;
	return -1;
}

/* "voice;sms" → "voice,sms"; false when a token is not a capability. */
static bool normalise_caps(const char *in, char *out, size_t cap)
{
	out[0] = '\0';
	char tok[16];
	size_t used = 0, t = 0;
	for (const char *c = in;; c++) {
		bool sep = *c == '\0' || strchr(";|/, \t", *c) != NULL;
		if (!sep) {
			if (t + 1 >= sizeof(tok))
				return false;
			tok[t++] = (char)tolower((unsigned char)*c);
		} else if (t > 0) {
			tok[t] = '\0';
			if (strcmp(tok, "voice") != 0 && strcmp(tok, "sms") != 0 && strcmp(tok, "mms") != 0)
				return false;
			int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", tok);
			if (w < 0 || (size_t)w >= cap - used)
				return false;
			used += (size_t)w;
			t = 0;
		}
		if (*c == '\0')
			break;
	}
	return true;
}

int ctl_parse_numbers_csv(const char *text, size_t len, struct ctl_parsed *out)
{
	assert(text != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct vec rows = {.size = sizeof(struct ctl_number_row)};
	struct vec problems = {.size = sizeof(struct ctl_problem)};
	char fields[CSV_COLUMNS_MAX][CTL_FIELD_MAX];
	char header[CSV_COLUMNS_MAX][CTL_FIELD_MAX];
	struct csv_reader r = {.s = text, .end = text + len, .line = 1};
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		r.s += 3;
	static const char *const number_names[] = {"number", "phone_number", "phone number", "phonenumber",
						   "e164", "did", NULL};
	static const char *const carrier_names[] = {"carrier", NULL};
	static const char *const caps_names[] = {"capabilities", NULL};
	int line = 1;
	bool too_long = false;
	int n_header = csv_record(&r, header, &line, &too_long);
	if (n_header <= 0) {
		problem(&problems, n_header == 0 ? 1 : line, "%s",
			n_header == 0 ? "the file is empty: a header line naming a number column is needed"
				      : "the header line is not valid CSV");
		finish(out, &rows, &problems, 1);
		return 0;
	}
	int col_number = column_of(header, n_header, number_names);
	int col_carrier = column_of(header, n_header, carrier_names);
	int col_caps = column_of(header, n_header, caps_names);
	if (col_number < 0) {
		problem(&problems, line,
			"the header names no number column (number, phone_number, phone number, e164 or did)");
		finish(out, &rows, &problems, 1);
		return 0;
	}
	for (;;) {
		int n = csv_record(&r, fields, &line, &too_long);
		if (n == 0)
			break;
		if (n == -1) {
			problem(&problems, line, "a quoted field is not closed before the end of the file");
			finish(out, &rows, &problems, 1);
			return 0;
		}
		if (n == -2 || n == -3) {
			problem(&problems, line, "%s",
				n == -2 ? "a quote inside an unquoted field (quote the whole field, doubling inner quotes)"
					: "too many fields");
			/* skip the rest of the line and go on */
			while (r.s < r.end && *r.s != '\n')
				r.s++;
			continue;
		}
		if (rows.n + problems.n >= CTL_ROWS_MAX) {
			ctl_parsed_free(&(struct ctl_parsed){.rows = rows.items, .problems = problems.items});
			memset(out, 0, sizeof(*out));
			return MASKD_ETOOBIG;
		}
		if (n != n_header) {
			problem(&problems, line, "%d fields where the header has %d", n, n_header);
			continue;
		}
		if (too_long) {
			problem(&problems, line, "a field is longer than %d bytes", CTL_FIELD_MAX - 1);
			continue;
		}
		const char *number = fields[col_number];
		if (number[0] == '\0') {
			problem(&problems, line, "the number column is empty");
			continue;
		}
		if (!looks_e164(number)) {
			problem(&problems, line, "the number is not E.164 (a + and 8 to 15 digits)");
			continue;
		}
		const char *carrier = col_carrier >= 0 ? fields[col_carrier] : "";
		char carrier_lc[CTL_FIELD_MAX];
		size_t k = 0;
		for (; carrier[k] != '\0' && k + 1 < sizeof(carrier_lc); k++)
			carrier_lc[k] = (char)tolower((unsigned char)carrier[k]);
		carrier_lc[k] = '\0';
		if (carrier_lc[0] != '\0' && !known_dialect(carrier_lc)) {
			problem(&problems, line, "carrier must be twilio, signalwire, telnyx, plivo, vobiz or vonage");
			continue;
		}
		char caps[CTL_FIELD_MAX];
		if (!normalise_caps(col_caps >= 0 ? fields[col_caps] : "", caps, sizeof(caps))) {
			problem(&problems, line, "capabilities must be voice, sms and mms");
			continue;
		}
		struct ctl_number_row *row = vec_push(&rows);
		row->line = line;
		snprintf(row->number, sizeof(row->number), "%s", number);
		snprintf(row->carrier, sizeof(row->carrier), "%s", carrier_lc);
		snprintf(row->capabilities, sizeof(row->capabilities), "%s", caps);
	}
	finish(out, &rows, &problems, 0);
	return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

/* The line where each element of the top-level array starts, in order, into
 * lines (at most cap); returns how many elements were seen. The text is known
 * to be valid JSON (jansson read it), so this only tracks strings and depth. */
static size_t element_lines(const char *s, size_t len, int *lines, size_t cap)
{
	int line = 1, depth = 0;
	bool in_string = false, want_value = false;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\n')
			line++;
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (depth == 1 && want_value) {
			if (c != ']') {
				if (n < cap)
					lines[n] = line;
				n++;
			}
			want_value = false;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			depth++;
			if (depth == 1 && c == '[')
				want_value = true;
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (c == ',' && depth == 1) {
			want_value = true;
		}
	}
	return n;
}

static const char *json_error_text(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "unexpected end of input";
	case json_error_end_of_input_expected:
		return "text after the JSON value";
	case json_error_duplicate_key:
		return "a key twice in one object";
	default:
		return "invalid JSON syntax";
	}
}

/* The string field key of element o into out; false with a problem otherwise. */
static bool string_field(json_t *o, const char *key, int line, char *out, struct vec *problems)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL) {
		problem(problems, line, "%s is missing", key);
		return false;
	}
	const char *s = json_string_value(v);
	if (s == NULL || s[0] == '\0') {
		problem(problems, line, "%s must be a non-empty string", key);
		return false;
	}
	if (strlen(s) >= CTL_FIELD_MAX) {
		problem(problems, line, "%s is longer than %d bytes", key, CTL_FIELD_MAX - 1);
		return false;
	}
	snprintf(out, CTL_FIELD_MAX, "%s", s);
	return true;
}

int ctl_parse_sessions_json(const char *text, size_t len, struct ctl_parsed *out)
{
	assert(text != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct vec rows = {.size = sizeof(struct ctl_session_row)};
	struct vec problems = {.size = sizeof(struct ctl_problem)};
	json_error_t jerr;
	/* the line and a fixed description only: jansson's text quotes the input */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		problem(&problems, jerr.line > 0 ? jerr.line : 1, "not JSON: %s (column %d)", json_error_text(&jerr),
			jerr.column);
		finish(out, &rows, &problems, 1);
		return 0;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		problem(&problems, 1, "the file must be a JSON array of sessions");
		finish(out, &rows, &problems, 1);
		return 0;
	}
	size_t n = json_array_size(root);
	if (n > CTL_ROWS_MAX) {
		json_decref(root);
		return MASKD_ETOOBIG;
	}
	int *lines = xcalloc(n ? n : 1, sizeof(int));
	element_lines(text, len, lines, n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(root, i);
		int line = lines[i];
		if (!json_is_object(o)) {
			problem(&problems, line, "element %zu is not an object", i);
			continue;
		}
		struct ctl_session_row row = {.line = line};
		if (!string_field(o, "Session_Id", line, row.session_id, &problems) ||
		    !string_field(o, "Participant_A_Number", line, row.number_a, &problems) ||
		    !string_field(o, "Participant_B_Number", line, row.number_b, &problems) ||
		    !string_field(o, "Proxy_Number", line, row.proxy_number, &problems))
			continue;
		if (!looks_e164(row.number_a) || !looks_e164(row.number_b) || !looks_e164(row.proxy_number)) {
			problem(&problems, line, "a number is not E.164 (a + and 8 to 15 digits)");
			continue;
		}
		if (strcmp(row.number_a, row.number_b) == 0) {
			problem(&problems, line, "Participant_A_Number and Participant_B_Number are the same");
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < rows.n && !dup; k++)
			dup = strcmp(((struct ctl_session_row *)rows.items)[k].session_id, row.session_id) == 0;
		if (dup) {
			problem(&problems, line, "Session_Id is already on an earlier line");
			continue;
		}
		*(struct ctl_session_row *)vec_push(&rows) = row;
	}
	free(lines);
	json_decref(root);
	finish(out, &rows, &problems, 0);
	return 0;
}
