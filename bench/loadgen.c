/* SPDX-License-Identifier: MIT */
/* loadgen.c - the client side of maskd's benchmark (bench/run.sh): fills a pool and
 * opens sessions through the native API with bounded concurrency, writes files of
 * Twilio-signed webhooks for wrk, and drives paced (open-loop, fixed-rate) webhook
 * load whose every answer is checked against the session it belongs to.
 *
 * It signs with OpenSSL directly (HMAC-SHA1 over url + sorted key+value, base64),
 * not with maskd's code, so a mistake in one is not mirrored in the other. It talks
 * HTTP/1.1 keep-alive to 127.0.0.1 only, one request in flight per connection, and
 * every loop is bounded by a count or a duration. Not a general HTTP client: it
 * expects Content-Length answers (what libmicrohttpd and nginx send).
 *
 *   loadgen numbers  --port P --key K --service S --first I --count N [--conns C]
 *   loadgen sessions --port P --key K --service S --first I --count N [--conns C]
 *                    [--expires-at UNIX] --out FILE
 *   loadgen gen      --sessions FILE --token T --public-url U --kind voice|sms
 *                    --count N [--tag HEX] --out FILE
 *   loadgen rate     --port P --sessions FILE --token T --public-url U --kind voice|sms
 *                    --rate R --duration S [--conns C] [--tag HEX] [--json FILE]
 *   loadgen sign     --token T --url U [key=value ...]      (prints the signature)
 *   loadgen number   real|pool I                            (prints that test number)
 *   loadgen freeport                                        (prints a free loopback port)
 *   loadgen http     METHOD PATH --port P [--key K] [--body JSON]
 *                    (one request; prints the answer body; exit 0 on 2xx)
 *
 * Every subcommand prints one JSON object on stdout and exits 0, or 1 when a request
 * failed or an answer was wrong (the detail goes to stderr). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (64 * 1024)      /* largest answer read */
#define OUT_CAP (8 * 1024)      /* largest request written */
#define CONNS_MAX 1024
#define DRAIN_TIMEOUT_NS (10LL * 1000000000) /* wait for answers after the last send */
#define MISMATCH_SHOWN 5

/* ---------------------------------------------------------------- helpers */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return p;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A growable string. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* xorshift64*: fast, seeded per run; quality is plenty for picking sessions. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void random_hex(char *out, size_t n)
{
	unsigned char raw[32];
	FILE *f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(raw, 1, sizeof(raw), f) != sizeof(raw))
		die("cannot read /dev/urandom");
	fclose(f);
	for (size_t i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[raw[i % sizeof(raw)] >> (i & 1 ? 0 : 4) & 15];
	out[n] = '\0';
}

/* ---------------------------------------------------------------- test numbers */

#include "testnumbers.h"

static void real_or_die(long i, char out[16])
{
	if (real_number(i, out) < 0)
		die("real number index %ld out of range", i);
}

static void pool_or_die(long i, char out[16])
{
	if (pool_number(i, out) < 0)
		die("pool number index %ld out of range", i);
}

/* ---------------------------------------------------------------- signing */

struct kv {
	const char *k;
	const char *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

/* base64(HMAC-SHA1(token, url + concat(sorted key+value))): Twilio's scheme. */
static void twilio_sign(const char *token, const char *url, struct kv *p, size_t n, char out[64])
{
	struct kv sorted[64];
	if (n > 64)
		die("too many params");
	memcpy(sorted, p, n * sizeof(*p));
	qsort(sorted, n, sizeof(*sorted), kv_cmp);
	char data[OUT_CAP];
	size_t len = (size_t)snprintf(data, sizeof(data), "%s", url);
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(data + len, sizeof(data) - len, "%s%s", sorted[i].k, sorted[i].v);
		if (w < 0 || (size_t)w >= sizeof(data) - len)
			die("signature data too long");
		len += (size_t)w;
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data, len, mac, &mac_len) == NULL)
		die("HMAC failed");
	EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
}

static void form_encode(struct sbuf *b, struct kv *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_add(b, "&", 1);
		for (int pass = 0; pass < 2; pass++) {
			const char *s = pass ? p[i].v : p[i].k;
			if (pass)
				sb_add(b, "=", 1);
			for (; *s; s++) {
				unsigned char c = (unsigned char)*s;
				if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
				    c == '.' || c == '_' || c == '*') {
					sb_add(b, (const char *)&c, 1);
				} else if (c == ' ') {
					sb_add(b, "+", 1);
				} else {
					char esc[4];
					snprintf(esc, sizeof(esc), "%%%02X", c);
					sb_add(b, esc, 3);
				}
			}
		}
	}
}

