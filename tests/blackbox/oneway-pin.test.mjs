// SPDX-License-Identifier: MIT
// One-way sessions and the PIN unknown-caller policy (docs/POLICY.md "One-way sessions", the
// hotline agent on a borrowed phone): a caller maskd cannot place on a number carrying open
// one-way sessions is asked for a PIN when the service's policy is pin; the PIN of an open
// one-way session on that number bridges it to the session's respondent, who sees the branded
// number, recorded on that session as from its hidden participant; a wrong PIN asks again up
// to pin_attempts, then the PIN policy's refusal; a closed session's PIN is a wrong PIN; a
// two-way session's PIN behaves as on the PIN number (a participant of it is bridged, anyone
// else is wrong). The respondent's PIN-less call back still reaches the agent; with the reject
// or forward policies nothing changes. And an agent with several open sessions who texts is
// answered with a note to call instead, nothing relayed (Twilio in markup, Telnyx and Vonage
// through their REST APIs). Every dialect with a gather; webhooks signed as each carrier signs
// them and answers compared with the carriers' SDKs (the helpers of policy-dialects.test.mjs).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import querystring from 'node:querystring';
import { after, before, describe, test } from 'node:test';

import plivo from 'plivo';
import Telnyx from 'telnyx';
import { TelnyxWebhook } from 'telnyx/lib/webhooks';
import { verifySignature } from '@vonage/jwt';
import { SMS } from '@vonage/sms';
import { Connect, NCCOBuilder, Record, Talk } from '@vonage/voice';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addNumber, addPool, assertLogClean, assertNoRealNumbersAny, closeSession, createService, expectStatus, interactions,
  messageParams, postSession, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const require = createRequire(import.meta.url);
const jsonwebtoken = createRequire(require.resolve('@vonage/jwt'))('jsonwebtoken');
const { Auth, AlgorithmTypes } = createRequire(require.resolve('@vonage/sms'))('@vonage/auth');

const ASK = 'Please enter your PIN, then press the pound key.';
const INVALID_ASK = `That PIN is not valid. ${ASK}`;
const GOODBYE = 'That PIN is not valid. Goodbye.';
const UNKNOWN_MESSAGE = 'Unknown caller, goodbye.';
const SEVERAL = 'You have several open conversations on this number: call it to choose one.';
const PIN_DIGITS = 8;
const GATHER_TIMEOUT = 8;
const SUPPORT = proxy(99, '415'); // the forward policy's fallback line (not secret)
assertValid(SUPPORT);

// ---------------------------------------------------------------------------------------
// A stand-in for the carriers' REST APIs (telnyx, plivo, vobiz, vonage; maskd's sends and
// the SDKs' reference sends under their own path prefixes).

const captured = [];
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    captured.push({ method: req.method, url: req.url, headers: req.headers, body });
    res.setHeader('Content-Type', 'application/json');
    if (req.url.includes('/sms/json')) {
      const to = (() => { try { return JSON.parse(body).to; } catch { return ''; } })();
      res.end(JSON.stringify({ 'message-count': '1', messages: [{ to, 'message-id': crypto.randomUUID(), status: '0' }] }));
    } else if (req.url.includes('/v2/messages')) {
      res.end(JSON.stringify({ data: { id: crypto.randomUUID(), record_type: 'message', type: 'SMS' } }));
    } else {
      res.statusCode = 202;
      res.end(JSON.stringify({ api_id: crypto.randomUUID(), message: 'message(s) queued', message_uuid: [crypto.randomUUID()] }));
    }
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
const API = `http://127.0.0.1:${capture.address().port}`;
after(() => new Promise((resolve) => capture.close(resolve)));

const d = useDaemon({
  env: {
    MASKD_TELNYX_API_URL: `${API}/telnyx`,
    MASKD_PLIVO_API_URL: `${API}/plivo`,
    MASKD_VOBIZ_API_URL: `${API}/vobiz`,
    MASKD_VONAGE_API_URL: `${API}/vonage`,
    MASKD_SEND_RETRY_MS: '20',
  },
});
const sendsTo = (prefix) => captured.filter((r) => r.url.startsWith(`${prefix}/`));

// ---------------------------------------------------------------------------------------
// Signing, per carrier (as in signalwire/telnyx/plivo/vonage.test.mjs)

