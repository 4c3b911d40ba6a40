// SPDX-License-Identifier: MIT
// Telnyx webhooks: TeXML voice (form bodies) and API v2 JSON messaging, signed with an
// Ed25519 key pair made here with node's crypto; every signature is first accepted by the
// telnyx SDK's own verifier (client.webhooks.unwrap) before it is sent to maskd. TeXML
// answers are compared with twilio.twiml's output (TeXML is TwiML-compatible); the REST send
// of a forwarded text is compared with what the telnyx SDK's messages.send writes, both
// captured by a local HTTP server.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import Telnyx from 'telnyx';
import { TelnyxWebhook } from 'telnyx/lib/webhooks';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import { ID, addPool, assertNoRealNumbers, createSession, expectStatus, interactions } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const UNKNOWN_CALLER_MESSAGE = 'Sorry & goodbye: this number is <not> in "service".';
const API_KEY = `KEY${crypto.randomBytes(12).toString('hex')}_test`;

// ---------------------------------------------------------------------------------------
// A local stand-in for api.telnyx.com: records every request, answers like POST /v2/messages.

const captured = [];
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    captured.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ data: { id: crypto.randomUUID(), record_type: 'message', type: 'SMS' } }));
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
const CAPTURE_URL = `http://127.0.0.1:${capture.address().port}`;
after(() => new Promise((resolve) => capture.close(resolve)));

const d = useDaemon({ env: { MASKD_TELNYX_API_URL: CAPTURE_URL } });

// ---------------------------------------------------------------------------------------
// Keys and signing

function keyPair() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicB64: raw.toString('base64'), privateKey };
}

const KEY = keyPair();
const OTHER_KEY = keyPair();

/** telnyx-signature-ed25519 over `${ts}|${body}`, checked by the SDK when it should be valid. */
async function signed(body, { key = KEY, ts = Math.floor(Date.now() / 1000), expectSdk = true } = {}) {
  const timestamp = String(ts);
  const signature = crypto.sign(null, Buffer.from(`${timestamp}|${body}`), key.privateKey).toString('base64');
  const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp };
  // TelnyxWebhook.verify is what client.webhooks.unwrap runs before it JSON-parses the body
  // (unwrap itself cannot take TeXML's form bodies); for JSON bodies both must agree.
  const sdk = await new TelnyxWebhook(KEY.publicB64).verify(body, headers).then(() => true, () => false);
  assert.equal(sdk, expectSdk, `the telnyx SDK ${expectSdk ? 'rejects' : 'accepts'} this signature`);
  let isJson = true;
  try { JSON.parse(body); } catch { isJson = false; }
  if (isJson) {
    const client = new Telnyx({ apiKey: 'unused', publicKey: KEY.publicB64 });
    const unwrapped = await client.webhooks.unwrap(body, { headers }).then(() => true, () => false);
    assert.equal(unwrapped, expectSdk, 'client.webhooks.unwrap disagrees with TelnyxWebhook.verify');
  }
  return headers;
}

async function post(event, body, { contentType, query, headers } = {}) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  return d.request('POST', `/hooks/telnyx/${event}${qs}`, {
    kind: 'webhook',
    headers: { 'Content-Type': contentType, ...headers },
    body,
  });
}

// ---------------------------------------------------------------------------------------
// What Telnyx posts

const ACCOUNT = crypto.randomUUID();
const callSid = () => `v3:${crypto.randomBytes(24).toString('base64url')}`;

function texmlCall({ from, to, sid = callSid(), extra = {} }) {
  return new URLSearchParams({
    AccountSid: ACCOUNT,
    CallSid: sid,
    CallSidLegacy: sid,
    CallStatus: 'ringing',
    CallbackSource: 'call-progress-events',
    ConnectionId: '1234567890',
    From: from,
    SequenceNumber: '1',
    Timestamp: new Date().toISOString(),
    To: to,
    ...extra,
  }).toString();
}

function messageEvent(eventType, payload) {
  return JSON.stringify({
    data: {
      event_type: eventType,
      id: crypto.randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: { record_type: 'message', ...payload },
      record_type: 'event',
    },
    meta: { attempt: 1, delivered_to: `${PUBLIC_URL}/hooks/telnyx/message` },
  });
}

