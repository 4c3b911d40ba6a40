/* SPDX-License-Identifier: MIT */
/* crypto_internal.h - OpenSSL objects fetched once by crypto_init(), for the few
 * modules (vault.c) that drive EVP directly. Not for general use: everything
 * else goes through crypto.h, which keeps OpenSSL out of the other headers. */
#ifndef MASKD_CRYPTO_INTERNAL_H
#define MASKD_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

/* The AES-256-GCM cipher fetched by crypto_init(); shared, never freed by the
 * caller, valid for the life of the process. Aborts (fatal) before crypto_init(). */
const EVP_CIPHER *crypto_aes256gcm(void);

#endif
