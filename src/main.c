/* SPDX-License-Identifier: MIT */
/* main.c - maskd's start and stop: configuration, vault, store (migrations), the
 * admin key, the HTTP listener and the expiry sweeper; then wait for SIGINT or
 * SIGTERM and shut down in reverse order. Tells the service manager (util/notify.h)
 * when it is ready; SIGHUP only logs a line, since maskd logs to stderr and reloads nothing. Exit status 0 on a clean stop, 1 when
 * the configuration or the environment is wrong (the message names the variable).
 * `maskd audit-verify` checks the audit log's hash chain instead of serving;
 * `maskd rotate-keys` rewrites the vault key file (key rotation);
 * `--env-file PATH` first sets the variables of a systemd EnvironmentFile. */
#include "app.h"
#include "config.h"
#include "flow/audit.h"
#include "flow/events.h"
#include "flow/jobs.h"
#include "out/sender.h"
#include "store/store.h"
#include "util/crypto.h"
#include "util/envfile.h"
#include "util/err.h"
#include "util/limiter.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/timeutil.h"
#include "vault/vault.h"
#include "web/console.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIMITER_KEYS 65536 /* bindings and API keys tracked at once (util/limiter.h) */

#define ADMIN_KEY_SETTING "admin_key_sha256"

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* Creates the parent directory of path (one level, mode 0700) when missing. */
static int ensure_parent_dir(const char *var, const char *path, char *err, size_t err_len)
{
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s", path);
	const char *dir = dirname(tmp);
	struct stat st;
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, err_len, "%s: cannot create directory %s: %s", var, dir, strerror(errno));
		return MASKD_EINVAL;
	}
	return 0;
}

/* Logs a warning naming path and its mode when other users (group or others)
 * may read or enter it: the state directory, the database and the key file hold
 * PINs, labels, blind indexes and the admin-key hash. A missing path is quiet. */
static void warn_if_open_to_others(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if ((st.st_mode & 0077) != 0)
		log_warn("maskd: %s is mode %04o, open to other local users (state must be 0700 directories, "
			 "0600 files): chmod go= it",
			 path, (unsigned)(st.st_mode & 07777));
}

/* warn_if_open_to_others() on the directory of path and on path itself. */
static void warn_if_state_open(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s", path);
	warn_if_open_to_others(dirname(tmp));
	warn_if_open_to_others(path);
}

/* True when paths a and b name files in the same directory (as written). */
static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa != NULL ? (size_t)(sa - a) : 0, lb = sb != NULL ? (size_t)(sb - b) : 0;
	return la == lb && memcmp(a, b, la) == 0;
}

/* Sets app->admin_key_hash from MASKD_ADMIN_KEY, the stored hash, or a new key
 * printed once on stdout. */
static int admin_key_setup(struct app *app, struct store *st, const char *env_key)
{
	char hex[65];
	if (env_key[0] != '\0') {
		sha256(env_key, strlen(env_key), app->admin_key_hash);
		return 0;
	}
	int rc = store_setting_get(st, ADMIN_KEY_SETTING, hex, sizeof(hex));
	if (rc == 0 && hex_decode(hex, strlen(hex), app->admin_key_hash, 32) == 32)
		return 0;
	if (rc < 0 && rc != MASKD_ENOTFOUND)
		return rc;
	uint8_t raw[24];
	char key[64] = "mk_";
	random_bytes(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), key + 3);
	sha256(key, strlen(key), app->admin_key_hash);
	hex_encode(app->admin_key_hash, 32, hex);
	rc = store_setting_add(st, ADMIN_KEY_SETTING, hex);
	if (rc == MASKD_ECONFLICT) {
		/* another node stored its key first: use that one, print nothing */
		rc = store_setting_get(st, ADMIN_KEY_SETTING, hex, sizeof(hex));
		if (rc == 0 && hex_decode(hex, strlen(hex), app->admin_key_hash, 32) == 32)
			return 0;
		return rc < 0 ? rc : MASKD_EDB;
	}
	if (rc < 0)
		return rc;
	printf("maskd: generated the admin key (shown once, stored only as a hash):\n\n    %s\n\n"
	       "maskd: keep it; set MASKD_ADMIN_KEY to choose your own.\n",
	       key);
	fflush(stdout);
	return 0;
}

#define REVEAL_RATE_DEFAULT 10 /* reveals per minute per key */

