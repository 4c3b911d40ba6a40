/* SPDX-License-Identifier: MIT */
/* config.h - configuration from MASKD_* environment variables, checked once at
 * start. A bad value stops the daemon with a message naming the variable. */
#ifndef MASKD_CONFIG_H
#define MASKD_CONFIG_H

#include <stddef.h>

#include "core/model.h"

struct config {
	char listen[64];       /* MASKD_LISTEN, "127.0.0.1:8080" */
	char db[1024];         /* MASKD_DB, "./var/maskd.db" */
	char public_url[512];  /* MASKD_PUBLIC_URL, default "http://" + listen; no trailing '/' */
	char admin_key[256];   /* MASKD_ADMIN_KEY, "" = stored hash or generate */
	char key_file[1024];   /* MASKD_KEY_FILE, "./var/maskd.key" */
	unsigned threads;      /* MASKD_THREADS, HTTP worker threads, >= 2 */
	unsigned sweep_interval; /* MASKD_SWEEP_INTERVAL, seconds between expiry sweeps */
	unsigned http_head_timeout; /* MASKD_HTTP_HEAD_TIMEOUT, seconds a connection has to send a
				     * complete request head (idle keep-alive included), default 10 */
	unsigned http_body_timeout; /* MASKD_HTTP_BODY_TIMEOUT, seconds for the body after the head, default 30 */
	unsigned http_per_ip_max;   /* MASKD_HTTP_PER_IP_MAX, connections per client address; 0 = no limit */
	int log_level;         /* MASKD_LOG_LEVEL */
	/* carrier REST API base URLs, no trailing '/' (MASKD_TELNYX_API_URL, ...);
	 * "" for carriers maskd never calls */
	char api_base[DIALECT_COUNT][256];
	char vonage_voice_base[256]; /* MASKD_VONAGE_VOICE_API_URL, Vonage's Voice API (click-to-call),
				      default https://api.nexmo.com; MASKD_VONAGE_API_URL is the SMS API */
	unsigned send_retry_ms; /* MASKD_SEND_RETRY_MS, first backoff of a failed REST send */
	unsigned api_rate;      /* MASKD_API_RATE, /v1 requests per second per API key; 0 = no limit */
	char sip_secret[256];   /* MASKD_SIP_SECRET, HMAC key of Kamailio's queries (hooks/sip.h); "" = SIP edge off */
	char sip_trunk[128];    /* MASKD_SIP_TRUNK, host[:port] bridged calls are sent to */
	char sip_announce[256]; /* MASKD_SIP_ANNOUNCE, a SIP URI refusals with words go to; "" = plain rejects */
	unsigned retention_days; /* MASKD_RETENTION_DAYS, days after a session closes before its real
				  * numbers are purged (DESIGN §1.5); 0 = never purge */
	unsigned service_cache_ttl; /* MASKD_SERVICE_CACHE_TTL, seconds a service read (and the memory of
				     * which service owns a number) is used without a new read, default
				     * SERVICE_CACHE_TTL_S (5): the bound on seeing another node's change */
};

/* Reads the environment through getenv_fn (getenv in production, a table in
 * tests). Returns 0, or MASKD_EINVAL with a message naming the variable in err. */
int config_load(struct config *c, const char *(*getenv_fn)(const char *), char *err, size_t err_len);

#endif
