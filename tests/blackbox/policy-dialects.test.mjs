// SPDX-License-Identifier: MIT
// The pool and session policy's answers in every non-Twilio dialect (docs/POLICY.md, docs/CARRIERS.md
// "PIN entry, silent refusals and replies in every dialect"): PIN entry by gather, the
// silent refusal of a blocked session, the unknown-caller forward, and HELP replies.
// Each dialect's webhooks are signed as that carrier signs them (the same helpers as its
// own test file: the SignalWire SDK, Ed25519 for Telnyx, Plivo V3 for Plivo and Vobiz,
// HS256 JWTs and the SMS "sig" for Vonage); answers are compared byte for byte with
// lib/markup.mjs's builders (the carriers' own SDKs). Texts of Telnyx and Vonage go out
// through their REST APIs, captured by a local server and compared with the SDKs' sends.

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
import twilio from 'twilio';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addNumber, addPool, assertLogClean, assertNoRealNumbersAny, closeSession, createService, createSession, expectStatus,
  interactions, messageParams, patchSession, voiceParams,
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
const HELP = 'Rides masked messaging. Reply STOP to opt out. Help: rides.example/help';
const OPTED_OUT = 'Your message was not delivered: the recipient has opted out of texts from this number.';
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

// ---------------------------------------------------------------------------------------
// Assertions

/** A text acknowledged with nothing sent back in markup: the dialect's empty answer (the
 * REST dialects answer an empty body or an empty TwiML-like response). */
function assertAck(A, res, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  if (A.ack) assert.equal(res.text, A.ack(), `${what}: not the empty answer`);
  else assert.ok(res.text === '' || res.text === markup.empty('twilio'), `${what}: answered in markup: ${res.text}`);
}

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

// ---------------------------------------------------------------------------------------

const DIALECTS = ['signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage'];
const ALL_REALS = [];

