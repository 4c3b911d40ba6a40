// SPDX-License-Identifier: MIT
// Vonage webhooks through the real daemon: Voice answer (GET query) and event (JSON POST)
// webhooks signed with HS256 JWTs made by the jsonwebtoken that @vonage/jwt uses (and
// checked with @vonage/jwt's verifySignature), NCCOs compared with @vonage/voice's
// classes, inbound SMS signed with the SMS API "sig" (checked with @vonage/sms's
// verifySignature), and the SMS API request maskd sends compared with what @vonage/sms
// sends for the same message, both captured by a local server.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';

import { tokenGenerate, verifySignature } from '@vonage/jwt';
import { SMS } from '@vonage/sms';
import { Connect, NCCOBuilder, Talk } from '@vonage/voice';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import { ID, addPool, assertNoRealNumbers, createSession, expectStatus, interactions } from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const require = createRequire(import.meta.url);
// @vonage/jwt signs and verifies with jsonwebtoken; its tokenGenerate only makes RS256
// (application) tokens, so the HS256 webhook tokens come from that same jsonwebtoken.
const jsonwebtoken = createRequire(require.resolve('@vonage/jwt'))('jsonwebtoken');
const { Auth, AlgorithmTypes } = createRequire(require.resolve('@vonage/sms'))('@vonage/auth');

const SECRET = `vgsig_${crypto.randomBytes(16).toString('hex')}`;
const API_KEY = 'abcd1234';
const API_SECRET = `s${crypto.randomBytes(8).toString('hex')}`;
const UNKNOWN = 'This number is not in service. Goodbye.';
const POOL = Array.from({ length: 6 }, (_, i) => proxy(60 + i, '650'));
const STRANGER = real(7990);
assertValid(POOL, [STRANGER]);

const bare = (e164) => e164.replace(/^\+/, '');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A local server capturing every request: {method, url, headers, body}. */
async function startCapture() {
  const seen = [];
  let n = 0;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const to = (() => { try { return JSON.parse(body).to; } catch { return ''; } })();
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({
        'message-count': '1',
        messages: [{ to, 'message-id': `msg-${++n}`, status: '0', 'remaining-balance': '3.14', 'message-price': '0.03', network: '12345' }],
      }));
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { srv, seen, base: `http://127.0.0.1:${srv.address().port}` };
}

const capture = await startCapture();
const d = useDaemon({ env: { MASKD_VONAGE_API_URL: `${capture.base}/maskd`, MASKD_SEND_RETRY_MS: '20' } });
after(() => new Promise((resolve) => capture.srv.close(resolve)));

/** "Bearer <HS256 JWT>" as Vonage signs webhooks, verified by @vonage/jwt first. */
function bearer({ body, secret = SECRET, iat = Math.floor(Date.now() / 1000), extra = {} } = {}) {
  const claims = { iat, jti: crypto.randomUUID(), iss: 'Vonage', application_id: crypto.randomUUID(), ...extra };
  if (body !== undefined) claims.payload_hash = sha256hex(body);
  const token = jsonwebtoken.sign(claims, secret, { algorithm: 'HS256' });
  assert.equal(verifySignature(token, secret), true, '@vonage/jwt rejects the test token');
  return `Bearer ${token}`;
}

let svc;
let counter = 0;
before(async () => {
  await d.ready;
  const res = await d.api('POST', '/v1/services', {
    name: 'Rides via Vonage',
    carriers: { vonage: { signature_secret: SECRET, api_key: API_KEY, api_secret: API_SECRET } },
    defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN },
  });
  svc = expectStatus(res, 201, 'POST /v1/services');
  await addPool(d, svc.id, POOL, { carrier: 'vonage' });
});

async function newPair() {
  const riderReal = real(7000 + counter++);
  const driverReal = real(7000 + counter++);
  const ses = await createSession(d, svc.id, { participants: [{ number: riderReal, label: 'Rider' }, { number: driverReal, label: 'Driver' }] });
  const [p0, p1] = ses.participants;
  return {
    ses,
    rider: { real: riderReal, par: p0.id, proxy: p0.proxy_number },
    driver: { real: driverReal, par: p1.id, proxy: p1.proxy_number },
  };
}

