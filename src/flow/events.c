/* SPDX-License-Identifier: MIT */
/* events.c - a service's events written inside the causing transaction; see
 * events.h. */
#include "events.h"
#include "../core/outbox.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_CONTENT_TYPE "Content-Type: application/json\n\n"

/* The outbox message delivering body (event id) to url. */
static int enqueue(struct store_tx *tx, const char *id, const char *service_id, const char *session_id,
		   const char *url, const char *body, int64_t now)
{
	struct outbox_item it;
	memset(&it, 0, sizeof(it));
	if (outbox_destination(url, it.destination, sizeof(it.destination)) < 0 || strlen(url) >= sizeof(it.url)) {
		/* the API refuses such a URL; one stored before is skipped, visibly */
		log_warn("events: service %s: events_url is not an http(s) URL; event %s not sent", service_id, id);
		return 0;
	}
	id_new("obx", it.id);
	snprintf(it.dedup_key, sizeof(it.dedup_key), "%s", id);
	it.kind = OUTBOX_EVENT;
	snprintf(it.service_id, sizeof(it.service_id), "%s", service_id);
	snprintf(it.order_key, sizeof(it.order_key), "%s", session_id);
	snprintf(it.url, sizeof(it.url), "%s", url);
	size_t hl = strlen(EVENTS_CONTENT_TYPE), bl = strlen(body);
	char *payload = xmalloc(hl + bl + 1);
	memcpy(payload, EVENTS_CONTENT_TYPE, hl);
	memcpy(payload + hl, body, bl + 1);
	it.payload = payload;
	it.payload_len = hl + bl;
	it.created_at = now * 1000;
	it.next_at = now * 1000;
	int existed = 0;
	int rc = store_tx_outbox_put(tx, &it, &existed);
	free(payload);
	return rc;
}

int events_record(struct store_tx *tx, const char *session_id, enum event_type t, json_t *data, int64_t now)
{
	assert(tx != NULL && session_id != NULL && data != NULL);
	char service_id[ID_MAX], url[URL_MAX_LEN + 1];
	int rc = store_tx_event_target(tx, session_id, service_id, url, sizeof(url));
	if (rc < 0) {
		json_decref(data);
		return rc;
	}
	char id[ID_MAX];
	id_new("evt", id);
	char *body = event_document(id, t, service_id, now, data);
	rc = store_tx_service_event_insert(tx, id, service_id, event_type_name(t), body, now);
	if (rc == 0 && url[0] != '\0')
		rc = enqueue(tx, id, service_id, session_id, url, body, now);
	free(body);
	return rc;
}

json_t *events_session_data(const struct session *s)
{
	assert(s != NULL);
	json_t *parts = json_array();
	for (int i = 0; i < s->n_participants; i++) {
		const struct participant *p = &s->participants[i];
		json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:s}", "id", p->id, "label", p->label, "number",
						       p->masked, "proxy_number", p->proxy_e164));
	}
	json_t *d = json_pack("{s:s,s:s,s:s,s:I,s:o}", "session_id", s->id, "mode", mode_name(s->mode), "status",
			      session_status_name(s->status), "ttl", (json_int_t)s->ttl, "participants", parts);
	json_object_set_new(d, "unique_name", s->unique_name[0] ? json_string(s->unique_name) : json_null());
	json_object_set_new(d, "expires_at", s->expires_at ? json_integer(s->expires_at) : json_null());
	return d;
}

json_t *events_session_change(const char *session_id, const char *participant_id, const char *proxy_number,
			      const char *reason)
{
	assert(session_id != NULL);
	json_t *d = json_pack("{s:s}", "session_id", session_id);
	if (participant_id != NULL)
		json_object_set_new(d, "participant_id", json_string(participant_id));
	if (proxy_number != NULL)
		json_object_set_new(d, "proxy_number", json_string(proxy_number));
	if (reason != NULL)
		json_object_set_new(d, "reason", json_string(reason));
	return d;
}
