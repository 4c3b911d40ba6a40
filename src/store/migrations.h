/* SPDX-License-Identifier: MIT */
/* migrations.h - numbered schema migrations, applied in order at start.
 * Migration N is element N-1; never edit one that has shipped, add the next. */
#ifndef MASKD_MIGRATIONS_H
#define MASKD_MIGRATIONS_H

#define MIGRATIONS_COUNT 1
extern const char *const migrations_sqlite[MIGRATIONS_COUNT];

#endif
