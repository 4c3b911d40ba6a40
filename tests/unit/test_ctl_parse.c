/* SPDX-License-Identifier: MIT */
/* test_ctl_parse.c - ctl/ctl_parse.h: the number CSV (header columns in any case
 * and order, quoting, CRLF, BOM, blank lines, capabilities lists) and the
 * SignalWire proxy_sessions.json, each malformed line reported with its line
 * number, and the structural faults (no number column, an unclosed quote, not
 * JSON, not an array) marked fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../src/ctl/ctl_parse.h"

static struct ctl_parsed csv(const char *text)
{
	struct ctl_parsed p;
	assert_int_equal(ctl_parse_numbers_csv(text, strlen(text), &p), 0);
	return p;
}

static struct ctl_parsed sessions(const char *text)
{
	struct ctl_parsed p;
	assert_int_equal(ctl_parse_sessions_json(text, strlen(text), &p), 0);
	return p;
}

static void test_csv_rows(void **state)
{
	struct ctl_parsed p = csv("\xEF\xBB\xBF"
				  "Friendly Name,Phone Number,Capabilities,Carrier\r\n"
				  "Main,+14155550100,voice;SMS,twilio\r\n"
				  "\r\n"
				  "\"Line, two\",\"+1 (415) 555-0101\",\"voice,sms,mms\",\r\n"
				  "Third,+14155550102,,Telnyx\n");
	assert_false(p.fatal);
	assert_int_equal(p.n_problems, 0);
	assert_int_equal(p.n_rows, 3);
	const struct ctl_number_row *r = p.rows;
	assert_string_equal(r[0].number, "+14155550100");
	assert_int_equal(r[0].line, 2);
	assert_string_equal(r[0].capabilities, "voice,sms");
	assert_string_equal(r[0].carrier, "twilio");
	assert_string_equal(r[1].number, "+1 (415) 555-0101");
	assert_int_equal(r[1].line, 4);
	assert_string_equal(r[1].capabilities, "voice,sms,mms");
	assert_string_equal(r[1].carrier, "");
	assert_int_equal(r[2].line, 5);
	assert_string_equal(r[2].carrier, "telnyx");
	assert_string_equal(r[2].capabilities, "");
	ctl_parsed_free(&p);
}

static void test_csv_quoted_newline_keeps_line_numbers(void **state)
{
	struct ctl_parsed p = csv("number,note\n+14155550100,\"two\nlines\"\n+14155550101,x\nbad,y\n");
	assert_int_equal(p.n_rows, 2);
	assert_int_equal(((struct ctl_number_row *)p.rows)[0].line, 2);
	assert_int_equal(((struct ctl_number_row *)p.rows)[1].line, 4);
	assert_int_equal(p.n_problems, 1);
	assert_int_equal(p.problems[0].line, 5);
	ctl_parsed_free(&p);
}

static void test_csv_problems_by_line(void **state)
{
	struct ctl_parsed p = csv("e164,carrier,capabilities\n"
				  "+14155550100,twilio,voice\n"    /* 2: fine */
				  "+14155550101,twilio\n"          /* 3: too few fields */
				  "14155550102,twilio,voice\n"     /* 4: no + */
				  "+14155550103,att,voice\n"       /* 5: unknown carrier */
				  "+14155550104,twilio,fax\n"      /* 6: unknown capability */
				  ",twilio,voice\n"                /* 7: empty number */
				  "+1415555\"0105,twilio,voice\n"  /* 8: stray quote */
				  "+14155550106,vonage,sms mms\n"); /* 9: fine */
	assert_false(p.fatal);
	assert_int_equal(p.n_rows, 2);
	assert_int_equal(((struct ctl_number_row *)p.rows)[1].line, 9);
	assert_string_equal(((struct ctl_number_row *)p.rows)[1].capabilities, "sms,mms");
	assert_int_equal(p.n_problems, 6);
	int want[] = {3, 4, 5, 6, 7, 8};
	for (int i = 0; i < 6; i++)
		assert_int_equal(p.problems[i].line, want[i]);
	assert_non_null(strstr(p.problems[0].why, "2 fields where the header has 3"));
	/* a problem never repeats the number it is about */
	assert_null(strstr(p.problems[1].why, "14155550102"));
	ctl_parsed_free(&p);
}

static void test_csv_fatal(void **state)
{
	struct ctl_parsed p = csv("name,sid\nx,y\n");
	assert_true(p.fatal);
	assert_int_equal(p.n_problems, 1);
	assert_int_equal(p.problems[0].line, 1);
	assert_non_null(strstr(p.problems[0].why, "no number column"));
	ctl_parsed_free(&p);

	p = csv("number\n+14155550100\n\"+14155550101\n+14155550102\n");
	assert_true(p.fatal);
	assert_int_equal(p.problems[p.n_problems - 1].line, 3);
	ctl_parsed_free(&p);

	p = csv("");
	assert_true(p.fatal);
	assert_int_equal(p.problems[0].line, 1);
	ctl_parsed_free(&p);
}

