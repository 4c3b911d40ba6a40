/* SPDX-License-Identifier: MIT */
/* fuzz_httpedge.c - libFuzzer target for the HTTP edge: the input is the raw bytes a
 * client sends on one connection (request line, headers, chunked or sized bodies,
 * pipelined requests), written into the real server (http/http.c on libmicrohttpd,
 * included here to reach its daemon for the port) over loopback TCP, in front of the real
 * handler (app_dispatch on a SQLite store in a temp dir, no admin key). Checks, beyond
 * no crash, leak or hang (every request the handler took is answered, and the
 * connection released, within HANG_MS):
 *   - a refused input changes nothing: when every answer is 4xx or 5xx (and every
 *     request the handler took was answered before the connection was reset), the
 *     database took no commit (PRAGMA data_version on a second connection);
 *   - a request the edge refused never reached the handler: on a connection the
 *     server closed itself, handler calls <= answers;
 *   - no real number from the input in a log line: no E.164 number of the input
 *     ("+" or "%2B" and 10 to 15 digits) appears, as its digits, in what the server
 *     logged while it handled the input (stderr is captured per input; set
 *     FUZZ_HTTPEDGE_STDERR=1 to see it instead, e.g. to read a crash report). */
#include "http/http.c"

#include "app.h"
#include "store/store.h"
#include "util/crypto.h"
#include "vault/vault.h"

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <unistd.h>

#define HANG_MS 5000
#define IDLE_MS 20 /* a fallback: the server closes first (see converse) */
#define ANSWER_CAP (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_server *server;
static struct app app;
static sqlite3 *watch;       /* a second connection: data_version counts others' commits */
static sqlite3_stmt *version;
static atomic_int handled;   /* handler calls */
static atomic_int handled_now; /* handler calls of the input running */
static atomic_int in_handler; /* handler calls not returned yet */
static int capture_fd = -1;  /* a memfd that stands in for stderr while an input runs */
static int saved_stderr = -1;
static struct sockaddr_in server_addr; /* 127.0.0.1 and the port the server took */

static void counting_handler(void *ctx, const struct http_request *req, struct http_response *res)
{
	atomic_fetch_add(&handled, 1);
	atomic_fetch_add(&handled_now, 1);
	atomic_fetch_add(&in_handler, 1);
	app_dispatch(ctx, req, res);
	atomic_fetch_sub(&in_handler, 1);
}

static long long data_version(void)
{
	sqlite3_reset(version);
	if (sqlite3_step(version) != SQLITE_ROW)
		fatal("fuzz_httpedge: PRAGMA data_version failed");
	return sqlite3_column_int64(version, 0);
}

