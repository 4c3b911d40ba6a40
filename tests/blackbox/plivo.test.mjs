// SPDX-License-Identifier: MIT
// Plivo and Vobiz webhooks (Plivo XML family, src/hooks/plivo.c).
//
// Plivo: requests signed as plivo (npm) 4.79.0 signs them and checked with its own
// validateV3Signature (voice, X-Plivo-Signature-V3) / validateSignature (messaging,
// X-Plivo-Signature-V2) before they are sent; answers compared exactly with what
// plivo.Response() builds; an MMS is sent by maskd through the REST Message API, and
// the request maskd makes is compared with the one plivo's own client.messages.create
// makes, both captured by a local server standing in for api.plivo.com.
//
// Vobiz has no npm SDK (its Node SDK lists signature validation as a TODO): its V3
// signatures here are built with the construction Vobiz documents
// (base64 HMAC-SHA256(auth token, URL without query + "." + nonce), docs.vobiz.ai,
// PROVIDERS.md §3.4), our own code, plus the Plivo-style reading Vobiz-Go-SDK
// computes; its V2 is Plivo's V2 and is cross-checked with plivo.validateSignature.
// Vobiz XML is Plivo XML for every element maskd uses, so its answers are compared
// with plivo.Response() as well.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import querystring from 'node:querystring';
import { before, describe, test } from 'node:test';

import plivo from 'plivo';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import { ID, addPool, assertNoRealNumbers, createService, createSession, interactions } from './lib/fixtures.mjs';
import { assertValid, proxy, real, realNy } from './lib/numbers.mjs';

const UNKNOWN_CALLER_MESSAGE = 'Sorry & goodbye: this number is <not> in "service".';

// ---------------------------------------------------------------------------------------
// A stand-in for api.plivo.com: records every request, answers as Plivo does (202).

const captured = [];
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    captured.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(202, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ api_id: crypto.randomUUID(), message: 'message(s) queued', message_uuid: [crypto.randomUUID()] }));
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
capture.unref();
const API_BASE = `http://127.0.0.1:${capture.address().port}`;

const d = useDaemon({ env: { MASKD_PLIVO_API_URL: API_BASE } });

// ---------------------------------------------------------------------------------------
// Signatures

const hmac64 = (token, s) => crypto.createHmac('sha256', token).update(s, 'utf8').digest('base64');
const baseUrl = (url) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };
const nonce = () => String(crypto.randomInt(1e9, 1e10 - 1)) + String(crypto.randomInt(1e9, 1e10 - 1));

/** plivo-node's V3 string (v3Security.js construct_get_url / construct_post_url). */
function plivoV3String(method, url, params) {
  const u = new URL(url);
  const q = querystring.parse(u.search.slice(1));
  const all = {};
  const add = (k, v) => { all[k] = (all[k] ?? []).concat(v); };
  for (const [k, v] of Object.entries(q)) add(k, v);
  const sorted = (o, f) => Object.keys(o).sort().flatMap((k) => [].concat(o[k]).sort().map((v) => f(k, v)));
  const p = {};
  for (const [k, v] of Object.entries(params)) p[k] = [].concat(v);
  if (method === 'GET') {
    for (const [k, v] of Object.entries(p)) add(k, v);
    const qs = sorted(all, (k, v) => `${k}=${v}`).join('&');
    return baseUrl(url) + (qs ? `?${qs}` : '');
  }
  const qs = sorted(all, (k, v) => `${k}=${v}`).join('&');
  const hasP = Object.keys(p).length > 0;
  let s = baseUrl(url);
  if (qs || hasP) s += `?${qs}`;
  if (qs && hasP) s += '.';
  return s + sorted(p, (k, v) => k + v).join('');
}

/** X-Plivo-Signature-V3 for a request, accepted by the SDK's own validator. */
function plivoV3(method, url, params, token, n) {
  const sig = hmac64(token, `${plivoV3String(method, url, params)}.${n}`);
  assert.ok(plivo.validateV3Signature(method, url, n, token, sig, method === 'GET' ? {} : params),
    'plivo.validateV3Signature rejects the test signature');
  return sig;
}

/** X-Plivo-Signature-V2 / X-Vobiz-Signature-V2, accepted by plivo.validateSignature. */
function v2(url, token, n) {
  const sig = hmac64(token, baseUrl(url) + n);
  assert.ok(plivo.validateSignature(url, n, sig, token), 'plivo.validateSignature rejects the test signature');
  return sig;
}

