/* SPDX-License-Identifier: MIT */
/* console.h - serves the admin console's static files (web/) under /console/.
 * Every file is read once at start into memory, so a request can only ever name
 * a file of that table: no path reaches the file system, and traversal cannot
 * escape the directory. Answers carry the file's type, an ETag (If-None-Match
 * gives 304), Cache-Control: no-cache and a strict Content-Security-Policy.
 * The console itself talks only to the public /v1 API; this module knows no API. */
#ifndef MASKD_CONSOLE_H
#define MASKD_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "../http/http.h"

#define CONSOLE_FILES_MAX 256              /* files loaded from the directory */
#define CONSOLE_FILE_BYTES_MAX (4u << 20)  /* bytes of one file */
#define CONSOLE_TOTAL_BYTES_MAX (32u << 20) /* bytes of all files together */
#define CONSOLE_DEPTH_MAX 4                /* sub-directory levels below the directory */
#define CONSOLE_NAME_MAX 200               /* bytes of a file's path relative to the directory */

/* The policy every console answer carries: scripts, styles, images and API calls
 * from maskd itself only; no inline script or style, no framing, no plugins. */
#define CONSOLE_CSP                                                                                      \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* Where the .deb installs the files (debian/maskd.install). */
#ifndef CONSOLE_INSTALLED_DIR
#define CONSOLE_INSTALLED_DIR "/usr/share/maskd/console"
#endif
#define CONSOLE_CHECKOUT_DIR "web" /* relative to the working directory: a git checkout, `make run` */

struct console;

/* The directory to load: configured (MASKD_CONSOLE_DIR) when it is set and not
 * empty, whatever it holds (console_load() then says what is wrong); else
 * CONSOLE_CHECKOUT_DIR when it holds index.html; else CONSOLE_INSTALLED_DIR when
 * it holds index.html; else NULL: no console, /console answers 404. Static or
 * configured, never freed. */
const char *console_dir_pick(const char *configured);

/* Reads every regular file under dir whose extension has a known type (.html,
 * .js, .mjs, .css, .svg, .png, .ico, .json, .txt, .woff2); dot-files and other
 * files are skipped. dir must hold index.html. Returns 0 with *out set (free with
 * console_free()), or a negative maskd_err with a message naming the path in err
 * (missing directory, no index.html, a file or the total over its cap, a read
 * error). The table is read-only afterwards: console_handle() is thread-safe. */
int console_load(const char *dir, struct console **out, char *err, size_t err_len);

/* Files in the table (for the start log line and tests). */
size_t console_file_count(const struct console *c);

/* NULL is allowed. */
void console_free(struct console *c);

/* Answers req when its path is /console or starts with /console/, and returns
 * true; returns false (res untouched) for every other path. c may be NULL (no
 * console installed): then 404 with a text naming MASKD_CONSOLE_DIR.
 *   /console            301 to /console/
 *   /console/           index.html
 *   /console/NAME       the file NAME of the table; 404 when there is none
 *   a path with %, \, an empty, "." or ".." segment: 400, never a lookup
 *   a method other than GET or HEAD: 405 with Allow: GET, HEAD */
bool console_handle(const struct console *c, const struct http_request *req, struct http_response *res);

#endif