// Telnyx: Ed25519 over `${timestamp}|${body}`, checked first with the SDK's verifier.
const TELNYX_KEY = (() => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  return { publicB64: publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64'), privateKey };
})();
const TELNYX_ACCOUNT = crypto.randomUUID();
const TELNYX_API_KEY = `KEY${crypto.randomBytes(12).toString('hex')}_test`;
async function telnyxSigned(body) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = crypto.sign(null, Buffer.from(`${timestamp}|${body}`), TELNYX_KEY.privateKey).toString('base64');
  const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp };
  await new TelnyxWebhook(TELNYX_KEY.publicB64).verify(body, headers);
  return headers;
}

// Plivo / Vobiz: X-Plivo-Signature-V3 (plivo-node's v3Security construction), checked with
// plivo.validateV3Signature; Vobiz accepts the same reading (PROVIDERS.md §3.4).
const hmac64 = (token, s) => crypto.createHmac('sha256', token).update(s, 'utf8').digest('base64');
const baseUrl = (url) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };
const nonce = () => String(crypto.randomInt(1e9, 1e10 - 1)) + String(crypto.randomInt(1e9, 1e10 - 1));
function plivoV3String(url, params) {
  const u = new URL(url);
  const q = querystring.parse(u.search.slice(1));
  const sorted = (o, f) => Object.keys(o).sort().flatMap((k) => [].concat(o[k]).sort().map((v) => f(k, v)));
  const qs = sorted(q, (k, v) => `${k}=${v}`).join('&');
  const hasP = Object.keys(params).length > 0;
  let s = baseUrl(url);
  if (qs || hasP) s += `?${qs}`;
  if (qs && hasP) s += '.';
  return s + sorted(params, (k, v) => k + v).join('');
}
function plivoV3(url, params, token, n) {
  const sig = hmac64(token, `${plivoV3String(url, params)}.${n}`);
  assert.ok(plivo.validateV3Signature('POST', url, n, token, sig, params), 'plivo.validateV3Signature rejects the test signature');
  return sig;
}
function plivoV2(url, token, n) {
  const sig = hmac64(token, baseUrl(url) + n);
  assert.ok(plivo.validateSignature(url, n, sig, token), 'plivo.validateSignature rejects the test signature');
  return sig;
}
const PLIVO_AUTH_ID = `MA${crypto.randomBytes(9).toString('hex').toUpperCase()}`;

// Vonage: HS256 JWT (payload_hash over a POST body), verified by @vonage/jwt; SMS "sig".
const VONAGE_SECRET = `vgsig_${crypto.randomBytes(16).toString('hex')}`;
const VONAGE_API_KEY = 'abcd1234';
const VONAGE_API_SECRET = `s${crypto.randomBytes(8).toString('hex')}`;
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
function vonageBearer(body) {
  const claims = { iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), iss: 'Vonage', application_id: crypto.randomUUID() };
  if (body !== undefined) claims.payload_hash = sha256hex(body);
  const token = jsonwebtoken.sign(claims, VONAGE_SECRET, { algorithm: 'HS256' });
  assert.equal(verifySignature(token, VONAGE_SECRET), true, '@vonage/jwt rejects the test token');
  return `Bearer ${token}`;
}
const vonageMessageId = () => crypto.randomBytes(8).toString('hex').toUpperCase();
function vonageSmsParams({ from, to, text, messageId = vonageMessageId() }) {
  const p = {
    msisdn: bare(from), to: bare(to), messageId, text, type: 'text',
    keyword: text.split(' ')[0].toUpperCase(), 'api-key': VONAGE_API_KEY,
    'message-timestamp': new Date().toISOString().slice(0, 19).replace('T', ' '),
    timestamp: String(Math.floor(Date.now() / 1000)), nonce: crypto.randomUUID(),
  };
  let signed = '';
  for (const k of Object.keys(p).sort()) signed += `&${k}=${p[k].replace(/[&=]/g, '_')}`;
  p.sig = crypto.createHash('md5').update(signed + VONAGE_SECRET).digest('hex');
  assert.ok(new SMS(new Auth({ apiKey: VONAGE_API_KEY, apiSecret: VONAGE_API_SECRET }))
    .verifySignature(p.sig, p, VONAGE_SECRET, AlgorithmTypes.md5hash), '@vonage/sms verifySignature');
  return p;
}

const bare = (e164) => e164.replace(/^\+/, '');
const statusUrl = (dialect, intId) => `${PUBLIC_URL}/hooks/${dialect}/status?interaction=${intId}`;
const intIdOf = (text) => /[?&]interaction=(int_[A-Za-z0-9_-]+)/.exec(text ?? '')?.[1] ?? null;

