/* SPDX-License-Identifier: MIT */
/* test_phone.c - phone_parse() over libphonenumber 8.12.57 (Debian 12): valid
 * numbers and their fields (geo_region from the offline geocoder included), the
 * input screen ('+', digits, " .-()" only), numbers libphonenumber itself
 * refuses, thread safety, and that nothing is printed.
 * Every number below was checked against the installed library, not assumed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model.h"
#include "util/err.h"
#include "util/phone.h"

/* phone.h cannot include model.h (model.h includes it): pin the two sizes here. */
_Static_assert(PHONE_GEO_REGION_MAX == REGION_MAX_LEN + 1, "geo_region fits struct number.region");

/* Valid per libphonenumber 8.12.57; other tests may reuse them. Note that the
 * fictional 555-01XX block (+1NXX55501XX) is accepted as FIXED_LINE_OR_MOBILE:
 * the NANP metadata does not single it out. */
static const char *const valid_us[] = {
	"+14152371234", "+14159876543", "+14153901234", "+14155550100", "+14155550199",
	"+12124567890", "+12127363100", "+12125550100",
	"+13102345678", "+13104567890", "+13105550123",
	"+12025550123",
};
/* geo_region of each valid_us number, in order. */
static const char *const valid_us_geo[] = {
	"California", "California", "California", "California", "California",
	"New York", "New York", "New York",
	"California", "California", "California",
	"Washington D.C.",
};
static const char *const valid_uk_mobile[] = { "+447400123456", "+447912345678", "+447812345678" };

static void parse_ok(const char *in, struct phone_info *pi)
{
	int rc = phone_parse(in, pi);
	if (rc != 0)
		fail_msg("phone_parse(\"%s\") = %d, want 0", in, rc);
}

static void parse_bad(const char *in)
{
	struct phone_info pi;
	memset(&pi, 'X', sizeof(pi));
	int rc = phone_parse(in, &pi);
	if (rc != MASKD_EINVAL)
		fail_msg("phone_parse(\"%s\") = %d, want MASKD_EINVAL", in, rc);
	/* A failed parse leaves nothing half-filled behind. */
	assert_string_equal(pi.e164, "");
	assert_string_equal(pi.region, "");
	assert_string_equal(pi.area_code, "");
	assert_int_equal(pi.country_code, 0);
	assert_int_equal(pi.cc_len, 0);
	assert_string_equal(pi.geo_region, "");
}

/* Runs first so that it also covers libphonenumber's one-time initialisation:
 * neither stdout nor stderr may receive a byte, whatever the input. */
static void test_phone_silent(void **state)
{
	static const char *const inputs[] = {
		"+14152371234", "+14151234567", "+999123456", "+1", "+44 (0) 20 7183 8750",
		"+4930123456789012", "+80012345678", "+0123456789", "+1 415 CALL NOW",
	};
	FILE *capture = tmpfile();
	assert_non_null(capture);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(STDOUT_FILENO);
	int saved_err = dup(STDERR_FILENO);
	assert_true(saved_out >= 0 && saved_err >= 0);
	assert_true(dup2(fileno(capture), STDOUT_FILENO) >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);

	struct phone_info pi;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		(void)phone_parse(inputs[i], &pi);

	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	struct stat st;
	assert_int_equal(fstat(fileno(capture), &st), 0);
	fclose(capture);
	assert_int_equal(st.st_size, 0);
}

static void test_phone_us(void **state)
{
	struct phone_info pi;
	parse_ok("+14152371234", &pi);
	assert_string_equal(pi.e164, "+14152371234");
	assert_string_equal(pi.region, "US");
	assert_string_equal(pi.area_code, "415");
	assert_int_equal(pi.country_code, 1);
	assert_int_equal(pi.cc_len, 1);

	for (size_t i = 0; i < sizeof(valid_us) / sizeof(valid_us[0]); i++) {
		parse_ok(valid_us[i], &pi);
		assert_string_equal(pi.e164, valid_us[i]);
		assert_string_equal(pi.region, "US");
		assert_int_equal(strlen(pi.area_code), 3);
		assert_memory_equal(pi.area_code, valid_us[i] + 2, 3);
	}
}

static void test_phone_fictional_555_01xx_accepted(void **state)
{
	struct phone_info pi;
	static const char *const areas[] = { "415", "212", "310" };
	for (size_t a = 0; a < 3; a++) {
		for (int n = 0; n < 100; n++) {
			char in[16];
			snprintf(in, sizeof(in), "+1%s55501%02d", areas[a], n);
			parse_ok(in, &pi);
			assert_string_equal(pi.e164, in);
		}
	}
}

