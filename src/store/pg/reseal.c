/* SPDX-License-Identifier: MIT */
/* reseal.c - the PostgreSQL backend's part of the vault key rotation: finds
 * sealed values whose first byte (the key version) is not the current one,
 * re-seals them (store_reseal_value) and counts what is left. A background
 * job's slow path, so it runs unprepared statements. Several nodes may run it
 * at once: a row is rewritten only if it still holds the value read. */
#include "pg_internal.h"

struct reseal_sql {
	const char *select; /* $1 after, $2 the current version byte, $3 limit */
	const char *update; /* $1 new, $2 a, $3 b, $4 old */
	const char *stale;  /* $1 the version byte */
};

#define PG_STALE(col) "octet_length(" col ") > 0 AND substring(" col " from 1 for 1) <> $1"
/* a settings value is text, so a binary parameter or column of it is its bytes */
#define PG_ACCOUNT_TOKEN "(CASE WHEN key LIKE '" STORE_PROXY_ACCOUNT_PREFIX "%' THEN value::jsonb ->> 'auth_token_sealed' END)"
#define PG_ACCOUNT_STALE(version)                                                                           \
	"key LIKE '" STORE_PROXY_ACCOUNT_PREFIX "%' AND length(" PG_ACCOUNT_TOKEN ") > 0 AND "                \
	"substring(" PG_ACCOUNT_TOKEN " from 1 for 2) <> encode(" version "::bytea, 'hex')"

static const struct reseal_sql reseal_sql[STORE_SEALED_COUNT] = {
	[STORE_SEALED_PARTICIPANTS] = {
		"SELECT id, number_sealed, id, '' FROM participants WHERE id > $1 AND "
		"octet_length(number_sealed) > 0 AND substring(number_sealed from 1 for 1) <> $2 ORDER BY id LIMIT $3",
		"UPDATE participants SET number_sealed = $1 WHERE id = $2 AND $3 = '' AND number_sealed = $4",
		"SELECT count(*) FROM participants WHERE " PG_STALE("number_sealed"),
	},
	[STORE_SEALED_SECRETS] = {
		"SELECT service_id || ':' || carrier, sealed, service_id, carrier FROM service_secrets "
		"WHERE service_id || ':' || carrier > $1 AND octet_length(sealed) > 0 AND "
		"substring(sealed from 1 for 1) <> $2 ORDER BY 1 LIMIT $3",
		"UPDATE service_secrets SET sealed = $1 WHERE service_id = $2 AND carrier = $3 AND sealed = $4",
		"SELECT count(*) FROM service_secrets WHERE " PG_STALE("sealed"),
	},
	[STORE_SEALED_OUTBOX] = {
		"SELECT id, payload, id, '' FROM outbox WHERE id > $1 AND "
		"octet_length(payload) > 0 AND substring(payload from 1 for 1) <> $2 ORDER BY id LIMIT $3",
		"UPDATE outbox SET payload = $1 WHERE id = $2 AND $3 = '' AND payload = $4",
		"SELECT count(*) FROM outbox WHERE " PG_STALE("payload"),
	},
	[STORE_SEALED_PROFILES] = {
		"SELECT id, number_sealed, id, '' FROM profiles WHERE id > $1 AND "
		"octet_length(number_sealed) > 0 AND substring(number_sealed from 1 for 1) <> $2 ORDER BY id LIMIT $3",
		"UPDATE profiles SET number_sealed = $1 WHERE id = $2 AND $3 = '' AND number_sealed = $4",
		"SELECT count(*) FROM profiles WHERE " PG_STALE("number_sealed"),
	},
	/* the version byte is the first two hex digits of the value's auth_token_sealed */
	[STORE_SEALED_PROXY_ACCOUNTS] = {
		"SELECT key, value, key, '' FROM settings WHERE key > $1 AND " PG_ACCOUNT_STALE("$2")
		" ORDER BY key LIMIT $3",
		"UPDATE settings SET value = $1 WHERE key = $2 AND $3 = '' AND value = $4",
		"SELECT count(*) FROM settings WHERE " PG_ACCOUNT_STALE("$1"),
	},
};

/* Runs sql with a's parameters (binary where pg_arg_bytes put them); 0 and
 * *out (PQclear'd by the caller) or MASKD_EDB, logged without parameters. */