function received({ from, to, text = '', media = [], id = crypto.randomUUID() }) {
  return messageEvent('message.received', {
    direction: 'inbound',
    encoding: 'GSM-7',
    errors: [],
    from: { carrier: 'T-Mobile USA', line_type: 'long_code', phone_number: from, status: 'webhook_delivered' },
    id,
    media: media.map((url) => ({ content_type: 'image/jpeg', url })),
    messaging_profile_id: crypto.randomUUID(),
    parts: 1,
    text,
    to: [{ carrier: 'Telnyx', line_type: 'Wireless', phone_number: to, status: 'webhook_delivered' }],
    type: media.length ? 'MMS' : 'SMS',
  });
}

// ---------------------------------------------------------------------------------------

const POOL = Array.from({ length: 6 }, (_, i) => proxy(i, '650'));
assertValid(POOL);
let realCounter = 100;
const nextReal = () => real(realCounter++);
let svc;

before(async () => {
  await d.ready;
  const res = await d.api('POST', '/v1/services', {
    name: 'Rides via Telnyx',
    carriers: { telnyx: { public_key: KEY.publicB64, api_key: API_KEY } },
    defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_CALLER_MESSAGE },
  });
  svc = expectStatus(res, 201, 'POST /v1/services');
  await addPool(d, svc.id, POOL, { carrier: 'telnyx' });
});

async function newPair() {
  const riderReal = nextReal();
  const driverReal = nextReal();
  const ses = await createSession(d, svc.id, { participants: [[riderReal, 'Rider'], [driverReal, 'Driver']] });
  const [p0, p1] = ses.participants;
  return {
    ses,
    rider: { real: riderReal, par: p0.id, proxy: p0.proxy_number },
    driver: { real: driverReal, par: p1.id, proxy: p1.proxy_number },
  };
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_CT = 'application/json';

async function call(from, to, opts = {}) {
  const body = texmlCall({ from, to, ...opts });
  return post('voice', body, { contentType: FORM, headers: await signed(body) });
}

function assertXml(res, expected, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
  assert.equal(res.text, expected, `${what} differs from the TwiML builder's document`);
}

function assertBridge(res, { callerId, real: realNumber }) {
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `no interaction id in HTTP ${res.status} ${res.text}`);
  assert.match(intId, ID.interaction);
  // TeXML's <Dial>/<Number> are TwiML's: same document, with maskd's telnyx status URL.
  const want = markup.bridge('twilio', { callerId, real: realNumber, intId })
    .replaceAll('/hooks/twilio/status', '/hooks/telnyx/status');
  assertXml(res, want, 'bridge');
  return intId;
}

describe('telnyx voice (TeXML)', () => {
  test('rider calls: bridged to the driver, the driver\'s proxy number as caller ID', async () => {
    const { ses, rider, driver } = await newPair();
    const sid = callSid();
    const intId = assertBridge(await call(rider.real, rider.proxy, { sid }), { callerId: driver.proxy, real: driver.real });
    const list = await interactions(d, ses.id);
    assert.equal(list.length, 1);
    assert.equal(list[0].id, intId);
    assert.equal(list[0].carrier, 'telnyx');
    assert.equal(list[0].carrier_sid, sid);
    assert.equal(list[0].decision, 'bridge');
    assert.equal(list[0].from_participant, rider.par);
  });

  test('numbers without "+" are normalised', async () => {
    const { rider, driver } = await newPair();
    assertBridge(await call(rider.real.slice(1), rider.proxy.slice(1)), { callerId: driver.proxy, real: driver.real });
  });

  test('unknown caller: the service\'s message is spoken, then hang up', async () => {
    const { rider } = await newPair();
    const res = await call(real(7999), rider.proxy);
    assertXml(res, markup.rejectVoice('twilio', UNKNOWN_CALLER_MESSAGE), 'reject');
  });

  test('retried webhook: the same answer and one interaction', async () => {
    const { ses, rider, driver } = await newPair();
    const sid = callSid();
    const body = texmlCall({ from: rider.real, to: rider.proxy, sid });
    const first = await post('voice', body, { contentType: FORM, headers: await signed(body) });
    const intId = assertBridge(first, { callerId: driver.proxy, real: driver.real });
    const again = await post('voice', body, { contentType: FORM, headers: await signed(body) });
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text);
    const list = await interactions(d, ses.id);
    assert.deepEqual(list.map((i) => i.id), [intId]);
  });

  test('bad, missing, foreign-key and expired signatures: 403, nothing recorded', async () => {
    const { ses, rider } = await newPair();
    const body = texmlCall({ from: rider.real, to: rider.proxy });
    const good = await signed(body);
    const cases = {
      missing: {},
      'no timestamp': { 'telnyx-signature-ed25519': good['telnyx-signature-ed25519'] },
      'other body': await signed(`${body}&X=1`),
      'other key': await signed(body, { key: OTHER_KEY, expectSdk: false }),
      'timestamp moved': { ...good, 'telnyx-timestamp': String(Number(good['telnyx-timestamp']) + 1) },
      garbage: { 'telnyx-signature-ed25519': 'not base64!', 'telnyx-timestamp': good['telnyx-timestamp'] },
      // A replay: signed correctly, but 400 s ago (outside the 300 s window).
      expired: await signed(body, { ts: Math.floor(Date.now() / 1000) - 400, expectSdk: false }),
      future: await signed(body, { ts: Math.floor(Date.now() / 1000) + 400, expectSdk: false }),
    };
    for (const [what, headers] of Object.entries(cases)) {
      const res = await post('voice', body, { contentType: FORM, headers });
      assert.equal(res.status, 403, `${what}: HTTP ${res.status} ${res.text}`);
    }
    assert.deepEqual(await interactions(d, ses.id), []);
  });
});

