/* SPDX-License-Identifier: MIT */
/* test_redact.c - util/redact.h: a secret replaced wherever it occurs, a URL's
 * password scrubbed in every spelling it has (userinfo raw and %-decoded, the last
 * '@' before the path, password= parameters and key=value pairs), messages folded
 * to one line and cut to their buffer, and nothing else of the message lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/redact.h"

#define SECRET "Sup3r-s3cret_pw"

static void test_secret(void **state)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "xx a xx b xxx");
	redact_secret(&b, "xx");
	assert_string_equal(b.data, "*** a *** b ***x");
	redact_secret(&b, "");
	redact_secret(&b, NULL);
	assert_string_equal(b.data, "*** a *** b ***x");
	buf_reset(&b);
	buf_puts(&b, "nothing here");
	redact_secret(&b, "absent");
	assert_string_equal(b.data, "nothing here");
	buf_free(&b);
}

static void scrubbed(const char *url, const char *msg, const char *want)
{
	char out[512];
	redact_message(url, msg, out, sizeof(out));
	if (strstr(out, SECRET) != NULL || strstr(out, "Sup3r%2Ds3cret") != NULL)
		fail_msg("password left in \"%s\" (url %s)", out, url);
	if (want != NULL)
		assert_string_equal(out, want);
}

static void test_url_password(void **state)
{
	scrubbed("postgresql://maskd:" SECRET "@db/maskd", "FATAL: password for maskd:" SECRET "@db failed\n",
		 "FATAL: password for maskd:***@db failed");
	/* %-encoded in the URL: both spellings go */
	scrubbed("postgresql://maskd:Sup3r%2Ds3cret_pw@db/maskd", "bad token \"Sup3r%2Ds3cret_pw\" or " SECRET,
		 "bad token \"***\" or ***");
	/* a password holding '@': the last '@' before the path ends it */
	scrubbed("postgresql://maskd:a@" SECRET "@db/maskd", "auth a@" SECRET " refused", "auth *** refused");
	scrubbed("postgresql://db/maskd?user=maskd&password=" SECRET "&sslmode=require", "x " SECRET " y",
		 "x *** y");
	scrubbed("host=db password=" SECRET " dbname=maskd", "missing \"=\" after \"" SECRET "\"",
		 "missing \"=\" after \"***\"");
	/* no password: the message is untouched; '@' after the path is no userinfo */
	scrubbed("postgresql://db/maskd", "plain", "plain");
	scrubbed("postgresql://db/x@y:z", "x@y:z stays", "x@y:z stays");
	scrubbed(NULL, NULL, "");
}

static void test_one_line(void **state)
{
	char out[256];
	redact_message("postgresql://u:" SECRET "@h/d", "connection to server at \"h\" failed:\n\tFATAL:  nope\n", out,
		       sizeof(out));
	assert_string_equal(out, "connection to server at \"h\" failed: FATAL:  nope");
	redact_message("postgresql://h/d", "0123456789", out, 5);
	assert_string_equal(out, "0123");
	redact_message("postgresql://h/d", "\r\n\t  ", out, sizeof(out));
	assert_string_equal(out, "");
	out[0] = 'x';
	redact_message("postgresql://h/d", "abc", out, 0); /* nothing written */
	assert_int_equal(out[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_url_password),
		cmocka_unit_test(test_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