// ---------------------------------------------------------------------------------------
// One adapter per dialect: its credentials, its webhooks and the answers its SDK builds.
//   call(from, to, callId)                     the inbound-call webhook
//   gather(from, to, {attempt, digits, callId, unsigned})   the gather action's request
//   text(from, to, body)                        an inbound text
//   bridge(res, {callerId, real})               expected session bridge (with callbacks)
//   spoken(message)                             expected "say, then hang up"
//   reply({to, from, body})                     expected reply markup (markup dialects only)
//   rest                                        REST send prefix (telnyx, vonage)

const form = (params) => ({ body: new URLSearchParams(params).toString(), ct: 'application/x-www-form-urlencoded' });

const ADAPTERS = {
  signalwire: {
    carriers: () => ({ signalwire: { signing_key: d.tokens.signalwire } }),
    call: (from, to, callId) => d.webhook('signalwire', 'voice', voiceParams('signalwire', { from, to, callSid: callId })),
    gather: (from, to, { attempt, digits, callId, unsigned }) => {
      const p = { ...voiceParams('signalwire', { from, to, callSid: callId }), CallStatus: 'in-progress' };
      if (digits !== undefined) { p.Digits = digits; p.FinishedOnKey = '#'; }
      return d.webhook('signalwire', 'gather', p, { query: { attempt }, ...(unsigned ? { signature: null } : {}) });
    },
    text: (from, to, body, messageSid) => d.webhook('signalwire', 'message',
      messageParams('signalwire', { from, to, body, messageSid })),
    newId: () => crypto.randomUUID(),
    ack: () => markup.empty('signalwire'),
    bridge: ({ callerId, real: r, intId }) => markup.bridge('signalwire', { callerId, real: r, intId }),
    spoken: (message) => markup.rejectVoice('signalwire', message),
    reply: ({ to, from, body }) => markup.reply('signalwire', { to, from, body }),
  },

  telnyx: {
    carriers: () => ({ telnyx: { public_key: TELNYX_KEY.publicB64, api_key: TELNYX_API_KEY } }),
    async call(from, to, callId = `v3:${crypto.randomBytes(24).toString('base64url')}`) {
      return this.post('voice', this.texml(from, to, callId));
    },
    async gather(from, to, { attempt, digits, callId = `v3:${crypto.randomBytes(24).toString('base64url')}`, unsigned }) {
      const extra = { CallStatus: 'in-progress' };
      if (digits !== undefined) extra.Digits = digits;
      return this.post('gather', this.texml(from, to, callId, extra), { query: { attempt }, unsigned });
    },
    newId: () => crypto.randomUUID(),
    /** The Dial's recordingStatusCallback. */
    recording(intId, callId, id, url) {
      return this.post('status', {
        AccountSid: TELNYX_ACCOUNT, CallSid: callId, RecordingSid: id, RecordingUrl: url, RecordingStatus: 'completed',
        RecordingDuration: '41',
      }, { query: { interaction: intId } });
    },
    newCallId: () => `v3:${crypto.randomBytes(24).toString('base64url')}`,
    /** The callee's <Number url> fetch of the consent notice. */
    consent(intId) {
      const callId = `v3:${crypto.randomBytes(24).toString('base64url')}`;
      return this.post('consent', this.texml(real(1), proxy(1), callId, { CallStatus: 'in-progress' }),
        { query: { interaction: intId } });
    },
    async text(from, to, text, id = crypto.randomUUID()) {
      const body = JSON.stringify({
        data: {
          event_type: 'message.received', id: crypto.randomUUID(), occurred_at: new Date().toISOString(), record_type: 'event',
          payload: {
            record_type: 'message', direction: 'inbound', encoding: 'GSM-7', errors: [], id, media: [],
            from: { carrier: 'T-Mobile USA', line_type: 'long_code', phone_number: from, status: 'webhook_delivered' },
            messaging_profile_id: crypto.randomUUID(), parts: 1, text, type: 'SMS',
            to: [{ carrier: 'Telnyx', line_type: 'Wireless', phone_number: to, status: 'webhook_delivered' }],
          },
        },
        meta: { attempt: 1, delivered_to: `${PUBLIC_URL}/hooks/telnyx/message` },
      });
      return d.request('POST', '/hooks/telnyx/message', {
        kind: 'webhook', headers: { 'Content-Type': 'application/json', ...(await telnyxSigned(body)) }, body,
      });
    },
    texml: (from, to, callId, extra = {}) => ({
      AccountSid: TELNYX_ACCOUNT, CallSid: callId, CallSidLegacy: callId, CallStatus: 'ringing',
      CallbackSource: 'call-progress-events', ConnectionId: '1234567890', From: from, SequenceNumber: '1',
      Timestamp: new Date().toISOString(), To: to, ...extra,
    }),
    async post(event, params, { query, unsigned } = {}) {
      const { body, ct } = form(params);
      const qs = query ? `?${new URLSearchParams(query)}` : '';
      const headers = { 'Content-Type': ct, ...(unsigned ? {} : await telnyxSigned(body)) };
      return d.request('POST', `/hooks/telnyx/${event}${qs}`, { kind: 'webhook', headers, body });
    },
    // TeXML's <Dial>/<Number> are TwiML's, with maskd's telnyx status URL (telnyx.test.mjs)
    bridge: ({ callerId, real: r, intId }) => markup.bridge('twilio', { callerId, real: r, intId })
      .replaceAll('/hooks/twilio/status', '/hooks/telnyx/status'),
    spoken: (message) => markup.rejectVoice('twilio', message),
    rest: '/telnyx',
    /** What the telnyx SDK's messages.send writes for a reply (no webhook_url). */
    async sdkSend({ to, from, body }) {
      const client = new Telnyx({ apiKey: TELNYX_API_KEY, baseURL: `${API}/telnyx-sdk/v2`, maxRetries: 0 });
      const n = captured.length;
      await client.messages.send({ from, to, text: body });
      return captured[n];
    },
    restAuth: `Bearer ${TELNYX_API_KEY}`,
  },

  vonage: {
    carriers: () => ({
      vonage: { signature_secret: VONAGE_SECRET, api_key: VONAGE_API_KEY, api_secret: VONAGE_API_SECRET },
    }),
    call(from, to, callId = crypto.randomUUID()) {
      const q = new URLSearchParams({
        from: bare(from), to: bare(to), uuid: callId, conversation_uuid: `CON-${crypto.randomUUID()}`,
        region_url: 'https://api-us-3.vonage.com',
      });
      return d.request('GET', `/hooks/vonage/voice?${q}`, { kind: 'webhook', headers: { Authorization: vonageBearer() } });
    },
    // the input action's result: a JSON POST to its eventUrl, dtmf.digits
    gather(from, to, { attempt, digits, callId = crypto.randomUUID(), unsigned }) {
      const body = JSON.stringify({
        speech: { results: [] },
        dtmf: { digits: digits ?? '', timed_out: digits === undefined },
        from: bare(from), to: bare(to), uuid: callId, conversation_uuid: `CON-${crypto.randomUUID()}`,
        timestamp: new Date().toISOString(),
      });
      const headers = { 'Content-Type': 'application/json' };
      if (!unsigned) headers.Authorization = vonageBearer(body);
      return d.request('POST', `/hooks/vonage/gather?attempt=${attempt}`, { kind: 'webhook', headers, body });
    },
    newId: vonageMessageId,
    /** The record action's event (no uuid, no status). */
    recording(intId, callId, id, url) {
      const body = JSON.stringify({
        start_time: new Date().toISOString(), recording_url: url, size: 26378, recording_uuid: id,
        end_time: new Date().toISOString(), conversation_uuid: `CON-${crypto.randomUUID()}`, timestamp: new Date().toISOString(),
      });
      return d.request('POST', `/hooks/vonage/status?interaction=${intId}`, {
        kind: 'webhook', headers: { 'Content-Type': 'application/json', Authorization: vonageBearer(body) }, body,
      });
    },
    newCallId: () => crypto.randomUUID(),
    /** The callee's onAnswer fetch of the consent notice (GET, signed like an answer_url). */
    consent(intId) {
      const q = new URLSearchParams({ interaction: intId, uuid: crypto.randomUUID(), conversation_uuid: `CON-${crypto.randomUUID()}` });
      return d.request('GET', `/hooks/vonage/consent?${q}`, { kind: 'webhook', headers: { Authorization: vonageBearer() } });
    },
    text(from, to, body, messageId) {
      return d.request('GET',
        `/hooks/vonage/message?${new URLSearchParams(vonageSmsParams({ from, to, text: body, messageId }))}`,
        { kind: 'webhook' });
    },
    bridge: ({ callerId, real: r, intId }) => JSON.stringify(new NCCOBuilder()
      .addAction(new Connect({ type: 'phone', number: bare(r) }, bare(callerId), undefined, 'synchronous',
        undefined, undefined, undefined, statusUrl('vonage', intId), 'POST'))
      .build()),
    spoken: (message) => JSON.stringify(new NCCOBuilder().addAction(new Talk(message)).build()),
    rest: '/vonage',
    /** What @vonage/sms's send() writes for a reply. */
    async sdkSend({ to, from, body }) {
      const sdk = new SMS(new Auth({ apiKey: VONAGE_API_KEY, apiSecret: VONAGE_API_SECRET }), { restHost: `${API}/vonage-sdk` });
      const n = captured.length;
      await sdk.send({ from: bare(from), to: bare(to), text: body });
      return captured[n];
    },
    restAuth: `Basic ${Buffer.from(`${VONAGE_API_KEY}:${VONAGE_API_SECRET}`).toString('base64')}`,
  },
};