describe('telnyx status callbacks', () => {
  test('dialled leg progress and the Dial action are recorded as leg b', async () => {
    const { ses, rider, driver } = await newPair();
    const parent = callSid();
    const intId = assertBridge(await call(rider.real, rider.proxy, { sid: parent }), { callerId: driver.proxy, real: driver.real });
    const child = callSid();
    const status = async (params) => {
      const body = new URLSearchParams(params).toString();
      return post('status', body, { contentType: FORM, query: { interaction: intId }, headers: await signed(body) });
    };
    const leg = (st, extra = {}) => ({
      AccountSid: ACCOUNT, CallSid: child, CallSidLegacy: child, ParentCallSid: parent, CallStatus: st,
      CallbackSource: 'call-progress-events', From: driver.proxy, To: driver.real, Timestamp: new Date().toISOString(),
      ...extra,
    });
    const empty = markup.empty('twilio');
    for (const st of ['initiated', 'ringing', 'in-progress']) assertXml(await status(leg(st)), empty, `leg ${st}`);
    assertXml(await status(leg('completed', { CallDuration: '12', HangupSource: 'callee' })), empty, 'leg completed');
    assertXml(await status({
      AccountSid: ACCOUNT, CallSid: parent, CallStatus: 'in-progress', From: rider.real, To: rider.proxy,
      DialCallStatus: 'completed', DialCallSid: child, DialCallDuration: '12',
    }), empty, 'Dial action');

    const [i] = await interactions(d, ses.id);
    const b = i.legs.filter((l) => l.carrier_sid === child);
    assert.equal(b.length, 1, `one leg for the B call: ${JSON.stringify(i.legs)}`);
    assert.equal(b[0].leg, 'b');
    assert.equal(b[0].status, 'completed');
    assert.equal(b[0].duration, 12);
    assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');
  });

  test('a status callback with a bad signature is refused and records nothing', async () => {
    const { ses, rider, driver } = await newPair();
    const intId = assertBridge(await call(rider.real, rider.proxy), { callerId: driver.proxy, real: driver.real });
    const body = new URLSearchParams({ CallSid: callSid(), ParentCallSid: 'x', CallStatus: 'completed', CallDuration: '5' }).toString();
    const res = await post('status', body, {
      contentType: FORM, query: { interaction: intId }, headers: await signed(body, { key: OTHER_KEY, expectSdk: false }),
    });
    assert.equal(res.status, 403);
    const [i] = await interactions(d, ses.id);
    assert.ok(!i.legs.some((l) => l.status === 'completed'), JSON.stringify(i.legs));
  });
});

