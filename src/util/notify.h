/* SPDX-License-Identifier: MIT */
/* notify.h - the service manager's notification protocol (sd_notify(3)):
 * READY=1 once maskd serves, STOPPING=1 on the way out, and WATCHDOG=1 pings
 * from a small thread of its own when the unit sets WatchdogSec= (each ping
 * after a liveness check the caller gives). Every call is
 * a no-op when NOTIFY_SOCKET is unset (maskd started by hand or by a test). */
#ifndef MASKD_NOTIFY_H
#define MASKD_NOTIFY_H

struct notify_watchdog;

/* Tells the service manager maskd is ready (the listener is up, the migrations
 * are done). Call once, from the main thread. Failures are logged, never fatal. */
void notify_ready(void);

/* Tells the service manager maskd is stopping. Same rules as notify_ready. */
void notify_stopping(void);

/* Starts a thread that sends WATCHDOG=1 every half of WATCHDOG_USEC when the
 * service manager asked for pings (sd_watchdog_enabled); returns NULL and starts
 * nothing otherwise. Before each ping it calls alive(ctx) (may be NULL) and pings
 * only once that returns, whatever it returns: a maskd whose alive() hangs (a
 * wedged store) stops pinging and is restarted, while one whose database merely
 * refuses (an outage that /readyz reports) keeps running. The caller owns the
 * handle: notify_watchdog_stop frees it. */
struct notify_watchdog *notify_watchdog_start(void (*alive)(void *ctx), void *ctx);

/* Stops and joins the thread and frees w; NULL is accepted. */
void notify_watchdog_stop(struct notify_watchdog *w);

#endif
