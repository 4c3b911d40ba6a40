/* SPDX-License-Identifier: MIT */
/* err.h - the one error convention of maskd.
 * Functions return 0 on success or a negative enum maskd_err; the detail, when
 * there is one, goes to an out-parameter or a static string (maskd_strerror). */
#ifndef MASKD_ERR_H
#define MASKD_ERR_H

enum maskd_err {
	MASKD_OK = 0,
	MASKD_EINVAL = -1,    /* the input is malformed or out of range */
	MASKD_ENOTFOUND = -2, /* no such row / key */
	MASKD_ECONFLICT = -3, /* a unique rule would be broken */
	MASKD_ETOOBIG = -4,   /* a capped buffer or count was exceeded */
	MASKD_EDB = -5,       /* the store failed (I/O, corruption, busy) */
	MASKD_ECRYPTO = -6,   /* authentication or a crypto primitive failed */
	MASKD_EEXHAUSTED = -7, /* the pool has no number that fits */
	MASKD_EEXISTS = -8,    /* an equal row exists already (create-or-return) */
	MASKD_ERETRY = -9      /* a transaction lost a race and may simply run again (store_tx_run) */
};

/* Static, never NULL. */
const char *maskd_strerror(int err);

#endif
