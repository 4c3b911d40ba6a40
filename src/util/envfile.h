/* SPDX-License-Identifier: MIT */
/* envfile.h - `maskd --env-file PATH`: KEY=VALUE lines in systemd's
 * EnvironmentFile= syntax, set in maskd's own environment before the
 * configuration is read, so that a missing or broken file is reported by maskd
 * itself, naming the file (and the line), instead of a unit that will not start.
 * Values are never repeated in a message: they may be keys and tokens. */
#ifndef MASKD_ENVFILE_H
#define MASKD_ENVFILE_H

#include <stddef.h>

#define ENVFILE_LINE_MAX 8192 /* bytes of one line, newline excluded */

/* Parses one line (no newline; NUL-terminated). Blank lines and comments (the
 * first non-blank character `#` or `;`) return 0. An assignment returns 1 with
 * the name in key (cap key_cap) and the value in val (cap val_cap): the name is
 * [A-Za-z_][A-Za-z0-9_]*, blanks around the name and the value are dropped, a
 * value may be wrapped in single quotes (taken literally) or double quotes (in
 * which \" \\ \$ and \` stand for the character); nothing but blanks may follow
 * the closing quote. An unquoted value may not end in a backslash (systemd's line
 * continuation, which maskd does not follow). A malformed line returns -1 with why (a fixed description,
 * never the line's text) in why (cap why_cap). */
int envfile_parse_line(const char *line, char *key, size_t key_cap, char *val, size_t val_cap, char *why,
		       size_t why_cap);

/* Reads path and sets every assignment in the environment (overwriting what is
 * set, as systemd would pass the file's values). 0 on success; -1 with err
 * naming the file (and the line number of a malformed line, or the reason the
 * file cannot be read) when the file is missing, unreadable or malformed: then
 * nothing of it has been set. */
int envfile_load(const char *path, char *err, size_t err_len);

#endif