/* ---------------------------------------------------------------- sessions file */

/* One line per session: id, real A, proxy A, real B, proxy B (tab-separated). */
struct ses {
	char a_real[16], a_proxy[16], b_real[16], b_proxy[16];
};

static struct ses *load_sessions(const char *path, size_t *n_out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die("cannot open %s: %s", path, strerror(errno));
	size_t cap = 1024, n = 0;
	struct ses *v = xmalloc(cap * sizeof(*v));
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		char id[64];
		struct ses s;
		if (sscanf(line, "%63s %15s %15s %15s %15s", id, s.a_real, s.a_proxy, s.b_real, s.b_proxy) != 5)
			die("%s: malformed line: %s", path, line);
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = s;
	}
	fclose(f);
	if (n == 0)
		die("%s: no sessions", path);
	*n_out = n;
	return v;
}

/* ---------------------------------------------------------------- webhooks */

enum kind { KIND_VOICE, KIND_SMS };

struct hook_cfg {
	enum kind kind;
	const char *token;
	const char *public_url;
	char tag[9];
	uint64_t counter;
	struct ses *ses;
	size_t n_ses;
};

/* What the answer to a webhook must say. */
struct expect {
	char real[16];  /* the other participant's real number */
	char proxy[16]; /* the other participant's proxy number */
};

static const char ACCOUNT_SID[] = "AC0123456789abcdef0123456789abcdef";

/* Builds one signed webhook from a random participant of a random session: the
 * parameters Twilio posts (geo fields included, so the body has its real size). */
static void hook_build(struct hook_cfg *h, char *path, size_t path_cap, char sig[64], struct sbuf *body,
		       struct expect *ex)
{
	const struct ses *s = &h->ses[rng_next() % h->n_ses];
	bool side_b = rng_next() & 1;
	const char *from = side_b ? s->b_real : s->a_real;
	const char *to = side_b ? s->b_proxy : s->a_proxy;
	snprintf(ex->real, sizeof(ex->real), "%s", side_b ? s->a_real : s->b_real);
	snprintf(ex->proxy, sizeof(ex->proxy), "%s", side_b ? s->a_proxy : s->b_proxy);
	char sid[40];
	snprintf(sid, sizeof(sid), "%s%s%024" PRIx64, h->kind == KIND_VOICE ? "CA" : "SM", h->tag, h->counter++);
	struct kv p[32];
	size_t n = 0;
#define P(key, val) (p[n].k = (key), p[n].v = (val), n++)
	P("AccountSid", ACCOUNT_SID);
	P("ApiVersion", "2010-04-01");
	if (h->kind == KIND_VOICE) {
		P("CallSid", sid);
		P("CallStatus", "ringing");
		P("Called", to);
		P("CalledCity", "SAN FRANCISCO");
		P("CalledCountry", "US");
		P("CalledState", "CA");
		P("CalledZip", "94107");
		P("Caller", from);
		P("CallerCity", "SAN FRANCISCO");
		P("CallerCountry", "US");
		P("CallerState", "CA");
		P("CallerZip", "94103");
		P("Direction", "inbound");
	} else {
		P("Body", "On my way, 5 minutes");
		P("MessageSid", sid);
		P("NumMedia", "0");
		P("NumSegments", "1");
		P("SmsMessageSid", sid);
		P("SmsSid", sid);
		P("SmsStatus", "received");
	}
	P("From", from);
	P("FromCity", "SAN FRANCISCO");
	P("FromCountry", "US");
	P("FromState", "CA");
	P("FromZip", "94103");
	P("To", to);
	P("ToCity", "SAN FRANCISCO");
	P("ToCountry", "US");
	P("ToState", "CA");
	P("ToZip", "94107");
#undef P
	snprintf(path, path_cap, "/hooks/twilio/%s", h->kind == KIND_VOICE ? "voice" : "message");
	char url[512];
	snprintf(url, sizeof(url), "%s%s", h->public_url, path);
	twilio_sign(h->token, url, p, n, sig);
	body->len = 0;
	form_encode(body, p, n);
}

/* The answer must be the bridge (or forward) to the other participant, from the
 * other participant's proxy number: maskd's TwiML, attribute order included. */