static int exec(struct pg_conn *c, const char *sql, const struct args *a, PGresult **out)
{
	PGresult *r = PQexecParams(c->pg, sql, a->n, NULL, a->val, a->len, a->fmt, 1);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state != NULL ? state : "");
		if (PQstatus(c->pg) != CONNECTION_OK)
			c->broken = true;
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		log_error("store: vault re-seal \"%.40s...\": %s (SQLSTATE %s)", sql, msg != NULL ? msg : "no answer",
			  state != NULL ? state : "none");
		PQclear(r);
		return MASKD_EDB;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* Copies text column col of a binary-format result row into out. */
static void col_text(const PGresult *r, int row, int col, char *out, size_t cap)
{
	int n = PQgetlength(r, row, col);
	if ((size_t)n >= cap)
		n = (int)cap - 1;
	memcpy(out, PQgetvalue(r, row, col), (size_t)n);
	out[n] = '\0';
}

static int reseal_once(struct store_pg *s, struct pg_conn *c, enum store_sealed what, const char *after, int limit,
		       char last[STORE_RESEAL_KEY_MAX], int *seen, int *resealed)
{
	const struct reseal_sql *q = &reseal_sql[what];
	uint8_t current = (uint8_t)vault_current_version(s->vault);
	struct args a = {0};
	pg_arg_text(&a, after);
	pg_arg_bytes(&a, &current, 1);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_tx_begin(c);
	if (rc < 0)
		return rc;
	rc = exec(c, q->select, &a, &r);
	if (rc < 0) {
		pg_tx_rollback(c);
		return rc;
	}
	int n = PQntuples(r), done = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char ka[STORE_RESEAL_KEY_MAX], kb[32];
		col_text(r, i, 2, ka, sizeof(ka));
		col_text(r, i, 3, kb, sizeof(kb));
		const uint8_t *old = (const uint8_t *)PQgetvalue(r, i, 1);
		size_t old_len = (size_t)PQgetlength(r, i, 1);
		uint8_t *fresh = NULL;
		size_t fresh_len = 0;
		if (store_reseal_value(s->vault, what, ka, kb, old, old_len, &fresh, &fresh_len) < 0)
			continue; /* left for an operator: vault_unseal named its version */
		struct args u = {0};
		pg_arg_bytes(&u, fresh, fresh_len);
		pg_arg_text(&u, ka);
		pg_arg_text(&u, what == STORE_SEALED_SECRETS ? kb : "");
		pg_arg_bytes(&u, old, old_len);
		PGresult *ur = NULL;
		rc = exec(c, q->update, &u, &ur);
		free(fresh);
		if (rc == 0) {
			done += (int)strtol(PQcmdTuples(ur), NULL, 10);
			PQclear(ur);
		}
	}
	if (rc == 0 && n > 0)
		col_text(r, n - 1, 0, last, STORE_RESEAL_KEY_MAX);
	PQclear(r);
	if (rc == 0)
		rc = pg_tx_commit(c);
	if (rc < 0) {
		pg_tx_rollback(c);
		return rc;
	}
	*seen = n;
	*resealed = done;
	return 0;
}

int pg_vault_reseal(void *b, enum store_sealed what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX],
		    int *seen, int *resealed)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_EDB;
	for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
		rc = reseal_once(s, c, what, after, limit, last, seen, resealed);
		if (rc == 0 || !pg_retryable(c))
			return rc;
	}
	return rc;
}

int pg_vault_stale(void *b, int version, int64_t *count)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	uint8_t v = (uint8_t)version;
	*count = 0;
	for (int k = 0; k < STORE_SEALED_COUNT; k++) {
		struct args a = {0};
		pg_arg_bytes(&a, &v, 1);
		PGresult *r = NULL;
		int rc = exec(c, reseal_sql[k].stale, &a, &r);
		if (rc < 0)
			return rc;
		/* binary count(*): a big-endian int8 */
		const uint8_t *p = (const uint8_t *)PQgetvalue(r, 0, 0);
		int64_t n = 0;
		if (PQgetlength(r, 0, 0) == 8)
			for (int i = 0; i < 8; i++)
				n = (n << 8) | p[i];
		*count += n;
		PQclear(r);
	}
	return 0;
}

/* ---------------------------------------------------------------- the blind-index rotation */

