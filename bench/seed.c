/* SPDX-License-Identifier: MIT */
/* seed.c - maskd-seed, the benchmark's bulk path to 10^5..10^6 open sessions: it opens
 * maskd's database with maskd's own store and vault (the same key file) and calls
 * sessions_create_bound() once per session, so every row is sealed, blind-indexed,
 * bound and counted exactly as an API create would leave it. It skips HTTP, JSON and
 * libphonenumber (the numbers come from bench/testnumbers.h, all valid) and names
 * each participant's proxy number (round robin over the service's pool, the store's
 * named-proxy branch) instead of asking the pool query to choose.
 *
 * It may run while maskd runs on the same database (SQLite WAL; each create is its
 * own transaction). Not a benchmark of session creation: bench/run.sh measures that
 * through the API.
 *
 *   maskd-seed --db PATH --key-file PATH --service SVC --first I --count N --out FILE
 *              [--expires-at UNIX]
 *
 * At the end it checkpoints and truncates the WAL it grew (waiting up to 30 s for
 * readers), so what is measured next is maskd, not the aftermath of a bulk load made by
 * another process: a WAL far past wal_autocheckpoint makes every later commit run a
 * checkpoint with two fdatasync calls until it can be reset (docs/PERFORMANCE.md).
 *
 * Appends "id TAB real A TAB proxy A TAB real B TAB proxy B" per session to FILE
 * (participant i gets real numbers 2i and 2i+1). Prints one JSON line; exit 0 when
 * every session was created. */
#include "flow/sessions.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/mask.h"
#include "util/timeutil.h"
#include "vault/vault.h"

#include "testnumbers.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


struct pool {
	char (*e164)[PHONE_E164_MAX + 1];
	size_t n, cap;
};

static void add_number(void *ctx, const struct number *num)
{
	struct pool *p = ctx;
	if (num->state != NUMBER_ACTIVE)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->e164 = realloc(p->e164, p->cap * sizeof(*p->e164));
		if (p->e164 == NULL) {
			fprintf(stderr, "maskd-seed: out of memory\n");
			exit(1);
		}
	}
	snprintf(p->e164[p->n++], PHONE_E164_MAX + 1, "%s", num->e164);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: maskd-seed --db PATH --key-file PATH --service SVC --first I --count N --out FILE "
			"[--expires-at UNIX]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *db = NULL, *key_file = NULL, *service = NULL, *out_path = NULL;
	long first = -1, count = -1;
	long long expires_at = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			db = argv[i + 1];
		else if (strcmp(argv[i], "--key-file") == 0)
			key_file = argv[i + 1];
		else if (strcmp(argv[i], "--service") == 0)
			service = argv[i + 1];
		else if (strcmp(argv[i], "--out") == 0)
			out_path = argv[i + 1];
		else if (strcmp(argv[i], "--first") == 0)
			first = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--count") == 0)
			count = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--expires-at") == 0)
			expires_at = strtoll(argv[i + 1], NULL, 10);
		else
			return usage();
	}
	if (argc % 2 != 1 || db == NULL || key_file == NULL || service == NULL || out_path == NULL || first < 0 ||
	    count < 0)
		return usage();

	log_set_level(LOG_WARN);
	crypto_init();
	char err[512];
	struct vault *vault = NULL;
	struct store *st = NULL;
	if (vault_load(key_file, &vault, err, sizeof(err)) < 0 || store_open(db, vault, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd-seed: %s\n", err);
		return 1;
	}
	struct service svc;
	int rc = store_service_get(st, service, &svc);
	if (rc < 0) {
		fprintf(stderr, "maskd-seed: service %s: %s\n", service, maskd_strerror(rc));
		return 1;
	}
	struct pool pool = {0};
	rc = store_number_list(st, service, add_number, &pool);
	if (rc < 0 || pool.n < 2) {
		fprintf(stderr, "maskd-seed: service %s: need at least 2 active pool numbers (%s)\n", service,
			rc < 0 ? maskd_strerror(rc) : "pool too small");
		return 1;
	}
	FILE *out = fopen(out_path, "a");
	if (out == NULL) {
		fprintf(stderr, "maskd-seed: cannot open %s\n", out_path);
		return 1;
	}

	double t0 = mono_s();
	long created = 0, failed = 0;
	for (long i = first; i < first + count; i++) {
		struct session s;
		memset(&s, 0, sizeof(s));
		id_new("ses", s.id);
		snprintf(s.service_id, sizeof(s.service_id), "%s", svc.id);
		s.mode = svc.mode;
		s.ttl = svc.ttl;
		s.expires_at = expires_at;
		s.n_participants = SESSION_PARTICIPANTS;
		static const char *const labels[SESSION_PARTICIPANTS] = {"Rider", "Driver"};
		for (int k = 0; k < SESSION_PARTICIPANTS; k++) {
			struct participant *p = &s.participants[k];
			id_new("par", p->id);
			if (real_number(2 * i + k, p->number) < 0) {
				fprintf(stderr, "maskd-seed: session index %ld is past the test numbers\n", i);
				return 1;
			}
			mask_e164(p->number, p->masked, sizeof(p->masked));
			snprintf(p->label, sizeof(p->label), "%s", labels[k]);
			snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", pool.e164[(size_t)(2 * i + k) % pool.n]);
		}
		static const struct create_rules rules = {.pool = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}};
		struct create_outcome outcome;
		memset(&outcome, 0, sizeof(outcome));
		rc = sessions_create_bound(st, &s, &rules, now_unix(), &outcome);
		int failed_index = outcome.failed_index;
		if (rc < 0) {
			if (failed++ < 5)
				fprintf(stderr, "maskd-seed: session %ld: %s (participant %d)\n", i, maskd_strerror(rc),
					failed_index);
			continue;
		}
		created++;
		fprintf(out, "%s\t%s\t%s\t%s\t%s\n", s.id, s.participants[0].number, s.participants[0].proxy_e164,
			s.participants[1].number, s.participants[1].proxy_e164);
	}
	double secs = mono_s() - t0;
	if (fclose(out) != 0) {
		fprintf(stderr, "maskd-seed: writing %s failed\n", out_path);
		failed++;
	}
	free(pool.e164);
	store_close(st);
	vault_free(vault);

	const char *ckpt = "failed";
	double c0 = mono_s();
	sqlite3 *wal_db = NULL;
	const char *path = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
	if (sqlite3_open_v2(path, &wal_db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(wal_db, 30000);
		int ck = sqlite3_wal_checkpoint_v2(wal_db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		ckpt = ck == SQLITE_OK ? "truncated" : ck == SQLITE_BUSY ? "busy" : "failed";
	}
	sqlite3_close_v2(wal_db);
	printf("{\"what\":\"seed\",\"count\":%ld,\"created\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"per_second\":%.1f,"
	       "\"wal_checkpoint\":\"%s\",\"checkpoint_seconds\":%.3f}\n",
	       count, created, failed, secs, secs > 0 ? (double)created / secs : 0.0, ckpt, mono_s() - c0);
	return failed > 0 ? 1 : 0;
}
