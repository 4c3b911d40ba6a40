// SPDX-License-Identifier: MIT
// SignalWire (cXML) webhooks: signed with @signalwire/compatibility-api (X-SignalWire-Signature),
// answers compared with RestClient.LaML's VoiceResponse / MessagingResponse.
// The cases themselves are in lib/webhook-suite.mjs (the same for every Twilio-like dialect).

import { webhookSuite } from './lib/webhook-suite.mjs';

webhookSuite('signalwire');
