/* SPDX-License-Identifier: MIT */
/* config.c - MASKD_* environment parsing; see config.h. */
#include "config.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADMIN_KEY_MIN 16

static int copy_var(const char *(*get)(const char *), const char *name, const char *def, char *out, size_t cap,
		    char *err, size_t err_len)
{
	const char *v = get(name);
	if (v == NULL || v[0] == '\0')
		v = def;
	if (strlen(v) >= cap) {
		snprintf(err, err_len, "%s: longer than %zu characters", name, cap - 1);
		return MASKD_EINVAL;
	}
	snprintf(out, cap, "%s", v);
	return 0;
}

static int uint_var(const char *(*get)(const char *), const char *name, unsigned def, unsigned min, unsigned max,
		    unsigned *out, char *err, size_t err_len)
{
	const char *v = get(name);
	if (v == NULL || v[0] == '\0') {
		*out = def;
		return 0;
	}
	char *end = NULL;
	unsigned long n = strtoul(v, &end, 10);
	if (*end != '\0' || v[0] == '-' || n < min || n > max) {
		snprintf(err, err_len, "%s: expected an integer from %u to %u, got \"%.40s\"", name, min, max, v);
		return MASKD_EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* MASKD_SIP_*: the secret at least 16 characters when set; the trunk a host[:port]
 * (letters, digits, '.', '-', ':', '[', ']'); the announce URI sip: or sips:. */
static int sip_vars(const char *(*get)(const char *), struct config *c, char *err, size_t err_len)
{
	int rc;
	if ((rc = copy_var(get, "MASKD_SIP_SECRET", "", c->sip_secret, sizeof(c->sip_secret), err, err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_SIP_TRUNK", "127.0.0.1:5080", c->sip_trunk, sizeof(c->sip_trunk), err,
			   err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_SIP_ANNOUNCE", "", c->sip_announce, sizeof(c->sip_announce), err, err_len)) < 0)
		return rc;
	if (c->sip_secret[0] != '\0' && strlen(c->sip_secret) < 16) {
		snprintf(err, err_len, "MASKD_SIP_SECRET: use at least 16 characters");
		return MASKD_EINVAL;
	}
	size_t n = strlen(c->sip_trunk);
	if (n == 0 || strspn(c->sip_trunk, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != n) {
		snprintf(err, err_len, "MASKD_SIP_TRUNK: expected host[:port]");
		return MASKD_EINVAL;
	}
	const char *a = c->sip_announce;
	if (a[0] != '\0' && ((strncmp(a, "sip:", 4) != 0 && strncmp(a, "sips:", 5) != 0) || strpbrk(a, " \t\r\n\"<>") != NULL)) {
		snprintf(err, err_len, "MASKD_SIP_ANNOUNCE: expected a sip: or sips: URI");
		return MASKD_EINVAL;
	}
	return 0;
}

int config_load(struct config *c, const char *(*get)(const char *), char *err, size_t err_len)
{
	memset(c, 0, sizeof(*c));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* More HTTP threads than cores: a webhook thread spends its wait in the
	 * store's group commit (sleeping, not spinning), and a batch only forms when
	 * several webhooks are in flight. Measured with one server core
	 * (docs/PERFORMANCE.md, "Group commit"): up to 1.8 records per commit with 2
	 * threads, 2.2 with 4, 4.4 with 8, 3.6 with 16, and at 2 threads more CPU per
	 * webhook than without group commit; so 8, or 4 per CPU on larger machines. */
	unsigned def_threads = ncpu > 2 ? (ncpu < 64 ? 4 * (unsigned)ncpu : 256) : 8;
	int rc;
	if ((rc = copy_var(get, "MASKD_LISTEN", "127.0.0.1:8080", c->listen, sizeof(c->listen), err, err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_DB", "./var/maskd.db", c->db, sizeof(c->db), err, err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_KEY_FILE", "./var/maskd.key", c->key_file, sizeof(c->key_file), err,
			   err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_ADMIN_KEY", "", c->admin_key, sizeof(c->admin_key), err, err_len)) < 0 ||
	    (rc = copy_var(get, "MASKD_PUBLIC_URL", "", c->public_url, sizeof(c->public_url), err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_THREADS", def_threads, 2, 256, &c->threads, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_SWEEP_INTERVAL", 5, 1, 3600, &c->sweep_interval, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_HTTP_HEAD_TIMEOUT", 10, 1, 3600, &c->http_head_timeout, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_HTTP_BODY_TIMEOUT", 30, 1, 3600, &c->http_body_timeout, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_HTTP_PER_IP_MAX", 256, 0, 1000000, &c->http_per_ip_max, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_SERVICE_CACHE_TTL", 5, 0, 3600, &c->service_cache_ttl, err, err_len)) < 0)
		return rc;
	if (c->admin_key[0] != '\0' && strlen(c->admin_key) < ADMIN_KEY_MIN) {
		snprintf(err, err_len, "MASKD_ADMIN_KEY: use at least %d characters", ADMIN_KEY_MIN);
		return MASKD_EINVAL;
	}
	if (c->public_url[0] == '\0') {
		snprintf(c->public_url, sizeof(c->public_url), "http://%s", c->listen);
	} else if (strncmp(c->public_url, "https://", 8) != 0 && strncmp(c->public_url, "http://", 7) != 0) {
		snprintf(err, err_len, "MASKD_PUBLIC_URL: must start with https:// or http://");
		return MASKD_EINVAL;
	} else if (strchr(c->public_url, '?') != NULL || strchr(c->public_url, '#') != NULL) {
		snprintf(err, err_len, "MASKD_PUBLIC_URL: must not contain a query or fragment");
		return MASKD_EINVAL;
	}
	size_t n = strlen(c->public_url);
	while (n > 0 && c->public_url[n - 1] == '/')
		c->public_url[--n] = '\0';
	static const struct {
		int dialect;
		const char *var, *def;
	} apis[] = {
		{DIALECT_TELNYX, "MASKD_TELNYX_API_URL", "https://api.telnyx.com"},
		{DIALECT_PLIVO, "MASKD_PLIVO_API_URL", "https://api.plivo.com"},
		{DIALECT_VOBIZ, "MASKD_VOBIZ_API_URL", "https://api.vobiz.ai"},
		{DIALECT_VONAGE, "MASKD_VONAGE_API_URL", "https://rest.nexmo.com"},
		{DIALECT_TWILIO, "MASKD_TWILIO_API_URL", "https://api.twilio.com"},
		/* "" = each service's own space (https://<space_url>/api/laml) */
		{DIALECT_SIGNALWIRE, "MASKD_SIGNALWIRE_API_URL", ""},
	};
	for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		char *base = c->api_base[apis[i].dialect];
		if ((rc = copy_var(get, apis[i].var, apis[i].def, base, sizeof(c->api_base[0]), err, err_len)) < 0)
			return rc;
		if (base[0] != '\0' && strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0) {
			snprintf(err, err_len, "%s: must start with https:// or http://", apis[i].var);
			return MASKD_EINVAL;
		}
		size_t len = strlen(base);
		while (len > 0 && base[len - 1] == '/')
			base[--len] = '\0';
	}
	/* Vonage's Voice API lives on another host than its SMS API */
	if ((rc = copy_var(get, "MASKD_VONAGE_VOICE_API_URL", "https://api.nexmo.com", c->vonage_voice_base,
			   sizeof(c->vonage_voice_base), err, err_len)) < 0)
		return rc;
	if (strncmp(c->vonage_voice_base, "https://", 8) != 0 && strncmp(c->vonage_voice_base, "http://", 7) != 0) {
		snprintf(err, err_len, "MASKD_VONAGE_VOICE_API_URL: must start with https:// or http://");
		return MASKD_EINVAL;
	}
	n = strlen(c->vonage_voice_base);
	while (n > 0 && c->vonage_voice_base[n - 1] == '/')
		c->vonage_voice_base[--n] = '\0';
	if ((rc = uint_var(get, "MASKD_SEND_RETRY_MS", 1000, 1, 600000, &c->send_retry_ms, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_API_RATE", 0, 0, 1000000, &c->api_rate, err, err_len)) < 0 ||
	    (rc = uint_var(get, "MASKD_RETENTION_DAYS", 90, 0, 3650, &c->retention_days, err, err_len)) < 0)
		return rc;
	if ((rc = sip_vars(get, c, err, err_len)) < 0)
		return rc;
	const char *lvl = get("MASKD_LOG_LEVEL");
	c->log_level = LOG_INFO;
	if (lvl != NULL && lvl[0] != '\0') {
		static const char *const names[] = {"debug", "info", "warn", "error"};
		c->log_level = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(lvl, names[i]) == 0)
				c->log_level = i;
		if (c->log_level < 0) {
			snprintf(err, err_len, "MASKD_LOG_LEVEL: expected debug, info, warn or error");
			return MASKD_EINVAL;
		}
	}
	return 0;
}