/** The answer webhook, GET with the query Vonage sends (numbers without '+'). */
function answer({ from, to, uuid = crypto.randomUUID(), auth } = {}) {
  const q = new URLSearchParams({ from: bare(from), to: bare(to), uuid, conversation_uuid: `CON-${crypto.randomUUID()}`, region_url: 'https://api-us-3.vonage.com' });
  const headers = {};
  const a = auth === undefined ? bearer() : auth;
  if (a !== null) headers.Authorization = a;
  return d.request('GET', `/hooks/vonage/voice?${q}`, { headers, kind: 'webhook' });
}

/** An event webhook: JSON POST to the connect eventUrl maskd gave. */
function event(statusUrl, fields, { auth, bodyOverride } = {}) {
  const body = JSON.stringify(fields);
  const u = new URL(statusUrl);
  assert.equal(u.origin, PUBLIC_URL);
  const headers = { 'Content-Type': 'application/json', Authorization: auth ?? bearer({ body }) };
  return d.request('POST', u.pathname + u.search, { headers, body: bodyOverride ?? body, kind: 'webhook' });
}

function expectedBridge(driver, statusUrl) {
  return new NCCOBuilder()
    .addAction(new Connect({ type: 'phone', number: bare(driver.real) }, bare(driver.proxy), undefined, 'synchronous',
      undefined, undefined, undefined, statusUrl, 'POST'))
    .build();
}