for (const dialect of ['plivo', 'vobiz']) {
  const hook = (event, params, { query, unsigned } = {}) => {
    const qs = new URLSearchParams(query ?? {}).toString();
    const path = `/hooks/${dialect}/${event}${qs ? `?${qs}` : ''}`;
    const url = PUBLIC_URL + path;
    const token = d.tokens[dialect];
    const prefix = dialect === 'vobiz' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature';
    const n = nonce();
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (!unsigned) {
      if (event === 'message') {
        headers[`${prefix}-V2`] = plivoV2(url, token, n);
        headers[`${prefix}-V2-Nonce`] = n;
      } else {
        headers[`${prefix}-V3`] = plivoV3(url, params, token, n);
        headers[`${prefix}-V3-Nonce`] = n;
      }
    }
    return d.request('POST', path, { kind: 'webhook', headers, body: new URLSearchParams(params).toString() });
  };
  const voice = (from, to, callId) => ({
    ALegRequestUUID: '', ALegUUID: callId, BillRate: '0.0085', CallStatus: 'ringing', CallUUID: callId,
    CallerName: from, Direction: 'inbound', Event: 'StartApp', From: bare(from), To: bare(to),
    RequestUUID: callId, STIRAttestation: 'Not Applicable', SessionStart: '2026-01-02 03:04:05.678901',
  });
  ADAPTERS[dialect] = {
    carriers: () => ({ [dialect]: { auth_id: PLIVO_AUTH_ID, auth_token: d.tokens[dialect] } }),
    call: (from, to, callId = crypto.randomUUID()) => hook('voice', voice(from, to, callId)),
    gather: (from, to, { attempt, digits, callId = crypto.randomUUID(), unsigned }) => {
      const p = { ...voice(from, to, callId), CallStatus: 'in-progress' };
      if (digits !== undefined) p.Digits = digits;
      return hook('gather', p, { query: { attempt }, unsigned });
    },
    newId: () => crypto.randomUUID(),
    ack: () => plivo.Response().toXML(),
    /** The <Record> callbackUrl. */
    recording: (intId, callId, id, url) => hook('status', {
      CallUUID: callId, RecordingID: id, RecordUrl: url, RecordingDuration: '41', RecordingDurationMs: '41000',
      RecordingStartMs: String(Date.now() - 41000), RecordingEndMs: String(Date.now()),
    }, { query: { interaction: intId } }),
    newCallId: () => crypto.randomUUID(),
    /** The confirmSound fetch when the callee answers (a signed POST like a voice webhook). */
    consent: (intId) => {
      const callId = crypto.randomUUID();
      return hook('consent', { ...voice(real(1), proxy(1), callId), CallStatus: 'in-progress' }, { query: { interaction: intId } });
    },
    text: (from, to, text, id = crypto.randomUUID()) => hook('message', {
      From: bare(from), To: bare(to), Type: 'sms', Text: text, MessageUUID: id, Units: '1',
      TotalRate: '0.00000', TotalAmount: '0.00000', MessageIntent: '', PowerpackUUID: '',
    }),
    // plivo.test.mjs's bridgeXml
    bridge: ({ callerId, real: r, intId }) => {
      const res = plivo.Response();
      const s = statusUrl(dialect, intId);
      res.addDial({ callerId: bare(callerId), action: s, method: 'POST', redirect: 'false', callbackUrl: s, callbackMethod: 'POST' })
        .addNumber(bare(r));
      return res.toXML();
    },
    spoken: (message) => {
      const res = plivo.Response();
      res.addSpeak(message);
      res.addHangup();
      return res.toXML();
    },
    // a forward (plivo.test.mjs's smsXml) without the callbackUrl
    reply: ({ to, from, body }) => {
      const res = plivo.Response();
      res.addMessage(body, { src: bare(from), dst: bare(to), type: 'sms' });
      return res.toXML();
    },
  };
}

