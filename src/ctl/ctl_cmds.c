/* SPDX-License-Identifier: MIT */
/* ctl_cmds.c - maskctl's commands over single API calls (ctl.h): services,
 * numbers (add, list), sessions, records export and API keys; each prints a
 * table or, with --json, the API's own JSON. */
#include "ctl.h"
#include "ctl_parse.h"
#include "../util/xmalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

int services_list(const struct opts *o, const char *unused1, const char *unused2)
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


int services_show(const struct opts *o, const char *id, const char *unused)
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

int services_create(const struct opts *o, const char *name, const char *unused)
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

json_t *number_body(const char *number, const char *carrier, const char *caps, bool reserved)
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

int numbers_add(const struct opts *o, const char *svc, const char *number)
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

int numbers_list(const struct opts *o, const char *svc, const char *unused)
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

int sessions_list(const struct opts *o, const char *svc, const char *unused)
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

int sessions_show(const struct opts *o, const char *id, const char *unused)
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

int sessions_close(const struct opts *o, const char *id, const char *unused)
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

int records_export(const struct opts *o, const char *svc, const char *unused)
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


/* ---- API keys --------------------------------------------------------------- */

static void key_table_row(struct table *t, json_t *k)
{
	const char *state = json_is_true(json_object_get(k, "revoked")) ? "revoked" : "active";
	const char *row[] = {str(k, "id"), str(k, "role"), str(k, "service_id"), str(k, "label"), state,
			     str(k, "expires_at"), str(k, "last_used_at")};
	table_row(t, row);
}

int keys_list(const struct opts *o, const char *unused1, const char *unused2)
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

int keys_create(const struct opts *o, const char *unused1, const char *unused2)
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

int keys_rotate(const struct opts *o, const char *id, const char *unused)
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

int keys_revoke(const struct opts *o, const char *id, const char *unused)
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

