/* SPDX-License-Identifier: MIT */
/* fuzz_webhook.c - libFuzzer target for what a carrier controls on the webhook
 * path: the form body (form_parse), the signature header (twilio_sig_check, both
 * flavors, with and without bodySHA256 in the URL) and the markup rendered from
 * the parsed fields (twiml_render: bridge, forward, silent reject, a gather whose
 * prompt and URL come from the input), and the PIN path (the Digits of a gather
 * callback through form_digits, pin_valid and pin_attempt_next). Must never
 * crash, leak or read out of bounds.
 * Input layout: first line = signature header, rest = form body. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/pin.h"
#include "hooks/twilio_sig.h"
#include "hooks/twiml.h"
#include "util/crypto.h"
#include "util/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		crypto_init();
		inited = 1;
	}
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t sig_len = nl ? (size_t)(nl - s) : 0;
	struct arena a = ARENA_INIT;
	char *sig = arena_strndup(&a, s, sig_len);
	const char *body = nl ? nl + 1 : s;
	size_t body_len = size - (size_t)(body - s);
	struct form f;
	if (form_parse(&a, body, body_len, &f) == 0) {
		twilio_sig_check(TWILIO_SIG_TWILIO, "token", "https://m.example/hooks/twilio/voice", &f, body, body_len, sig);
		twilio_sig_check(TWILIO_SIG_SIGNALWIRE, "token", "https://m.example:8443/hooks/signalwire/voice?x=1", &f,
				 body, body_len, sig);
		struct form empty = {0};
		twilio_sig_check(TWILIO_SIG_TWILIO, "token", "https://m.example/h?bodySHA256=abc", &empty, body,
				 body_len, sig);
		const char *media[1] = {form_get(&f, "MediaUrl0")};
		const char *to = form_get(&f, "To"), *from = form_get(&f, "From");
		struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = to ? to : "", .from = from ? from : ""};
		struct twiml_args args = {.status_url = "u", .say = "s", .body = form_get(&f, "Body"), .media = media,
					  .n_media = media[0] != NULL};
		struct buf out;
		buf_init(&out);
		twiml_render(&out, &d, &args);
		d.kind = DECISION_BRIDGE;
		twiml_render(&out, &d, &args);
		args.say = NULL; /* silent reject */
		d.kind = DECISION_REJECT;
		twiml_render(&out, &d, &args);
		const char *digits = form_digits(&a, form_get(&f, "Digits"));
		if (digits != NULL && pin_valid(digits))
			out.len = 0;
		args.say = form_get(&f, "Body");
		args.gather_url = form_get(&f, "To") ? form_get(&f, "To") : "u";
		args.gather_digits = 8;
		args.gather_timeout = pin_attempt_next(form_get(&f, "attempt"), 3);
		args.gather_redirect = (int)(size & 1);
		d.kind = DECISION_GATHER;
		twiml_render(&out, &d, &args);
		buf_free(&out);
	}
	arena_free(&a);
	return 0;
}
