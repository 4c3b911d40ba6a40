/* SPDX-License-Identifier: MIT */
/* console.c - the admin console's files, read once at start and served from
 * memory under /console/; see console.h. It never opens a file per request. */
#include "console.h"
#include "../util/crypto.h"
#include "../util/err.h"
#include "../util/hex.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONSOLE_PREFIX "/console"

struct console_file {
	char name[CONSOLE_NAME_MAX + 1]; /* relative to the directory, '/'-separated */
	const char *type;                /* static Content-Type */
	char etag[36];                   /* "<32 hex digits of SHA-256>" with the quotes */
	char *data;
	size_t len;
};

struct console {
	struct console_file files[CONSOLE_FILES_MAX];
	size_t n;
	size_t total; /* bytes of all files */
};

static const struct {
	const char *ext;
	const char *type;
} console_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".json", "application/json"},
	{".txt", "text/plain; charset=utf-8"},
	{".woff2", "font/woff2"},
};

/* The Content-Type of a file name by its extension; NULL for a type not served. */
static const char *console_type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(console_types) / sizeof(console_types[0]); i++)
		if (strcmp(dot, console_types[i].ext) == 0)
			return console_types[i].type;
	return NULL;
}

/* Reads path (rel is its name in the table) into the next slot of c. */
static int console_add_file(struct console *c, const char *path, const char *rel, const char *type, char *err,
			    size_t err_len)
{
	if (c->n == CONSOLE_FILES_MAX) {
		snprintf(err, err_len, "MASKD_CONSOLE_DIR: more than %d files", CONSOLE_FILES_MAX);
		return MASKD_ETOOBIG;
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, err_len, "MASKD_CONSOLE_DIR: cannot read %s: %s", path, strerror(errno));
		return MASKD_EINVAL;
	}
	struct console_file *cf = &c->files[c->n];
	size_t cap = 4096, len = 0;
	char *data = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > CONSOLE_FILE_BYTES_MAX)
				break;
			cap *= 2;
			data = xrealloc(data, cap);
		}
		size_t got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad || len > CONSOLE_FILE_BYTES_MAX || c->total + len > CONSOLE_TOTAL_BYTES_MAX) {
		free(data);
		if (bad)
			snprintf(err, err_len, "MASKD_CONSOLE_DIR: cannot read %s", path);
		else if (len > CONSOLE_FILE_BYTES_MAX)
			snprintf(err, err_len, "MASKD_CONSOLE_DIR: %s is larger than %u bytes", path, CONSOLE_FILE_BYTES_MAX);
		else
			snprintf(err, err_len, "MASKD_CONSOLE_DIR: the files are larger than %u bytes together",
				 CONSOLE_TOTAL_BYTES_MAX);
		return bad ? MASKD_EINVAL : MASKD_ETOOBIG;
	}
	uint8_t digest[32];
	sha256(data, len, digest);
	char hexd[65];
	hex_encode(digest, 16, hexd);
	snprintf(cf->etag, sizeof(cf->etag), "\"%.32s\"", hexd);
	snprintf(cf->name, sizeof(cf->name), "%.*s", CONSOLE_NAME_MAX, rel);
	cf->type = type;
	cf->data = data;
	cf->len = len;
	c->total += len;
	c->n++;
	return 0;
}

/* Adds every servable file under dir/rel (rel "" for the top), depth levels deep. */
static int console_scan(struct console *c, const char *dir, const char *rel, int depth, char *err, size_t err_len)
{
	char path[1024 + CONSOLE_NAME_MAX + 2];
	snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] != '\0' ? "/" : "", rel);
	DIR *d = opendir(path);
	if (d == NULL) {
		snprintf(err, err_len, "MASKD_CONSOLE_DIR: cannot open the directory %s: %s", path, strerror(errno));
		return MASKD_EINVAL;
	}
	int rc = 0;
	const struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue; /* ., .., and dot-files (editor and VCS leftovers) */
		char sub[CONSOLE_NAME_MAX + 2];
		int n = snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] != '\0' ? "/" : "", e->d_name);
		char full[sizeof(path) + 256];
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		struct stat st;
		if (stat(full, &st) != 0)
			continue; /* a dangling link */
		if (S_ISDIR(st.st_mode)) {
			if (depth >= CONSOLE_DEPTH_MAX || n > CONSOLE_NAME_MAX)
				continue;
			rc = console_scan(c, dir, sub, depth + 1, err, err_len);
			continue;
		}
		const char *type = console_type_of(e->d_name);
		if (!S_ISREG(st.st_mode) || type == NULL || n > CONSOLE_NAME_MAX)
			continue;
		rc = console_add_file(c, full, sub, type, err, err_len);
	}
	closedir(d);
	return rc;
}