static bool hook_answer_ok(enum kind kind, int status, const char *body, size_t len, const struct expect *ex)
{
	if (status != 200)
		return false;
	char head[160], tail[96];
	static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
	if (kind == KIND_VOICE) {
		snprintf(head, sizeof(head), "%s<Response><Dial callerId=\"%s\" ", decl, ex->proxy);
		snprintf(tail, sizeof(tail), ">%s</Number></Dial></Response>", ex->real);
	} else {
		snprintf(head, sizeof(head), "%s<Response><Message to=\"%s\" from=\"%s\" ", decl, ex->real, ex->proxy);
		snprintf(tail, sizeof(tail), "<Body>On my way, 5 minutes</Body></Message></Response>");
	}
	size_t hl = strlen(head), tl = strlen(tail);
	return len >= hl + tl && memcmp(body, head, hl) == 0 && memcmp(body + len - tl, tail, tl) == 0;
}

/* ---------------------------------------------------------------- HTTP engine */

enum conn_state { C_IDLE, C_BUSY, C_DEAD };

struct conn {
	int fd;
	enum conn_state state;
	char out[OUT_CAP];
	size_t out_len, out_off;
	char *in;
	size_t in_len;
	int64_t t_intended; /* when the request was due (open loop) or sent (closed loop) */
	long job;           /* the caller's request index */
	struct expect ex;
};

struct engine;
/* Fills c->out/out_len (and c->ex) for job number `job`. */
typedef void (*build_fn)(struct engine *e, struct conn *c, long job);
/* Checks an answer; returns false when it is wrong. */
typedef bool (*answer_fn)(struct engine *e, struct conn *c, int status, const char *body, size_t len);

struct engine {
	uint16_t port;
	int epfd;
	struct conn *conns;
	int n_conns;
	build_fn build;
	answer_fn answer;
	void *ctx;
	/* counters */
	long sent, answered, failed, wrong, conn_errors;
	int errors_shown;
	int64_t *lat; /* ns, one per answer */
	size_t n_lat, cap_lat;
};