static void test_csv_long_field(void **state)
{
	char text[600] = "number\n+1";
	size_t n = strlen(text);
	memset(text + n, '5', 300);
	text[n + 300] = '\n';
	text[n + 301] = '\0';
	struct ctl_parsed p = csv(text);
	assert_int_equal(p.n_rows, 0);
	assert_int_equal(p.n_problems, 1);
	assert_int_equal(p.problems[0].line, 2);
	assert_non_null(strstr(p.problems[0].why, "longer than"));
	ctl_parsed_free(&p);
}

static void test_json_rows(void **state)
{
	struct ctl_parsed p = sessions("[\n"
				       "  {\"Session_Id\": \"KC1\", \"Participant_A_Number\": \"+14152371234\",\n"
				       "   \"Participant_B_Number\": \"+14152375678\", \"Proxy_Number\": \"+14155550100\",\n"
				       "   \"Status\": \"open\"},\n"
				       "  {\"Session_Id\": \"KC2\", \"Participant_A_Number\": \"+14152371235\","
				       " \"Participant_B_Number\": \"+14152375679\", \"Proxy_Number\": \"+14155550100\"}\n"
				       "]\n");
	assert_false(p.fatal);
	assert_int_equal(p.n_problems, 0);
	assert_int_equal(p.n_rows, 2);
	const struct ctl_session_row *r = p.rows;
	assert_string_equal(r[0].session_id, "KC1");
	assert_int_equal(r[0].line, 2);
	assert_string_equal(r[0].number_b, "+14152375678");
	assert_string_equal(r[1].proxy_number, "+14155550100");
	assert_int_equal(r[1].line, 5);
	ctl_parsed_free(&p);
}

static void test_json_problems_by_line(void **state)
{
	struct ctl_parsed p = sessions(
		"[\n"
		"{\"Session_Id\":\"A\",\"Participant_A_Number\":\"+14152371234\",\"Participant_B_Number\":\"+14152375678\",\"Proxy_Number\":\"+14155550100\"},\n"
		"{\"Session_Id\":\"B\",\"Participant_A_Number\":\"+14152371234\",\"Proxy_Number\":\"+14155550100\"},\n"
		"{\"Session_Id\":\"C\",\"Participant_A_Number\":\"4152371234\",\"Participant_B_Number\":\"+14152375678\",\"Proxy_Number\":\"+14155550100\"},\n"
		"\"not an object, with a ] and a { in it\",\n"
		"{\"Session_Id\":\"A\",\"Participant_A_Number\":\"+14152371239\",\"Participant_B_Number\":\"+14152375678\",\"Proxy_Number\":\"+14155550100\"},\n"
		"{\"Session_Id\":\"D\",\"Participant_A_Number\":\"+14152371234\",\"Participant_B_Number\":\"+14152371234\",\"Proxy_Number\":\"+14155550100\"},\n"
		"{\"Session_Id\":7,\"Participant_A_Number\":\"+14152371234\",\"Participant_B_Number\":\"+14152375678\",\"Proxy_Number\":\"+14155550100\"}\n"
		"]");
	assert_false(p.fatal);
	assert_int_equal(p.n_rows, 1);
	assert_int_equal(p.n_problems, 6);
	int want[] = {3, 4, 5, 6, 7, 8};
	for (int i = 0; i < 6; i++)
		assert_int_equal(p.problems[i].line, want[i]);
	assert_non_null(strstr(p.problems[0].why, "Participant_B_Number is missing"));
	assert_non_null(strstr(p.problems[3].why, "earlier line"));
	assert_non_null(strstr(p.problems[5].why, "Session_Id must be a non-empty string"));
	for (size_t i = 0; i < p.n_problems; i++)
		assert_null(strstr(p.problems[i].why, "4152371234"));
	ctl_parsed_free(&p);
}

static void test_json_fatal(void **state)
{
	struct ctl_parsed p = sessions("[\n{\"Session_Id\": \"A\",\n \"Proxy_Number\": +1415}\n]");
	assert_true(p.fatal);
	assert_int_equal(p.n_problems, 1);
	assert_int_equal(p.problems[0].line, 3);
	assert_null(strstr(p.problems[0].why, "1415"));
	ctl_parsed_free(&p);

	p = sessions("{\"sessions\": []}");
	assert_true(p.fatal);
	assert_non_null(strstr(p.problems[0].why, "array"));
	ctl_parsed_free(&p);

	p = sessions("[]");
	assert_false(p.fatal);
	assert_int_equal(p.n_rows, 0);
	assert_int_equal(p.n_problems, 0);
	ctl_parsed_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_rows),
		cmocka_unit_test(test_csv_quoted_newline_keeps_line_numbers),
		cmocka_unit_test(test_csv_problems_by_line),
		cmocka_unit_test(test_csv_fatal),
		cmocka_unit_test(test_csv_long_field),
		cmocka_unit_test(test_json_rows),
		cmocka_unit_test(test_json_problems_by_line),
		cmocka_unit_test(test_json_fatal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
