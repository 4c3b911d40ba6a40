/* SPDX-License-Identifier: MIT */
/* envfile.c - systemd EnvironmentFile= lines for `maskd --env-file` (envfile.h):
 * the whole file is parsed before any variable is set, so a malformed line
 * leaves the environment as it was. */
#include "envfile.h"

#include "err.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENVFILE_VARS_MAX 1024

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static int refuse(char *why, size_t why_cap, const char *text)
{
	snprintf(why, why_cap, "%s", text);
	return -1;
}

/* Appends c to out (cap val_cap, used *n); false when it does not fit. */
static bool put(char *out, size_t cap, size_t *n, char c)
{
	if (*n + 1 >= cap)
		return false;
	out[(*n)++] = c;
	return true;
}

int envfile_parse_line(const char *line, char *key, size_t key_cap, char *val, size_t val_cap, char *why,
		       size_t why_cap)
{
	const char *p = line;
	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (!name_start(*p))
		return refuse(why, why_cap, "not a NAME=value line (a name starts with a letter or _)");
	size_t kn = 0;
	while (name_char(*p)) {
		if (!put(key, key_cap, &kn, *p))
			return refuse(why, why_cap, "the name is too long");
		p++;
	}
	key[kn] = '\0';
	while (is_blank(*p))
		p++;
	if (*p != '=')
		return refuse(why, why_cap, "not a NAME=value line (no = after the name)");
	p++;
	while (is_blank(*p))
		p++;
	size_t vn = 0;
	if (*p == '\'' || *p == '"') {
		char q = *p++;
		for (;; p++) {
			if (*p == '\0')
				return refuse(why, why_cap, q == '"' ? "no closing double quote" : "no closing single quote");
			if (*p == q)
				break;
			char c = *p;
			if (q == '"' && c == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
				c = *++p;
			if (!put(val, val_cap, &vn, c))
				return refuse(why, why_cap, "the value is too long");
		}
		p++;
		while (is_blank(*p))
			p++;
		if (*p != '\0')
			return refuse(why, why_cap, "text after the closing quote");
	} else {
		const char *end = p + strlen(p);
		while (end > p && is_blank(end[-1]))
			end--;
		if (end > p && end[-1] == '\\')
			return refuse(why, why_cap, "a line continuation (\\ at the end) is not supported: quote the value");
		for (; p < end; p++)
			if (!put(val, val_cap, &vn, *p))
				return refuse(why, why_cap, "the value is too long");
	}
	val[vn] = '\0';
	return 1;
}

struct envvar {
	char key[256];
	char *val;
};

int envfile_load(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_len, "--env-file %s: %s", path, strerror(errno));
		return MASKD_EINVAL;
	}
	struct envvar *vars = xcalloc(ENVFILE_VARS_MAX, sizeof(*vars));
	size_t n = 0;
	char *line = xmalloc(ENVFILE_LINE_MAX + 2);
	char *val = xmalloc(ENVFILE_LINE_MAX + 1);
	int rc = 0;
	for (int lineno = 1; rc == 0 && fgets(line, ENVFILE_LINE_MAX + 2, f) != NULL; lineno++) {
		size_t len = strlen(line);
		if (len > 0 && line[len - 1] == '\n') {
			line[--len] = '\0';
		} else if (!feof(f)) {
			snprintf(err, err_len, "--env-file %s:%d: the line is longer than %d bytes", path, lineno,
				 ENVFILE_LINE_MAX);
			rc = MASKD_EINVAL;
			break;
		}
		if (strlen(line) != len) {
			snprintf(err, err_len, "--env-file %s:%d: a NUL byte in the line", path, lineno);
			rc = MASKD_EINVAL;
			break;
		}
		char why[96];
		int got = envfile_parse_line(line, vars[n].key, sizeof(vars[n].key), val, ENVFILE_LINE_MAX + 1, why,
					     sizeof(why));
		if (got < 0) {
			snprintf(err, err_len, "--env-file %s:%d: %s", path, lineno, why);
			rc = MASKD_EINVAL;
		} else if (got == 1 && n == ENVFILE_VARS_MAX) {
			snprintf(err, err_len, "--env-file %s:%d: more than %d variables", path, lineno, ENVFILE_VARS_MAX);
			rc = MASKD_EINVAL;
		} else if (got == 1) {
			vars[n++].val = xstrdup(val);
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, err_len, "--env-file %s: cannot read it: %s", path, strerror(errno));
		rc = MASKD_EINVAL;
	}
	fclose(f);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (setenv(vars[i].key, vars[i].val, 1) != 0) {
			snprintf(err, err_len, "--env-file %s: cannot set %s: %s", path, vars[i].key, strerror(errno));
			rc = MASKD_EINVAL;
		}
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(vars[i].val, strlen(vars[i].val));
		free(vars[i].val);
	}
	explicit_bzero(val, ENVFILE_LINE_MAX + 1);
	explicit_bzero(line, ENVFILE_LINE_MAX + 2);
	free(val);
	free(line);
	free(vars);
	return rc;
}
