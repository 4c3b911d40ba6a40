/* SPDX-License-Identifier: MIT */
/* log.c - line logger to stderr; see log.h. The message is escaped here, the one
 * place every field passes: a control character or a backslash in anything a
 * request supplied (an id, a reason) cannot start a forged line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level_min = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	log_level_min = lvl;
}

size_t log_escape(char *out, size_t cap, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c != 0x7f && c != '\\') {
			if (o + 1 > cap)
				break;
			out[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 > cap)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			if (o + 4 > cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return o;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_DEBUG] = "debug", [LOG_INFO] = "info", [LOG_WARN] = "warn", [LOG_ERROR] = "error",
	};
	if (lvl < log_level_min)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t mlen = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	size_t len = (size_t)n + log_escape(line + n, sizeof(line) - (size_t)n - 1, msg, mlen);
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