DIALECTS.forEach((dialect, k) => {
  const A = ADAPTERS[dialect];
  const PIN_NUMBER = proxy(10 * k, '650');
  const POOL = [1, 2, 3, 4].map((i) => proxy(10 * k + i, '650'));
  const FWD_POOL = [proxy(10 * k + 5, '650')];
  const [R1, R2, R3, R4, STRANGER] = Array.from({ length: 5 }, (_, i) => real(5000 + 20 * k + i));
  const REALS = [R1, R2, R3, R4, STRANGER];
  ALL_REALS.push(...REALS);
  assertValid(PIN_NUMBER, POOL, FWD_POOL, REALS);
  const gatherAnswer = (attempt, prompt) => markup.expectedGather(dialect,
    { prompt, url: markup.gatherUrl(dialect, attempt), digits: PIN_DIGITS, timeout: GATHER_TIMEOUT });

  describe(`${dialect}: issue-4 policies`, () => {
    let svc;
    let ses; // R1–R2, the PIN session

    before(async () => {
      await d.ready;
      d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
      d.tokens.vobiz ??= `vb_${crypto.randomBytes(16).toString('hex')}`;
      const mark = d.transcript.length;
      svc = await createService(d, {
        name: `PIN via ${dialect}`, twilio: false, signalwire: false, carriers: A.carriers(),
        defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_MESSAGE, help_text: HELP },
        unknown_caller: { policy: 'pin', pin_number: PIN_NUMBER, pin_attempts: 2 },
      });
      assert.equal(svc.unknown_caller.pin_attempts, 2);
      await addNumber(d, svc.id, PIN_NUMBER, { carrier: dialect, reserved: true });
      await addPool(d, svc.id, POOL, { carrier: dialect });
      ses = await createSession(d, svc.id, { participants: [[R1, 'Guest'], [R2, 'Host']] });
      assert.match(ses.pin ?? '', /^\d{6}$/, `pin: ${JSON.stringify(ses.pin)}`);
      assertClean(REALS, mark);
    });

    test('PIN: gather; wrong PIN → gather at attempt 2; right PIN → bridge to the other participant', async () => {
      const mark = d.transcript.length;
      const callId = crypto.randomUUID();
      const [p1, p2] = ses.participants;
      assertAnswer(await A.call(R1, PIN_NUMBER, callId), gatherAnswer(1, ASK), 'call to the PIN number');
      const wrong = ses.pin === '000000' ? '111111' : '000000';
      assertAnswer(await A.gather(R1, PIN_NUMBER, { attempt: 1, digits: wrong, callId }), gatherAnswer(2, INVALID_ASK),
        'wrong PIN at attempt 1');
      const ok = await A.gather(R1, PIN_NUMBER, { attempt: 2, digits: ses.pin, callId });
      const intId = intIdOf(ok.text);
      assert.ok(intId, `right PIN: no session bridge in HTTP ${ok.status} ${ok.text}`);
      assertAnswer(ok, A.bridge({ callerId: p2.proxy_number, real: R2, intId }), 'right PIN');
      // and the other participant, at the first attempt
      const back = await A.gather(R2, PIN_NUMBER, { attempt: 1, digits: ses.pin });
      const intId2 = intIdOf(back.text);
      assert.ok(intId2, `R2's right PIN: no session bridge in HTTP ${back.status} ${back.text}`);
      assertAnswer(back, A.bridge({ callerId: p1.proxy_number, real: R1, intId: intId2 }), 'R2 enters the PIN');
      assertClean(REALS, mark);
    });

    test('PIN: a wrong PIN at the last attempt → the spoken refusal, then hang up; unsigned gather → 403', async () => {
      const mark = d.transcript.length;
      const callId = crypto.randomUUID();
      const wrong = ses.pin === '99999999' ? '88888888' : '99999999';
      assertAnswer(await A.call(R1, PIN_NUMBER, callId), gatherAnswer(1, ASK), 'call to the PIN number');
      assertAnswer(await A.gather(R1, PIN_NUMBER, { attempt: 1, digits: wrong, callId }), gatherAnswer(2, INVALID_ASK),
        'first wrong PIN');
      assertAnswer(await A.gather(R1, PIN_NUMBER, { attempt: 2, digits: wrong, callId }), A.spoken(GOODBYE),
        'wrong PIN at the last attempt');
      const unsigned = await A.gather(R1, PIN_NUMBER, { attempt: 1, digits: ses.pin, unsigned: true });
      assert.equal(unsigned.status, 403, `unsigned gather: HTTP ${unsigned.status} ${unsigned.text}`);
      assertClean(REALS, mark);
    });

    test('blocked session: a participant\'s call is refused without a word', async () => {
      const mark = d.transcript.length;
      const s = await createSession(d, svc.id, { pin: '4821', participants: [[R3, 'Guest'], [R4, 'Host']] });
      const r = expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'PATCH blocked');
      assert.equal(r.status, 'blocked');
      const [p3, p4] = s.participants;
      assertAnswer(await A.call(R3, p3.proxy_number), markup.expectedSilentReject(dialect), 'call from R3 after the block');
      assertAnswer(await A.call(R4, p4.proxy_number), markup.expectedSilentReject(dialect), 'call from R4 after the block');
      assertClean(REALS, mark);
    });

    test('unknown-caller forward: a stranger is bridged to fallback_number, the dialled proxy as caller ID', async () => {
      const mark = d.transcript.length;
      const fsvc = await createService(d, {
        name: `Forward via ${dialect}`, twilio: false, signalwire: false, carriers: A.carriers(),
        defaults: { mode: 'voice-and-message', ttl: 0 },
        unknown_caller: { policy: 'forward', fallback_number: SUPPORT },
      });
      assert.equal(fsvc.unknown_caller.fallback_number, SUPPORT);
      await addPool(d, fsvc.id, FWD_POOL, { carrier: dialect });
      assertAnswer(await A.call(STRANGER, FWD_POOL[0]),
        markup.expectedBridgeWithoutCallbacks(dialect, { callerId: FWD_POOL[0], real: SUPPORT }), 'stranger forwarded');
      assertClean(REALS, mark);
    });

    if (A.reply) {
      test('HELP → the service\'s help_text in reply markup (no status callback)', async () => {
        const mark = d.transcript.length;
        const [p1, p2] = ses.participants;
        assertAnswer(await A.text(R1, p1.proxy_number, 'HELP'), A.reply({ to: R1, from: p1.proxy_number, body: HELP }), 'HELP');
        assertAnswer(await A.text(R2, p2.proxy_number, ' info '), A.reply({ to: R2, from: p2.proxy_number, body: HELP }), 'INFO');
        assertClean(REALS, mark);
      });
    }

    if (A.rest) {
      test('HELP → help_text sent through the REST API to the sender from its proxy; STOP sends nothing', async () => {
        const mark = d.transcript.length;
        const [p1, p2] = ses.participants;
        const before = sendsTo(A.rest).length;
        const help = await A.text(R1, p1.proxy_number, 'HELP');
        assert.equal(help.status, 200, `HELP: HTTP ${help.status} ${help.text}`);
        assert.ok(help.text === '' || help.text === markup.empty('twilio'), `HELP answered in markup: ${help.text}`);
        const mine = await waitFor('maskd\'s REST send of the HELP text', () => sendsTo(A.rest)[before]);
        const sdk = await A.sdkSend({ to: R1, from: p1.proxy_number, body: HELP });
        assert.ok(sdk, 'the SDK request was not captured');
        assert.equal(mine.method, sdk.method);
        assert.equal(mine.url.slice(A.rest.length), sdk.url.slice(`${A.rest}-sdk`.length), 'REST path');
        assert.equal(mine.headers.authorization, A.restAuth);
        assert.equal(mine.headers.authorization, sdk.headers.authorization);
        assert.match(mine.headers['content-type'] ?? '', /^application\/json\b/);
        assert.equal(mine.body, sdk.body, 'the JSON body differs from the SDK\'s');
        const sent = JSON.parse(mine.body);
        assert.equal(sent.text, HELP);
        assert.equal(bare(sent.to), bare(R1), 'sent to the sender');
        assert.equal(bare(sent.from), bare(p1.proxy_number), 'sent from the proxy number texted');

        // STOP from R2: nothing is sent. A second HELP behind it is the fence (the sender is FIFO).
        const stop = await A.text(R2, p2.proxy_number, 'STOP');
        assert.equal(stop.status, 200, `STOP: HTTP ${stop.status} ${stop.text}`);
        assert.ok(stop.text === '' || stop.text === markup.empty('twilio'), `STOP answered in markup: ${stop.text}`);
        assert.equal((await A.text(R1, p1.proxy_number, 'help')).status, 200);
        const all = await waitFor('the second HELP send', () => sendsTo(A.rest).length >= before + 2 && sendsTo(A.rest));
        assert.equal(all.length, before + 2, `STOP sent something: ${all.slice(before).map((r) => r.body).join(' | ')}`);
        assert.equal(all[before + 1].body, mine.body, 'the send after STOP is not the second HELP');
        assertClean(REALS, mark);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------
// Keywords in every session state, and retried webhooks, in every dialect but Twilio's
// (keywords.test.mjs): a STOP, START or HELP is read before the session's state, so it is
// kept and answered on a closed, blocked or voice-only session too; a retried webhook (the
// carrier's same message id) gets its first answer again and sends nothing a second time.

DIALECTS.forEach((dialect, k) => {
  const A = ADAPTERS[dialect];
  const POOL = [1, 2, 3].map((i) => proxy(10 * k + i, '708'));
  const [R1, R2, R3, R4, R5, R6] = Array.from({ length: 6 }, (_, i) => real(5200 + 20 * k + i));
  const REALS = [R1, R2, R3, R4, R5, R6];
  ALL_REALS.push(...REALS);
  assertValid(POOL, REALS);

  describe(`${dialect}: keywords in every session state`, () => {
    let svc;
    before(async () => {
      await d.ready;
      d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
      d.tokens.vobiz ??= `vb_${crypto.randomBytes(16).toString('hex')}`;
      svc = await createService(d, {
        name: `Keywords via ${dialect}`, twilio: false, signalwire: false, carriers: A.carriers(),
        defaults: { mode: 'voice-and-message', ttl: 0, help_text: HELP },
      });
      await addPool(d, svc.id, POOL, { carrier: dialect });
    });

    test('STOP on a closed session is kept (no "ended" reply): after a re-open texts do not reach the sender; '
      + 'HELP on a blocked or voice-only session gets help_text', async () => {
      const mark = d.transcript.length;
      const from = A.rest ? sendsTo(A.rest).length : 0;
      const s = await createSession(d, svc.id, { participants: [[R1, 'Guest'], [R2, 'Host']] });
      const [p1, p2] = s.participants;
      await closeSession(d, s.id);
      assertAck(A, await A.text(R1, p1.proxy_number, 'STOP'), 'STOP on a closed session');
      assert.equal(expectStatus(await patchSession(d, s.id, { status: 'open' }), 200, 're-open').status, 'open');
      const replies = [];
      replies.push([await A.text(R2, p2.proxy_number, 'are you still there?'), R2, p2.proxy_number, OPTED_OUT,
        'a text towards the opted-out sender']);
      expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'block');
      replies.push([await A.text(R2, p2.proxy_number, 'HELP'), R2, p2.proxy_number, HELP, 'HELP on a blocked session']);
      const v = await createSession(d, svc.id, { mode: 'voice', participants: [[R3, 'Guest'], [R4, 'Host']] });
      const p3 = v.participants[0];
      replies.push([await A.text(R3, p3.proxy_number, ' info '), R3, p3.proxy_number, HELP,
        'INFO on a voice-only session']);
      for (const [res, to, px, body, what] of replies) {
        if (A.reply) assertAnswer(res, A.reply({ to, from: px, body }), what);
        else assertAck(A, res, what);
      }
      if (A.rest) {
        // the sender is FIFO: the last HELP is the fence behind anything sent before it
        const sent = await restSends(A, from, replies.length, 'the replies\' sends');
        assert.equal(sendsTo(A.rest).length, from + replies.length,
          `sent more than the replies: ${sent.map((b) => JSON.stringify(b)).join(' | ')}`);
        assert.deepEqual(sent.map((b) => [b.text, bare(b.to), bare(b.from)]),
          replies.map(([, to, px, body]) => [body, bare(to), bare(px)]));
      }
      assertClean(REALS, mark);
    });

    test('a retried webhook (same message id) answers as the first time and sends nothing twice', async () => {
      const mark = d.transcript.length;
      const from = A.rest ? sendsTo(A.rest).length : 0;
      const s = await createSession(d, svc.id, { participants: [[R5, 'Guest'], [R6, 'Host']] });
      const [p5, p6] = s.participants;
      const helpId = A.newId();
      const first = await A.text(R5, p5.proxy_number, 'HELP', helpId);
      const again = await A.text(R5, p5.proxy_number, 'HELP', helpId);
      assert.equal(again.status, 200, `retried HELP: HTTP ${again.status} ${again.text}`);
      assert.equal(again.text, first.text, 'the retried HELP is answered differently');
      if (A.reply) assertAnswer(first, A.reply({ to: R5, from: p5.proxy_number, body: HELP }), 'HELP');
      const textId = A.newId();
      const t1 = await A.text(R5, p5.proxy_number, 'see you at the door', textId);
      const t2 = await A.text(R5, p5.proxy_number, 'see you at the door', textId);
      assert.equal(t2.status, 200, `retried text: HTTP ${t2.status} ${t2.text}`);
      assert.equal(t2.text, t1.text, 'the retried text is answered differently');
      if (A.rest) {
        const fence = await A.text(R6, p6.proxy_number, 'help');
        assertAck(A, fence, 'the fence HELP');
        const sent = await restSends(A, from, 3, 'the HELP, the forward and the fence');
        assert.equal(sendsTo(A.rest).length, from + 3,
          `a retry sent again: ${sent.map((b) => JSON.stringify(b)).join(' | ')}`);
        assert.deepEqual(sent.map((b) => [b.text, bare(b.to)]),
          [[HELP, bare(R5)], ['see you at the door', bare(R6)], [HELP, bare(R6)]]);
      }
      assertClean(REALS, mark);
    });
  });
});

// ---------------------------------------------------------------------------------------
// Recording and consent in every dialect but Twilio's (records.test.mjs): a service that records
// answers a participant's call with the consent notice for the caller, the dialect's recording of
// the bridged call (its status going to maskd's status URL) and the consent notice for the callee
// (fetched from maskd's consent URL when the callee answers). Built with each carrier's SDK.

const CONSENT = 'This call is recorded for quality.';
const consentUrl = (dialect, intId) => `${PUBLIC_URL}/hooks/${dialect}/consent?interaction=${intId}`;
const RECORDED = {
  // TeXML: TwiML's <Dial record> without what TeXML does not document (telnyx.c)
  telnyx: ({ callerId, real: r, intId }) => {
    const res = new twilio.twiml.VoiceResponse();
    const s = statusUrl('telnyx', intId);
    res.say(CONSENT);
    res.dial({ callerId, answerOnBridge: true, record: 'record-from-answer-dual', recordingStatusCallback: s, action: s, method: 'POST' })
      .number({ url: consentUrl('telnyx', intId), statusCallback: s, statusCallbackEvent: 'initiated ringing answered completed' }, r);
    return res.toString();
  },
  vonage: ({ callerId, real: r, intId }) => JSON.stringify(new NCCOBuilder()
    .addAction(new Talk(CONSENT))
    .addAction(new Record('mp3', 'conversation', 2, undefined, undefined, undefined, undefined, statusUrl('vonage', intId), 'POST'))
    .addAction(new Connect({ type: 'phone', number: bare(r), onAnswer: { url: consentUrl('vonage', intId) } }, bare(callerId),
      undefined, 'synchronous', undefined, undefined, undefined, statusUrl('vonage', intId), 'POST'))
    .build()),
};
for (const dialect of ['plivo', 'vobiz']) {
  RECORDED[dialect] = ({ callerId, real: r, intId }) => {
    const res = plivo.Response();
    const s = statusUrl(dialect, intId);
    res.addSpeak(CONSENT);
    res.addRecord({
      recordSession: 'true', startOnDialAnswer: 'true', redirect: 'false', maxLength: '14400', fileFormat: 'mp3',
      callbackUrl: s, callbackMethod: 'POST',
    });
    res.addDial({
      callerId: bare(callerId), action: s, method: 'POST', redirect: 'false', callbackUrl: s, callbackMethod: 'POST',
      confirmSound: consentUrl(dialect, intId),
    }).addNumber(bare(r));
    return res.toXML();
  };
}

const CONSENT_NOTICE = {
  telnyx: () => { const r = new twilio.twiml.VoiceResponse(); r.say(CONSENT); return r.toString(); },
  plivo: () => { const r = plivo.Response(); r.addSpeak(CONSENT); return r.toXML(); },
  vobiz: () => { const r = plivo.Response(); r.addSpeak(CONSENT); return r.toXML(); },
  vonage: () => JSON.stringify(new NCCOBuilder().addAction(new Talk(CONSENT)).build()),
};

Object.keys(RECORDED).forEach((dialect) => {
  const A = ADAPTERS[dialect];
  const k = DIALECTS.indexOf(dialect);
  const POOL = [1, 2].map((i) => proxy(10 * k + i, '847'));
  const [R1, R2] = [real(5400 + 20 * k), real(5401 + 20 * k)];
  ALL_REALS.push(R1, R2);
  assertValid(POOL, [R1, R2]);

  test(`${dialect}: a recorded service's bridge: consent for the caller, the call recorded, consent for the callee`, async () => {
    await d.ready;
    d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
    d.tokens.vobiz ??= `vb_${crypto.randomBytes(16).toString('hex')}`;
    const mark = d.transcript.length;
    const svc = await createService(d, {
      name: `Recorded via ${dialect}`, twilio: false, signalwire: false, carriers: A.carriers(),
      defaults: { mode: 'voice-and-message', ttl: 0, record: true, consent_message: CONSENT },
    });
    await addPool(d, svc.id, POOL, { carrier: dialect });
    const s = await createSession(d, svc.id, { participants: [[R1, 'Guest'], [R2, 'Host']] });
    const [, p2] = s.participants;
    const callId = A.newCallId();
    const res = await A.call(R1, s.participants[0].proxy_number, callId);
    const intId = intIdOf(res.text);
    assert.ok(intId, `no bridge in HTTP ${res.status} ${res.text}`);
    assertAnswer(res, RECORDED[dialect]({ callerId: p2.proxy_number, real: R2, intId }), 'recorded bridge');
    assertAnswer(await A.consent(intId), CONSENT_NOTICE[dialect](), 'the callee\'s consent notice');
    const recId = `REC${crypto.randomBytes(8).toString('hex')}`;
    const recUrl = `https://recordings.example/${recId}.mp3`;
    const rec = await A.recording(intId, callId, recId, recUrl);
    assert.equal(rec.status, 200, `recording callback: HTTP ${rec.status} ${rec.text}`);
    const it = (await interactions(d, s.id)).find((i) => i.id === intId);
    const a = it.legs.find((l) => l.leg === 'a');
    assert.ok(a, `no leg a: ${JSON.stringify(it.legs)}`);
    assert.equal(a.recording_id, recId, `the recording is not on the caller's leg: ${JSON.stringify(it.legs)}`);
    assert.equal(a.recording_url, recUrl);
    assert.equal(it.legs.length, 1, `the recording made a leg of its own: ${JSON.stringify(it.legs)}`);
    assertClean([R1, R2], mark);
  });
});

describe('privacy', () => {
  test('the log holds no real number of any dialect\'s test', () => {
    assertLogClean(d, ALL_REALS);
  });
});
