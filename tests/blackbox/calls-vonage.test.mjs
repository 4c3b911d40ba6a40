// SPDX-License-Identifier: MIT
// Click-to-call (POST /v1/sessions/{id}/calls) through Vonage's Voice API, on SQLite (and
// PostgreSQL with MASKD_TEST_PG_URL).
//
// The request maskd makes through the outbox is captured by a local server standing in for
// the Voice API (MASKD_VONAGE_VOICE_API_URL) and compared with what @vonage/voice's
// createOutboundCall() (the Voice client of @vonage/server-sdk) sends for the same call to
// the same stand-in: method, path, Content-Type and body byte for byte. The Authorization
// headers are both RS256 application JWTs with a fresh jti and the current time, so they
// are compared by shape (header, claim names in order) and maskd's is verified with the
// application's public key (@vonage/jwt verifySignature) and its claims checked
// (application_id, exp = iat + 900 as @vonage/jwt makes them). The second leg is driven
// by Vonage's signed callbacks (HS256 JWT with the signature secret, payload_hash).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

import { verifySignature } from '@vonage/jwt';
import { Connect, NCCOBuilder, Voice } from '@vonage/voice';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, interactions,
} from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

const require = createRequire(import.meta.url);
const jsonwebtoken = createRequire(require.resolve('@vonage/jwt'))('jsonwebtoken');
const { Auth } = createRequire(require.resolve('@vonage/voice'))('@vonage/auth');

// ---------------------------------------------------------------------------------------
// The stand-in Voice API: 201 with the call's uuid, or the status a test names for a
// destination (a carrier error).

const captured = [];
const refuseWith = new Map(); // destination number (no '+') -> HTTP status
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let to = null;
    try { to = JSON.parse(body).to?.[0]?.number ?? null; } catch { /* not JSON */ }
    const callId = crypto.randomUUID();
    captured.push({ method: req.method, url: req.url, headers: req.headers, body, to, callId });
    const status = refuseWith.get(to) ?? 201;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    if (status !== 201) res.end(JSON.stringify({ title: 'refused', type: 'https://developer.nexmo.com/api-errors' }));
    else res.end(JSON.stringify({ uuid: callId, status: 'started', direction: 'outbound', conversation_uuid: `CON-${crypto.randomUUID()}` }));
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
capture.unref();
const API_BASE = `http://127.0.0.1:${capture.address().port}`;

const d = useDaemon({ env: { MASKD_VONAGE_VOICE_API_URL: API_BASE, MASKD_SEND_RETRY_MS: '20' } });

// ---------------------------------------------------------------------------------------
// Credentials and signatures

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' });
const APP_ID = crypto.randomUUID();
const SECRET = `vgsig_${crypto.randomBytes(16).toString('hex')}`;
const creds = { vonage: { signature_secret: SECRET, application_id: APP_ID, private_key: PRIVATE_PEM } };
// made before any test runs, off the event loop: generating a 4096-bit key synchronously
// would stall this process (and the stand-in API it serves) for seconds
const generate = promisify(crypto.generateKeyPair);
const OTHER_PUBLIC_PEM = (await generate('rsa', { modulusLength: 2048 })).publicKey.export({ type: 'spki', format: 'pem' });
const BIG = await generate('rsa', { modulusLength: 4096 });

const bare = (e164) => e164.slice(1);
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** "Bearer <HS256 JWT>" as Vonage signs webhooks (payload_hash for a body). */
function bearer({ body, secret = SECRET } = {}) {
  const claims = { iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), iss: 'Vonage', application_id: APP_ID };
  if (body !== undefined) claims.payload_hash = sha256hex(body);
  return `Bearer ${jsonwebtoken.sign(claims, secret, { algorithm: 'HS256' })}`;
}

const answerUrl = (intId) => `${PUBLIC_URL}/hooks/vonage/answer?interaction=${intId}`;
const statusUrl = (intId) => `${PUBLIC_URL}/hooks/vonage/status?interaction=${intId}`;
const firstLegStatusUrl = (intId) => `${statusUrl(intId)}&leg=a`;

