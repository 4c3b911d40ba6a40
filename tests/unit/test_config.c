/* SPDX-License-Identifier: MIT */
/* test_config.c - MASKD_* parsing: defaults, and a bad value names its variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"
#include "util/err.h"

static const char *const *env_table;

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; env_table[i] != NULL; i += 2)
		if (strcmp(env_table[i], name) == 0)
			return env_table[i + 1];
	return NULL;
}

static int load(const char *const *table, struct config *c, char *err, size_t n)
{
	env_table = table;
	return config_load(c, fake_getenv, err, n);
}

static void defaults(void **state)
{
	const char *const t[] = {NULL};
	struct config c;
	char err[256];
	assert_int_equal(load(t, &c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.db, "./var/maskd.db");
	assert_string_equal(c.key_file, "./var/maskd.key");
	assert_string_equal(c.public_url, "http://127.0.0.1:8080");
	assert_string_equal(c.admin_key, "");
	assert_true(c.threads >= 2);
	assert_int_equal(c.api_rate, 0); /* no API rate limit unless asked */
	assert_int_equal(c.retention_days, 90);
}

static void public_url_trailing_slash(void **state)
{
	const char *const t[] = {"MASKD_PUBLIC_URL", "https://maskd.example.com/", NULL};
	struct config c;
	char err[256];
	assert_int_equal(load(t, &c, err, sizeof(err)), 0);
	assert_string_equal(c.public_url, "https://maskd.example.com");
}

/* Vonage's Voice API (click-to-call) has its own host, apart from the SMS one. */
static void vonage_voice_base(void **state)
{
	(void)state;
	const char *const none[] = {NULL};
	struct config c;
	char err[256];
	assert_int_equal(load(none, &c, err, sizeof(err)), 0);
	assert_string_equal(c.vonage_voice_base, "https://api.nexmo.com");
	assert_string_equal(c.api_base[DIALECT_VONAGE], "https://rest.nexmo.com");
	const char *const set[] = {"MASKD_VONAGE_VOICE_API_URL", "http://127.0.0.1:9/", NULL};
	assert_int_equal(load(set, &c, err, sizeof(err)), 0);
	assert_string_equal(c.vonage_voice_base, "http://127.0.0.1:9");
	const char *const bad[] = {"MASKD_VONAGE_VOICE_API_URL", "ftp://x", NULL};
	assert_int_equal(load(bad, &c, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "MASKD_VONAGE_VOICE_API_URL"));
}

static void api_rate(void **state)
{
	const char *const t[] = {"MASKD_API_RATE", "50", NULL};
	struct config c;
	char err[256];
	assert_int_equal(load(t, &c, err, sizeof(err)), 0);
	assert_int_equal(c.api_rate, 50);
}

static void retention_days(void **state)
{
	const char *const t[] = {"MASKD_RETENTION_DAYS", "0", NULL}; /* 0 = never purge */
	struct config c;
	char err[256];
	assert_int_equal(load(t, &c, err, sizeof(err)), 0);
	assert_int_equal(c.retention_days, 0);
	const char *const t2[] = {"MASKD_RETENTION_DAYS", "3650", NULL};
	assert_int_equal(load(t2, &c, err, sizeof(err)), 0);
	assert_int_equal(c.retention_days, 3650);
}

static void sip_settings(void **state)
{
	(void)state;
	struct config c;
	char err[256];
	const char *const none[] = {NULL};
	assert_int_equal(load(none, &c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_secret, ""); /* the SIP edge answers 403 */
	assert_string_equal(c.sip_trunk, "127.0.0.1:5080");
	assert_string_equal(c.sip_announce, "");
	const char *const set[] = {"MASKD_SIP_SECRET", "0123456789abcdef", "MASKD_SIP_TRUNK", "[2001:db8::1]:5060",
				   "MASKD_SIP_ANNOUNCE", "sip:prompts@media.example", NULL};
	assert_int_equal(load(set, &c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_secret, "0123456789abcdef");
	assert_string_equal(c.sip_trunk, "[2001:db8::1]:5060");
	assert_string_equal(c.sip_announce, "sip:prompts@media.example");
	static const struct {
		const char *var, *value, *err;
	} bad[] = {
		{"MASKD_SIP_SECRET", "short", "MASKD_SIP_SECRET: use at least 16 characters"},
		{"MASKD_SIP_TRUNK", "trunk.example;transport=tcp", "MASKD_SIP_TRUNK: expected host[:port]"},
		{"MASKD_SIP_TRUNK", "user@trunk.example", "MASKD_SIP_TRUNK: expected host[:port]"},
		{"MASKD_SIP_ANNOUNCE", "http://media.example", "MASKD_SIP_ANNOUNCE: expected a sip: or sips: URI"},
		{"MASKD_SIP_ANNOUNCE", "sip:a b@media", "MASKD_SIP_ANNOUNCE: expected a sip: or sips: URI"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const t[] = {bad[i].var, bad[i].value, NULL};
		assert_int_equal(load(t, &c, err, sizeof(err)), MASKD_EINVAL);
		assert_string_equal(err, bad[i].err);
	}
}

static void bad_values_name_the_variable(void **state)
{
	const char *const cases[][3] = {
		{"MASKD_PUBLIC_URL", "ftp://x", NULL},
		{"MASKD_PUBLIC_URL", "https://x/?a=1", NULL},
		{"MASKD_ADMIN_KEY", "short", NULL},
		{"MASKD_THREADS", "1", NULL},
		{"MASKD_THREADS", "two", NULL},
		{"MASKD_SWEEP_INTERVAL", "0", NULL},
		{"MASKD_SWEEP_INTERVAL", "-5", NULL},
		{"MASKD_LOG_LEVEL", "loud", NULL},
		{"MASKD_API_RATE", "-1", NULL},
		{"MASKD_API_RATE", "fast", NULL},
		{"MASKD_API_RATE", "2000000", NULL},
		{"MASKD_RETENTION_DAYS", "-1", NULL},
		{"MASKD_RETENTION_DAYS", "3651", NULL},
		{"MASKD_RETENTION_DAYS", "90d", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char err[256] = "";
		assert_int_equal(load(cases[i], &c, err, sizeof(err)), MASKD_EINVAL);
		assert_non_null(strstr(err, cases[i][0]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(public_url_trailing_slash),
		cmocka_unit_test(api_rate),
		cmocka_unit_test(vonage_voice_base),
		cmocka_unit_test(retention_days),
		cmocka_unit_test(bad_values_name_the_variable),
		cmocka_unit_test(sip_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
