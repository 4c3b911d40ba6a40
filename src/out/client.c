/* SPDX-License-Identifier: MIT */
/* client.c - the capped libcurl client; see client.h. One easy handle per thread
 * behind a pthread key (curl_easy_reset between requests keeps its connection
 * cache); libcurl's global state is set up once, before the first handle. */
#include "client.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static pthread_key_t client_key;

static void client_handle_free(void *c)
{
	curl_easy_cleanup(c);
}

static void client_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("client: curl_global_init failed");
	if (pthread_key_create(&client_key, client_handle_free) != 0)
		fatal("client: pthread_key_create failed");
}

static CURL *client_handle(void)
{
	pthread_once(&client_once, client_global_init);
	CURL *c = pthread_getspecific(client_key);
	if (c != NULL) {
		curl_easy_reset(c);
		return c;
	}
	c = curl_easy_init();
	if (c == NULL)
		fatal("client: curl_easy_init failed");
	pthread_setspecific(client_key, c);
	return c;
}

struct sink {
	struct client_response *out;
	size_t cap;
	int cap_is_error;
};

static size_t client_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	size_t room = s->cap - s->out->len;
	if (n > room) {
		s->out->overflow = 1;
		if (s->cap_is_error)
			return 0; /* aborts the transfer */
	}
	size_t take = n < room ? n : room;
	memcpy(s->out->body + s->out->len, ptr, take);
	s->out->len += take;
	s->out->body[s->out->len] = '\0';
	return n;
}

int client_post(const struct client_request *rq, struct client_response *out)
{
	assert(rq != NULL && rq->url != NULL && rq->body_cap > 0 && out != NULL);
	memset(out, 0, sizeof(*out));
	out->body = xmalloc(rq->body_cap + 1);
	out->body[0] = '\0';
	CURL *c = client_handle();
	struct curl_slist *h = NULL;
	for (int i = 0; i < CLIENT_HEADERS_MAX && rq->headers[i] != NULL; i++)
		h = curl_slist_append(h, rq->headers[i]);
	struct sink sink = {.out = out, .cap = rq->body_cap, .cap_is_error = rq->cap_is_error};
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(rq->body ? rq->body_len : 0));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "maskd/0.1");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	if (rq->connect_timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL); /* the list is gone */
	if (out->overflow && rq->cap_is_error)
		return MASKD_ETOOBIG;
	if (rc != CURLE_OK) {
		out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		out->unsent = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
			      rc == CURLE_COULDNT_CONNECT;
		out->error = curl_easy_strerror(rc);
		return MASKD_ENOTFOUND;
	}
	return 0;
}