/** Checks a bridge NCCO deep-equal to @vonage/voice's and returns its eventUrl. */
function assertBridge(res, driver) {
  assert.equal(res.status, 200, `bridge: HTTP ${res.status} ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json\b/);
  const ncco = JSON.parse(res.text);
  const statusUrl = ncco.at(-1)?.eventUrl?.[0];
  assert.ok(statusUrl, `no eventUrl in ${res.text}`);
  const intId = new URL(statusUrl).searchParams.get('interaction');
  assert.match(intId, ID.interaction);
  assert.equal(statusUrl, `${PUBLIC_URL}/hooks/vonage/status?interaction=${intId}`);
  assert.deepEqual(ncco, expectedBridge(driver, statusUrl));
  return { statusUrl, intId };
}

describe('vonage voice', () => {
  test('answer webhook (GET, numbers without +): NCCO connect equal to @vonage/voice\'s build', async () => {
    const { ses, rider, driver } = await newPair();
    const uuid = crypto.randomUUID();
    const { intId } = assertBridge(await answer({ from: rider.real, to: rider.proxy, uuid }), driver);
    const list = await interactions(d, ses.id);
    assert.equal(list.length, 1);
    assert.equal(list[0].id, intId);
    assert.equal(list[0].carrier, 'vonage');
    assert.equal(list[0].carrier_sid, uuid);
    assert.equal(list[0].decision, 'bridge');
    assert.equal(list[0].from_participant, rider.par);
    assertNoRealNumbers(JSON.stringify(list), [rider.real, driver.real], 'interactions');
  });

  test('the driver calls back: bridged to the rider; from already in E.164 is accepted too', async () => {
    const { rider, driver } = await newPair();
    const q = new URLSearchParams({ from: driver.real, to: bare(driver.proxy), uuid: crypto.randomUUID() });
    const res = await d.request('GET', `/hooks/vonage/voice?${q}`, { headers: { Authorization: bearer() } });
    assertBridge(res, rider);
  });

  test('answer webhook as a JSON POST (answer_method POST), payload_hash checked', async () => {
    const { rider, driver } = await newPair();
    const body = JSON.stringify({ from: bare(rider.real), to: bare(rider.proxy), uuid: crypto.randomUUID(), conversation_uuid: 'CON-1' });
    const res = await d.request('POST', '/hooks/vonage/voice', { headers: { 'Content-Type': 'application/json', Authorization: bearer({ body }) }, body });
    assertBridge(res, driver);
    const tampered = body.replace(bare(rider.real), bare(STRANGER));
    const bad = await d.request('POST', '/hooks/vonage/voice', { headers: { 'Content-Type': 'application/json', Authorization: bearer({ body }) }, body: tampered });
    assert.equal(bad.status, 403);
  });

  test('unknown caller: talk reject equal to @vonage/voice\'s Talk', async () => {
    const res = await answer({ from: STRANGER, to: POOL[0] });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), new NCCOBuilder().addAction(new Talk(UNKNOWN)).build());
  });

  test('retried answer webhook (same uuid): the same NCCO and one interaction', async () => {
    const { ses, rider, driver } = await newPair();
    const uuid = crypto.randomUUID();
    const first = await answer({ from: rider.real, to: rider.proxy, uuid });
    const second = await answer({ from: rider.real, to: rider.proxy, uuid });
    assertBridge(first, driver);
    assert.deepEqual(JSON.parse(second.text), JSON.parse(first.text));
    assert.equal((await interactions(d, ses.id)).length, 1);
  });

  test('bad, missing, alg none, RS256, stale or wrongly keyed JWT: 403 and nothing recorded', async () => {
    const { ses, rider } = await newPair();
    const now = Math.floor(Date.now() / 1000);
    const claims = { iat: now, jti: crypto.randomUUID(), iss: 'Vonage' };
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    assert.throws(() => jsonwebtoken.verify(none, SECRET, { algorithms: ['RS256', 'HS256'] }));
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = tokenGenerate(crypto.randomUUID(), privateKey.export({ type: 'pkcs8', format: 'pem' }), { iss: 'Vonage' });
    assert.equal(verifySignature(rs256, publicKey.export({ type: 'spki', format: 'pem' })), true, '@vonage/jwt accepts its RS256 token');
    const good = bearer().slice(7);
    const cases = {
      missing: null,
      garbage: 'Bearer not.a.jwt',
      basic: `Basic ${Buffer.from('a:b').toString('base64')}`,
      'wrong secret': bearer({ secret: 'not-the-secret' }),
      'alg none': `Bearer ${none}`,
      'alg none with a signature': `Bearer ${none}${good.split('.')[2]}`,
      RS256: `Bearer ${rs256}`,
      'stale iat': bearer({ iat: now - 3600 }),
      'future iat': bearer({ iat: now + 3600 }),
      'truncated signature': `Bearer ${good.slice(0, -2)}`,
    };
    for (const [what, auth] of Object.entries(cases)) {
      const res = await answer({ from: rider.real, to: rider.proxy, auth });
      assert.equal(res.status, 403, `${what}: HTTP ${res.status} ${res.text}`);
      assertNoRealNumbers(res.text, [rider.real], what);
    }
    assert.deepEqual(await interactions(d, ses.id), []);
  });
});

describe('vonage events', () => {
  test('connect events are recorded as leg b; a tampered or unsigned event is refused', async () => {
    const { ses, rider, driver } = await newPair();
    const aUuid = crypto.randomUUID();
    const { statusUrl, intId } = assertBridge(await answer({ from: rider.real, to: rider.proxy, uuid: aUuid }), driver);
    const bUuid = crypto.randomUUID();
    const base = { from: bare(driver.proxy), to: bare(driver.real), uuid: bUuid, conversation_uuid: 'CON-x', direction: 'outbound', timestamp: new Date().toISOString() };
    for (const status of ['started', 'ringing', 'answered']) {
      const res = await event(statusUrl, { ...base, status });
      assert.equal(res.status, 200, `${status}: HTTP ${res.status} ${res.text}`);
      assert.equal(res.text, '');
    }
    const completed = { ...base, status: 'completed', duration: '42', rate: '0.00450000', price: '0.00315000', start_time: base.timestamp, end_time: base.timestamp, network: '310260' };
    // body that does not match payload_hash, and no JWT at all: 403, nothing changes
    const bad = await event(statusUrl, completed, { auth: bearer({ body: JSON.stringify({ ...completed, duration: '1' }) }) });
    assert.equal(bad.status, 403);
    const unsigned = await d.request('POST', new URL(statusUrl).pathname + new URL(statusUrl).search,
      { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(completed) });
    assert.equal(unsigned.status, 403);
    let [i] = await interactions(d, ses.id);
    assert.ok(!i.legs.some((l) => l.status === 'completed'), `no completed leg yet: ${JSON.stringify(i.legs)}`);

    assert.equal((await event(statusUrl, completed)).status, 200);
    assert.equal((await event(statusUrl, completed)).status, 200); // a retry changes nothing
    // the caller's own leg (direction inbound)
    assert.equal((await event(statusUrl, { ...base, uuid: aUuid, direction: 'inbound', status: 'completed', duration: '45' })).status, 200);
    [i] = await interactions(d, ses.id);
    assert.equal(i.id, intId);
    const b = i.legs.filter((l) => l.carrier_sid === bUuid);
    assert.equal(b.length, 1, JSON.stringify(i.legs));
    assert.equal(b[0].leg, 'b');
    assert.equal(b[0].status, 'completed');
    assert.equal(b[0].duration, 42);
    assert.equal(b[0].cost, '0.00315000');
    assert.equal(b[0].currency, 'EUR');
    assert.ok(b[0].answered_at, `answered_at set by the answered event: ${JSON.stringify(b[0])}`);
    const a = i.legs.filter((l) => l.carrier_sid === aUuid);
    assert.equal(a.length, 1, JSON.stringify(i.legs));
    assert.equal(a[0].leg, 'a');
    assert.equal(a[0].duration, 45);
    assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');
  });

  test("the inbound call's own events at the application Event URL (no ?interaction=) land on leg a", async () => {
    const { ses, rider, driver } = await newPair();
    const aUuid = crypto.randomUUID();
    const { intId } = assertBridge(await answer({ from: rider.real, to: rider.proxy, uuid: aUuid }), driver);
    const appEventUrl = `${PUBLIC_URL}/hooks/vonage/status`;
    const ev = { from: bare(rider.real), to: bare(rider.proxy), uuid: aUuid, conversation_uuid: 'CON-y',
      direction: 'inbound', status: 'completed', duration: '61', timestamp: new Date().toISOString() };
    assert.equal((await event(appEventUrl, ev)).status, 200);
    const [i] = await interactions(d, ses.id);
    assert.equal(i.id, intId);
    const a = i.legs.filter((l) => l.carrier_sid === aUuid);
    assert.equal(a.length, 1, JSON.stringify(i.legs));
    assert.equal(a[0].leg, 'a');
    assert.equal(a[0].status, 'completed');
    assert.equal(a[0].duration, 61);
    const unsigned = await d.request('POST', '/hooks/vonage/status',
      { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...ev, duration: '1' }) });
    assert.equal(unsigned.status, 403);
  });

  test('an event for an unknown interaction: 200 and ignored', async () => {
    const res = await event(`${PUBLIC_URL}/hooks/vonage/status?interaction=int_doesnotexist`, { uuid: 'x', status: 'completed' });
    assert.equal(res.status, 200);
  });
});

describe('vonage SMS', () => {
  /** The SMS API inbound params, signed with "sig" (md5hash, Vonage's default method). */
  function smsParams({ from, to, text, messageId = crypto.randomBytes(8).toString('hex').toUpperCase(), secret = SECRET }) {
    const p = {
      msisdn: bare(from), to: bare(to), messageId, text, type: 'text', keyword: text.split(' ')[0].toUpperCase(),
      'api-key': API_KEY, 'message-timestamp': new Date().toISOString().slice(0, 19).replace('T', ' '),
      timestamp: String(Math.floor(Date.now() / 1000)), nonce: crypto.randomUUID(),
    };
    let signed = '';
    for (const k of Object.keys(p).sort()) signed += `&${k}=${p[k].replace(/[&=]/g, '_')}`;
    p.sig = crypto.createHash('md5').update(signed + secret).digest('hex');
    assert.equal(new SMS(new Auth({ apiKey: API_KEY, apiSecret: API_SECRET })).verifySignature(p.sig, p, SECRET, AlgorithmTypes.md5hash),
      secret === SECRET, '@vonage/sms verifySignature');
    return p;
  }
  const inbound = (p) => d.request('GET', `/hooks/vonage/message?${new URLSearchParams(p)}`, { kind: 'webhook' });
  const maskdSends = () => capture.seen.filter((r) => r.url.startsWith('/maskd/'));

  test('inbound SMS: empty 200, and the SMS API request equals @vonage/sms send()', async () => {
    const { ses, rider, driver } = await newPair();
    const text = 'Héllo & welcome <3';
    const before = maskdSends().length;
    const p = smsParams({ from: rider.real, to: rider.proxy, text });
    const res = await inbound(p);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '');
    const sent = await waitFor('maskd\'s SMS API request', () => maskdSends()[before]);

    const sdk = new SMS(new Auth({ apiKey: API_KEY, apiSecret: API_SECRET }), { restHost: `${capture.base}/sdk` });
    await sdk.send({ from: bare(driver.proxy), to: bare(driver.real), text, type: 'unicode' });
    const ref = capture.seen.find((r) => r.url.startsWith('/sdk/'));
    assert.ok(ref);
    assert.equal(sent.method, ref.method);
    assert.equal(sent.url.replace('/maskd', ''), ref.url.replace('/sdk', ''));
    assert.equal(sent.url, '/maskd/sms/json');
    assert.equal(sent.headers['content-type'], ref.headers['content-type']);
    assert.equal(sent.headers.authorization, ref.headers.authorization);
    assert.deepEqual(JSON.parse(sent.body), JSON.parse(ref.body));
    assert.equal(sent.body, ref.body);

    // the outcome lands on leg b; the interaction holds no real number
    const i = await waitFor('the sent leg', async () => {
      const [x] = await interactions(d, ses.id);
      return x?.legs?.some((l) => l.leg === 'b' && l.status === 'sent') && x;
    });
    assert.equal(i.carrier_sid, p.messageId);
    assert.equal(i.decision, 'forward_message');
    assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');

    // a retried webhook (same messageId) is answered alike and sends nothing: the sender is
    // FIFO, so a second send would arrive before the next new message's
    assert.equal((await inbound(p)).status, 200);
    const next = smsParams({ from: driver.real, to: driver.proxy, text: 'ok thanks' });
    assert.equal((await inbound(next)).status, 200);
    const after2 = await waitFor('the next SMS', () => maskdSends().length >= before + 2 && maskdSends());
    assert.equal(after2.length, before + 2);
    assert.deepEqual(JSON.parse(after2[before + 1].body), { from: bare(rider.proxy), to: bare(rider.real), text: 'ok thanks' });
    assert.equal((await interactions(d, ses.id)).length, 2);
  });

  test('inbound SMS with a bad or missing sig: 403, nothing sent or recorded', async () => {
    const { ses, rider } = await newPair();
    const before = maskdSends().length;
    const wrong = smsParams({ from: rider.real, to: rider.proxy, text: 'hi', secret: 'not-the-secret' });
    assert.equal((await inbound(wrong)).status, 403);
    const good = smsParams({ from: rider.real, to: rider.proxy, text: 'hi' });
    assert.equal((await inbound({ ...good, text: 'changed' })).status, 403);
    const { sig, ...unsigned } = good;
    assert.ok(sig);
    assert.equal((await inbound(unsigned)).status, 403);
    assert.deepEqual(await interactions(d, ses.id), []);
    assert.equal(maskdSends().length, before);
  });
});
