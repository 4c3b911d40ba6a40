/* SPDX-License-Identifier: MIT */
/* maskctl.c - the operator's command line client of maskd's native API (docs/maskctl.1):
 * the command line, HTTP and output; the commands are in ctl_cmds.c (services,
 * numbers, sessions, records, API keys) and ctl_import.c (a number CSV and a
 * SignalWire proxy_sessions.json). Talks HTTP to MASKD_URL with libcurl and knows
 * no rule of its own: every check that matters is the daemon's answer. It prints
 * what the API shows (masked participants) and never a number read from a file. */
#include "ctl.h"
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

static CURL *curl;
static char auth_header[1024];
static const char *base_url;

void say_error(const char *fmt, ...)
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

void answer_free(struct answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
}

/* One API call: method path (already URL-encoded), body (NULL: none; not
 * consumed), accept (NULL: application/json). 0 with *a filled (any status), or
 * EXIT_CONNECT after saying why. */
int http_call(const char *method, const char *path, json_t *body, const char *accept, struct answer *a)
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
int api_refused(const struct answer *a, const char *what)
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
int api_json(const char *method, const char *path, json_t *body, const char *what, json_t **out)
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
void with_query(char *out, size_t cap, const char *path, const char *const *kv, size_t n_kv)
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

void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL)
		puts(s);
	free(s);
}

void table_row(struct table *t, const char *const *cols)
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
void table_print(struct table *t)
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

const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

void int_text(json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, cap, "-");
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

int need_id(const char *prefix, const char *id, const char *what)
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

char *read_file(const char *path, size_t *len)
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