static void test_phone_uk(void **state)
{
	struct phone_info pi;
	parse_ok("+442071838750", &pi);
	assert_string_equal(pi.e164, "+442071838750");
	assert_string_equal(pi.region, "GB");
	assert_string_equal(pi.area_code, "20");
	assert_int_equal(pi.country_code, 44);
	assert_int_equal(pi.cc_len, 2);

	parse_ok("+441134960000", &pi); /* Leeds: three-digit area code */
	assert_string_equal(pi.area_code, "113");

	for (size_t i = 0; i < sizeof(valid_uk_mobile) / sizeof(valid_uk_mobile[0]); i++) {
		parse_ok(valid_uk_mobile[i], &pi);
		assert_string_equal(pi.e164, valid_uk_mobile[i]);
		assert_string_equal(pi.region, "GB");
		assert_string_equal(pi.area_code, ""); /* mobiles have no geographic code */
	}
}

static void test_phone_plus44_is_not_always_gb(void **state)
{
	/* +44 7781 and +44 7911 11 are Guernsey, +44 7624 the Isle of Man. */
	struct phone_info pi;
	parse_ok("+447781000000", &pi);
	assert_string_equal(pi.region, "GG");
	parse_ok("+447911123456", &pi);
	assert_string_equal(pi.region, "GG");
	parse_ok("+447624000000", &pi);
	assert_string_equal(pi.region, "IM");
	assert_int_equal(pi.country_code, 44);
}

static void test_phone_de_in_and_others(void **state)
{
	struct phone_info pi;
	parse_ok("+4930123456", &pi);
	assert_string_equal(pi.region, "DE");
	assert_string_equal(pi.area_code, "30");
	assert_int_equal(pi.country_code, 49);

	parse_ok("+4915112345678", &pi);
	assert_string_equal(pi.region, "DE");
	assert_string_equal(pi.area_code, "");

	parse_ok("+919876543210", &pi);
	assert_string_equal(pi.region, "IN");
	assert_string_equal(pi.area_code, "");
	assert_int_equal(pi.country_code, 91);
	assert_int_equal(pi.cc_len, 2);

	parse_ok("+911123456789", &pi); /* Delhi landline */
	assert_string_equal(pi.area_code, "11");

	parse_ok("+79123456789", &pi);
	assert_string_equal(pi.region, "RU");
	assert_int_equal(pi.cc_len, 1);

	parse_ok("+2348031234567", &pi);
	assert_string_equal(pi.region, "NG");
	assert_int_equal(pi.country_code, 234);
	assert_int_equal(pi.cc_len, 3);

	parse_ok("+33123456789", &pi);
	assert_string_equal(pi.region, "FR");
	assert_string_equal(pi.area_code, "1");
}

static void test_phone_non_geographic(void **state)
{
	struct phone_info pi;
	parse_ok("+80012345678", &pi); /* international freephone */
	assert_string_equal(pi.e164, "+80012345678");
	assert_string_equal(pi.region, "");
	assert_string_equal(pi.area_code, "");
	assert_int_equal(pi.country_code, 800);
	assert_int_equal(pi.cc_len, 3);
}

static void test_phone_separators_tolerated(void **state)
{
	static const char *const forms[] = {
		"+1 415 237 1234", "+1 (415) 237-1234", "+1.415.237.1234", "+1-415-237-1234",
		"+1(415)2371234", "+ 1 415 237 1234", "+1 415 237 1234 ",
	};
	struct phone_info pi;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		parse_ok(forms[i], &pi);
		assert_string_equal(pi.e164, "+14152371234");
	}
	/* libphonenumber drops a UK trunk "0" written after the country code. */
	parse_ok("+44 (0) 20 7183 8750", &pi);
	assert_string_equal(pi.e164, "+442071838750");
}

static void test_phone_invalid_numbers(void **state)
{
	parse_bad("+14151234567");  /* NANP exchange cannot start with 1 */
	parse_bad("+11234567890");  /* nor the area code */
	parse_bad("+15555550100");  /* area code 555 is not assigned */
	parse_bad("+1415555010");   /* nine national digits */
	parse_bad("+141555501000"); /* eleven */
	parse_bad("+447700900123"); /* Ofcom drama range, refused by the metadata */
	parse_bad("+999123456");    /* unassigned country code */
	parse_bad("+0123456789");
	parse_bad("+1");
	parse_bad("+44");
	parse_bad("+80012345");
}

