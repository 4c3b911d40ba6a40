/* SPDX-License-Identifier: MIT */
/* test_vault.c - the key file (creation 0600, refusal of group/other modes and of
 * malformed files without quoting key material), AES-256-GCM sealing with its
 * refusals (tampering, wrong ad, wrong key, truncation, sizes), a known-answer
 * blob made by another implementation (Python cryptography), the blind index,
 * key versions (sealing with the current one, opening old ones, an unknown one
 * refused and logged without the value) and the key file's rotation. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/crypto.h"
#include "util/err.h"
#include "vault/vault.h"

/* Known keys: enc = 00..1f, idx = 20..3f. */
#define KNOWN_ENC "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KNOWN_IDX "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
/* AESGCM(enc).encrypt(nonce=64..6f, "+14155550100", ad="par_abc") from Python's
 * cryptography 48.0, framed as 01 | nonce | ciphertext | tag. */
#define KNOWN_BLOB                                                                               \
	"016465666768696a6b6c6d6e6f632aea574cdc63ab0e536fd840f794dde7bcc2f69b13d3150a43c65e"
/* hex(HMAC-SHA256(idx, "+14155550100"))[:32], Python hmac. */
#define KNOWN_BIDX "653164407cc13e50a0a58fde71c3cd12"

static char dir[64];