static int exec_texts(struct pg_conn *c, const char *sql, const char *const *texts, int n_texts, int *changes)
{
	struct args a = {0};
	for (int i = 0; i < n_texts; i++)
		pg_arg_text(&a, texts[i]);
	PGresult *r = NULL;
	int rc = exec(c, sql, &a, &r);
	if (rc == 0) {
		if (changes != NULL)
			*changes = (int)strtol(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	return rc;
}

static int reindex_once(struct store_pg *s, struct pg_conn *c, enum store_reindex what, const char *after, int limit,
			char last[STORE_RESEAL_KEY_MAX], int *seen, int *moved)
{
	int rc = pg_tx_begin(c);
	if (rc < 0)
		return rc;
	if (what == STORE_REINDEX_FINISH) {
		static const char *const steps[SQL_REINDEX_FINISH_STEPS] = SQL_REINDEX_FINISH;
		for (int k = 0; rc == 0 && k < SQL_REINDEX_FINISH_STEPS; k++)
			rc = exec_texts(c, steps[k], NULL, 0, NULL);
		if (rc == 0)
			rc = pg_tx_commit(c);
		if (rc < 0)
			pg_tx_rollback(c);
		return rc;
	}
	bool profiles = what == STORE_REINDEX_PROFILES;
	char prefix[8];
	store_index_prefix(s->vault, prefix);
	struct args a = {0};
	pg_arg_text(&a, prefix);
	pg_arg_text(&a, after);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	rc = exec(c, profiles ? SQL_TEXT_REINDEX_PROFILES : SQL_TEXT_REINDEX_PARTICIPANTS, &a, &r);
	if (rc < 0) {
		pg_tx_rollback(c);
		return rc;
	}
	int n = PQntuples(r), done = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char id[ID_MAX], old[STORE_BIDX_MAX], session_id[ID_MAX], fresh[STORE_BIDX_MAX];
		col_text(r, i, 0, id, sizeof(id));
		col_text(r, i, 2, old, sizeof(old));
		col_text(r, i, 3, session_id, sizeof(session_id));
		const uint8_t *sealed = (const uint8_t *)PQgetvalue(r, i, 1);
		size_t len = (size_t)PQgetlength(r, i, 1);
		if (store_reindex_value(s->vault, profiles, id, sealed, len, fresh) < 0)
			continue; /* left for an operator: vault_unseal named its version */
		const char *row[3] = {id, fresh, old};
		int changed = 0;
		rc = exec_texts(c, profiles ? SQL_TEXT_REINDEX_PROFILE_SET : SQL_TEXT_REINDEX_PARTICIPANT_SET, row, 3,
				&changed);
		if (rc == 0 && changed > 0 && !profiles) {
			const char *peers[3] = {session_id, fresh, old};
			rc = exec_texts(c, SQL_TEXT_REINDEX_PEERS_SET, peers, 3, NULL);
		}
		if (rc == 0 && changed > 0) {
			const char *move[2] = {old, fresh};
			rc = exec_texts(c, SQL_TEXT_REINDEX_MOVE, move, 2, NULL);
		}
		done += changed;
	}
	if (rc == 0 && n > 0)
		col_text(r, n - 1, 0, last, STORE_RESEAL_KEY_MAX);
	PQclear(r);
	if (rc == 0)
		rc = pg_tx_commit(c);
	if (rc < 0) {
		pg_tx_rollback(c);
		return rc;
	}
	*seen = n;
	*moved = done;
	return 0;
}

int pg_index_sweep(void *b, enum store_reindex what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX],
		   int *seen, int *moved)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_EDB;
	for (int attempt = 0; attempt < TX_ATTEMPTS; attempt++) {
		rc = reindex_once(s, c, what, after, limit, last, seen, moved);
		if (rc == 0 || !pg_retryable(c))
			return rc;
	}
	return rc;
}

int pg_index_stale(void *b, int64_t *count)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	char prefix[8];
	store_index_prefix(s->vault, prefix);
	struct args a = {0};
	pg_arg_text(&a, prefix);
	PGresult *r = NULL;
	int rc = exec(c, SQL_TEXT_REINDEX_STALE, &a, &r);
	if (rc < 0)
		return rc;
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, 0, 0);
	int64_t n = 0;
	if (PQgetlength(r, 0, 0) == 8)
		for (int i = 0; i < 8; i++)
			n = (n << 8) | p[i];
	*count = n;
	PQclear(r);
	return 0;
}
