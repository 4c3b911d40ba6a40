// SPDX-License-Identifier: MIT
// The answers maskd must give to carrier webhooks, built with the carriers' own SDKs
// (twilio.twiml for Twilio, RestClient.LaML for SignalWire) for the same decision. Tests
// compare the daemon's answer with these strings exactly.

import twilio from 'twilio';
import { RestClient as SignalWire } from '@signalwire/compatibility-api';

import { PUBLIC_URL } from './daemon.mjs';

function builders(dialect) {
  if (dialect === 'twilio') return twilio.twiml;
  if (dialect === 'signalwire') return SignalWire.LaML;
  throw new Error(`unknown dialect ${dialect}`);
}

/** The status callback / Dial action URL of an interaction. */
export function statusUrl(dialect, intId) {
  return `${PUBLIC_URL}/hooks/${dialect}/status?interaction=${intId}`;
}

/** Bridge the caller to `real`, showing `callerId` (the callee's own proxy number). */
export function bridge(dialect, { callerId, real, intId }) {
  const r = new (builders(dialect).VoiceResponse)();
  const action = statusUrl(dialect, intId);
  const d = r.dial({ callerId, answerOnBridge: true, action });
  d.number({ statusCallback: action, statusCallbackEvent: 'initiated ringing answered completed' }, real);
  return r.toString();
}

/** Forward a message to `to` (the other's real number) from `from` (the other's proxy number). */
export function forward(dialect, { to, from, intId, body = '', media = [] }) {
  const r = new (builders(dialect).MessagingResponse)();
  const m = r.message({ to, from, action: statusUrl(dialect, intId) });
  if (body !== '') m.body(body);
  for (const url of media) m.media(url);
  return r.toString();
}

/** Reject a call: the service's unknown-caller message, then hang up. */
export function rejectVoice(dialect, message) {
  const r = new (builders(dialect).VoiceResponse)();
  r.say(message);
  r.hangup();
  return r.toString();
}

/** Reject a message / acknowledge a status callback: an empty response. */
export function empty(dialect) {
  return new (builders(dialect).MessagingResponse)().toString();
}

/** The interaction id named in a bridge or forward answer. */
export function interactionIdOf(xml) {
  const m = /[?&]interaction=(int_[A-Za-z0-9_-]+)/.exec(xml ?? '');
  return m ? m[1] : null;
}