describe('telnyx messaging (API v2 JSON)', () => {
  test('message.received: answered 200, sent through POST /v2/messages exactly as the telnyx SDK sends it', async () => {
    const { ses, rider, driver } = await newPair();
    const text = 'Hello & "welcome" <3 \u00e9\n';
    const media = ['https://media.telnyx.example/a.jpg?x=1&y=2'];
    const body = received({ from: rider.real, to: rider.proxy, text, media });
    const before = captured.length;
    const res = await post('message', body, { contentType: JSON_CT, headers: await signed(body) });
    assert.equal(res.status, 200, `HTTP ${res.status} ${res.text}`);
    assert.ok(res.text === '' || res.text === markup.empty('twilio'), `answer: ${res.text}`);
    assertNoRealNumbers(res.text, [rider.real, driver.real], 'webhook answer');

    const mine = await waitFor('maskd\'s REST send', () => captured[before]);
    assert.equal(captured.length, before + 1, 'one send');
    const [i] = await interactions(d, ses.id);
    assert.equal(i.decision, 'forward_message');
    assert.equal(i.channel, 'message');

    // The same message through the official SDK, at the same capture server.
    const client = new Telnyx({ apiKey: API_KEY, baseURL: `${CAPTURE_URL}/v2`, maxRetries: 0 });
    const n = captured.length;
    await client.messages.send({
      from: driver.proxy, to: driver.real, text, media_urls: media,
      webhook_url: `${PUBLIC_URL}/hooks/telnyx/status?interaction=${i.id}`,
    });
    const sdk = captured[n];
    assert.equal(mine.method, sdk.method);
    assert.equal(mine.url, sdk.url);
    assert.equal(mine.url, '/v2/messages');
    assert.equal(mine.headers.authorization, sdk.headers.authorization);
    assert.equal(mine.headers.authorization, `Bearer ${API_KEY}`);
    assert.match(mine.headers['content-type'], /^application\/json\b/);
    assert.equal(mine.body, sdk.body, 'the JSON body differs from the telnyx SDK\'s');

    // The send outcome lands on leg b (the sender records it).
    await waitFor('leg b of the sent message', async () => (await interactions(d, ses.id))[0].legs.some((l) => l.leg === 'b'));
  });

  test('message delivery reports (message.sent / message.finalized) are recorded on leg b', async () => {
    const { ses, rider, driver } = await newPair();
    const body = received({ from: rider.real, to: rider.proxy, text: 'status please' });
    assert.equal((await post('message', body, { contentType: JSON_CT, headers: await signed(body) })).status, 200);
    const [{ id: intId }] = await interactions(d, ses.id);
    const msgId = crypto.randomUUID();
    const report = async (eventType, status, extra = {}) => {
      const b = messageEvent(eventType, {
        direction: 'outbound', id: msgId, from: { phone_number: driver.proxy },
        to: [{ phone_number: driver.real, status }], text: 'status please', type: 'SMS', ...extra,
      });
      return post('status', b, { contentType: JSON_CT, query: { interaction: intId }, headers: await signed(b) });
    };
    assert.equal((await report('message.sent', 'sent')).status, 200);
    assert.equal((await report('message.finalized', 'delivered', { cost: { amount: '0.0040', currency: 'USD' } })).status, 200);
    const i = await waitFor('delivered leg', async () => {
      const [x] = await interactions(d, ses.id);
      return x.legs.some((l) => l.carrier_sid === msgId && l.status === 'delivered') ? x : null;
    });
    const legs = i.legs.filter((l) => l.carrier_sid === msgId);
    assert.equal(legs.length, 1, JSON.stringify(i.legs));
    assert.equal(legs[0].leg, 'b');
    assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');
  });

  test('unknown sender: acknowledged, nothing sent', async () => {
    const { rider } = await newPair();
    const before = captured.length;
    const body = received({ from: real(7998), to: rider.proxy, text: 'hi' });
    const res = await post('message', body, { contentType: JSON_CT, headers: await signed(body) });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.text === '' || res.text === markup.empty('twilio'), res.text);
    assert.equal(captured.length, before);
  });

  test('expired or foreign signature on a message: 403, nothing recorded, nothing sent', async () => {
    const { ses, rider } = await newPair();
    const body = received({ from: rider.real, to: rider.proxy, text: 'replayed' });
    const before = captured.length;
    for (const headers of [
      await signed(body, { ts: Math.floor(Date.now() / 1000) - 301 - 60, expectSdk: false }),
      await signed(body, { key: OTHER_KEY, expectSdk: false }),
      {},
    ]) {
      const res = await post('message', body, { contentType: JSON_CT, headers });
      assert.equal(res.status, 403, `HTTP ${res.status} ${res.text}`);
    }
    assert.deepEqual(await interactions(d, ses.id), []);
    assert.equal(captured.length, before);
  });

  test('malformed JSON: 400; a form body on the message hook: 415', async () => {
    const bad = '{"data":';
    assert.equal((await post('message', bad, { contentType: JSON_CT, headers: await signed(bad) })).status, 400);
    const form = 'From=%2B1&To=%2B2';
    assert.equal((await post('message', form, { contentType: FORM, headers: await signed(form) })).status, 415);
  });
});