static const struct console_file *console_find(const struct console *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->files[i].name, name) == 0)
			return &c->files[i];
	return NULL;
}

int console_load(const char *dir, struct console **out, char *err, size_t err_len)
{
	assert(dir != NULL && out != NULL);
	*out = NULL;
	if (dir[0] == '\0' || strlen(dir) >= 1024) {
		snprintf(err, err_len, "MASKD_CONSOLE_DIR: expected a directory path of 1 to 1023 characters");
		return MASKD_EINVAL;
	}
	struct console *c = xcalloc(1, sizeof(*c));
	int rc = console_scan(c, dir, "", 0, err, err_len);
	if (rc == 0 && console_find(c, "index.html") == NULL) {
		snprintf(err, err_len, "MASKD_CONSOLE_DIR: %s has no index.html", dir);
		rc = MASKD_EINVAL;
	}
	if (rc < 0) {
		console_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* True when dir/index.html is a regular file. */
static bool console_has_index(const char *dir)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/index.html", dir);
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *console_dir_pick(const char *configured)
{
	if (configured != NULL && configured[0] != '\0')
		return configured;
	if (console_has_index(CONSOLE_CHECKOUT_DIR))
		return CONSOLE_CHECKOUT_DIR;
	if (console_has_index(CONSOLE_INSTALLED_DIR))
		return CONSOLE_INSTALLED_DIR;
	return NULL;
}

size_t console_file_count(const struct console *c)
{
	return c != NULL ? c->n : 0;
}

void console_free(struct console *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].data);
	free(c);
}

/* True when rel (the path after "/console/") may be looked up: no percent-escape
 * (names are plain), no backslash, no empty, "." or ".." segment. */
static bool console_name_ok(const char *rel)
{
	if (strpbrk(rel, "%\\") != NULL)
		return false;
	const char *seg = rel;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		seg = slash + 1;
	}
}

/* The security headers of every console answer. */
static void console_headers(struct http_response *res)
{
	http_add_header(res, "Content-Security-Policy", CONSOLE_CSP);
	http_add_header(res, "X-Frame-Options", "DENY");
	http_add_header(res, "Referrer-Policy", "no-referrer");
}

bool console_handle(const struct console *c, const struct http_request *req, struct http_response *res)
{
	assert(req != NULL && res != NULL);
	const char *path = req->path;
	size_t plen = strlen(CONSOLE_PREFIX);
	if (strncmp(path, CONSOLE_PREFIX, plen) != 0 || (path[plen] != '\0' && path[plen] != '/'))
		return false;
	console_headers(res);
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_add_header(res, "Allow", "GET, HEAD");
		http_text(res, 405, "method not allowed");
		return true;
	}
	if (path[plen] == '\0') {
		http_add_header(res, "Location", CONSOLE_PREFIX "/");
		http_text(res, 301, "moved to /console/");
		return true;
	}
	if (c == NULL) {
		http_text(res, 404, "the console is not installed (set MASKD_CONSOLE_DIR to the directory of its files)");
		return true;
	}
	const char *rel = path + plen + 1;
	if (rel[0] == '\0')
		rel = "index.html";
	if (!console_name_ok(rel)) {
		http_text(res, 400, "bad console path");
		return true;
	}
	const struct console_file *f = console_find(c, rel);
	if (f == NULL) {
		http_text(res, 404, "not found");
		return true;
	}
	http_add_header(res, "ETag", f->etag);
	/* revalidate every time: a new release is seen at once, an unchanged file costs a 304 */
	http_add_header(res, "Cache-Control", "no-cache");
	const char *inm = http_header(req, "If-None-Match");
	if (inm != NULL && strstr(inm, f->etag) != NULL) {
		res->status = 304;
		res->content_type = NULL;
		buf_reset(&res->body);
		return true;
	}
	res->status = 200;
	res->content_type = f->type;
	buf_reset(&res->body);
	buf_append(&res->body, f->data, f->len);
	return true;
}