/** Vonage fetching the answer URL (GET, its query) once the first leg picked up. */
function answer(intId, { from, to, callId }, { secret } = {}) {
  const q = new URLSearchParams({ from: bare(from), to: bare(to), uuid: callId, conversation_uuid: `CON-${crypto.randomUUID()}` });
  return d.request('GET', `/hooks/vonage/answer?interaction=${intId}&${q}`, { headers: { Authorization: bearer({ secret }) }, kind: 'webhook' });
}

/** A Voice event: JSON POST to url (one maskd gave Vonage). */
function event(url, fields) {
  const body = JSON.stringify(fields);
  const u = new URL(url);
  const headers = { 'Content-Type': 'application/json', Authorization: bearer({ body }) };
  return d.request('POST', u.pathname + u.search, { headers, body, kind: 'webhook' });
}

const firstLegEnds = (intId, callId, status, duration) => event(firstLegStatusUrl(intId), {
  uuid: callId, status, direction: 'outbound', duration: String(duration), from: 'x', to: 'y', timestamp: new Date().toISOString(),
});
const bridgedLegEnds = (intId, duration) => event(statusUrl(intId), {
  uuid: crypto.randomUUID(), status: 'completed', direction: 'outbound', duration: String(duration), timestamp: new Date().toISOString(),
});

/** The same call placed by @vonage/voice against the stand-in; its captured request. */
async function sdkCall({ to, from, intId, ringTimeout }) {
  const before = captured.length;
  const voice = new Voice(new Auth({ applicationId: APP_ID, privateKey: PRIVATE_PEM }), { apiHost: API_BASE });
  await voice.createOutboundCall({
    to: [{ type: 'phone', number: bare(to) }],
    from: { type: 'phone', number: bare(from) },
    answerUrl: [answerUrl(intId)],
    eventUrl: [firstLegStatusUrl(intId)],
    ringingTimer: ringTimeout,
  });
  assert.equal(captured.length, before + 1, 'the SDK request was not captured');
  return captured[before];
}

