/* SPDX-License-Identifier: MIT */
/* log.h - one line per event to stderr: "ts level msg".
 * Never pass a real phone number: log ids and mask_e164() output only.
 * The formatted message is escaped (log_escape), so a field may hold anything.
 * Thread-safe (one write(2) per line). */
#ifndef MASKD_LOG_H
#define MASKD_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Copies len bytes of in to out (cap bytes, not NUL-terminated), writing a
 * backslash as two and a control character (below 0x20, 0x7f) as \xNN;
 * stops before a sequence that would not fit. Returns the bytes written. */
size_t log_escape(char *out, size_t cap, const char *in, size_t len);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