static int group_setup(void **state)
{
	crypto_init();
	snprintf(dir, sizeof(dir), "/tmp/hA_vault_XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
	static char p[2][128];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static struct vault *load_ok(const char *path)
{
	struct vault *v = NULL;
	char err[256];
	int rc = vault_load(path, &v, err, sizeof(err));
	if (rc != 0)
		fail_msg("vault_load(%s): %d %s", path, rc, err);
	assert_non_null(v);
	return v;
}

/* Loads path expecting a refusal; the message must not quote any 8 characters
 * of either known key. */
static void load_refused(const char *path, const char *must_mention)
{
	struct vault *v = (struct vault *)1;
	char err[256] = "";
	assert_int_equal(vault_load(path, &v, err, sizeof(err)), MASKD_EINVAL);
	assert_null(v);
	assert_true(err[0] != '\0');
	if (strstr(err, must_mention) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", err, must_mention);
	for (size_t i = 0; i + 8 <= 64; i++) {
		char piece[9];
		memcpy(piece, KNOWN_ENC + i, 8);
		piece[8] = '\0';
		if (strstr(err, piece) != NULL)
			fail_msg("message quotes enc key: %s", err);
		memcpy(piece, KNOWN_IDX + i, 8);
		if (strstr(err, piece) != NULL)
			fail_msg("message quotes idx key: %s", err);
	}
}

/* ------------------------------------------------------------ key file */

static void test_create_0600(void **state)
{
	const char *p = path_of("fresh.key");
	unlink(p);
	mode_t old = umask(0);
	struct vault *v = load_ok(p);
	umask(old);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 138);

	char text[200];
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_int_equal(n, 138);
	assert_memory_equal(text, "enc=", 4);
	assert_memory_equal(text + 68, "\nidx=", 5);
	assert_int_equal(text[137], '\n');
	for (size_t i = 0; i < 64; i++) {
		assert_non_null(strchr("0123456789abcdef", text[4 + i]));
		assert_non_null(strchr("0123456789abcdef", text[73 + i]));
	}
	assert_memory_not_equal(text + 4, text + 73, 64);

	/* Loading again reads the same keys: what one sealed, the other opens. */
	struct vault *w = load_ok(p);
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t len;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", sealed, sizeof(sealed), &len), 0);
	assert_int_equal(vault_unseal(w, sealed, len, "par_1", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	char b1[VAULT_BIDX_LEN + 1], b2[VAULT_BIDX_LEN + 1];
	vault_blind_index(v, "+14155550100", b1);
	vault_blind_index(w, "+14155550100", b2);
	assert_string_equal(b1, b2);
	vault_free(v);
	vault_free(w);

	/* A restrictive umask does not stop us from reading our own file. */
	unlink(p);
	old = umask(0777);
	v = load_ok(p);
	umask(old);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	vault_free(v);
}

static void test_mode_refused(void **state)
{
	const char *p = path_of("perm.key");
	static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620, 0610, 0601, 0666};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", bad[i]);
		load_refused(p, "chmod 600");
	}
	write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", 0644);
	load_refused(p, "0644");
	/* Owner-only modes are fine. */
	write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", 0400);
	vault_free(load_ok(p));
	write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", 0700);
	vault_free(load_ok(p));
}

static void test_malformed_refused(void **state)
{
	static const struct {
		const char *text;
		const char *mention;
	} cases[] = {
		{"", "missing the enc= line"},
		{"enc=" KNOWN_ENC "\n", "missing the idx= line"},
		{"idx=" KNOWN_IDX "\n", "missing the enc= line"},
		{"enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "0\n", "line 2"},
		{"enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\nidx=" KNOWN_IDX "\n", "line 3 repeats idx="},
		{"enc=" KNOWN_ENC "\nidx=" KNOWN_ENC "\nkey=" KNOWN_IDX "\n", "line 3"},
		{"enc = " KNOWN_ENC "\nidx=" KNOWN_IDX "\n", "line 1"},
		{"enc=" KNOWN_ENC " \nidx=" KNOWN_IDX "\n", "line 1"},
		{"enc=0g0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nidx=" KNOWN_IDX,
		 "line 1"},
		{"ENC=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", "line 1"},
		{"enc=" KNOWN_ENC "idx=" KNOWN_IDX "\n", "line 1"},
	};
	const char *p = path_of("bad.key");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(p, cases[i].text, 0600);
		load_refused(p, cases[i].mention);
	}
	/* Too large to be a key file. */
	char *big = malloc(70000);
	assert_non_null(big);
	memset(big, '#', 69999);
	big[69999] = '\0';
	write_file(p, big, 0600);
	free(big);
	load_refused(p, "larger than");
	/* Neither a directory, nor a symlink, nor a path we cannot create. */
	load_refused(dir, "not a regular file");
	const char *lnk = path_of("link.key");
	const char *target = path_of("target.key");
	write_file(target, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", 0600);
	unlink(lnk);
	assert_int_equal(symlink(target, lnk), 0);
	load_refused(lnk, "cannot open");
	load_refused(path_of("no/such/dir.key"), "cannot create");
	/* err may be NULL. */
	struct vault *v = NULL;
	assert_int_equal(vault_load(dir, &v, NULL, 0), MASKD_EINVAL);
	assert_null(v);
}

static void test_tolerated_layout(void **state)
{
	const char *p = path_of("layout.key");
	/* Either order, comments, blank lines, CRLF and upper-case hex are accepted. */
	write_file(p,
		   "# maskd keys\r\n\r\nidx=" KNOWN_IDX "\r\nenc="
		   "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		   0600);
	struct vault *v = load_ok(p);
	char b[VAULT_BIDX_LEN + 1];
	vault_blind_index(v, "+14155550100", b);
	assert_string_equal(b, KNOWN_BIDX);
	vault_free(v);
}

/* ------------------------------------------------------------ sealing */

static struct vault *known_vault(void)
{
	const char *p = path_of("known.key");
	write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\n", 0600);
	return load_ok(p);
}

static void test_known_answer(void **state)
{
	struct vault *v = known_vault();
	uint8_t blob[64];
	long n = hex_decode(KNOWN_BLOB, strlen(KNOWN_BLOB), blob, sizeof(blob));
	assert_int_equal(n, 1 + 12 + 12 + 16);
	char plain[64];
	assert_int_equal(vault_unseal(v, blob, (size_t)n, "par_abc", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	assert_int_equal(vault_unseal(v, blob, (size_t)n, "par_abd", plain, sizeof(plain)),
			 MASKD_ECRYPTO);

	char b[VAULT_BIDX_LEN + 1];
	vault_blind_index(v, "+14155550100", b);
	assert_string_equal(b, KNOWN_BIDX);
	vault_blind_index(v, "+14155550101", b);
	assert_int_equal(strlen(b), VAULT_BIDX_HEX);
	assert_string_not_equal(b, KNOWN_BIDX);
	vault_free(v);
}

static void test_seal_roundtrip(void **state)
{
	struct vault *v = known_vault();
	uint8_t s1[VAULT_SEALED_MAX], s2[VAULT_SEALED_MAX];
	size_t l1, l2;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+447700900123", "par_x", s1, sizeof(s1), &l1), 0);
	assert_int_equal(l1, strlen("+447700900123") + VAULT_OVERHEAD);
	assert_int_equal(s1[0], 1);
	assert_int_equal(vault_seal(v, "+447700900123", "par_x", s2, sizeof(s2), &l2), 0);
	assert_int_equal(l1, l2);
	/* A fresh nonce each time. */
	assert_memory_not_equal(s1 + 1, s2 + 1, 12);
	assert_memory_not_equal(s1, s2, l1);
	assert_int_equal(vault_unseal(v, s1, l1, "par_x", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+447700900123");
	assert_int_equal(vault_unseal(v, s2, l2, "par_x", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+447700900123");

	/* Empty plaintext and empty ad. */
	assert_int_equal(vault_seal(v, "", "", s1, sizeof(s1), &l1), 0);
	assert_int_equal(l1, VAULT_OVERHEAD);
	assert_int_equal(vault_unseal(v, s1, l1, "", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "");
	assert_int_equal(vault_unseal(v, s1, l1, "x", plain, sizeof(plain)), MASKD_ECRYPTO);

	/* Exactly the room needed is enough. */
	assert_int_equal(vault_seal(v, "abc", "a", s1, 3 + VAULT_OVERHEAD, &l1), 0);
	assert_int_equal(vault_unseal(v, s1, l1, "a", plain, 4), 0);
	assert_string_equal(plain, "abc");
	vault_free(v);
}

static void test_sizes(void **state)
{
	struct vault *v = known_vault();
	char big[VAULT_PLAIN_MAX + 2];
	uint8_t s[VAULT_SEALED_MAX + 8];
	size_t l = 12345;
	char plain[VAULT_PLAIN_MAX + 1];

	memset(big, 'x', VAULT_PLAIN_MAX);
	big[VAULT_PLAIN_MAX] = '\0';
	assert_int_equal(vault_seal(v, big, "ad", s, sizeof(s), &l), 0);
	assert_int_equal(l, VAULT_SEALED_MAX);
	assert_int_equal(vault_unseal(v, s, l, "ad", plain, sizeof(plain)), 0);
	assert_string_equal(plain, big);
	/* Output room for the plaintext but not its NUL. */
	assert_int_equal(vault_unseal(v, s, l, "ad", plain, VAULT_PLAIN_MAX), MASKD_ETOOBIG);

	/* Plaintext one byte too long. */
	big[VAULT_PLAIN_MAX] = 'x';
	big[VAULT_PLAIN_MAX + 1] = '\0';
	l = 12345;
	assert_int_equal(vault_seal(v, big, "ad", s, sizeof(s), &l), MASKD_ETOOBIG);
	assert_int_equal(l, 12345);

	/* Output buffer one byte short. */
	assert_int_equal(vault_seal(v, "abc", "ad", s, 3 + VAULT_OVERHEAD - 1, &l), MASKD_ETOOBIG);
	vault_free(v);
}

static void test_tamper_every_byte(void **state)
{
	struct vault *v = known_vault();
	uint8_t s[VAULT_SEALED_MAX];
	size_t l;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s, sizeof(s), &l), 0);
	for (size_t i = 0; i < l; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			s[i] ^= (uint8_t)(1u << bit);
			memset(plain, 'Z', sizeof(plain));
			int rc = vault_unseal(v, s, l, "par_1", plain, sizeof(plain));
			s[i] ^= (uint8_t)(1u << bit);
			if (rc != MASKD_ECRYPTO)
				fail_msg("byte %zu bit %d flipped: rc %d", i, bit, rc);
			/* Nothing unauthenticated is left in the output. */
			assert_null(memchr(plain, '+', sizeof(plain)));
		}
	}
	assert_int_equal(vault_unseal(v, s, l, "par_1", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	vault_free(v);
}

static void test_wrong_ad_and_key(void **state)
{
	struct vault *v = known_vault();
	struct vault *other = load_ok(path_of("other.key"));
	uint8_t s[VAULT_SEALED_MAX];
	size_t l;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s, sizeof(s), &l), 0);
	/* The ad binds the ciphertext to its row: another row's id does not open it. */
	assert_int_equal(vault_unseal(v, s, l, "par_2", plain, sizeof(plain)), MASKD_ECRYPTO);
	assert_int_equal(vault_unseal(v, s, l, "par_1 ", plain, sizeof(plain)), MASKD_ECRYPTO);
	assert_int_equal(vault_unseal(v, s, l, "", plain, sizeof(plain)), MASKD_ECRYPTO);
	/* Another key file does not open it either. */
	assert_int_equal(vault_unseal(other, s, l, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	/* And its blind index differs. */
	char b1[VAULT_BIDX_LEN + 1], b2[VAULT_BIDX_LEN + 1];
	vault_blind_index(v, "+14155550100", b1);
	vault_blind_index(other, "+14155550100", b2);
	assert_string_not_equal(b1, b2);
	vault_free(other);
	vault_free(v);
}

static void test_truncated(void **state)
{
	struct vault *v = known_vault();
	uint8_t s[VAULT_SEALED_MAX];
	size_t l;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s, sizeof(s), &l), 0);
	for (size_t n = 0; n < l; n++)
		if (vault_unseal(v, s, n, "par_1", plain, sizeof(plain)) != MASKD_ECRYPTO)
			fail_msg("accepted %zu of %zu bytes", n, l);
	/* Trailing garbage is tampering too. */
	s[l] = 0;
	assert_int_equal(vault_unseal(v, s, l + 1, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	/* An unknown version byte. */
	s[0] = 2;
	assert_int_equal(vault_unseal(v, s, l, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	/* Longer than anything we seal. */
	uint8_t huge[VAULT_SEALED_MAX + 1] = {1};
	assert_int_equal(vault_unseal(v, huge, sizeof(huge), "", plain, sizeof(plain)),
			 MASKD_ECRYPTO);
	vault_free(v);
}

#define THREADS 4

static void *seal_worker(void *arg)
{
	const struct vault *v = arg;
	for (int i = 0; i < 500; i++) {
		char num[32], ad[32], plain[64], b[VAULT_BIDX_LEN + 1];
		uint8_t s[64];
		size_t l;
		snprintf(num, sizeof(num), "+1415555%04d", i);
		snprintf(ad, sizeof(ad), "par_%d", i);
		if (vault_seal(v, num, ad, s, sizeof(s), &l) != 0 ||
		    vault_unseal(v, s, l, ad, plain, sizeof(plain)) != 0 || strcmp(plain, num) != 0)
			return (void *)1;
		vault_blind_index(v, num, b);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct vault *v = known_vault();
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, seal_worker, v), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
	vault_free(v);
}

/* ------------------------------------------------------------ key versions */

#define KEY2 "4041424344454647484940414243444546474849404142434445464748494041"

static void test_versions(void **state)
{
	const char *p = path_of("versions.key");
	/* version 1 under its historic name, version 2 newer: 2 is current */
	write_file(p, "enc=" KNOWN_ENC "\nidx=" KNOWN_IDX "\nenc.2=" KEY2 "\n", 0600);
	struct vault *v = load_ok(p);
	assert_int_equal(vault_current_version(v), 2);
	assert_true(vault_has_version(v, 1));
	assert_true(vault_has_version(v, 2));
	assert_false(vault_has_version(v, 3));
	assert_false(vault_has_version(v, 0));
	uint8_t s[VAULT_SEALED_MAX], old[64];
	size_t l;
	char plain[VAULT_PLAIN_MAX + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s, sizeof(s), &l), 0);
	assert_int_equal(s[0], 2);
	assert_int_equal(vault_sealed_version(s, l), 2);
	assert_int_equal(vault_unseal(v, s, l, "par_1", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	/* the known version-1 blob still opens */
	long n = hex_decode(KNOWN_BLOB, strlen(KNOWN_BLOB), old, sizeof(old));
	assert_int_equal(vault_sealed_version(old, (size_t)n), 1);
	assert_int_equal(vault_unseal(v, old, (size_t)n, "par_abc", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	/* a version-2 blob claiming version 1 does not open with key 1 */
	s[0] = 1;
	assert_int_equal(vault_unseal(v, s, l, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	s[0] = 2;
	vault_free(v);

	/* current= pins an older version */
	write_file(p, "current=1\nenc.1=" KNOWN_ENC "\nidx=" KNOWN_IDX "\nenc.2=" KEY2 "\n", 0600);
	v = load_ok(p);
	assert_int_equal(vault_current_version(v), 1);
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s, sizeof(s), &l), 0);
	assert_int_equal(s[0], 1);
	vault_free(v);
	assert_int_equal(vault_sealed_version(s, 0), 0);
	assert_int_equal(vault_sealed_version(NULL, 0), 0);
}

static void test_version_errors(void **state)
{
	static const struct {
		const char *text;
		const char *mention;
	} cases[] = {
		{"idx=" KNOWN_IDX "\nenc.0=" KEY2 "\n", "line 2: enc.N= needs a version 1..255"},
		{"idx=" KNOWN_IDX "\nenc.256=" KEY2 "\n", "line 2: enc.N= needs a version"},
		{"idx=" KNOWN_IDX "\nenc.02=" KEY2 "\n", "line 2: enc.N= needs a version"},
		{"idx=" KNOWN_IDX "\nenc.x=" KEY2 "\n", "line 2: enc.N= needs a version"},
		{"idx=" KNOWN_IDX "\nenc.2=" KEY2 "\nenc.2=" KEY2 "\n", "line 3 repeats key version 2"},
		{"idx=" KNOWN_IDX "\nenc=" KEY2 "\nenc.1=" KEY2 "\n", "line 3 repeats key version 1"},
		{"idx=" KNOWN_IDX "\nenc.2=" KEY2 "0\n", "line 2: enc.2= needs exactly 64 hex digits"},
		{"idx=" KNOWN_IDX "\nenc.2=" KEY2 "\ncurrent=3\n", "current=3 names a key version the file does not hold"},
		{"idx=" KNOWN_IDX "\nenc.2=" KEY2 "\ncurrent=x\n", "line 3: current= needs a version"},
		{"idx=" KNOWN_IDX "\ncurrent=2\nenc.2=" KEY2 "\ncurrent=2\n", "line 4 repeats current="},
		{"idx=" KNOWN_IDX "\ncurrent=2\n", "missing the enc= line"},
	};
	const char *p = path_of("badver.key");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(p, cases[i].text, 0600);
		load_refused(p, cases[i].mention);
	}
}

/* A blob of a version the key file does not hold: refused, and the log line
 * names the version and nothing of the value. */
static void test_unknown_version(void **state)
{
	const char *p = path_of("only2.key");
	write_file(p, "idx=" KNOWN_IDX "\nenc.2=" KEY2 "\n", 0600);
	struct vault *v = load_ok(p);
	uint8_t old[64];
	long n = hex_decode(KNOWN_BLOB, strlen(KNOWN_BLOB), old, sizeof(old));
	char plain[64];
	memset(plain, 'Z', sizeof(plain));

	const char *logp = path_of("unknown.log");
	int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(logfd >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(logfd, 2), 2);
	int rc = vault_unseal(v, old, (size_t)n, "par_abc", plain, sizeof(plain));
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	close(logfd);
	assert_int_equal(rc, MASKD_ECRYPTO);
	assert_null(memchr(plain, '+', sizeof(plain)));

	char text[1024] = {0};
	FILE *f = fopen(logp, "r");
	assert_non_null(f);
	size_t got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	assert_true(got > 0);
	assert_non_null(strstr(text, "sealed with key version 1, which the key file does not hold"));
	assert_null(strstr(text, "4155550100"));
	assert_null(strstr(text, "par_abc"));
	vault_free(v);
}

static void test_file_rotate(void **state)
{
	const char *p = path_of("rotate.key");
	unlink(p);
	struct vault *v = load_ok(p); /* created: version 1 */
	assert_int_equal(vault_current_version(v), 1);
	uint8_t s1[VAULT_SEALED_MAX], s2[VAULT_SEALED_MAX], s3[VAULT_SEALED_MAX];
	size_t l1, l2, l3;
	char plain[VAULT_PLAIN_MAX + 1], b1[VAULT_BIDX_LEN + 1], b2[VAULT_BIDX_LEN + 1];
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s1, sizeof(s1), &l1), 0);
	vault_blind_index(v, "+14155550100", b1);
	vault_free(v);

	char err[256];
	int version = 0;
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_ADD, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	v = load_ok(p);
	assert_int_equal(vault_current_version(v), 2);
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s2, sizeof(s2), &l2), 0);
	assert_int_equal(s2[0], 2);
	assert_int_equal(vault_unseal(v, s1, l1, "par_1", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	vault_blind_index(v, "+14155550100", b2);
	assert_string_equal(b1, b2); /* the blind-index key is kept */
	vault_free(v);

	/* staged: version 3 exists, 2 stays current; then activated */
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_STAGE, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 3);
	v = load_ok(p);
	assert_int_equal(vault_current_version(v), 2);
	assert_true(vault_has_version(v, 3));
	vault_free(v);
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_ACTIVATE, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 3);
	v = load_ok(p);
	assert_int_equal(vault_current_version(v), 3);
	assert_int_equal(vault_seal(v, "+14155550100", "par_1", s3, sizeof(s3), &l3), 0);
	vault_free(v);

	/* dropping the current version is refused and changes nothing */
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_DROP, 4, &version, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "current key version 3 cannot be dropped"));
	/* dropping 1 and 2: their blobs no longer open, version 3's do */
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_DROP, 3, &version, err, sizeof(err)), 0);
	v = load_ok(p);
	assert_false(vault_has_version(v, 1));
	assert_false(vault_has_version(v, 2));
	assert_int_equal(vault_unseal(v, s1, l1, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	assert_int_equal(vault_unseal(v, s2, l2, "par_1", plain, sizeof(plain)), MASKD_ECRYPTO);
	assert_int_equal(vault_unseal(v, s3, l3, "par_1", plain, sizeof(plain)), 0);
	assert_string_equal(plain, "+14155550100");
	vault_free(v);
	/* no leftover temporary file */
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.new", p);
	assert_int_equal(access(tmp, F_OK), -1);
	/* an unreadable key file is reported, not rewritten */
	assert_int_equal(vault_file_rotate(path_of("no/such.key"), VAULT_ROTATE_ADD, 0, &version, err, sizeof(err)),
			 MASKD_EINVAL);
}

/* The blind-index key rotates: idx.2= becomes current, version 1's indexes
 * stay valid and recomputable while it is held, the spelling names the
 * version, derived secrets stay those of idx version 1, and the drop removes
 * version 1 (the derived secrets still do not change). */
static void test_index_rotate(void **state)
{
	const char *p = path_of("index.key");
	unlink(p);
	struct vault *v = load_ok(p);
	char b1[VAULT_BIDX_LEN + 1], b2[VAULT_BIDX_LEN + 1], again[VAULT_BIDX_LEN + 1];
	char d1[VAULT_DERIVED_LEN + 1], d2[VAULT_DERIVED_LEN + 1];
	assert_int_equal(vault_index_current(v), 1);
	assert_int_equal(vault_index_previous(v), 0);
	vault_blind_index(v, "+14155550100", b1);
	assert_int_equal(strlen(b1), VAULT_BIDX_HEX);
	assert_int_equal(vault_bidx_version(b1), 1);
	vault_derive(v, "callback", "svc_1", d1);
	vault_free(v);

	char err[256];
	int version = 0;
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_ADD, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	v = load_ok(p);
	assert_int_equal(vault_index_current(v), 2);
	assert_int_equal(vault_index_previous(v), 1);
	assert_int_equal(vault_current_version(v), 1); /* the encryption key is not touched */
	vault_blind_index(v, "+14155550100", b2);
	assert_int_equal(strlen(b2), 2 + VAULT_BIDX_HEX);
	assert_memory_equal(b2, "2.", 2);
	assert_int_equal(vault_bidx_version(b2), 2);
	assert_string_not_equal(b2 + 2, b1);
	assert_int_equal(vault_blind_index_at(v, 1, "+14155550100", again), 0);
	assert_string_equal(again, b1);
	assert_int_equal(vault_blind_index_at(v, 3, "+14155550100", again), MASKD_EINVAL);
	assert_string_equal(again, "");
	vault_derive(v, "callback", "svc_1", d2);
	assert_string_equal(d1, d2);
	vault_free(v);

	/* the current index version cannot be dropped; dropping 1 leaves 2 alone */
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_DROP, 3, &version, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "current idx version 2 cannot be dropped"));
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_DROP, 2, &version, err, sizeof(err)), 0);
	v = load_ok(p);
	assert_int_equal(vault_index_previous(v), 0);
	assert_int_equal(vault_blind_index_at(v, 1, "+14155550100", again), MASKD_EINVAL);
	vault_blind_index(v, "+14155550100", again);
	assert_string_equal(again, b2);
	vault_derive(v, "callback", "svc_1", d2);
	assert_string_equal(d1, d2);
	vault_free(v);

	/* spellings that name no version */
	assert_int_equal(vault_bidx_version("purged:par_1"), 0);
	assert_int_equal(vault_bidx_version(""), 0);
	assert_int_equal(vault_bidx_version("1.0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(vault_bidx_version("0123456789ABCDEF0123456789abcdef"), 0);
	assert_int_equal(vault_bidx_version("12.0123456789abcdef0123456789abcdef"), 12);
}

/* The whole key file, for "left unchanged" (at most 64 KiB). */
static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	size_t n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

static void expect_refused_unchanged(const char *p, enum vault_rotate how, const char *must_mention)
{
	static char before[65536], after[65536];
	size_t n = slurp(p, before, sizeof(before));
	char err[512];
	int version = -1;
	assert_int_equal(vault_file_rotate(p, how, 0, &version, err, sizeof(err)), MASKD_EINVAL);
	assert_int_equal(version, 0);
	assert_non_null(strstr(err, must_mention));
	assert_int_equal(slurp(p, after, sizeof(after)), n);
	assert_memory_equal(before, after, n);
}

/* Several nodes: --index-stage adds idx version 2 without making it current
 * (index_current=1 is written, so the highest is not taken for current), the
 * vault consults it as the other version, --index-activate makes it current;
 * activate with nothing staged, a second stage, --index while staged and a
 * stage while an older version is held are refused with the file unchanged. */
static void test_index_stage_activate(void **state)
{
	const char *p = path_of("stage.key");
	unlink(p);
	struct vault *v = load_ok(p);
	char b1[VAULT_BIDX_LEN + 1], b2[VAULT_BIDX_LEN + 1], now[VAULT_BIDX_LEN + 1];
	char d1[VAULT_DERIVED_LEN + 1], d2[VAULT_DERIVED_LEN + 1];
	vault_blind_index(v, "+14155550100", b1);
	vault_derive(v, "callback", "svc_1", d1);
	assert_int_equal(vault_index_staged(v), 0);
	assert_int_equal(vault_index_other(v), 0);
	char other[VAULT_BIDX_LEN + 1] = "x";
	assert_int_equal(vault_blind_index_other(v, "+14155550100", other), 0);
	assert_string_equal(other, "");
	vault_free(v);
	expect_refused_unchanged(p, VAULT_ROTATE_INDEX_ACTIVATE, "stages no idx version");

	char err[512];
	int version = 0;
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_STAGE, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	v = load_ok(p);
	assert_int_equal(vault_index_current(v), 1);
	assert_int_equal(vault_index_previous(v), 0);
	assert_int_equal(vault_index_staged(v), 2);
	assert_int_equal(vault_index_other(v), 2);
	vault_blind_index(v, "+14155550100", now);
	assert_string_equal(now, b1); /* new indexes still under version 1 */
	assert_int_equal(vault_blind_index_at(v, 2, "+14155550100", b2), 0);
	assert_memory_equal(b2, "2.", 2);
	assert_int_equal(vault_blind_index_other(v, "+14155550100", other), 1);
	assert_string_equal(other, b2); /* the staged version is the other one */
	vault_derive(v, "callback", "svc_1", d2);
	assert_string_equal(d1, d2);
	vault_free(v);
	expect_refused_unchanged(p, VAULT_ROTATE_INDEX_STAGE, "already stages idx version 2");
	expect_refused_unchanged(p, VAULT_ROTATE_INDEX_ADD, "already stages idx version 2");

	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_ACTIVATE, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	v = load_ok(p);
	assert_int_equal(vault_index_current(v), 2);
	assert_int_equal(vault_index_previous(v), 1);
	assert_int_equal(vault_index_staged(v), 0);
	assert_int_equal(vault_index_other(v), 1);
	vault_blind_index(v, "+14155550100", now);
	assert_string_equal(now, b2); /* the staged key, not a fresh one */
	assert_int_equal(vault_blind_index_other(v, "+14155550100", other), 1);
	assert_string_equal(other, b1); /* then the previous one */
	vault_derive(v, "callback", "svc_1", d2);
	assert_string_equal(d1, d2);
	vault_free(v);
	expect_refused_unchanged(p, VAULT_ROTATE_INDEX_ACTIVATE, "stages no idx version");
	/* version 1 still held: finish that rotation before staging the next */
	expect_refused_unchanged(p, VAULT_ROTATE_INDEX_STAGE, "--index-drop first");
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_DROP, 2, &version, err, sizeof(err)), 0);
	assert_int_equal(vault_file_rotate(p, VAULT_ROTATE_INDEX_STAGE, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 3);
	v = load_ok(p);
	assert_int_equal(vault_index_current(v), 2);
	assert_int_equal(vault_index_other(v), 3);
	vault_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_0600),
		cmocka_unit_test(test_mode_refused),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_tolerated_layout),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_wrong_ad_and_key),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_version_errors),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_file_rotate),
		cmocka_unit_test(test_index_rotate),
		cmocka_unit_test(test_index_stage_activate),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
