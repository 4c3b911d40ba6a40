/* SPDX-License-Identifier: MIT */
/* ctl.h - what maskctl's files share (docs/maskctl.1): exit codes, options, the
 * HTTP calls to maskd's API (maskctl.c), table and JSON output, and the commands
 * (ctl_cmds.c: services, numbers, sessions, records, keys; ctl_import.c: the
 * number CSV and SignalWire imports). Nothing here knows a rule of maskd's. */
#ifndef MASKD_CTL_H
#define MASKD_CTL_H

#include <stdbool.h>
#include <stddef.h>

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

#define TABLE_COLS 8

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* row-major, nrows * ncols, xstrdup'd */
};

/* ---- maskctl.c: output and HTTP */
__attribute__((format(printf, 1, 2))) void say_error(const char *fmt, ...);
void answer_free(struct answer *a);
/* One request to maskd: 0 with a (answer_free it), or EXIT_CONNECT after saying why. */
int http_call(const char *method, const char *path, json_t *body, const char *accept, struct answer *a);
/* The exit code of a refused answer, after printing the API's code and message. */
int api_refused(const struct answer *a, const char *what);
/* A JSON call expecting a 2xx: 0 with *out (owned) or an exit code. */
int api_json(const char *method, const char *path, json_t *body, const char *what, json_t **out);
/* path + "?k=v&..." of the non-NULL pairs, URL-encoded, into out. */
void with_query(char *out, size_t cap, const char *path, const char *const *kv, size_t n_kv);
void print_json(json_t *j);
void table_row(struct table *t, const char *const *cols);
/* Prints the rows with aligned columns and frees them. */
void table_print(struct table *t);
/* The string field key of o, or "-". */
const char *str(json_t *o, const char *key);
/* The integer field key of o as text, or "-". */
void int_text(json_t *o, const char *key, char *out, size_t cap);
/* 0 when id is a prefix_ id, else EXIT_USAGE after saying why. */
int need_id(const char *prefix, const char *id, const char *what);
/* A whole file (at most IMPORT_FILE_MAX bytes), xmalloc'd and NUL-terminated, or NULL after saying why. */
char *read_file(const char *path, size_t *len);

/* ---- the commands: 0 or an exit code; arg1, arg2 are the words after the command */
json_t *number_body(const char *number, const char *carrier, const char *caps, bool reserved);
int services_list(const struct opts *o, const char *arg1, const char *arg2);
int services_show(const struct opts *o, const char *id, const char *arg2);
int services_create(const struct opts *o, const char *name, const char *arg2);
int numbers_add(const struct opts *o, const char *svc, const char *number);
int numbers_list(const struct opts *o, const char *svc, const char *arg2);
int sessions_list(const struct opts *o, const char *svc, const char *arg2);
int sessions_show(const struct opts *o, const char *id, const char *arg2);
int sessions_close(const struct opts *o, const char *id, const char *arg2);
int records_export(const struct opts *o, const char *svc, const char *arg2);
int keys_list(const struct opts *o, const char *arg1, const char *arg2);
int keys_create(const struct opts *o, const char *arg1, const char *arg2);
int keys_rotate(const struct opts *o, const char *id, const char *arg2);
int keys_revoke(const struct opts *o, const char *id, const char *arg2);
int numbers_import(const struct opts *o, const char *svc, const char *file);
int import_signalwire(const struct opts *o, const char *svc, const char *file);

#endif