const jwtParts = (authorization) => {
  assert.match(authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  const [h, c, s] = authorization.slice(7).split('.');
  return { token: authorization.slice(7), header: h, claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')), sig: s };
};

async function interaction(sessionId, intId) {
  return (await interactions(d, sessionId)).find((x) => x.id === intId);
}

async function outboxOf(serviceId, intId) {
  const j = expectStatus(await d.api('GET', `/v1/services/${serviceId}/outbox`), 200, 'GET outbox');
  return j.messages.filter((m) => m.interaction_id === intId);
}

let block = 0;
async function setup({ carriers = creds } = {}) {
  const base = block;
  block += 2;
  const svc = await createService(d, {
    name: `Calls vonage ${base}`, twilio: false, signalwire: false, carriers, defaults: { mode: 'voice-and-message', ttl: 0 },
  });
  await addPool(d, svc.id, [proxy(base), proxy(base + 1)], { carrier: 'vonage' });
  const a = real(100 + base);
  const b = real(101 + base);
  const ses = await createSession(d, svc.id, { participants: [[a, 'Customer'], [b, 'Agent']] });
  return { svc, ses, a, b, pa: ses.participants[0], pb: ses.participants[1] };
}

const placeCall = (sessionId, body) => d.api('POST', `/v1/sessions/${sessionId}/calls`, body);

describe('click-to-call (vonage)', () => {
  test('the Voice API request equals @vonage/voice\'s, its JWT verifies; signed callbacks bridge the other participant', async () => {
    await d.ready;
    const { svc, ses, a, b, pa, pb } = await setup();
    captured.length = 0;
    const notBefore = Math.floor(Date.now() / 1000);
    const res = await placeCall(ses.id, { from_participant: pa.id, ring_timeout: 25 });
    const j = expectStatus(res, 202, 'POST calls');
    assertNoRealNumbers(res.text, [a, b], 'the 202 answer');
    const intId = j.interaction_id;

    const mine = await waitFor('maskd\'s carrier request', () => captured[0]);
    const sdk = await sdkCall({ to: a, from: pa.proxy_number, intId, ringTimeout: 25 });
    assert.equal(mine.method, sdk.method);
    assert.equal(mine.url, sdk.url);
    assert.equal(mine.url, '/v1/calls');
    assert.equal(mine.headers['content-type'], sdk.headers['content-type']);
    assert.equal(mine.body, sdk.body, 'maskd\'s JSON body differs from the SDK\'s');

    // the JWTs: the same header and claim names; maskd's signed by the application's key
    const m = jwtParts(mine.headers.authorization);
    const s = jwtParts(sdk.headers.authorization);
    assert.equal(m.header, s.header);
    assert.deepEqual(Object.keys(m.claims), Object.keys(s.claims));
    assert.deepEqual(Object.keys(m.claims), ['jti', 'iat', 'exp', 'application_id']);
    assert.equal(verifySignature(m.token, PUBLIC_PEM), true, '@vonage/jwt rejects maskd\'s JWT');
    assert.equal(verifySignature(m.token, OTHER_PUBLIC_PEM), false, 'another key must not verify it');
    assert.equal(m.claims.application_id, APP_ID);
    assert.equal(m.claims.exp - m.claims.iat, 900);
    assert.equal(s.claims.exp - s.claims.iat, 900);
    assert.ok(m.claims.iat >= notBefore && m.claims.iat <= s.claims.iat, 'iat is the time of the request');
    assert.match(m.claims.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // the carrier took it: leg a "queued", the call's uuid on the interaction
    await waitFor('leg a "queued"', async () => (await interaction(ses.id, intId))?.legs.some((l) => l.leg === 'a' && l.status === 'queued'));
    assert.equal((await interaction(ses.id, intId)).carrier_call_id, mine.callId);

    // a forged answer fetch is refused; the signed one bridges b, who sees b's own proxy number
    const forged = await answer(intId, { from: pa.proxy_number, to: a, callId: mine.callId }, { secret: 'not-the-secret' });
    assert.equal(forged.status, 403);
    const ans = await answer(intId, { from: pa.proxy_number, to: a, callId: mine.callId });
    assert.equal(ans.status, 200, ans.text);
    const ncco = JSON.parse(ans.text);
    const want = new NCCOBuilder().addAction(new Connect({ type: 'phone', number: bare(b) }, bare(pb.proxy_number),
      undefined, 'synchronous', undefined, undefined, undefined, statusUrl(intId), 'POST')).build();
    assert.deepEqual(ncco.map(({ timeout, ...rest }) => rest), want);

    assert.equal((await bridgedLegEnds(intId, 40)).status, 200);
    assert.equal((await firstLegEnds(intId, mine.callId, 'completed', 42)).status, 200);
    const it = await interaction(ses.id, intId);
    assert.equal(it.carrier, 'vonage');
    assert.equal(it.decision, 'bridge');
    assert.equal(it.from_participant, pa.id);
    assert.equal(it.to_participant, pb.id);
    const legA = it.legs.find((l) => l.leg === 'a');
    const legB = it.legs.find((l) => l.leg === 'b');
    assert.equal(legA.status, 'completed');
    assert.equal(legA.duration, 42);
    assert.equal(legB.status, 'completed');
    assert.equal(legB.duration, 40);
    assert.equal(it.legs.length, 2);
    assertNoRealNumbers(JSON.stringify(await interactions(d, ses.id)), [a, b], 'interactions');
    const box = await outboxOf(svc.id, intId);
    assert.deepEqual(box.map((x) => [x.kind, x.status, x.tries]), [['carrier_call', 'sent', 1]]);
    const shown = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200, 'GET service');
    assert.ok(!JSON.stringify(shown).includes('PRIVATE KEY'), 'the private key is never shown');
  });

  for (const [vonageStatus, recorded] of [['busy', 'busy'], ['timeout', 'no-answer'], ['unanswered', 'no-answer']]) {
    test(`a "${vonageStatus}" first leg is recorded as ${recorded}, nobody else is rung, nothing is sent again`, async () => {
      await d.ready;
      const { svc, ses, a, b, pa } = await setup();
      const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
      const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.to === bare(a)));
      await waitFor('leg a "queued"', async () => (await interaction(ses.id, j.interaction_id))?.legs.some((l) => l.status === 'queued'));
      assert.equal((await firstLegEnds(j.interaction_id, mine.callId, vonageStatus, 0)).status, 200);
      const it = await interaction(ses.id, j.interaction_id);
      assert.equal(it.legs.length, 1);
      assert.equal(it.legs[0].leg, 'a');
      assert.equal(it.legs[0].status, recorded);
      assert.ok(it.legs[0].ended_at, 'a final status ends the leg');
      const box = await outboxOf(svc.id, j.interaction_id);
      assert.deepEqual(box.map((x) => [x.status, x.tries]), [['sent', 1]]);
      assert.equal(captured.filter((c) => c.to === bare(a) || c.to === bare(b)).length, 1);
    });
  }

  test('a carrier error fails the call once: never tried again', async () => {
    await d.ready;
    const { svc, ses, a, pa } = await setup();
    refuseWith.set(bare(a), 500);
    const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
    await waitFor('leg a "failed"', async () => (await interaction(ses.id, j.interaction_id))?.legs.some((l) => l.leg === 'a' && l.status === 'failed'));
    const box = await outboxOf(svc.id, j.interaction_id);
    assert.deepEqual(box.map((x) => [x.kind, x.status, x.tries]), [['carrier_call', 'failed', 1]]);
    assert.equal(captured.filter((c) => c.to === bare(a)).length, 1);
    assert.equal((await interaction(ses.id, j.interaction_id)).carrier_call_id, null);
    refuseWith.delete(bare(a));
  });
});

