/* SPDX-License-Identifier: MIT */
/* fixture.c - the contract suite's fixtures over the linked backend: a vault in a
 * temp dir, a store on a fresh database, one service (and for cx_setup_pool its
 * pool). Shared by the contract suite and the backend-specific store tests. */
#include "contract.h"

#include <unistd.h>

#include "util/err.h"

static struct fixture *cx_open(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/maskd-test-contract-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (!cx_backend_create(f)) {
		rmdir(f->dir);
		free(f);
		return NULL;
	}
	char key[128], err[512];
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_load(key, &f->vault, err, sizeof(err)), 0);
	if (store_open(f->url, f->vault, &f->st, err, sizeof(err)) < 0)
		fail_msg("store_open: %s", err);
	id_new("svc", f->svc.id);
	snprintf(f->svc.name, sizeof(f->svc.name), "Rides");
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	return f;
}

int cx_setup(void **state)
{
	struct fixture *f = cx_open();
	*state = f;
	if (f == NULL)
		return 0; /* each test skips */
	snprintf(f->svc.secrets[DIALECT_TWILIO], sizeof(f->svc.secrets[0]), CX_SECRET);
	snprintf(f->svc.unknown_caller_message, sizeof(f->svc.unknown_caller_message), "Goodbye.");
	f->svc.created_at = 1000;
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
	return 0;
}

int cx_setup_pool(void **state)
{
	struct fixture *f = cx_open();
	*state = f;
	if (f == NULL)
		return 0;
	snprintf(f->svc.secrets[DIALECT_TWILIO], sizeof(f->svc.secrets[0]), CX_POOL_SECRET);
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
	for (int i = 0; i < CX_POOL; i++) {
		struct number n;
		memset(&n, 0, sizeof(n));
		id_new("num", n.id);
		snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
		snprintf(n.e164, sizeof(n.e164), "+1415555%04d", 100 + i);
		snprintf(n.country, sizeof(n.country), "US");
		n.caps = CAP_ALL;
		n.created_at = i;
		assert_int_equal(store_number_insert(f->st, &n), 0);
		snprintf(f->nums[i], ID_MAX, "%s", n.id);
	}
	return 0;
}

int cx_teardown(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		return 0;
	store_close(f->st);
	vault_free(f->vault);
	cx_backend_drop(f);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

struct store *cx_open_again(struct fixture *f)
{
	struct store *st = NULL;
	char err[512];
	if (store_open(f->url, f->vault, &st, err, sizeof(err)) < 0)
		fail_msg("store_open again: %s", err);
	return st;
}
