// SPDX-License-Identifier: MIT
// Twilio webhooks: signed with the twilio SDK (X-Twilio-Signature), answers compared with
// twilio.twiml's VoiceResponse / MessagingResponse.
// The cases themselves are in lib/webhook-suite.mjs (the same for every Twilio-like dialect).

import { webhookSuite } from './lib/webhook-suite.mjs';

webhookSuite('twilio');