static void test_phone_no_plus(void **state)
{
	parse_bad("14152371234");
	parse_bad("4152371234");
	parse_bad(" +14152371234");
	parse_bad("0014152371234");
	parse_bad("(+1) 415 237 1234");
	parse_bad("tel:+14152371234");
	parse_bad("\xef\xbc\x8b" "14152371234"); /* fullwidth plus */
}

static void test_phone_letters_and_other_bytes(void **state)
{
	static const char *const bad[] = {
		"+1 415 CALL NOW",
		"+1-800-FLOWERS",
		"+1415237123a",
		"+14152371234 ext 5",
		"+14152371234x5",
		"+14152371234;ext=5",
		"+14152371234#",
		"+1415237123*",
		"+1/415/237/1234",
		"+1_4152371234",
		"+1,415,237,1234",
		"++14152371234",
		"+14152371234\n",
		"+1\t4152371234",
		"+1\xef\xbc\x94" "152371234", /* fullwidth 4 */
		"+1 415 237 1234\xc2\xa0",    /* no-break space */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
}

static void test_phone_too_long(void **state)
{
	parse_bad("+1234567890123456");           /* 16 digits */
	parse_bad("+4930123456789012345");        /* libphonenumber would parse it */
	parse_bad("+14152371234123412341234123"); /* far too many */

	/* Within the 64-byte input cap a heavily spaced number is fine; past it, not. */
	struct phone_info pi;
	parse_ok("+1  415  237  1234                                            ", &pi);
	char in[128];
	memset(in, ' ', sizeof(in));
	memcpy(in, "+14152371234", 12);
	in[sizeof(in) - 1] = '\0';
	parse_bad(in);
}

static void test_phone_empty_and_null(void **state)
{
	parse_bad("");
	parse_bad("+");
	parse_bad("+ ");
	parse_bad("+()-. ");
	struct phone_info pi;
	assert_int_equal(phone_parse(NULL, &pi), MASKD_EINVAL);
	assert_int_equal(phone_parse("+14152371234", NULL), MASKD_EINVAL);
}

/* NANP: the state, whatever the data has for the exchange. +1 415 555 is
 * "San Francisco, CA" in the data, +1 650 253 "Mountain View, CA", and the whole
 * of +1 212 "New York, NY"; +1 310 has no area-code entry at all (its exchanges
 * are cities) and +1 445 is "Philadelphia". */
static void test_phone_geo_region_nanp(void **state)
{
	static const struct {
		const char *number, *geo;
	} cases[] = {
		{ "+14152371234", "California" },  { "+14155550100", "California" },
		{ "+16502530000", "California" },  { "+16505550100", "California" },
		{ "+12124567890", "New York" },    { "+12125550100", "New York" },
		{ "+13102345678", "California" },  { "+12032345678", "Connecticut" },
		{ "+17182345678", "New York" },    { "+14452345678", "Pennsylvania" },
		{ "+12152345678", "Pennsylvania" }, { "+12065550100", "Washington State" },
		{ "+12025550123", "Washington D.C." }, { "+19052345678", "Ontario" },
		{ "+14165550000", "Ontario" },     { "+19022345678", "Nova Scotia/Prince Edward Island" },
		/* toll-free and the Caribbean: the data names no area */
		{ "+18002345678", "" },            { "+18762345678", "" },
	};
	struct phone_info pi;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].number, &pi);
		if (strcmp(pi.geo_region, cases[i].geo) != 0)
			fail_msg("%s: geo_region \"%s\", want \"%s\"", cases[i].number, pi.geo_region, cases[i].geo);
	}
	for (size_t i = 0; i < sizeof(valid_us) / sizeof(valid_us[0]); i++) {
		parse_ok(valid_us[i], &pi);
		assert_string_equal(pi.geo_region, valid_us_geo[i]);
	}
	/* area_code stays what it was */
	parse_ok("+14152371234", &pi);
	assert_string_equal(pi.area_code, "415");
	parse_ok("+12124567890", &pi);
	assert_string_equal(pi.area_code, "212");
}

