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

/** A text back to its sender (`to`) from the proxy number it texted (`from`), with no
 * status callback: the ended message, HELP text, opted-out notice. */
export function reply(dialect, { to, from, body }) {
  const r = new (builders(dialect).MessagingResponse)();
  r.message({ to, from }).body(body);
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

// ---------------------------------------------------------------- policy: every dialect
// Gather (PIN entry), refusing without a word, and a bridge without callbacks, built
// with each carrier's own builder: twilio.twiml (Twilio; TeXML for Telnyx, which has no
// builder of its own), RestClient.LaML (SignalWire), plivo.Response (Plivo; Vobiz's
// <Gather> is plivo's GetInput renamed, PROVIDERS.md §1.5), @vonage/voice NCCOBuilder.
// Import declarations are hoisted: these are module imports like the ones above.
import plivo from 'plivo';
import { Connect, Input, NCCOBuilder, Talk } from '@vonage/voice';

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const noPlus = (n) => (n.startsWith('+') ? n.slice(1) : n);

/** The URL maskd's gather answers post the digits to (dialect.h HOOK_GATHER). */
export function gatherUrl(dialect, attempt) {
  return `${PUBLIC_URL}/hooks/${dialect}/gather?attempt=${attempt}`;
}

/**
 * Ask for `digits` DTMF digits (finished early by '#'), saying `prompt` meanwhile,
 * waiting `timeout` seconds; the digits are POSTed to `url`, which is requested even
 * when nothing was entered. An empty or absent prompt: no Say/Speak/talk.
 *   twilio, signalwire  <Gather action numDigits finishOnKey="#" timeout actionOnEmptyResult="true">
 *   telnyx              the same without actionOnEmptyResult (TeXML has none), then <Redirect method="POST">url
 *   plivo               <GetDigits action method="POST" timeout digitTimeout finishOnKey="#" numDigits>, <Redirect>
 *   vobiz               <Gather action method="POST" inputType="dtmf" executionTimeout(5..60) finishOnKey="#" numDigits>, <Redirect>
 *   vonage              talk(bargeIn) + input{dtmf:{timeOut(1..10), maxDigits(1..20), submitOnHash}, eventUrl, POST}
 */
export function expectedGather(dialect, { prompt, url, digits, timeout }) {
  const say = prompt !== undefined && prompt !== null && prompt !== '';
  if (dialect === 'twilio' || dialect === 'signalwire' || dialect === 'telnyx') {
    const b = dialect === 'signalwire' ? SignalWire.LaML : twilio.twiml;
    const r = new b.VoiceResponse();
    const attrs = { action: url, numDigits: digits, finishOnKey: '#', timeout };
    if (dialect !== 'telnyx') attrs.actionOnEmptyResult = true;
    const g = r.gather(attrs);
    if (say) g.say(prompt);
    if (dialect === 'telnyx') r.redirect({ method: 'POST' }, url);
    return r.toString();
  }
  if (dialect === 'plivo' || dialect === 'vobiz') {
    const r = new plivo.Response();
    const g = dialect === 'plivo'
      ? r.addGetDigits({ action: url, method: 'POST', timeout, digitTimeout: timeout, finishOnKey: '#', numDigits: digits })
      : r.addGetInput({
        action: url, method: 'POST', inputType: 'dtmf', executionTimeout: clamp(timeout, 5, 60), finishOnKey: '#',
        numDigits: digits,
      });
    if (say) g.addSpeak(prompt);
    r.addRedirect(url, { method: 'POST' });
    const xml = r.toXML();
    return dialect === 'vobiz' ? xml.replace(/<(\/?)GetInput\b/g, '<$1Gather') : xml;
  }
  if (dialect === 'vonage') {
    const b = new NCCOBuilder();
    if (say) b.addAction(new Talk(prompt, true));
    b.addAction(new Input(
      { timeOut: clamp(timeout, 1, 10), maxDigits: clamp(digits, 1, 20), submitOnHash: true }, undefined, url, 'POST',
    ));
    return JSON.stringify(b.build());
  }
  throw new Error(`unknown dialect ${dialect}`);
}

/** Refuse a call without a word: <Reject/>, <Hangup reason="rejected"/>, or the empty NCCO. */
export function expectedSilentReject(dialect) {
  if (dialect === 'twilio' || dialect === 'signalwire' || dialect === 'telnyx') {
    const r = new (dialect === 'signalwire' ? SignalWire.LaML : twilio.twiml).VoiceResponse();
    r.reject();
    return r.toString();
  }
  if (dialect === 'plivo' || dialect === 'vobiz') {
    const r = new plivo.Response();
    r.addHangup({ reason: 'rejected' });
    return r.toXML();
  }
  if (dialect === 'vonage') return JSON.stringify(new NCCOBuilder().build());
  throw new Error(`unknown dialect ${dialect}`);
}

/**
 * Bridge the caller to `real` showing `callerId`, with no status/action callback (a
 * forward of an unknown caller to the service's fallback number). No recording, no
 * limits.
 */
export function expectedBridgeWithoutCallbacks(dialect, { callerId, real }) {
  if (dialect === 'twilio' || dialect === 'signalwire' || dialect === 'telnyx') {
    const r = new (dialect === 'signalwire' ? SignalWire.LaML : twilio.twiml).VoiceResponse();
    r.dial({ callerId, answerOnBridge: true }).number(real);
    return r.toString();
  }
  if (dialect === 'plivo' || dialect === 'vobiz') {
    const r = new plivo.Response();
    r.addDial({ callerId: noPlus(callerId) }).addNumber(noPlus(real));
    return r.toXML();
  }
  if (dialect === 'vonage') {
    const b = new NCCOBuilder();
    // a phone endpoint as the package's (unexported) PhoneEndpoint class builds it
    b.addAction(new Connect({ type: 'phone', number: noPlus(real) }, noPlus(callerId), undefined, 'synchronous'));
    return JSON.stringify(b.build());
  }
  throw new Error(`unknown dialect ${dialect}`);
}