static void setup(void)
{
	crypto_init();
	log_set_level(LOG_DEBUG);
	char dir[] = "/tmp/fuzz-httpedge-XXXXXX";
	if (mkdtemp(dir) == NULL)
		fatal("fuzz_httpedge: mkdtemp");
	char key[64], db[64], err[512];
	snprintf(key, sizeof(key), "%s/vault.key", dir);
	snprintf(db, sizeof(db), "%s/maskd.db", dir);
	struct vault *v = NULL;
	struct store *st = NULL;
	if (vault_load(key, &v, err, sizeof(err)) < 0 || store_open(db, v, &st, err, sizeof(err)) < 0)
		fatal("fuzz_httpedge: %s", err);
	app = (struct app){.store = st, .vault = v, .public_url = "https://maskd.example.com"};
	app.limiter = app_limiter_new(1024);
	struct http_options opt = {.listen = "127.0.0.1:0", .threads = 2, .handler = counting_handler, .ctx = &app};
	if (http_start(&opt, &server, err, sizeof(err)) < 0)
		fatal("fuzz_httpedge: %s", err);
	const union MHD_DaemonInfo *bound = MHD_get_daemon_info(server->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (bound == NULL || bound->port == 0)
		fatal("fuzz_httpedge: the server has no port");
	server_addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(bound->port)};
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* the busy timeout: the daemon's own writes (its sweeper's first pass) may hold
	 * the lock while this connection reads the version */
	if (sqlite3_open_v2(db, &watch, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(watch, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(watch, "PRAGMA data_version", -1, &version, NULL) != SQLITE_OK)
		fatal("fuzz_httpedge: cannot watch %s", db);
	if (getenv("FUZZ_HTTPEDGE_STDERR") == NULL) {
		capture_fd = memfd_create("fuzz-httpedge-log", MFD_CLOEXEC);
		saved_stderr = dup(STDERR_FILENO);
		if (capture_fd < 0 || saved_stderr < 0)
			fatal("fuzz_httpedge: memfd_create / dup");
	}
}

/* The statuses of the answers in buf (HTTP/1.1 status lines after each answer's
 * head and Content-Length body). Returns how many; counts 2xx/3xx in *ok. */
static int answers(const char *buf, size_t len, int *ok)
{
	int n = 0;
	*ok = 0;
	size_t at = 0;
	while (at + 12 <= len && memcmp(buf + at, "HTTP/1.", 7) == 0) {
		const char *d = buf + at + 9;
		int status = 0;
		for (int i = 0; i < 3 && d[i] >= '0' && d[i] <= '9'; i++)
			status = status * 10 + (d[i] - '0');
		n++;
		if (status >= 200 && status < 400 && status != 0)
			(*ok)++;
		const char *end = memmem(buf + at, len - at, "\r\n\r\n", 4);
		if (end == NULL)
			break;
		size_t body = 0;
		const char *cl = memmem(buf + at, (size_t)(end - (buf + at)), "Content-Length: ", 16);
		if (cl != NULL)
			body = strtoul(cl + 16, NULL, 10);
		/* An answer to HEAD has a Content-Length but no body (RFC 9112 6.3): when the
		 * next answer starts where the body would, and no answer starts after it,
		 * the body is not there (maskd's bodies never begin with a status line). */
		size_t head_end = (size_t)(end - buf) + 4;
		if (body > 0 && head_end + 7 <= len && memcmp(buf + head_end, "HTTP/1.", 7) == 0 &&
		    !(head_end + body + 7 <= len && memcmp(buf + head_end + body, "HTTP/1.", 7) == 0))
			body = 0;
		at = head_end + body;
	}
	return n;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void hang(const char *what, size_t have)
{
	if (saved_stderr >= 0)
		dup2(saved_stderr, STDERR_FILENO);
	fprintf(stderr, "fuzz_httpedge: %s within %d ms (%zu bytes answered)\n", what, HANG_MS, have);
	abort();
}

/* Connects, sends the input, half-closes and reads the answers until the server
 * closes. While no handler runs, it has the server look for half-closed clients at
 * once (wake_half_closed_locked, which its reaper otherwise does every
 * HTTP_REAP_INTERVAL_MS), so an input cut short is closed without waiting for the
 * reaper; when the server still keeps the connection, it stops once every request
 * the handler took is answered, no handler runs and IDLE_MS pass without a byte.
 * Then resets the connection and waits until the server has let it go, so that
 * everything the input caused has happened. Returns the bytes read into got (of
 * ANSWER_CAP bytes, NUL-terminated), *closed 1 when the server closed the connection
 * itself. Aborts on a hang. */
static size_t converse(const uint8_t *data, size_t size, char *got, int *closed)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&server_addr, sizeof(server_addr)) != 0)
		fatal("fuzz_httpedge: cannot connect to the server: %s", strerror(errno));
	size_t have = 0, sent = 0;
	int write_open = 1;
	*closed = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	struct timespec t0, last;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	last = t0;
	for (;;) {
		if (write_open && sent == size) {
			shutdown(fd, SHUT_WR);
			write_open = 0;
			clock_gettime(CLOCK_MONOTONIC, &last);
		}
		if (ms_since(&t0) > HANG_MS) {
			int ok;
			if (write_open || answers(got, have, &ok) < atomic_load(&handled_now))
				hang("no answer", have);
			break; /* answered, the connection left open: reset below */
		}
		if (!write_open && atomic_load(&in_handler) == 0) {
			if (ms_since(&last) >= IDLE_MS) {
				int ok;
				if (answers(got, have, &ok) >= atomic_load(&handled_now))
					break;
			}
			pthread_mutex_lock(&server->lock);
			wake_half_closed_locked(server);
			pthread_mutex_unlock(&server->lock);
		}
		struct pollfd p = {.fd = fd, .events = POLLIN | (write_open ? POLLOUT : 0)};
		if (poll(&p, 1, 1) <= 0)
			continue;
		if ((p.revents & POLLOUT) && write_open) {
			ssize_t w = write(fd, data + sent, size - sent);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				sent = size; /* the server closed its side: stop writing */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, got + have, ANSWER_CAP - 1 - have);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				*closed = 1;
				break;
			}
			if (r > 0) {
				have += (size_t)r;
				clock_gettime(CLOCK_MONOTONIC, &last);
			}
			if (have == ANSWER_CAP - 1)
				break;
		}
	}
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(fd);
	struct timespec t2;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	while (atomic_load(&server->open) > 0) {
		if (ms_since(&t2) > HANG_MS)
			hang("connection not released after a reset", have);
		struct timespec pause = {0, 20 * 1000};
		nanosleep(&pause, NULL);
	}
	got[have] = '\0';
	return have;
}

