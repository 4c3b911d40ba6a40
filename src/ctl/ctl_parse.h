/* SPDX-License-Identifier: MIT */
/* ctl_parse.h - maskctl's readers of operator files: a carrier's number export
 * (CSV) and a SignalWire proxy_sessions.json. Pure: text in, rows and problems
 * out, each with the 1-based line it came from; no I/O, no HTTP. What the daemon
 * refuses is not decided here, only what the file itself gets wrong. */
#ifndef MASKD_CTL_PARSE_H
#define MASKD_CTL_PARSE_H

#include <stddef.h>

#define CTL_FIELD_MAX 128  /* bytes of one CSV field or JSON string kept; longer is a problem */
#define CTL_WHY_MAX 160    /* bytes of a problem's description */

/* One line the file gets wrong. why never repeats a phone number of the file. */
struct ctl_problem {
	int line;
	char why[CTL_WHY_MAX];
};

struct ctl_number_row {
	int line;
	char number[CTL_FIELD_MAX];       /* as written (the daemon normalises it) */
	char carrier[CTL_FIELD_MAX];      /* "" or one of the six dialects */
	char capabilities[CTL_FIELD_MAX]; /* "" or a comma-separated list of voice, sms, mms */
};

struct ctl_session_row {
	int line;
	char session_id[CTL_FIELD_MAX];
	char number_a[CTL_FIELD_MAX];
	char number_b[CTL_FIELD_MAX];
	char proxy_number[CTL_FIELD_MAX];
};

/* What a reader found. fatal: the problems stop the reading itself (no header,
 * an unterminated quote, not JSON), so rows is not the file's content and
 * --partial cannot import it. Owned by the caller: ctl_parsed_free(). */
struct ctl_parsed {
	void *rows; /* struct ctl_number_row[] or struct ctl_session_row[] */
	size_t n_rows;
	struct ctl_problem *problems;
	size_t n_problems;
	int fatal;
};

/* Reads a number export: a header line naming a number column (number,
 * phone_number, phone number, phonenumber, e164 or did, any case) and, when
 * present, carrier and capabilities columns (capabilities separated by ; | / ,
 * or spaces); RFC 4180 quoting, CRLF or LF, a UTF-8 BOM, blank lines skipped.
 * Each data line becomes a row or a problem. Returns 0 (problems are data, in
 * *out), or a negative maskd_err when memory runs out (nothing in *out). */
int ctl_parse_numbers_csv(const char *text, size_t len, struct ctl_parsed *out);

/* Reads a SignalWire proxy_sessions.json: an array of objects with the strings
 * Session_Id, Participant_A_Number, Participant_B_Number and Proxy_Number (other
 * fields ignored); the line of a problem is where its element starts. A
 * Session_Id twice in the file is a problem at its second place. Same returns
 * as ctl_parse_numbers_csv(). */
int ctl_parse_sessions_json(const char *text, size_t len, struct ctl_parsed *out);

void ctl_parsed_free(struct ctl_parsed *p);

#endif
