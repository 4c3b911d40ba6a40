/* SPDX-License-Identifier: MIT */
/* test_envfile.c - util/envfile.h: systemd EnvironmentFile= lines (blank lines,
 * # and ; comments, quotes, escapes, blanks), every refusal with a message that
 * names the file and the line and never repeats a value, and a load that sets
 * all of a good file or nothing of a bad one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/envfile.h"

static int parse(const char *line, char *key, char *val, char *why)
{
	return envfile_parse_line(line, key, 64, val, 64, why, 96);
}

static void test_lines(void **state)
{
	char k[64], v[64], why[96];
	assert_int_equal(parse("", k, v, why), 0);
	assert_int_equal(parse("   \t", k, v, why), 0);
	assert_int_equal(parse("# MASKD_DB=x", k, v, why), 0);
	assert_int_equal(parse("  ; a comment", k, v, why), 0);
	assert_int_equal(parse("MASKD_LISTEN=127.0.0.1:9000", k, v, why), 1);
	assert_string_equal(k, "MASKD_LISTEN");
	assert_string_equal(v, "127.0.0.1:9000");
	assert_int_equal(parse("  A_1 =  spaced value  \r", k, v, why), 1);
	assert_string_equal(k, "A_1");
	assert_string_equal(v, "spaced value");
	assert_int_equal(parse("EMPTY=", k, v, why), 1);
	assert_string_equal(v, "");
	assert_int_equal(parse("Q='a \"b\" $c \\n'", k, v, why), 1);
	assert_string_equal(v, "a \"b\" $c \\n");
	assert_int_equal(parse("D=\"x \\\"y\\\" \\\\ \\$ \\` \\n\"  ", k, v, why), 1);
	assert_string_equal(v, "x \"y\" \\ $ ` \\n");
	assert_int_equal(parse("H=a#b", k, v, why), 1); /* a # inside a value is the value's */
	assert_string_equal(v, "a#b");
}

static void test_refusals(void **state)
{
	char k[64], v[64], why[96];
	const char *bad[] = {
		"1X=a", "=a", "NAME", "NAME value", "A-B=c", "Q=\"open", "Q='open", "Q=\"a\"b", "C=abc\\", "export A=b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], k, v, why), -1);
		assert_true(strlen(why) > 0);
	}
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = 'V';
	big[1] = '=';
	assert_int_equal(parse(big, k, v, why), -1);
	assert_string_equal(why, "the value is too long");
}

static char dir[] = "/tmp/maskd-envfile-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_load(void **state)
{
	char err[512];
	unsetenv("ENVF_A");
	setenv("ENVF_B", "before", 1);
	const char *good = write_file("good.env", "# maskd\nENVF_A=one\n\nENVF_B=\"two words\"\n;last\nENVF_C='3'");
	assert_int_equal(envfile_load(good, err, sizeof(err)), 0);
	assert_string_equal(getenv("ENVF_A"), "one");
	assert_string_equal(getenv("ENVF_B"), "two words"); /* the file wins, as under systemd */
	assert_string_equal(getenv("ENVF_C"), "3");

	const char *bad = write_file("bad.env", "ENVF_D=secret-value\nENVF_E=ok\nnot a line secret-two\n");
	unsetenv("ENVF_D");
	assert_int_not_equal(envfile_load(bad, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bad.env:3: "));
	assert_null(strstr(err, "secret"));
	assert_null(getenv("ENVF_D")); /* nothing of a bad file is set */

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none.env", dir);
	assert_int_not_equal(envfile_load(missing, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "none.env: No such file or directory"));

	assert_int_not_equal(envfile_load(dir, err, sizeof(err)), 0); /* a directory */
	assert_non_null(strstr(err, dir));

	char *longline = malloc(ENVFILE_LINE_MAX + 100);
	memset(longline, 'y', ENVFILE_LINE_MAX + 98);
	memcpy(longline, "L=", 2);
	longline[ENVFILE_LINE_MAX + 98] = '\0';
	const char *lf = write_file("long.env", "A=1\n");
	FILE *f = fopen(lf, "a");
	fputs(longline, f);
	fputs("\n", f);
	fclose(f);
	free(longline);
	assert_int_not_equal(envfile_load(lf, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "long.env:2: the line is longer than"));
}

static int setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	const char *names[] = {"good.env", "bad.env", "long.env"};
	char path[300];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