static int conn_open(struct engine *e, struct conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(e->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, by construction */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->state = C_IDLE;
	c->in_len = 0;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

static void conn_close(struct engine *e, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_DEAD;
}

static void engine_init(struct engine *e, uint16_t port, int n_conns)
{
	if (n_conns < 1 || n_conns > CONNS_MAX)
		die("--conns must be 1..%d", CONNS_MAX);
	e->port = port;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->n_conns = n_conns;
	e->conns = calloc((size_t)n_conns, sizeof(*e->conns));
	if (e->conns == NULL)
		die("out of memory");
	for (int i = 0; i < n_conns; i++) {
		e->conns[i].fd = -1;
		e->conns[i].in = xmalloc(IN_CAP + 1);
		if (conn_open(e, &e->conns[i]) < 0)
			die("cannot connect to 127.0.0.1:%u: %s", port, strerror(errno));
	}
}

static void lat_add(struct engine *e, int64_t ns)
{
	if (e->n_lat == e->cap_lat) {
		e->cap_lat = e->cap_lat ? e->cap_lat * 2 : 65536;
		e->lat = xrealloc(e->lat, e->cap_lat * sizeof(*e->lat));
	}
	e->lat[e->n_lat++] = ns;
}

/* Counts a connection error and says what it was, for the first few. */
static void conn_error(struct engine *e, const char *what, int err)
{
	e->conn_errors++;
	e->failed++;
	if (e->errors_shown++ < MISMATCH_SHOWN)
		fprintf(stderr, "loadgen: connection error: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
}

/* Sends job on idle connection c (reopening it first when it died). */
static void conn_send(struct engine *e, struct conn *c, long job, int64_t t_intended)
{
	if (c->state == C_DEAD && conn_open(e, c) < 0) {
		conn_error(e, "connect", errno);
		return;
	}
	e->build(e, c, job);
	c->job = job;
	c->t_intended = t_intended;
	c->out_off = 0;
	c->in_len = 0;
	c->state = C_BUSY;
	e->sent++;
	ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN) {
		conn_error(e, "send", errno);
		conn_close(e, c);
		return;
	}
	c->out_off = w > 0 ? (size_t)w : 0;
	if (c->out_off < c->out_len) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
		epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

/* Parses a complete answer in c->in; returns 1 when complete, 0 when more is
 * needed, -1 when malformed. */
static int parse_answer(struct conn *c, int *status, const char **body, size_t *body_len)
{
	c->in[c->in_len] = '\0';
	char *end = strstr(c->in, "\r\n\r\n");
	if (end == NULL)
		return c->in_len >= IN_CAP ? -1 : 0;
	if (strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = (int)strtol(c->in + 9, NULL, 10); /* "HTTP/1.1 200" */
	size_t hdr_len = (size_t)(end - c->in) + 4;
	long cl = -1;
	for (char *l = strstr(c->in, "\r\n"); l != NULL && l < end; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
			cl = strtol(l + 17, NULL, 10);
	}
	if (cl < 0 || hdr_len + (size_t)cl > IN_CAP)
		return -1;
	if (c->in_len < hdr_len + (size_t)cl)
		return 0;
	*body = c->in + hdr_len;
	*body_len = (size_t)cl;
	return 1;
}

/* Handles readiness on c; returns true when c just finished a request. */
static bool conn_event(struct engine *e, struct conn *c, uint32_t events, int64_t now)
{
	if (c->state != C_BUSY) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_close(e, c); /* the server closed an idle keep-alive connection */
		return false;
	}
	if ((events & EPOLLOUT) && c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w > 0)
			c->out_off += (size_t)w;
		if (c->out_off == c->out_len) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
			epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return false;
	for (;;) {
		ssize_t r = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
		if (r > 0) {
			c->in_len += (size_t)r;
			if (c->in_len >= IN_CAP)
				break;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* closed or error with the request in flight */
		conn_error(e, r == 0 ? "closed by the server with a request in flight" : "recv", r == 0 ? 0 : errno);
		conn_close(e, c);
		return true;
	}
	int status = 0;
	const char *body = NULL;
	size_t len = 0;
	int p = parse_answer(c, &status, &body, &len);
	if (p == 0)
		return false;
	if (p < 0) {
		fprintf(stderr, "loadgen: malformed answer: %.200s\n", c->in);
		e->failed++;
		conn_close(e, c);
		return true;
	}
	e->answered++;
	lat_add(e, now - c->t_intended);
	if (!e->answer(e, c, status, body, len))
		e->wrong++;
	c->state = C_IDLE;
	return true;
}

static struct conn *idle_conn(struct engine *e)
{
	for (int i = 0; i < e->n_conns; i++)
		if (e->conns[i].state != C_BUSY)
			return &e->conns[i];
	return NULL;
}

static int busy_count(struct engine *e)
{
	int n = 0;
	for (int i = 0; i < e->n_conns; i++)
		n += e->conns[i].state == C_BUSY;
	return n;
}

static void wait_events(struct engine *e, int64_t timeout_ns)
{
	struct epoll_event evs[64];
	if (timeout_ns < 0)
		timeout_ns = 0;
	struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
	int n = epoll_pwait2(e->epfd, evs, 64, &ts, NULL);
	if (n < 0 && errno != EINTR)
		die("epoll_pwait2: %s", strerror(errno));
	int64_t now = now_ns();
	for (int i = 0; i < n; i++)
		conn_event(e, evs[i].data.ptr, evs[i].events, now);
}

/* Closed loop: `total` jobs over the connections, each sent as soon as one is free. */
static int64_t run_closed(struct engine *e, long total)
{
	int64_t t0 = now_ns();
	long next = 0;
	while (next < total || busy_count(e) > 0) {
		struct conn *c;
		while (next < total && (c = idle_conn(e)) != NULL)
			conn_send(e, c, next++, now_ns());
		if (busy_count(e) == 0)
			continue;
		if (now_ns() - t0 > 3600LL * 1000000000)
			die("closed-loop run took over an hour; giving up");
		wait_events(e, 1000000000);
	}
	return now_ns() - t0;
}

/* Open loop at `rate` requests/s for `duration_ns`: request k is due at t0 + k/rate
 * and its latency counts from then, so a stalled server is charged for the requests
 * that queued behind the stall (no coordinated omission). */
static int64_t run_paced(struct engine *e, double rate, int64_t duration_ns, long *late_starts)
{
	int64_t t0 = now_ns();
	long k = 0, total = (long)(rate * (double)duration_ns / 1e9);
	*late_starts = 0;
	for (;;) {
		int64_t now = now_ns();
		struct conn *c;
		while (k < total) {
			int64_t due = t0 + (int64_t)((double)k * 1e9 / rate);
			if (due > now)
				break;
			c = idle_conn(e);
			if (c == NULL)
				break;
			if (now - due > 1000000)
				(*late_starts)++;
			conn_send(e, c, k++, due);
		}
		if (k >= total && busy_count(e) == 0)
			break;
		if (now - t0 > duration_ns + DRAIN_TIMEOUT_NS) {
			fprintf(stderr, "loadgen: %d answers still missing %lld s after the end; giving up\n",
				busy_count(e), (long long)(DRAIN_TIMEOUT_NS / 1000000000));
			e->failed += busy_count(e);
			break;
		}
		int64_t timeout = 100000000;
		if (k < total) {
			int64_t due = t0 + (int64_t)((double)k * 1e9 / rate);
			timeout = idle_conn(e) != NULL ? due - now : 100000000;
		}
		wait_events(e, timeout);
	}
	return now_ns() - t0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double pct_us(struct engine *e, double p)
{
	if (e->n_lat == 0)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(e->n_lat - 1) + 0.5);
	return (double)e->lat[i] / 1000.0;
}

static void print_latency_json(FILE *f, struct engine *e)
{
	qsort(e->lat, e->n_lat, sizeof(*e->lat), cmp_i64);
	fprintf(f, "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f}",
		pct_us(e, 50), pct_us(e, 90), pct_us(e, 99), pct_us(e, 99.9), pct_us(e, 100));
}

/* ---------------------------------------------------------------- options */

struct opts {
	uint16_t port;
	const char *key, *service, *out, *sessions, *token, *public_url, *json, *url;
	enum kind kind;
	long first, count;
	int conns;
	double rate, duration;
	long long expires_at;
	char tag[9];
};

static void parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 8;
	o->count = -1;
	random_hex(o->tag, 8);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0)
			die("unexpected argument %s", a);
		if (i + 1 >= argc)
			die("%s needs a value", a);
		const char *v = argv[++i];
		if (strcmp(a, "--port") == 0)
			o->port = (uint16_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--key") == 0)
			o->key = v;
		else if (strcmp(a, "--service") == 0)
			o->service = v;
		else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--sessions") == 0)
			o->sessions = v;
		else if (strcmp(a, "--token") == 0)
			o->token = v;
		else if (strcmp(a, "--public-url") == 0)
			o->public_url = v;
		else if (strcmp(a, "--url") == 0)
			o->url = v;
		else if (strcmp(a, "--json") == 0)
			o->json = v;
		else if (strcmp(a, "--kind") == 0) {
			if (strcmp(v, "voice") == 0)
				o->kind = KIND_VOICE;
			else if (strcmp(v, "sms") == 0)
				o->kind = KIND_SMS;
			else
				die("--kind voice|sms");
		} else if (strcmp(a, "--first") == 0)
			o->first = strtol(v, NULL, 10);
		else if (strcmp(a, "--count") == 0)
			o->count = strtol(v, NULL, 10);
		else if (strcmp(a, "--conns") == 0)
			o->conns = (int)strtol(v, NULL, 10);
		else if (strcmp(a, "--rate") == 0)
			o->rate = strtod(v, NULL);
		else if (strcmp(a, "--duration") == 0)
			o->duration = strtod(v, NULL);
		else if (strcmp(a, "--expires-at") == 0)
			o->expires_at = strtoll(v, NULL, 10);
		else if (strcmp(a, "--tag") == 0) {
			if (strlen(v) != 8 || strspn(v, "0123456789abcdef") != 8)
				die("--tag: 8 lowercase hex digits");
			memcpy(o->tag, v, 9);
		} else
			die("unknown option %s", a);
	}
}

static void need(const void *v, const char *name)
{
	if (v == NULL)
		die("%s is required", name);
}

/* ---------------------------------------------------------------- API subcommands */

struct api_ctx {
	const struct opts *o;
	FILE *out;
	int mode; /* 0 numbers, 1 sessions */
	int shown;
};

static void api_build(struct engine *e, struct conn *c, long job)
{
	struct api_ctx *a = e->ctx;
	const struct opts *o = a->o;
	char body[512];
	long i = o->first + job;
	if (a->mode == 0) {
		char num[16];
		pool_or_die(i, num);
		snprintf(body, sizeof(body), "{\"number\":\"%s\",\"carrier\":\"twilio\"}", num);
	} else {
		char ra[16], rb[16], exp[64] = "";
		real_or_die(2 * i, ra);
		real_or_die(2 * i + 1, rb);
		if (o->expires_at > 0) {
			time_t t = (time_t)o->expires_at;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(exp, sizeof(exp), ",\"expires_at\":\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
		}
		snprintf(body, sizeof(body),
			 "{\"participants\":[{\"number\":\"%s\",\"label\":\"Rider\"},{\"number\":\"%s\",\"label\":\"Driver\"}]%s}",
			 ra, rb, exp);
	}
	int n = snprintf(c->out, OUT_CAP,
			 "POST /v1/services/%s/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 o->service, a->mode == 0 ? "numbers" : "sessions", e->port, o->key, strlen(body), body);
	if (n < 0 || n >= OUT_CAP)
		die("request too long");
	c->out_len = (size_t)n;
}

/* Finds the n-th (0-based) "key":"value" string value in a JSON text. */
static bool json_nth_string(const char *body, size_t len, const char *key, int nth, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = body, *end = body + len;
	for (int k = 0; k <= nth; k++) {
		p = memmem(p, (size_t)(end - p), pat, strlen(pat));
		if (p == NULL)
			return false;
		p += strlen(pat);
	}
	while (p < end && *p == ' ')
		p++;
	if (p >= end || *p != '"')
		return false;
	p++;
	const char *q = memchr(p, '"', (size_t)(end - p));
	if (q == NULL || (size_t)(q - p) >= cap)
		return false;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return true;
}

static bool api_answer(struct engine *e, struct conn *c, int status, const char *body, size_t len)
{
	struct api_ctx *a = e->ctx;
	if (status != 201) {
		if (a->shown++ < MISMATCH_SHOWN)
			fprintf(stderr, "loadgen: job %ld: HTTP %d %.*s\n", c->job, status, (int)(len > 300 ? 300 : len), body);
		return false;
	}
	if (a->mode == 0)
		return true;
	char id[64], pa[16], pb[16], ra[16], rb[16];
	long i = a->o->first + c->job;
	real_or_die(2 * i, ra);
	real_or_die(2 * i + 1, rb);
	if (!json_nth_string(body, len, "id", 0, id, sizeof(id)) ||
	    !json_nth_string(body, len, "proxy_number", 0, pa, sizeof(pa)) ||
	    !json_nth_string(body, len, "proxy_number", 1, pb, sizeof(pb))) {
		if (a->shown++ < MISMATCH_SHOWN)
			fprintf(stderr, "loadgen: job %ld: unexpected answer %.*s\n", c->job, (int)(len > 300 ? 300 : len), body);
		return false;
	}
	fprintf(a->out, "%s\t%s\t%s\t%s\t%s\n", id, ra, pa, rb, pb);
	return true;
}

static int cmd_api(struct opts *o, int mode)
{
	need(o->port ? "" : NULL, "--port");
	need(o->key, "--key");
	need(o->service, "--service");
	if (o->count < 0)
		die("--count is required");
	struct api_ctx a = {.o = o, .mode = mode, .out = NULL};
	if (mode == 1) {
		need(o->out, "--out");
		a.out = fopen(o->out, "a");
		if (a.out == NULL)
			die("cannot open %s: %s", o->out, strerror(errno));
	}
	struct engine e = {.build = api_build, .answer = api_answer, .ctx = &a};
	engine_init(&e, o->port, o->conns);
	int64_t ns = run_closed(&e, o->count);
	if (a.out != NULL)
		fclose(a.out);
	double s = (double)ns / 1e9;
	printf("{\"what\":\"%s\",\"count\":%ld,\"created\":%ld,\"failed\":%ld,\"conns\":%d,\"seconds\":%.3f,"
	       "\"per_second\":%.1f,",
	       mode == 0 ? "numbers" : "sessions", o->count, e.answered - e.wrong, e.failed + e.wrong, o->conns, s,
	       (double)(e.answered - e.wrong) / s);
	print_latency_json(stdout, &e);
	printf("}\n");
	return e.failed + e.wrong > 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- webhook subcommands */

static void hook_cfg_init(struct hook_cfg *h, const struct opts *o)
{
	need(o->sessions, "--sessions");
	need(o->token, "--token");
	need(o->public_url, "--public-url");
	memset(h, 0, sizeof(*h));
	h->kind = o->kind;
	h->token = o->token;
	h->public_url = o->public_url;
	memcpy(h->tag, o->tag, sizeof(h->tag));
	h->ses = load_sessions(o->sessions, &h->n_ses);
	uint64_t seed = 0;
	for (int i = 0; i < 8; i++)
		seed = seed * 16 + (uint64_t)(o->tag[i] <= '9' ? o->tag[i] - '0' : o->tag[i] - 'a' + 10);
	rng_state ^= seed * 0x9E3779B97F4A7C15ULL;
	if (rng_state == 0)
		rng_state = 1;
}

/* Pre-signed webhooks for wrk (bench/webhooks.lua): path TAB signature TAB body. */
static int cmd_gen(struct opts *o)
{
	need(o->out, "--out");
	if (o->count <= 0)
		die("--count is required");
	struct hook_cfg h;
	hook_cfg_init(&h, o);
	FILE *f = fopen(o->out, "w");
	if (f == NULL)
		die("cannot open %s: %s", o->out, strerror(errno));
	struct sbuf body = {0};
	char path[64], sig[64];
	struct expect ex;
	int64_t t0 = now_ns();
	for (long i = 0; i < o->count; i++) {
		hook_build(&h, path, sizeof(path), sig, &body, &ex);
		fprintf(f, "%s\t%s\t%s\n", path, sig, body.p);
	}
	if (fclose(f) != 0)
		die("writing %s: %s", o->out, strerror(errno));
	printf("{\"what\":\"gen\",\"count\":%ld,\"sessions\":%zu,\"seconds\":%.3f}\n", o->count, h.n_ses,
	       (double)(now_ns() - t0) / 1e9);
	free(body.p);
	return 0;
}

struct rate_ctx {
	struct hook_cfg h;
	struct sbuf body;
	int shown;
};

static void hook_req_build(struct engine *e, struct conn *c, long job)
{
	(void)job;
	struct rate_ctx *r = e->ctx;
	char path[64], sig[64];
	hook_build(&r->h, path, sizeof(path), sig, &r->body, &c->ex);
	int n = snprintf(c->out, OUT_CAP,
			 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/x-www-form-urlencoded\r\n"
			 "X-Twilio-Signature: %s\r\nContent-Length: %zu\r\n\r\n%s",
			 path, e->port, sig, r->body.len, r->body.p);
	if (n < 0 || n >= OUT_CAP)
		die("request too long");
	c->out_len = (size_t)n;
}

static bool hook_req_answer(struct engine *e, struct conn *c, int status, const char *body, size_t len)
{
	struct rate_ctx *r = e->ctx;
	if (hook_answer_ok(r->h.kind, status, body, len, &c->ex))
		return true;
	if (r->shown++ < MISMATCH_SHOWN)
		fprintf(stderr, "loadgen: WRONG ANSWER (HTTP %d) expected %s via %s, got: %.*s\n", status, "(other side)",
			c->ex.proxy, (int)(len > 400 ? 400 : len), body);
	return false;
}

static int cmd_rate(struct opts *o)
{
	need(o->port ? "" : NULL, "--port");
	if (o->rate <= 0 || o->duration <= 0)
		die("--rate and --duration are required");
	if (o->duration > 600)
		die("--duration is capped at 600 s");
	struct rate_ctx r = {0};
	hook_cfg_init(&r.h, o);
	struct engine e = {.build = hook_req_build, .answer = hook_req_answer, .ctx = &r};
	engine_init(&e, o->port, o->conns);
	long late = 0;
	int64_t ns = run_paced(&e, o->rate, (int64_t)(o->duration * 1e9), &late);
	struct sbuf j = {0};
	FILE *mf = open_memstream(&j.p, &j.len);
	fprintf(mf,
		"{\"what\":\"rate\",\"kind\":\"%s\",\"target_rate\":%.1f,\"achieved_rate\":%.1f,\"seconds\":%.3f,"
		"\"conns\":%d,\"sent\":%ld,\"answered\":%ld,\"verified_ok\":%ld,\"wrong\":%ld,\"failed\":%ld,"
		"\"conn_errors\":%ld,\"late_starts\":%ld,",
		o->kind == KIND_VOICE ? "voice" : "sms", o->rate, (double)e.answered / ((double)ns / 1e9),
		(double)ns / 1e9, o->conns, e.sent, e.answered, e.answered - e.wrong, e.wrong, e.failed, e.conn_errors,
		late);
	print_latency_json(mf, &e);
	fprintf(mf, "}\n");
	fclose(mf);
	fputs(j.p, stdout);
	if (o->json != NULL) {
		FILE *f = fopen(o->json, "w");
		if (f == NULL || fputs(j.p, f) < 0 || fclose(f) != 0)
			die("cannot write %s", o->json);
	}
	free(j.p);
	if (e.wrong > 0)
		fprintf(stderr, "loadgen: %ld WRONG ANSWERS out of %ld\n", e.wrong, e.answered);
	return e.wrong + e.failed > 0 ? 1 : 0;
}

static int cmd_sign(struct opts *o, int argc, char **argv)
{
	(void)o;
	const char *token = NULL, *url = NULL;
	struct kv p[64];
	size_t n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
			token = argv[++i];
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else {
			char *eq = strchr(argv[i], '=');
			if (eq == NULL || n == 64)
				die("sign: expected key=value, got %s", argv[i]);
			*eq = '\0';
			p[n].k = argv[i];
			p[n].v = eq + 1;
			n++;
		}
	}
	need(token, "--token");
	need(url, "--url");
	char sig[64];
	twilio_sign(token, url, p, n, sig);
	printf("%s\n", sig);
	return 0;
}

/* One blocking request on a fresh connection (health checks, /metrics, set-up calls). */
static int cmd_http(int argc, char **argv)
{
	if (argc < 2)
		die("usage: loadgen http METHOD PATH --port P [--key K] [--body JSON]");
	const char *method = argv[0], *path = argv[1], *key = NULL, *body = NULL;
	unsigned port = 0;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
		else if (strcmp(argv[i], "--body") == 0)
			body = argv[i + 1];
		else
			die("http: unknown option %s", argv[i]);
	}
	if (port == 0 || port > 65535)
		die("http: --port is required");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 30};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fprintf(stderr, "loadgen: http: cannot connect to 127.0.0.1:%u: %s\n", port, strerror(errno)), 1;
	struct sbuf req = {0};
	char line[512];
	snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method, path, port);
	sb_add(&req, line, strlen(line));
	if (key != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s\r\n", key);
		sb_add(&req, line, strlen(line));
	}
	if (body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
		sb_add(&req, line, strlen(line));
	}
	sb_add(&req, "\r\n", 2);
	if (body != NULL)
		sb_add(&req, body, strlen(body));
	if (send(fd, req.p, req.len, MSG_NOSIGNAL) != (ssize_t)req.len)
		die("http: send failed");
	free(req.p);
	struct sbuf in = {0};
	char buf[65536];
	ssize_t r;
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
		sb_add(&in, buf, (size_t)r);
	close(fd);
	if (in.p == NULL || strncmp(in.p, "HTTP/1.", 7) != 0)
		return fprintf(stderr, "loadgen: http: no answer from 127.0.0.1:%u\n", port), 1;
	int status = (int)strtol(in.p + 9, NULL, 10);
	char *b = strstr(in.p, "\r\n\r\n");
	fputs(b ? b + 4 : "", stdout);
	free(in.p);
	return status >= 200 && status < 300 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: loadgen numbers|sessions|gen|rate|sign|number ... (see bench/loadgen.c)");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argv[1];
	if (strcmp(cmd, "sign") == 0)
		return cmd_sign(NULL, argc - 2, argv + 2);
	if (strcmp(cmd, "freeport") == 0) {
		/* A port nothing listens on now: maskd binds with SO_REUSEPORT, so a port
		 * already held by another maskd would be shared silently, not refused. */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t sl = sizeof(sa);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
			die("freeport: %s", strerror(errno));
		printf("%u\n", ntohs(sa.sin_port));
		close(fd);
		return 0;
	}
	if (strcmp(cmd, "http") == 0)
		return cmd_http(argc - 2, argv + 2);
	if (strcmp(cmd, "number") == 0) {
		if (argc != 4)
			die("usage: loadgen number real|pool INDEX");
		char out[16];
		long i = strtol(argv[3], NULL, 10);
		if (strcmp(argv[2], "real") == 0)
			real_or_die(i, out);
		else
			pool_or_die(i, out);
		printf("%s\n", out);
		return 0;
	}
	struct opts o;
	parse_opts(argc - 2, argv + 2, &o);
	if (strcmp(cmd, "numbers") == 0)
		return cmd_api(&o, 0);
	if (strcmp(cmd, "sessions") == 0)
		return cmd_api(&o, 1);
	if (strcmp(cmd, "gen") == 0)
		return cmd_gen(&o);
	if (strcmp(cmd, "rate") == 0)
		return cmd_rate(&o);
	die("unknown subcommand %s", cmd);
}