ADAPTERS.twilio = {
  carriers: () => ({ twilio: { auth_token: d.tokens.twilio } }),
  call: (from, to, callId) => d.webhook('twilio', 'voice', voiceParams('twilio', { from, to, callSid: callId })),
  gather: (from, to, { attempt, digits, callId, unsigned }) => {
    const p = { ...voiceParams('twilio', { from, to, callSid: callId }), CallStatus: 'in-progress' };
    if (digits !== undefined) { p.Digits = digits; p.FinishedOnKey = '#'; }
    return d.webhook('twilio', 'gather', p, { query: { attempt }, ...(unsigned ? { signature: null } : {}) });
  },
  text: (from, to, body, messageSid) => d.webhook('twilio', 'message', messageParams('twilio', { from, to, body, messageSid })),
  bridge: ({ callerId, real: r, intId }) => markup.bridge('twilio', { callerId, real: r, intId }),
  spoken: (message) => markup.rejectVoice('twilio', message),
  reply: ({ to, from, body }) => markup.reply('twilio', { to, from, body }),
};

// ---------------------------------------------------------------------------------------
// Assertions

/** The REST sends of dialect A that follow index `from` once `n` of them arrived. */
async function restSends(A, from, n, what) {
  const all = await waitFor(what, () => sendsTo(A.rest).length >= from + n && sendsTo(A.rest));
  return all.slice(from).map((r) => JSON.parse(r.body));
}

