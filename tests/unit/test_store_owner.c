/* SPDX-License-Identifier: MIT */
/* test_store_owner.c - the store's memory of which service owns a proxy number
 * (store_number_owner_note/_check, store/store.c) over a fake backend that counts
 * its calls: the check never reaches the backend, answers only within one service
 * cache TTL of the reads that filled it, follows an owner change and an update
 * through the handle at once, and stops answering for a service marked for reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "store/store_backend.h"
#include "util/err.h"

#define NUMBER "+14155550101"

struct fake {
	struct service svc[2]; /* svc_a, svc_b */
	int backend_calls;
	int update_rc;
};

static int f_service_get(void *b, const char *id, struct service *out)
{
	struct fake *f = b;
	f->backend_calls++;
	for (int i = 0; i < 2; i++)
		if (strcmp(f->svc[i].id, id) == 0) {
			*out = f->svc[i];
			return 0;
		}
	return MASKD_ENOTFOUND;
}

static int f_service_update(void *b, const struct service *svc)
{
	struct fake *f = b;
	f->backend_calls++;
	return f->update_rc;
}

static const struct store_ops fake_ops = {
	.name = "fake",
	.service_get = f_service_get,
	.service_update = f_service_update,
};

struct seen {
	int calls;
	char service_id[ID_MAX];
	char secret[CREDS_MAX_LEN + 1];
	bool answer;
};

static bool record(void *ctx, const struct service *svc)
{
	struct seen *s = ctx;
	s->calls++;
	snprintf(s->service_id, sizeof(s->service_id), "%s", svc->id);
	snprintf(s->secret, sizeof(s->secret), "%s", svc->secrets[DIALECT_TWILIO]);
	return s->answer;
}

struct world {
	struct fake f;
	struct store *st;
};

static int setup(void **state)
{
	static struct world w;
	memset(&w, 0, sizeof(w));
	snprintf(w.f.svc[0].id, ID_MAX, "svc_a");
	snprintf(w.f.svc[0].secrets[DIALECT_TWILIO], CREDS_MAX_LEN + 1, "{\"auth_token\":\"token-a\"}");
	snprintf(w.f.svc[1].id, ID_MAX, "svc_b");
	snprintf(w.f.svc[1].secrets[DIALECT_TWILIO], CREDS_MAX_LEN + 1, "{\"auth_token\":\"token-b\"}");
	w.st = store_wrap(&fake_ops, &w.f);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	store_close(w->st);
	return 0;
}

static void unknown_number_no_answer(void **state)
{
	struct world *w = *state;
	struct seen s = {.answer = true};
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), MASKD_ENOTFOUND);
	assert_int_equal(store_number_owner_check(w->st, "", record, &s), MASKD_ENOTFOUND);
	assert_int_equal(s.calls, 0);
	assert_int_equal(w->f.backend_calls, 0);
}

/* A noted owner whose service was never read: no answer (and still no read). */
static void owner_without_service_no_answer(void **state)
{
	struct world *w = *state;
	struct seen s = {.answer = true};
	store_number_owner_note(w->st, NUMBER, "svc_a");
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), MASKD_ENOTFOUND);
	assert_int_equal(s.calls, 0);
	assert_int_equal(w->f.backend_calls, 0);
}

/* Owner noted and service read: the check answers what fn says, from memory only. */
static void answers_from_memory(void **state)
{
	struct world *w = *state;
	struct service tmp;
	assert_int_equal(store_service_get(w->st, "svc_a", &tmp), 0);
	store_number_owner_note(w->st, NUMBER, "svc_a");
	assert_int_equal(w->f.backend_calls, 1);
	struct seen s = {.answer = false};
	for (int i = 0; i < 100; i++)
		assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), 0);
	s.answer = true;
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), 1);
	assert_int_equal(s.calls, 101);
	assert_string_equal(s.service_id, "svc_a");
	assert_string_equal(s.secret, "{\"auth_token\":\"token-a\"}");
	assert_int_equal(w->f.backend_calls, 1);
	/* another number is not answered for by this one's owner */
	assert_int_equal(store_number_owner_check(w->st, "+14155550102", record, &s), MASKD_ENOTFOUND);
}

/* The refresh rule: older than the TTL (here: a TTL of 0, so every entry is), memory
 * does not answer; with the TTL back, an entry read within it answers again. */
static void stale_after_ttl(void **state)
{
	struct world *w = *state;
	struct service tmp;
	assert_int_equal(store_service_get(w->st, "svc_a", &tmp), 0);
	store_number_owner_note(w->st, NUMBER, "svc_a");
	struct seen s = {.answer = true};
	store_service_cache_ttl(w->st, 0);
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), MASKD_ENOTFOUND);
	assert_int_equal(s.calls, 0);
	store_service_cache_ttl(w->st, SERVICE_CACHE_TTL_S);
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), 1);
	assert_int_equal(w->f.backend_calls, 1);
}

/* A new owner (the number moved, as the route lookup said) replaces the old one. */
static void owner_change_followed(void **state)
{
	struct world *w = *state;
	struct service tmp;
	assert_int_equal(store_service_get(w->st, "svc_a", &tmp), 0);
	assert_int_equal(store_service_get(w->st, "svc_b", &tmp), 0);
	store_number_owner_note(w->st, NUMBER, "svc_a");
	store_number_owner_note(w->st, NUMBER, "svc_b");
	struct seen s = {.answer = true};
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), 1);
	assert_string_equal(s.service_id, "svc_b");
	assert_string_equal(s.secret, "{\"auth_token\":\"token-b\"}");
}

/* A credential change through this handle is seen at once; a failed update marks
 * the service for reload, and memory stops answering for it. */
static void update_through_handle(void **state)
{
	struct world *w = *state;
	struct service svc;
	assert_int_equal(store_service_get(w->st, "svc_a", &svc), 0);
	store_number_owner_note(w->st, NUMBER, "svc_a");
	snprintf(svc.secrets[DIALECT_TWILIO], CREDS_MAX_LEN + 1, "{\"auth_token\":\"token-a2\"}");
	assert_int_equal(store_service_update(w->st, &svc), 0);
	struct seen s = {.answer = true};
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), 1);
	assert_string_equal(s.secret, "{\"auth_token\":\"token-a2\"}");
	w->f.update_rc = MASKD_EDB;
	assert_int_equal(store_service_update(w->st, &svc), MASKD_EDB);
	int calls = w->f.backend_calls;
	assert_int_equal(store_number_owner_check(w->st, NUMBER, record, &s), MASKD_ENOTFOUND);
	assert_int_equal(s.calls, 1);
	assert_int_equal(w->f.backend_calls, calls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unknown_number_no_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_without_service_no_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(answers_from_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_after_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(owner_change_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(update_through_handle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