/* MASKD_REVEAL_RATE: reveals per minute per key (0 = no limit); -1 when malformed. */
static long reveal_rate(void)
{
	const char *s = env_get("MASKD_REVEAL_RATE");
	if (s == NULL || s[0] == '\0')
		return REVEAL_RATE_DEFAULT;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return end == s || *end != '\0' || v < 0 || v > 100000 ? -1 : v;
}

/* `maskd audit-verify`: opens the configured database and walks the audit log's
 * chain. Prints the result; exit 0 when whole, 3 at a broken link (named), 1
 * when the database cannot be read. */
static int audit_verify_command(const struct config *cfg)
{
	char err[512];
	struct vault *vault = NULL;
	struct store *store = NULL;
	int status = 1;
	if (vault_load(cfg->key_file, &vault, err, sizeof(err)) < 0 ||
	    store_open(cfg->db, vault, &store, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		goto out;
	}
	struct audit_verifier v;
	int rc = audit_verify_store(store, &v);
	if (rc < 0) {
		fprintf(stderr, "maskd: audit-verify: cannot read the audit log: %s\n", maskd_strerror(rc));
		goto out;
	}
	if (v.broken_seq != 0) {
		printf("audit log broken at entry %lld: %s (%lld entries before it verified)\n", (long long)v.broken_seq,
		       v.why, (long long)v.checked);
		status = 3;
	} else {
		printf("audit log verified: %lld entries, chain whole\n", (long long)v.checked);
		status = 0;
	}
out:
	store_close(store);
	vault_free(vault);
	return status;
}

/* The watchdog's liveness check (util/notify.h): the store answers a ping. Its
 * result does not matter, only that it returns: a wedged store lock stops the pings. */
static void watchdog_alive(void *ctx)
{
	(void)store_ping(ctx);
}

/* How to follow the re-seal that a restart with a new current version starts:
 * the gauge on this node's /metrics (MASKD_LISTEN), and what to do at 0. */
static void print_reseal_progress(const struct config *cfg)
{
	printf("follow the re-seal after the restart: curl -s http://%s/metrics | grep '^maskd_vault_reseal_remaining' "
	       "(at 0 on every node: maskd rotate-keys --drop)\n",
	       cfg->listen);
}

/* What a drop of rotate-keys refuses on, counted in the configured database:
 * values not sealed with the current key version (index false), or rows
 * carrying an older blind-index version (index true), into *stale, with the
 * current version of that key in *current. 0, or -1 with the reason in err. */
static int count_stale(const struct config *cfg, bool index, int *current, int64_t *stale, char *err, size_t cap)
{
	struct vault *vault = NULL;
	struct store *store = NULL;
	int rc = vault_load(cfg->key_file, &vault, err, cap);
	if (rc == 0)
		rc = store_open(cfg->db, vault, &store, err, cap);
	if (rc == 0) {
		*current = index ? vault_index_current(vault) : vault_current_version(vault);
		rc = index ? store_index_stale(store, stale) : store_vault_stale(store, *current, stale);
		if (rc < 0)
			snprintf(err, cap, "cannot count the %s: %s", index ? "blind indexes" : "sealed values",
				 maskd_strerror(rc));
	}
	store_close(store);
	vault_free(vault);
	return rc < 0 ? -1 : 0;
}

/* `maskd rotate-keys [--stage | --activate | --drop | --index | --index-stage |
 * --index-activate | --index-drop]`: rewrites the vault key file
 * (vault_file_rotate; docs/OPERATIONS.md, key rotation). --drop first checks, in the configured database, that nothing is
 * sealed with an older version; --index-drop that no row carries an older
 * blind-index version. Exit 0 done, 1 refused or failed (the reason on stderr). */
static int rotate_keys_command(const struct config *cfg, const char *flag)
{
	enum vault_rotate how = VAULT_ROTATE_ADD;
	if (flag != NULL && strcmp(flag, "--stage") == 0)
		how = VAULT_ROTATE_STAGE;
	else if (flag != NULL && strcmp(flag, "--activate") == 0)
		how = VAULT_ROTATE_ACTIVATE;
	else if (flag != NULL && strcmp(flag, "--drop") == 0)
		how = VAULT_ROTATE_DROP;
	else if (flag != NULL && strcmp(flag, "--index") == 0)
		how = VAULT_ROTATE_INDEX_ADD;
	else if (flag != NULL && strcmp(flag, "--index-stage") == 0)
		how = VAULT_ROTATE_INDEX_STAGE;
	else if (flag != NULL && strcmp(flag, "--index-activate") == 0)
		how = VAULT_ROTATE_INDEX_ACTIVATE;
	else if (flag != NULL && strcmp(flag, "--index-drop") == 0)
		how = VAULT_ROTATE_INDEX_DROP;
	else if (flag != NULL) {
		fprintf(stderr, "usage: maskd rotate-keys [--stage | --activate | --drop | --index | --index-stage | "
				"--index-activate | --index-drop]\n");
		return 2;
	}
	char err[512];
	int version = 0, current = 0;
	if (how == VAULT_ROTATE_DROP || how == VAULT_ROTATE_INDEX_DROP) {
		int64_t stale = -1;
		bool index = how == VAULT_ROTATE_INDEX_DROP;
		if (count_stale(cfg, index, &current, &stale, err, sizeof(err)) < 0) {
			fprintf(stderr, "maskd: %s\n", err);
			return 1;
		}
		if (stale > 0 && !index) {
			fprintf(stderr,
				"maskd: %lld values are not sealed with the current key version %d yet: nothing dropped "
				"(wait for maskd_vault_reseal_remaining to reach 0 on a running maskd)\n",
				(long long)stale, current);
			return 1;
		}
		if (stale > 0) {
			fprintf(stderr,
				"maskd: %lld rows still carry an older blind-index version: nothing dropped (wait for "
				"maskd_vault_reindex_remaining to reach 0 on a running maskd)\n",
				(long long)stale);
			return 1;
		}
	}
	if (vault_file_rotate(cfg->key_file, how, current, &version, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		return 1;
	}
	switch (how) {
	case VAULT_ROTATE_ADD:
		printf("vault key version %d added to %s and made current: restart maskd to seal with it; "
		       "older values are re-sealed in the background\n", version, cfg->key_file);
		print_reseal_progress(cfg);
		break;
	case VAULT_ROTATE_STAGE:
		printf("vault key version %d added to %s, not current yet: copy the file to every node, restart them, "
		       "then run maskd rotate-keys --activate\n", version, cfg->key_file);
		break;
	case VAULT_ROTATE_ACTIVATE:
		printf("vault key version %d is current in %s: restart maskd to seal with it\n", version, cfg->key_file);
		print_reseal_progress(cfg);
		break;
	case VAULT_ROTATE_DROP:
		printf("older vault key versions dropped from %s; version %d remains\n", cfg->key_file, version);
		break;
	case VAULT_ROTATE_INDEX_ADD:
		printf("blind-index key version %d added to %s and made current: restart maskd to index with it; "
		       "older rows are re-indexed in the background\n", version, cfg->key_file);
		break;
	case VAULT_ROTATE_INDEX_STAGE:
		printf("blind-index key version %d added to %s, not current yet: copy the file to every node, restart "
		       "them (each then also routes rows indexed with it), then run maskd rotate-keys --index-activate\n",
		       version, cfg->key_file);
		break;
	case VAULT_ROTATE_INDEX_ACTIVATE:
		printf("blind-index key version %d is current in %s: copy the file to every node and restart them one "
		       "by one to index with it; older rows are re-indexed in the background\n", version, cfg->key_file);
		break;
	case VAULT_ROTATE_INDEX_DROP:
		printf("older blind-index key versions dropped from %s; version %d remains\n", cfg->key_file, version);
		break;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Everything maskd creates (state directory, database, WAL, SHM, key file)
	 * is its owner's only, whatever mode the caller's shell would give. */
	umask(077);
	char err[512];
	if (argc > 2 && strcmp(argv[1], "--env-file") == 0) {
		if (envfile_load(argv[2], err, sizeof(err)) < 0) {
			fprintf(stderr, "maskd: %s\n", err);
			return 1;
		}
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	} else if (argc == 2 && strcmp(argv[1], "--env-file") == 0) {
		fprintf(stderr, "maskd: --env-file needs a path\n");
		return 2;
	}
	struct config cfg;
	if (config_load(&cfg, env_get, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		return 1;
	}
	log_set_level(cfg.log_level);
	crypto_init();
	if (argc > 1) {
		if (strcmp(argv[1], "audit-verify") == 0 && argc == 2)
			return audit_verify_command(&cfg);
		if (strcmp(argv[1], "rotate-keys") == 0 && argc <= 3)
			return rotate_keys_command(&cfg, argc == 3 ? argv[2] : NULL);
		fprintf(stderr, "usage: maskd [--env-file PATH] [audit-verify | rotate-keys [--stage | --activate | --drop | "
				"--index | --index-stage | --index-activate | --index-drop]]\n");
		return 2;
	}
	/* MASKD_TEST_RETENTION_SECONDS (tests only, docs/OPERATIONS.md): retention in seconds */
	long long retention_s = (long long)cfg.retention_days * 86400;
	const char *test_retention = env_get("MASKD_TEST_RETENTION_SECONDS");
	if (test_retention != NULL && test_retention[0] != '\0') {
		char *end = NULL;
		long long v = strtoll(test_retention, &end, 10);
		if (end == test_retention || *end != '\0' || v < 1 || v > 86400) {
			fprintf(stderr, "maskd: MASKD_TEST_RETENTION_SECONDS must be 1..86400 (a test-only setting)\n");
			return 1;
		}
		log_warn("maskd: MASKD_TEST_RETENTION_SECONDS=%lld: real numbers are purged %lld s after a session "
			 "ends (a test-only setting)", v, v);
		retention_s = v;
	}
	/* after a key rotation: values re-sealed per transaction, transactions per sweep */
	static const char *const reseal_vars[2] = {"MASKD_RESEAL_BATCH", "MASKD_RESEAL_BATCHES"};
	long reseal_knobs[2] = {100, 100};
	for (int k = 0; k < 2; k++) {
		const char *rb = env_get(reseal_vars[k]);
		if (rb == NULL || rb[0] == '\0')
			continue;
		char *end = NULL;
		reseal_knobs[k] = strtol(rb, &end, 10);
		/* MASKD_RESEAL_BATCHES=0: both background passes held (a test, or work deferred) */
		if (end == rb || *end != '\0' || reseal_knobs[k] < (k == 1 ? 0 : 1) || reseal_knobs[k] > 10000) {
			fprintf(stderr, "maskd: %s must be %s..10000\n", reseal_vars[k], k == 1 ? "0" : "1");
			return 1;
		}
	}
	bool passes_held = reseal_knobs[1] == 0;
	if (passes_held)
		log_warn("maskd: MASKD_RESEAL_BATCHES=0: the background re-seal and re-index passes are held");
	long reveals = reveal_rate();
	if (reveals < 0) {
		fprintf(stderr, "maskd: MASKD_REVEAL_RATE must be a whole number of reveals per minute (0 = no limit)\n");
		return 1;
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits the mask */
	signal(SIGPIPE, SIG_IGN);

	struct vault *vault = NULL;
	struct store *store = NULL;
	struct http_server *http = NULL;
	struct limiter *limiter = NULL;
	struct console *console = NULL;
	int status = 1;
	const char *console_dir = console_dir_pick(env_get("MASKD_CONSOLE_DIR"));
	if (console_dir != NULL && console_load(console_dir, &console, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		goto out;
	}
	if (ensure_parent_dir("MASKD_KEY_FILE", cfg.key_file, err, sizeof(err)) < 0 ||
	    vault_load(cfg.key_file, &vault, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		goto out;
	}
	if (vault_index_staged(vault) > 0)
		log_info("vault: blind-index key version %d is staged: rows indexed with it are found too; "
			 "maskd rotate-keys --index-activate makes it current", vault_index_staged(vault));
	if ((strncmp(cfg.db, "postgres", 8) != 0 &&
	     ensure_parent_dir("MASKD_DB", strncmp(cfg.db, "sqlite:", 7) == 0 ? cfg.db + 7 : cfg.db, err,
			       sizeof(err)) < 0) ||
	    store_open(cfg.db, vault, &store, err, sizeof(err)) < 0) {
		fprintf(stderr, "maskd: %s\n", err);
		goto out;
	}
	store_service_cache_ttl(store, (int)cfg.service_cache_ttl);
	/* A database that takes no writes would start quietly and then answer 503
	 * to every write: refuse it at start unless a read-only node is asked for. */
	const char *ro = env_get("MASKD_READ_ONLY");
	bool read_only = ro != NULL && strcmp(ro, "1") == 0;
	if (ro != NULL && ro[0] != '\0' && strcmp(ro, "0") != 0 && !read_only) {
		fprintf(stderr, "maskd: MASKD_READ_ONLY must be 0 or 1\n");
		goto out;
	}
	const char *db_name = strncmp(cfg.db, "postgres", 8) == 0 ? "(postgresql)" : cfg.db;
	if (store_write_probe(store, now_ms()) < 0) {
		if (!read_only) {
			fprintf(stderr,
				"maskd: MASKD_DB: the database %s takes no writes (a read-only file or directory, a full "
				"disk, a read-only or standby server); fix that, or set MASKD_READ_ONLY=1 to serve reads only\n",
				db_name);
			goto out;
		}
		log_warn("maskd: MASKD_READ_ONLY=1: the database %s takes no writes; serving reads, /readyz answers 503 "
			 "read-only, writes answer 503",
			 db_name);
	} else if (read_only) {
		log_warn("maskd: MASKD_READ_ONLY=1: /readyz answers 503 read-only (the database %s does take writes)", db_name);
	}
	const char *db_file = strncmp(cfg.db, "sqlite:", 7) == 0 ? cfg.db + 7 : cfg.db;
	bool sqlite = strncmp(cfg.db, "postgres", 8) != 0;
	if (sqlite)
		warn_if_state_open(db_file);
	if (!sqlite || !same_dir(db_file, cfg.key_file))
		warn_if_state_open(cfg.key_file);
	else
		warn_if_open_to_others(cfg.key_file);
	struct app app = {.store = store,
			  .vault = vault,
			  .public_url = cfg.public_url,
			  .api_rate = cfg.api_rate,
			  .sip_secret = cfg.sip_secret,
			  .sip_trunk = cfg.sip_trunk,
			  .sip_announce = cfg.sip_announce,
			  .read_only = read_only,
			  .reveal_rate = (unsigned)reveals};
	limiter = app_limiter_new(LIMITER_KEYS);
	app.limiter = limiter;
	app.console = console;
	if (console != NULL)
		log_info("maskd: the console is at /console/ (%zu files from %s)", console_file_count(console), console_dir);
	else
		log_info("maskd: no console files found (set MASKD_CONSOLE_DIR); /console answers 404");
	for (int d = 0; d < DIALECT_COUNT; d++)
		app.api_base[d] = cfg.api_base[d];
	for (int d = 0; d < DIALECT_COUNT; d++)
		app.call_base[d] = d == DIALECT_VONAGE ? cfg.vonage_voice_base : cfg.api_base[d];
	int placed = 0;
	if (jobs_backfill_number_regions(store, &placed) < 0)
		log_warn("maskd: could not geocode the regions of older pool numbers; geo-match by region skips them");
	else if (placed > 0)
		log_info("maskd: geocoded the region of %d pool numbers added before region geo-match", placed);
	if (admin_key_setup(&app, store, cfg.admin_key) < 0) {
		fprintf(stderr, "maskd: MASKD_DB: cannot read or store the admin key hash\n");
		goto out;
	}
	app.sender = sender_start_legs(store, vault, cfg.send_retry_ms, events_leg_record);
	struct http_options http_opt = {
		.listen = cfg.listen, .threads = cfg.threads, .handler = app_dispatch, .ctx = &app,
		.head_timeout_s = cfg.http_head_timeout, .body_timeout_s = cfg.http_body_timeout,
		.per_ip_max = cfg.http_per_ip_max};
	if (http_start(&http_opt, &http, err, sizeof(err)) < 0) {
		sender_stop(app.sender);
		fprintf(stderr, "maskd: %s\n", err);
		goto out;
	}
	/* the sweeper writes (expiry, release, purge, the write probe): not on a read-only node */
	jobs_reseal_configure(passes_held ? 0 : vault_current_version(vault), (int)reseal_knobs[0],
			      passes_held ? 1 : (int)reseal_knobs[1]);
	jobs_reindex_configure(!passes_held && vault_index_previous(vault) > 0);
	struct jobs_sweeper *sweeper = read_only ? NULL : jobs_sweeper_start(store, cfg.sweep_interval, retention_s);
	log_info("maskd listening on http://%s (public URL %s, %u threads, database %s)", cfg.listen,
		 cfg.public_url, cfg.threads < 2 ? 2 : cfg.threads, strncmp(cfg.db, "postgres", 8) == 0 ? "postgresql" : cfg.db);

	notify_ready();
	struct notify_watchdog *watchdog = notify_watchdog_start(watchdog_alive, store);
	int sig = 0;
	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
		log_info("maskd: SIGHUP: logs go to stderr, nothing to reopen or reload");
	log_info("maskd: signal %d, stopping", sig);
	notify_stopping();
	notify_watchdog_stop(watchdog);
	http_stop(http);
	http = NULL;
	jobs_sweeper_stop(sweeper);
	sender_stop(app.sender);
	status = 0;
out:
	http_stop(http);
	limiter_free(limiter);
	console_free(console);
	store_close(store);
	vault_free(vault);
	return status;
}