function assertAnswer(res, expected, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.equal(res.text, expected, `${what}: differs from the SDK's answer`);
}

/** No real number in any API answer since `mark`, nor in any webhook answer that is not a
 * bridge or a forward/reply (the only markup allowed to name one). */
function assertClean(reals, mark) {
  for (const a of d.transcript.slice(mark)) {
    if (a.kind === 'webhook' && a.status === 200 && /<(Dial|Message)[ >]|"action":"connect"/.test(a.text ?? '')) continue;
    assertNoRealNumbersAny(a.text ?? '', reals, `answer to ${a.method} ${a.path.slice(0, 120)} (${a.status})`);
  }
}

const DIALECTS = ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage'];

DIALECTS.forEach((dialect, k) => {
  const A = ADAPTERS[dialect];
  const PIN_NUMBER = proxy(10 * k, '629');
  const BRANDED = proxy(10 * k + 1, '629');
  const OTHER = proxy(10 * k + 2, '629'); // the two-way session's number
  // AGENT: hidden in s1 (open) and s3 (closed); R1, R3 their respondents; BORROWED: the phone the
  // agent borrows, in no session; T1–T2: a two-way session on OTHER; AGENT2: hidden in s4 and s5
  const [AGENT, R1, R3, BORROWED, T1, T2, AGENT2, R4, R5] = Array.from({ length: 9 }, (_, i) => real(6000 + 20 * k + i));
  const REALS = [AGENT, R1, R3, BORROWED, T1, T2, AGENT2, R4, R5];
  assertValid(PIN_NUMBER, BRANDED, OTHER, REALS);
  const gatherAnswer = (attempt, prompt) => markup.expectedGather(dialect,
    { prompt, url: markup.gatherUrl(dialect, attempt), digits: PIN_DIGITS, timeout: GATHER_TIMEOUT });
  const wrongPin = (...pins) => ['00000000', '11111111', '22222222'].find((w) => !pins.includes(w));

  describe(`${dialect}: a one-way PIN from a phone maskd cannot place`, () => {
    let svc;
    let s1; // AGENT (hidden) → R1, open
    let s3; // AGENT (hidden) → R3, closed
    let tw; // T1–T2, two-way, on OTHER

    before(async () => {
      await d.ready;
      d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
      d.tokens.vobiz ??= `vb_${crypto.randomBytes(16).toString('hex')}`;
      const mark = d.transcript.length;
      svc = await createService(d, {
        name: `Hotline via ${dialect}`, twilio: false, signalwire: false, carriers: A.carriers(),
        defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_MESSAGE },
        unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER, pin_attempts: 2 },
      });
      await addNumber(d, svc.id, PIN_NUMBER, { carrier: dialect, reserved: true });
      await addPool(d, svc.id, [BRANDED, OTHER], { carrier: dialect });
      expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { branded_number: BRANDED }), 200, 'branded number');
      const oneWay = (agent, respondent) => postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: agent, label: 'Agent', hidden: true }, { number: respondent, label: 'Customer' }],
      });
      s1 = expectStatus(await oneWay(AGENT, R1), 201, 's1');
      s3 = expectStatus(await oneWay(AGENT, R3), 201, 's3');
      await closeSession(d, s3.id);
      tw = expectStatus(await postSession(d, svc.id, {
        participants: [{ number: T1, label: 'Guest', proxy_number: OTHER }, { number: T2, label: 'Host', proxy_number: OTHER }],
      }), 201, 'two-way session on OTHER');
      for (const s of [s1, s3]) assert.equal(s.participants[1].proxy_number, BRANDED);
      assert.match(s1.pin, /^\d{6}$/);
      assert.match(tw.pin, /^\d{6}$/);
      assertClean(REALS, mark);
    });

    test('the right PIN: bridged to the respondent with the branded number as caller id, recorded as from the agent', async () => {
      const mark = d.transcript.length;
      const callId = A.newCallId ? A.newCallId() : crypto.randomUUID();
      assertAnswer(await A.call(BORROWED, BRANDED, callId), gatherAnswer(1, ASK), 'borrowed phone calls the branded number');
      const ok = await A.gather(BORROWED, BRANDED, { attempt: 1, digits: s1.pin, callId });
      const intId = intIdOf(ok.text);
      assert.ok(intId, `right PIN: no session bridge in HTTP ${ok.status} ${ok.text}`);
      assertAnswer(ok, A.bridge({ callerId: BRANDED, real: R1, intId }), 'right PIN');
      for (const r of [AGENT, BORROWED]) assert.ok(!ok.text.includes(bare(r)), `the bridge names ${r}: ${ok.text}`);
      const it = (await interactions(d, s1.id)).find((i) => i.id === intId);
      assert.ok(it, `interaction ${intId} not on s1`);
      assert.equal(it.from_participant, s1.participants[0].id, 'recorded as from the hidden participant');
      assert.equal(it.to_participant, s1.participants[1].id);
      assert.equal(it.channel, 'voice');
      assertClean(REALS, mark);
    });

    test('a wrong PIN asks again; a wrong PIN at the last attempt gets the PIN policy\'s refusal', async () => {
      const callId = A.newCallId ? A.newCallId() : crypto.randomUUID();
      const wrong = wrongPin(s1.pin, s3.pin, tw.pin);
      assertAnswer(await A.call(BORROWED, BRANDED, callId), gatherAnswer(1, ASK), 'call');
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: wrong, callId }), gatherAnswer(2, INVALID_ASK),
        'first wrong PIN');
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 2, digits: wrong, callId }), A.spoken(GOODBYE),
        'wrong PIN at the last attempt');
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: '12x4', callId }), gatherAnswer(2, INVALID_ASK),
        'not digits: a wrong attempt');
      const unsigned = await A.gather(BORROWED, BRANDED, { attempt: 1, digits: s1.pin, unsigned: true });
      assert.equal(unsigned.status, 403, `unsigned gather: HTTP ${unsigned.status} ${unsigned.text}`);
    });

    test('a closed one-way session\'s PIN is a wrong PIN; nothing is recorded on it', async () => {
      const before = (await interactions(d, s3.id)).length;
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: s3.pin }), gatherAnswer(2, INVALID_ASK),
        'PIN of the closed session');
      assert.equal((await interactions(d, s3.id)).length, before, 'an interaction on the closed session');
    });

    test('a two-way session\'s PIN on the branded number: as on the PIN number', async () => {
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: tw.pin }), gatherAnswer(2, INVALID_ASK),
        'a stranger with a two-way PIN');
      const ok = await A.gather(T1, BRANDED, { attempt: 1, digits: tw.pin });
      const intId = intIdOf(ok.text);
      assert.ok(intId, `a participant's two-way PIN: no bridge in HTTP ${ok.status} ${ok.text}`);
      assertAnswer(ok, A.bridge({ callerId: OTHER, real: T2, intId }), 'a participant of the two-way session');
    });

    test('no PIN asked of those maskd can place: the respondent reaches the agent, the agent its respondent', async () => {
      const back = await A.call(R1, BRANDED);
      const intId = intIdOf(back.text);
      assert.ok(intId, `respondent: no bridge in HTTP ${back.status} ${back.text}`);
      assertAnswer(back, A.bridge({ callerId: BRANDED, real: AGENT, intId }), 'respondent calls back');
      const out = await A.call(AGENT, BRANDED);
      const outId = intIdOf(out.text);
      assert.ok(outId, `agent: no bridge in HTTP ${out.status} ${out.text}`);
      assertAnswer(out, A.bridge({ callerId: BRANDED, real: R1, intId: outId }), 'registered agent');
      // the closed session's respondent, inside the callback window, reaches the agent too
      const r3 = await A.call(R3, BRANDED);
      const r3Id = intIdOf(r3.text);
      assert.ok(r3Id, `closed session's respondent: no bridge in HTTP ${r3.status} ${r3.text}`);
      assertAnswer(r3, A.bridge({ callerId: BRANDED, real: AGENT, intId: r3Id }), 'closed session\'s respondent');
      // a number with no open one-way session: the PIN policy as before (refused)
      assertAnswer(await A.call(BORROWED, OTHER), A.spoken(UNKNOWN_MESSAGE), 'a stranger on a two-way number');
    });

    if (A.text) {
      test('an agent with several open sessions who texts gets a note to call; nothing is relayed', async () => {
        const mark = d.transcript.length;
        const s4 = expectStatus(await postSession(d, svc.id, {
          direction: 'one-way', participants: [{ number: AGENT2, hidden: true }, { number: R4 }],
        }), 201, 's4');
        const s5 = expectStatus(await postSession(d, svc.id, {
          direction: 'one-way', participants: [{ number: AGENT2, hidden: true }, { number: R5 }],
        }), 201, 's5');
        const before = A.rest ? sendsTo(A.rest).length : 0;
        const res = await A.text(AGENT2, BRANDED, 'Hello from the agent');
        assert.equal(res.status, 200, `agent text: HTTP ${res.status} ${res.text}`);
        if (A.rest) {
          // the note goes out through the REST API; a second text is the fence (the sender is FIFO)
          assert.equal((await A.text(AGENT2, BRANDED, 'Still there?')).status, 200);
          const sent = await restSends(A, before, 2, 'the notes to the agent');
          assert.equal(sent.length, 2, `sends: ${JSON.stringify(sent)}`);
          for (const m of sent) {
            assert.equal(m.text, SEVERAL, 'the note');
            assert.equal(bare(m.to), bare(AGENT2), 'sent to the agent');
            assert.equal(bare(m.from), bare(BRANDED), 'from the branded number');
          }
          const sdk = await A.sdkSend({ to: AGENT2, from: BRANDED, body: SEVERAL });
          assert.equal(sendsTo(A.rest)[before].body, sdk.body, 'the JSON body differs from the SDK\'s');
        } else {
          assertAnswer(res, A.reply({ to: AGENT2, from: BRANDED, body: SEVERAL }), 'the note in reply markup');
        }
        for (const r of [R4, R5]) assert.ok(!res.text.includes(bare(r)), `the answer names a respondent: ${res.text}`);
        for (const s of [s4, s5]) assert.deepEqual(await interactions(d, s.id), [], `something recorded on ${s.id}`);
        assertClean(REALS, mark);
      });
    }

    test('the reject and forward policies: no PIN asked on the branded number', async () => {
      expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { unknown_caller: { policy: 'reject' } }), 200, 'reject');
      assertAnswer(await A.call(BORROWED, BRANDED), A.spoken(UNKNOWN_MESSAGE), 'reject: the unknown-caller message');
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: s1.pin }), A.spoken(UNKNOWN_MESSAGE),
        'reject: a PIN typed anyway is refused');
      expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { unknown_caller: { policy: 'forward', fallback_number: SUPPORT } }),
        200, 'forward');
      assertAnswer(await A.call(BORROWED, BRANDED), markup.expectedBridgeWithoutCallbacks(dialect, { callerId: BRANDED, real: SUPPORT }),
        'forward: the fallback number');
      assertAnswer(await A.gather(BORROWED, BRANDED, { attempt: 1, digits: s1.pin }), A.spoken(UNKNOWN_MESSAGE),
        'forward: a PIN typed anyway is refused');
    });

    test('no real number of the test in the log', () => {
      assertLogClean(d, REALS);
    });
  });
});