describe('click-to-call (vonage): credentials', () => {
  test('a missing or unusable credential is a 400 naming it; nothing is called or written', async () => {
    await d.ready;
    const cases = [
      [{ vonage: { signature_secret: SECRET, private_key: PRIVATE_PEM } }, 'carriers.vonage.application_id'],
      [{ vonage: { signature_secret: SECRET, application_id: APP_ID } }, 'carriers.vonage.private_key'],
      [{ vonage: { signature_secret: SECRET, application_id: APP_ID, private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' } },
        'carriers.vonage.private_key'],
    ];
    const before = captured.length;
    for (const [carriers, field] of cases) {
      const { ses, pa } = await setup({ carriers });
      expectError(await placeCall(ses.id, { from_participant: pa.id }), 400, 'invalid_field', field);
      assert.deepEqual(await interactions(d, ses.id), [], `${field}: no interaction`);
    }
    // nothing was queued: a call placed now is the next request the stand-in sees
    const { ses, pa } = await setup();
    const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
    const next = await waitFor('the next carrier request', () => captured[before]);
    assert.ok(next.body.includes(j.interaction_id), 'the first request after the refusals is this call\'s');
  });

  test('a 4096-bit key is taken and signs; a private_key over 3500 characters is refused', async () => {
    await d.ready;
    const big = BIG;
    const pem = big.privateKey.export({ type: 'pkcs8', format: 'pem' });
    const { ses, pa } = await setup({ carriers: { vonage: { signature_secret: SECRET, application_id: APP_ID, private_key: pem } } });
    const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
    const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.body.includes(j.interaction_id)));
    assert.equal(verifySignature(jwtParts(mine.headers.authorization).token, big.publicKey.export({ type: 'spki', format: 'pem' })), true);

    const tooLong = { vonage: { signature_secret: SECRET, application_id: APP_ID, private_key: `${pem}${'A'.repeat(3501 - pem.length)}` } };
    expectError(await d.api('POST', '/v1/services', { name: 'Too long', carriers: tooLong }), 400, 'invalid_field', 'carriers.vonage.private_key');
  });
});