/* Whether log (len bytes) holds the digits of an E.164 number of the input. */
static int log_has_input_number(const uint8_t *data, size_t size, const char *log, size_t len)
{
	for (size_t i = 0; i < size; i++) {
		size_t start;
		if (data[i] == '+')
			start = i + 1;
		else if (i + 3 <= size && data[i] == '%' && data[i + 1] == '2' && (data[i + 2] == 'B' || data[i + 2] == 'b'))
			start = i + 3;
		else
			continue;
		size_t k = start;
		while (k < size && k - start < 16 && data[k] >= '0' && data[k] <= '9')
			k++;
		size_t digits = k - start;
		if (digits < 10 || digits > 15 || (k < size && data[k] >= '0' && data[k] <= '9'))
			continue;
		if (memmem(log, len, data + start, digits) != NULL)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		setup();
		ready = 1;
	}
	long long v0 = data_version();
	int calls0 = atomic_load(&handled);
	atomic_store(&handled_now, 0);
	if (capture_fd >= 0) {
		if (ftruncate(capture_fd, 0) != 0 || lseek(capture_fd, 0, SEEK_SET) != 0)
			fatal("fuzz_httpedge: cannot reset the log capture");
		dup2(capture_fd, STDERR_FILENO);
	}
	static char got[ANSWER_CAP]; /* one input at a time; a 1 MiB allocation per input cost more than the exchange */
	int closed = 0;
	size_t len = converse(data, size, got, &closed);
	if (capture_fd >= 0)
		dup2(saved_stderr, STDERR_FILENO);
	int calls = atomic_load(&handled) - calls0;
	int ok = 0;
	int n = answers(got, len, &ok);
	if (closed && calls > n) {
		fprintf(stderr, "fuzz_httpedge: %d handler calls for %d answers:\n%.*s\n", calls, n, (int)len, got);
		abort();
	}
	if (ok == 0 && n >= calls && data_version() != v0) {
		fprintf(stderr, "fuzz_httpedge: the database changed though every answer refused the input:\n%.*s\n",
			(int)len, got);
		abort();
	}
	if (capture_fd >= 0) {
		off_t loglen = lseek(capture_fd, 0, SEEK_END);
		if (loglen > 0) {
			char *log = mmap(NULL, (size_t)loglen, PROT_READ, MAP_PRIVATE, capture_fd, 0);
			if (log == MAP_FAILED)
				fatal("fuzz_httpedge: cannot read the log capture");
			if (log_has_input_number(data, size, log, (size_t)loglen)) {
				fprintf(stderr, "fuzz_httpedge: a number from the input is in a log line:\n%.*s\n", (int)loglen,
					log);
				abort();
			}
			munmap(log, (size_t)loglen);
		}
	}
	return 0;
}
