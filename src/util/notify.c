/* SPDX-License-Identifier: MIT */
/* notify.c - sd_notify(3) readiness and watchdog pings; see notify.h.
 * The watchdog thread sleeps on a condition variable so that stopping it is
 * immediate, and pings after the caller's liveness check has returned. */
#include "notify.h"

#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

struct notify_watchdog {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	uint64_t interval_us;
	void (*alive)(void *ctx);
	void *ctx;
};

static void send_state(const char *state)
{
	int rc = sd_notify(0, state);
	if (rc < 0)
		log_warn("maskd: sd_notify(%s) failed: %s", state, strerror(-rc));
}

void notify_ready(void)
{
	send_state("READY=1");
}

void notify_stopping(void)
{
	send_state("STOPPING=1");
}

static void *watchdog_main(void *arg)
{
	struct notify_watchdog *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		if (w->alive != NULL)
			w->alive(w->ctx);
		send_state("WATCHDOG=1");
		pthread_mutex_lock(&w->mu);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		uint64_t ns = (uint64_t)until.tv_nsec + (w->interval_us % 1000000) * 1000;
		until.tv_sec += (time_t)(w->interval_us / 1000000 + ns / 1000000000);
		until.tv_nsec = (long)(ns % 1000000000);
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct notify_watchdog *notify_watchdog_start(void (*alive)(void *ctx), void *ctx)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return NULL;
	struct notify_watchdog *w = xcalloc(1, sizeof(*w));
	w->interval_us = usec / 2 > 0 ? usec / 2 : 1;
	w->alive = alive;
	w->ctx = ctx;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
		log_warn("maskd: cannot start the watchdog thread; the service manager will see no pings");
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	log_info("maskd: watchdog pings every %llu ms", (unsigned long long)(w->interval_us / 1000));
	return w;
}

void notify_watchdog_stop(struct notify_watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