/** Vobiz V3 as docs.vobiz.ai defines it (own code: no Vobiz library exists). */
const vobizV3Docs = (url, token, n) => hmac64(token, `${baseUrl(url)}.${n}`);

// ---------------------------------------------------------------------------------------
// Requests

/**
 * POST (or GET) /hooks/{dialect}/{event}. sign: 'v3' | 'v3-docs' (Vobiz) | 'v2' | null;
 * token, signUrl, signParams, headerPrefix, ma override what is signed and how.
 */
async function hook(dialect, event, params, opts = {}) {
  const method = opts.method ?? 'POST';
  const query = new URLSearchParams({ ...(opts.query ?? {}), ...(method === 'GET' ? params : {}) }).toString();
  const path = `/hooks/${dialect}/${event}${query ? `?${query}` : ''}`;
  const url = PUBLIC_URL + path;
  const token = opts.token ?? d.tokens[dialect];
  const signUrl = opts.signUrl ?? url;
  // GET: the params are in the signed URL's query already
  const signParams = opts.signParams ?? (method === 'GET' ? {} : params);
  const prefix = opts.headerPrefix ?? (dialect === 'vobiz' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature');
  const n = nonce();
  const headers = {};
  const sign = opts.sign === undefined ? (event === 'message' ? 'v2' : 'v3') : opts.sign;
  // opts.ma: the signature in the main (parent) account's header instead
  const sigName = (v) => (opts.ma ? `${prefix}-${dialect === 'vobiz' ? 'MA' : 'Ma'}-${v}` : `${prefix}-${v}`);
  if (sign === 'v3') {
    headers[sigName('V3')] = plivoV3(method, signUrl, signParams, token, n);
    headers[`${prefix}-V3-Nonce`] = n;
  } else if (sign === 'v3-docs') {
    headers[sigName('V3')] = vobizV3Docs(signUrl, token, n);
    headers[`${prefix}-V3-Nonce`] = n;
  } else if (sign === 'v2') {
    headers[sigName('V2')] = v2(signUrl, token, n);
    headers[`${prefix}-V2-Nonce`] = n;
  }
  let body;
  if (method !== 'GET') {
    body = new URLSearchParams(params).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  return d.request(method, path, { headers, body, kind: 'webhook' });
}

const digits = (e164) => e164.slice(1);

function voice(from, to, callUUID = crypto.randomUUID()) {
  return {
    ALegRequestUUID: '', ALegUUID: callUUID, BillRate: '0.0085', CallStatus: 'ringing', CallUUID: callUUID,
    CallerName: from, Direction: 'inbound', Event: 'StartApp', From: digits(from), To: digits(to),
    RequestUUID: callUUID, STIRAttestation: 'Not Applicable', SessionStart: '2026-01-02 03:04:05.678901',
  };
}

function sms(from, to, text, messageUUID = crypto.randomUUID()) {
  return {
    From: digits(from), To: digits(to), Type: 'sms', Text: text, MessageUUID: messageUUID, Units: '1',
    TotalRate: '0.00000', TotalAmount: '0.00000', MessageIntent: '', PowerpackUUID: '',
  };
}

function mms(from, to, body, media, messageUUID = crypto.randomUUID()) {
  const p = {
    From: digits(from), To: digits(to), Type: 'mms', Body: body, MessageUUID: messageUUID,
    MediaCount: String(media.length), Units: '1', TotalRate: '0.00000', TotalAmount: '0.00000',
  };
  media.forEach((m, i) => { p[`Media${i + 1}`] = m; });
  return p;
}

// ---------------------------------------------------------------------------------------
// Expected answers (plivo.Response)

const statusUrl = (dialect, intId) => `${PUBLIC_URL}/hooks/${dialect}/status?interaction=${intId}`;

function bridgeXml(dialect, { callerId, realNumber, intId }) {
  const r = plivo.Response();
  const s = statusUrl(dialect, intId);
  r.addDial({ callerId: digits(callerId), action: s, method: 'POST', redirect: 'false', callbackUrl: s, callbackMethod: 'POST' })
    .addNumber(digits(realNumber));
  return r.toXML();
}

function smsXml(dialect, { src, dst, text, intId }) {
  const r = plivo.Response();
  r.addMessage(text, { src: digits(src), dst: digits(dst), type: 'sms', callbackUrl: statusUrl(dialect, intId), callbackMethod: 'POST' });
  return r.toXML();
}

function rejectXml() {
  const r = plivo.Response();
  r.addSpeak(UNKNOWN_CALLER_MESSAGE);
  r.addHangup();
  return r.toXML();
}

const emptyXml = () => plivo.Response().toXML();
const intIdOf = (xml) => /[?&]interaction=(int_[A-Za-z0-9_-]+)/.exec(xml ?? '')?.[1];

function assertXml(res, expected, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
  assert.equal(res.text, expected, `${what} differs from plivo.Response()`);
}

// ---------------------------------------------------------------------------------------

const AUTH_ID = `MA${crypto.randomBytes(9).toString('hex').toUpperCase()}`;

for (const dialect of ['plivo', 'vobiz']) {
  const area = dialect === 'plivo' ? '415' : '212';
  const realOf = dialect === 'plivo' ? real : realNy;
  const POOL = Array.from({ length: 4 }, (_, i) => proxy(i, area));
  const STRANGER = realOf(999);
  assertValid(POOL, STRANGER);
  let counter = 0;
  let svc;

  describe(`${dialect} webhooks`, () => {
    before(async () => {
      await d.ready;
      d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
      d.tokens.vobiz ??= `vb_${crypto.randomBytes(16).toString('hex')}`;
      svc = await createService(d, {
        name: `Rides via ${dialect}`,
        carriers: { [dialect]: { auth_id: AUTH_ID, auth_token: d.tokens[dialect] } },
        defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_CALLER_MESSAGE },
      });
      await addPool(d, svc.id, POOL, { carrier: dialect });
    });

    async function pair() {
      const a = realOf(counter++);
      const b = realOf(counter++);
      const ses = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
      const [p0, p1] = ses.participants;
      return { ses, rider: { real: a, proxy: p0.proxy_number }, driver: { real: b, proxy: p1.proxy_number } };
    }

    function assertBridge(res, { callerId, realNumber }) {
      const intId = intIdOf(res.text);
      assert.ok(intId, `no interaction id in ${res.status} ${res.text}`);
      assert.match(intId, ID.interaction);
      assertXml(res, bridgeXml(dialect, { callerId, realNumber, intId }), 'bridge');
      return intId;
    }

    test('a call is bridged to the other participant, the other proxy number as caller ID', async () => {
      const { ses, rider, driver } = await pair();
      const callUUID = crypto.randomUUID();
      const res = await hook(dialect, 'voice', voice(rider.real, rider.proxy, callUUID),
        dialect === 'vobiz' ? { sign: 'v3-docs' } : {});
      const intId = assertBridge(res, { callerId: driver.proxy, realNumber: driver.real });
      const [i] = await interactions(d, ses.id);
      assert.equal(i.id, intId);
      assert.equal(i.carrier, dialect);
      assert.equal(i.carrier_sid, callUUID);
      assert.equal(i.decision, 'bridge');
      assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');
    });

    test('GET webhook: the params in the query, signed over them', async () => {
      const { rider, driver } = await pair();
      const res = await hook(dialect, 'voice', voice(rider.real, rider.proxy), { method: 'GET' });
      assertBridge(res, { callerId: driver.proxy, realNumber: driver.real });
    });

    test('a retried webhook (same CallUUID) gets the same answer and one interaction', async () => {
      const { ses, rider } = await pair();
      const p = voice(rider.real, rider.proxy);
      const first = await hook(dialect, 'voice', p);
      const second = await hook(dialect, 'voice', p);
      assert.equal(second.text, first.text);
      assert.equal((await interactions(d, ses.id)).length, 1);
    });

    test('unknown caller → <Speak> the service message, <Hangup/>', async () => {
      assertXml(await hook(dialect, 'voice', voice(STRANGER, POOL[0])), rejectXml(), 'unknown caller');
    });

    test('bad or missing signatures → 403, nothing recorded', async () => {
      const { ses, rider } = await pair();
      const p = voice(rider.real, rider.proxy);
      const prefix = dialect === 'plivo' ? 'X-Plivo-Signature' : 'X-Vobiz-Signature';
      const other = dialect === 'plivo' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature';
      const cases = [
        { sign: null },
        { token: 'wrong-token' },
        { signParams: { ...p, From: digits(realOf(998)) } },
        { signUrl: `${PUBLIC_URL}/hooks/${dialect}/message` },
        { signUrl: `https://evil.example.com/hooks/${dialect}/voice` },
        { headerPrefix: other },
      ];
      // Plivo voice is V3 only: a (valid) V2 signature is not enough
      if (dialect === 'plivo') cases.push({ sign: 'v2' });
      for (const c of cases) {
        const res = await hook(dialect, 'voice', p, c);
        assert.equal(res.status, 403, `${JSON.stringify(c)}: HTTP ${res.status} ${res.text}`);
      }
      assert.equal((await interactions(d, ses.id)).length, 0);
      // the main (parent) account's header, with the service's token, is accepted
      const ok = await hook(dialect, 'voice', p, { ma: true });
      assert.equal(ok.status, 200, `${prefix} main-account header: ${ok.status} ${ok.text}`);
    });

    if (dialect === 'vobiz') {
      test('Vobiz: V3 in either reading (docs, Go-SDK = Plivo\'s) and V2 alone are accepted', async () => {
        for (const sign of ['v3-docs', 'v3', 'v2']) {
          const { rider, driver } = await pair();
          const res = await hook(dialect, 'voice', voice(rider.real, rider.proxy), { sign });
          assertBridge(res, { callerId: driver.proxy, realNumber: driver.real });
        }
      });
    }

    test('SMS is forwarded in markup: <Message src dst type="sms" callbackUrl>', async () => {
      const { ses, rider, driver } = await pair();
      const text = 'Fish & chips <b>now</b> "quoted" Café 🚗';
      const uuid = crypto.randomUUID();
      const res = await hook(dialect, 'message', sms(rider.real, rider.proxy, text, uuid));
      const intId = intIdOf(res.text);
      assert.ok(intId, `${res.status} ${res.text}`);
      assertXml(res, smsXml(dialect, { src: driver.proxy, dst: driver.real, text, intId }), 'forward');
      const [i] = await interactions(d, ses.id);
      assert.equal(i.carrier_sid, uuid);
      assert.equal(i.decision, 'forward_message');
      // a delivery report on the message callbackUrl (V2-signed, like all Plivo messaging)
      const outUUID = crypto.randomUUID();
      for (const st of ['queued', 'sent', 'delivered']) {
        const cb = { MessageUUID: outUUID, Status: st, From: digits(driver.proxy), To: digits(driver.real), Units: '1' };
        assertXml(await hook(dialect, 'status', cb, { sign: 'v2', query: { interaction: intId } }), emptyXml(), `status ${st}`);
      }
      const [j] = await interactions(d, ses.id);
      const legs = j.legs.filter((l) => l.carrier_sid === outUUID);
      assert.equal(legs.length, 1, JSON.stringify(j.legs));
      assert.equal(legs[0].status, 'delivered');
    });

    test('unknown sender → <Response/>', async () => {
      assertXml(await hook(dialect, 'message', sms(STRANGER, POOL[0], 'hello?')), emptyXml(), 'unknown sender');
    });

    test('Dial action and callbackUrl events are recorded on leg b', async () => {
      const { ses, rider, driver } = await pair();
      const aUUID = crypto.randomUUID();
      const intId = assertBridge(await hook(dialect, 'voice', voice(rider.real, rider.proxy, aUUID)),
        { callerId: driver.proxy, realNumber: driver.real });
      const bUUID = crypto.randomUUID();
      const q = { query: { interaction: intId } };
      const ev = { DialAction: 'answer', DialALegUUID: aUUID, DialBLegUUID: bUUID, DialBLegStatus: 'answer' };
      assertXml(await hook(dialect, 'status', ev, q), emptyXml(), 'callbackUrl answer');
      const hangup = { ...ev, DialAction: 'hangup', DialBLegStatus: 'hangup', DialBLegBillDuration: '42', DialBLegHangupCause: 'NORMAL_CLEARING' };
      assertXml(await hook(dialect, 'status', hangup, q), emptyXml(), 'callbackUrl hangup');
      const action = {
        ...voice(rider.real, rider.proxy, aUUID), CallStatus: 'in-progress', DialStatus: 'completed',
        DialRingStatus: 'true', DialHangupCause: 'NORMAL_CLEARING', DialALegUUID: aUUID, DialBLegUUID: bUUID,
      };
      assertXml(await hook(dialect, 'status', action, q), emptyXml(), 'Dial action');
      // signed for another interaction → 403
      const forged = await hook(dialect, 'status', action, { ...q, signUrl: statusUrl(dialect, 'int_other') });
      assert.equal(forged.status, 403);
      const [i] = await interactions(d, ses.id);
      const b = i.legs.filter((l) => l.carrier_sid === bUUID);
      assert.equal(b.length, 1, JSON.stringify(i.legs));
      assert.equal(b[0].leg, 'b');
      assert.equal(b[0].status, 'completed');
      assert.equal(b[0].duration, 42);
    });
  });
}

describe('plivo MMS through the REST Message API', () => {
  test('maskd sends the request plivo\'s client.messages.create sends; the webhook gets <Response/>', async () => {
    await d.ready;
    const svc = await createService(d, {
      name: 'Plivo MMS',
      carriers: { plivo: { auth_id: AUTH_ID, auth_token: d.tokens.plivo } },
      defaults: { mode: 'voice-and-message', ttl: 0 },
    });
    const pool = [proxy(10, '650'), proxy(11, '650')];
    await addPool(d, svc.id, pool, { carrier: 'plivo' });
    const a = real(500);
    const b = real(501);
    const ses = await createSession(d, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
    const [p0, p1] = ses.participants;
    const media = ['https://media.plivo.com/Account/x/Message/y/Media/z', 'https://m.example.org/b.png?x=1&y=2'];

    for (const text of ['pics & "quotes" 🚗', '']) {
      captured.length = 0;
      const uuid = crypto.randomUUID();
      const res = await hook('plivo', 'message', mms(a, p0.proxy_number, text, media, uuid));
      assertXml(res, emptyXml(), 'MMS webhook answer');
      const mine = await waitFor('maskd\'s REST request', () => captured[0]);
      const it = (await interactions(d, ses.id)).find((x) => x.carrier_sid === uuid);
      assert.ok(it, 'no interaction for the MMS');

      // the same message sent by the SDK to the same stand-in
      const client = new plivo.Client(AUTH_ID, d.tokens.plivo, { url: `${API_BASE}/v1/Account/${AUTH_ID}` });
      await client.messages.create({
        src: digits(p1.proxy_number), dst: digits(b), text: text === '' ? undefined : text, type: 'mms',
        media_urls: media, url: statusUrl('plivo', it.id), method: 'POST',
      });
      const sdk = captured[1];
      assert.ok(sdk, 'the SDK request was not captured');
      assert.equal(mine.method, sdk.method);
      assert.equal(mine.url, sdk.url);
      assert.equal(mine.headers.authorization, sdk.headers.authorization);
      assert.equal(mine.headers['content-type'], sdk.headers['content-type']);
      assert.equal(mine.body, sdk.body, 'maskd\'s JSON body differs from the SDK\'s');

      // the sender's outcome lands on leg b with Plivo's message_uuid
      await waitFor('leg b "sent"', async () => {
        const [j] = (await interactions(d, ses.id)).filter((x) => x.id === it.id);
        return j.legs.some((l) => l.leg === 'b' && l.status === 'sent');
      });
      assertNoRealNumbers(JSON.stringify(await interactions(d, ses.id)), [a, b], 'interactions');
    }
  });

  test('Vobiz has no REST message API: media-only → <Response/>, nothing sent', async () => {
    await d.ready;
    const svc = await createService(d, {
      name: 'Vobiz MMS',
      carriers: { vobiz: { auth_id: AUTH_ID, auth_token: d.tokens.vobiz } },
      defaults: { mode: 'voice-and-message', ttl: 0 },
    });
    const pool = [proxy(20, '650'), proxy(21, '650')];
    await addPool(d, svc.id, pool, { carrier: 'vobiz' });
    const ses = await createSession(d, svc.id, { participants: [[real(600), 'A'], [real(601), 'B']] });
    captured.length = 0;
    const res = await hook('vobiz', 'message', mms(real(600), ses.participants[0].proxy_number, '', ['https://m/x.jpg']));
    assertXml(res, emptyXml(), 'Vobiz media-only');
    assert.equal(captured.length, 0);
  });
});
