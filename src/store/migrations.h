/* SPDX-License-Identifier: MIT */
/* migrations.h - numbered schema migrations, applied in order at start.
 * Migration N is element N-1; never edit one that has shipped, add the next.
 * Each backend has its own list and count (the schemas say the same thing in
 * each database's own types). */
#ifndef MASKD_MIGRATIONS_H
#define MASKD_MIGRATIONS_H

#define MIGRATIONS_COUNT 17
extern const char *const migrations_sqlite[MIGRATIONS_COUNT];

#define MIGRATIONS_PG_COUNT 17
extern const char *const migrations_pg[MIGRATIONS_PG_COUNT];

#endif