/* Elsewhere: the number's own place; "" where the data knows only the country. */
static void test_phone_geo_region_other(void **state)
{
	struct phone_info pi;
	parse_ok("+442071838750", &pi);
	assert_string_equal(pi.geo_region, "London");
	assert_string_equal(pi.area_code, "20");
	parse_ok("+441134960000", &pi);
	assert_string_equal(pi.geo_region, "Leeds");
	for (size_t i = 0; i < sizeof(valid_uk_mobile) / sizeof(valid_uk_mobile[0]); i++) {
		parse_ok(valid_uk_mobile[i], &pi);
		assert_string_equal(pi.geo_region, "");
		assert_string_equal(pi.area_code, "");
	}
	parse_ok("+447624000000", &pi); /* Isle of Man mobile */
	assert_string_equal(pi.geo_region, "");
	parse_ok("+4930123456", &pi);
	assert_string_equal(pi.geo_region, "Berlin");
	parse_ok("+4915112345678", &pi);
	assert_string_equal(pi.geo_region, "");
	parse_ok("+911123456789", &pi);
	assert_string_equal(pi.geo_region, "New Delhi");
	parse_ok("+919876543210", &pi);
	assert_string_equal(pi.geo_region, "");
	parse_ok("+33123456789", &pi); /* no English area data for France */
	assert_string_equal(pi.geo_region, "");
	parse_ok("+5511987654321", &pi); /* UTF-8 as the data has it */
	assert_string_equal(pi.geo_region, "S\xc3\xa3o Paulo");
	parse_ok("+80012345678", &pi); /* non-geographic */
	assert_string_equal(pi.geo_region, "");
	/* an invalid number is still refused, nothing filled */
	parse_bad("+14151234567");
	parse_bad("+447700900123");
}

#define PHONE_THREADS 8
#define PHONE_ROUNDS 50

static void *phone_worker(void *arg)
{
	intptr_t failures = 0;
	for (int r = 0; r < PHONE_ROUNDS; r++) {
		for (size_t i = 0; i < sizeof(valid_us) / sizeof(valid_us[0]); i++) {
			struct phone_info pi;
			if (phone_parse(valid_us[i], &pi) != 0 || strcmp(pi.e164, valid_us[i]) != 0 ||
			    strcmp(pi.geo_region, valid_us_geo[i]) != 0)
				failures++;
		}
		struct phone_info pi;
		if (phone_parse("+14151234567", &pi) != MASKD_EINVAL)
			failures++;
	}
	return (void *)failures;
}

static void test_phone_threads(void **state)
{
	pthread_t th[PHONE_THREADS];
	for (int i = 0; i < PHONE_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, phone_worker, NULL), 0);
	intptr_t failures = 0;
	for (int i = 0; i < PHONE_THREADS; i++) {
		void *ret;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		failures += (intptr_t)ret;
	}
	assert_int_equal(failures, 0);
}


/* Emergency numbers are never masked: the global list in any form, and each
 * region's own numbers through libphonenumber's ShortNumberInfo. */
static void test_phone_emergency(void **state)
{
	(void)state;
	const char *yes[] = {"911", "112", "999", "000", "110", "119", "118", "08", "+1911", "+1 911", "+44999",
			     "+44112", "+61000", "+49110", "+33112", "+81119", "+91100", "+999"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!phone_is_emergency(yes[i]))
			fail_msg("%s should be an emergency number", yes[i]);
	}
	const char *no[] = {"+14152371234", "+447400123456", "+1415", "4155550100", "abc", "", "+",
			    "+1911x", "9111"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (phone_is_emergency(no[i]))
			fail_msg("%s should not be an emergency number", no[i]);
	}
	assert_false(phone_is_emergency(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_silent), /* must stay first */
		cmocka_unit_test(test_phone_us),
		cmocka_unit_test(test_phone_fictional_555_01xx_accepted),
		cmocka_unit_test(test_phone_uk),
		cmocka_unit_test(test_phone_plus44_is_not_always_gb),
		cmocka_unit_test(test_phone_de_in_and_others),
		cmocka_unit_test(test_phone_non_geographic),
		cmocka_unit_test(test_phone_separators_tolerated),
		cmocka_unit_test(test_phone_invalid_numbers),
		cmocka_unit_test(test_phone_no_plus),
		cmocka_unit_test(test_phone_letters_and_other_bytes),
		cmocka_unit_test(test_phone_too_long),
		cmocka_unit_test(test_phone_empty_and_null),
		cmocka_unit_test(test_phone_geo_region_nanp),
		cmocka_unit_test(test_phone_geo_region_other),
		cmocka_unit_test(test_phone_threads),
		cmocka_unit_test(test_phone_emergency),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
