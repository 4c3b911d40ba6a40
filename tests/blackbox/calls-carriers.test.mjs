// SPDX-License-Identifier: MIT
// Click-to-call (POST /v1/sessions/{id}/calls) through Telnyx (TeXML Calls), Plivo and
// Vobiz (Call API with answer_url), on SQLite (and PostgreSQL with MASKD_TEST_PG_URL).
//
// The carrier request maskd makes through the outbox is captured by a local server standing
// in for the carrier's API (MASKD_TELNYX_API_URL, MASKD_PLIVO_API_URL, MASKD_VOBIZ_API_URL)
// and compared byte for byte (method, path, Authorization, Content-Type, body) with what the
// carrier's own SDK sends for the same call to the same stand-in: telnyx (npm)
// texml.accounts.calls.calls() and plivo (npm) calls.create(). Vobiz has no SDK: its Call
// API mirrors Plivo's, so maskd's Vobiz request is compared with plivo's, under Vobiz's /api
// path prefix. plivo's client always calls https://api.plivo.com for voice; an axios adapter
// sends it to the stand-in instead (the request itself is the SDK's). The second leg is
// driven by the carrier's signed callbacks (Telnyx: Ed25519; Plivo and Vobiz: V3).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import querystring from 'node:querystring';
import { describe, test } from 'node:test';

import plivo from 'plivo';
import Telnyx from 'telnyx';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, interactions,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';

const require = createRequire(import.meta.url);
const axios = require('axios');

// ---------------------------------------------------------------------------------------
// The stand-in carrier APIs: 201 with the carrier's call id, or the status a test names
// for a destination (a carrier error).

const captured = [];
const refuseWith = new Map(); // destination as the carrier writes it -> HTTP status
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let to = null;
    try { const j = JSON.parse(body); to = j.To ?? j.to ?? null; } catch { /* not JSON */ }
    const telnyx = req.url.includes('/texml/');
    const callId = telnyx ? `v3:${crypto.randomBytes(18).toString('base64url')}` : crypto.randomUUID();
    captured.push({ method: req.method, url: req.url, headers: req.headers, body, to, callId });
    const status = refuseWith.get(to) ?? 201;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    if (status !== 201) res.end(JSON.stringify({ error: 'refused' }));
    else if (telnyx) res.end(JSON.stringify({ call_sid: callId, from: 'x', status: 'queued', to }));
    else res.end(JSON.stringify({ api_id: crypto.randomUUID(), message: 'call fired', request_uuid: callId }));
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
capture.unref();
const API_BASE = `http://127.0.0.1:${capture.address().port}`;

// plivo's voice requests go to https://api.plivo.com whatever the client's url: send them here
const httpAdapter = axios.getAdapter('http');
axios.defaults.adapter = (config) => {
  config.url = config.url.replace('https://api.plivo.com', API_BASE);
  return httpAdapter(config);
};

const d = useDaemon({
  env: {
    MASKD_TELNYX_API_URL: API_BASE, MASKD_PLIVO_API_URL: API_BASE, MASKD_VOBIZ_API_URL: API_BASE,
    MASKD_SEND_RETRY_MS: '20',
  },
});

// ---------------------------------------------------------------------------------------
// Credentials and signatures

const { publicKey: tnxPublic, privateKey: tnxPrivate } = crypto.generateKeyPairSync('ed25519');
const TELNYX_PUBLIC = tnxPublic.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
const TELNYX_KEY = `KEY${crypto.randomBytes(12).toString('hex')}`;
const TELNYX_ACCOUNT = crypto.randomUUID();
const TELNYX_APP = String(crypto.randomInt(1e9, 1e10 - 1));
const AUTH_ID = `MA${crypto.randomBytes(9).toString('hex').toUpperCase()}`;

const PLIVO_TOKEN = `pl_${crypto.randomBytes(16).toString('hex')}`;
const VOBIZ_TOKEN = `vb_${crypto.randomBytes(16).toString('hex')}`;
const token = (dialect) => (dialect === 'vobiz' ? VOBIZ_TOKEN : PLIVO_TOKEN);

function carriers(dialect) {
  if (dialect === 'telnyx') {
    return { telnyx: { public_key: TELNYX_PUBLIC, api_key: TELNYX_KEY, account_sid: TELNYX_ACCOUNT, application_sid: TELNYX_APP } };
  }
  return { [dialect]: { auth_id: AUTH_ID, auth_token: token(dialect) } };
}

const digits = (e164) => e164.slice(1);
const hmac64 = (token, s) => crypto.createHmac('sha256', token).update(s, 'utf8').digest('base64');
const baseUrl = (url) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };

/** plivo-node's V3 string for a POST (v3Security.js construct_post_url). */
function plivoV3String(url, params) {
  const q = querystring.parse(new URL(url).search.slice(1));
  const sorted = (o, f) => Object.keys(o).sort().flatMap((k) => [].concat(o[k]).sort().map((v) => f(k, v)));
  const qs = sorted(q, (k, v) => `${k}=${v}`).join('&');
  const hasP = Object.keys(params).length > 0;
  let s = baseUrl(url);
  if (qs || hasP) s += `?${qs}`;
  if (qs && hasP) s += '.';
  return s + sorted(params, (k, v) => k + v).join('');
}

/** A carrier's signed form POST to /hooks/{dialect}/{event}?{query}. */
async function hook(dialect, event, params, query, { forge = false } = {}) {
  const qs = new URLSearchParams(query).toString();
  const path = `/hooks/${dialect}/${event}${qs ? `?${qs}` : ''}`;
  const url = PUBLIC_URL + path;
  const body = new URLSearchParams(params).toString();
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (dialect === 'telnyx') {
    const ts = String(Math.floor(Date.now() / 1000));
    headers['telnyx-timestamp'] = ts;
    headers['telnyx-signature-ed25519'] = crypto.sign(null, Buffer.from(`${ts}|${forge ? `${body}x` : body}`), tnxPrivate)
      .toString('base64');
  } else {
    const n = String(crypto.randomInt(1e9, 1e10 - 1)) + String(crypto.randomInt(1e9, 1e10 - 1));
    const key = forge ? 'not-the-token' : token(dialect);
    const sig = hmac64(key, `${plivoV3String(url, params)}.${n}`);
    if (dialect === 'plivo' && !forge) {
      assert.ok(plivo.validateV3Signature('POST', url, n, key, sig, params), 'plivo rejects the test signature');
    }
    const prefix = dialect === 'vobiz' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature';
    headers[`${prefix}-V3`] = sig;
    headers[`${prefix}-V3-Nonce`] = n;
  }
  return d.request('POST', path, { headers, body, kind: 'webhook' });
}

// ---------------------------------------------------------------------------------------
// What each carrier posts

const statusUrl = (dialect, intId) => markup.statusUrl(dialect, intId);
const firstLegStatusUrl = (dialect, intId) => statusUrl(dialect, intId) + (dialect === 'telnyx' ? '' : '&leg=a');
const firstLegQuery = (dialect, intId) => (dialect === 'telnyx' ? { interaction: intId } : { interaction: intId, leg: 'a' });
const answerUrl = (dialect, intId) => `${PUBLIC_URL}/hooks/${dialect}/answer?interaction=${intId}`;

/** The carrier fetching the answer URL once the first leg (to `to`, from `from`) picked up. */
function answer(dialect, intId, { from, to, callId }, opts) {
  const p = dialect === 'telnyx'
    ? { AccountSid: TELNYX_ACCOUNT, CallSid: callId, CallStatus: 'in-progress', Direction: 'outbound-api', From: from, To: to }
    : { CallUUID: callId, CallStatus: 'in-progress', Direction: 'outbound', Event: 'StartApp', From: digits(from), To: digits(to), RequestUUID: callId };
  return hook(dialect, 'answer', p, { interaction: intId }, opts);
}

/** The first leg's final status: Telnyx's status callback, Plivo's hangup URL. */
function firstLegEnds(dialect, intId, callId, status, duration) {
  const p = dialect === 'telnyx'
    ? { AccountSid: TELNYX_ACCOUNT, CallSid: callId, CallStatus: status, CallDuration: String(duration), Direction: 'outbound-api' }
    : { CallUUID: callId, CallStatus: status, Direction: 'outbound', Event: 'Hangup', BillDuration: String(duration), Duration: String(duration), RequestUUID: callId };
  return hook(dialect, 'status', p, firstLegQuery(dialect, intId));
}

/** The bridged leg's end: TeXML's Dial action, Plivo's Dial action. */
function bridgedLegEnds(dialect, intId, callId, duration) {
  const p = dialect === 'telnyx'
    ? { AccountSid: TELNYX_ACCOUNT, CallSid: callId, DialCallSid: `v3:${crypto.randomBytes(12).toString('hex')}`, DialCallStatus: 'completed', DialCallDuration: String(duration) }
    : { CallUUID: callId, CallStatus: 'in-progress', DialStatus: 'completed', DialALegUUID: callId, DialBLegUUID: crypto.randomUUID(), DialBLegBillDuration: String(duration) };
  return hook(dialect, 'status', p, { interaction: intId });
}

/** The bridge maskd answers with, as the carrier's builder writes it. */
function bridgeMarkup(dialect, { callerId, realNumber, intId }) {
  if (dialect === 'telnyx') {
    return markup.bridge('twilio', { callerId, real: realNumber, intId }).replaceAll('/hooks/twilio/status', '/hooks/telnyx/status');
  }
  const r = plivo.Response();
  const s = statusUrl(dialect, intId);
  r.addDial({ callerId: digits(callerId), action: s, method: 'POST', redirect: 'false', callbackUrl: s, callbackMethod: 'POST' })
    .addNumber(digits(realNumber));
  return r.toXML();
}

/** The same call placed by the carrier's SDK against the stand-in; its captured request. */
async function sdkCall(dialect, { to, from, intId, ringTimeout }) {
  const before = captured.length;
  if (dialect === 'telnyx') {
    const client = new Telnyx({ apiKey: TELNYX_KEY, baseURL: `${API_BASE}/v2`, maxRetries: 0 });
    await client.texml.accounts.calls.calls(TELNYX_ACCOUNT, {
      body: {
        ApplicationSid: TELNYX_APP, To: to, From: from, Url: answerUrl(dialect, intId),
        StatusCallback: firstLegStatusUrl(dialect, intId), Timeout: ringTimeout,
      },
    });
  } else {
    const client = new plivo.Client(AUTH_ID, token(dialect));
    await client.calls.create(digits(from), digits(to), answerUrl(dialect, intId), {
      answer_method: 'POST', hangup_url: firstLegStatusUrl(dialect, intId), hangup_method: 'POST', ring_timeout: ringTimeout,
    });
  }
  assert.equal(captured.length, before + 1, 'the SDK request was not captured');
  return captured[before];
}

async function interaction(sessionId, intId) {
  return (await interactions(d, sessionId)).find((x) => x.id === intId);
}

async function outboxOf(serviceId, intId) {
  const j = expectStatus(await d.api('GET', `/v1/services/${serviceId}/outbox`), 200, 'GET outbox');
  return j.messages.filter((m) => m.interaction_id === intId);
}

let block = 0;
async function setup(dialect, { creds } = {}) {
  const base = block;
  block += 2;
  const svc = await createService(d, {
    name: `Calls ${dialect} ${base}`, twilio: false, signalwire: false, carriers: creds ?? carriers(dialect),
    defaults: { mode: 'voice-and-message', ttl: 0 },
  });
  await addPool(d, svc.id, [proxy(base), proxy(base + 1)], { carrier: dialect });
  const a = real(100 + base);
  const b = real(101 + base);
  const ses = await createSession(d, svc.id, { participants: [[a, 'Customer'], [b, 'Agent']] });
  return { svc, ses, a, b, pa: ses.participants[0], pb: ses.participants[1] };
}

const destination = (dialect, e164) => (dialect === 'telnyx' ? e164 : digits(e164));
const placeCall = (sessionId, body) => d.api('POST', `/v1/sessions/${sessionId}/calls`, body);

for (const dialect of ['telnyx', 'plivo', 'vobiz']) {
  describe(`click-to-call (${dialect})`, () => {
    test('the carrier request equals the SDK\'s; signed callbacks bridge the other participant; legs and call id recorded', async () => {
      await d.ready;
      const { svc, ses, a, b, pa, pb } = await setup(dialect);
      captured.length = 0;
      const res = await placeCall(ses.id, { from_participant: pa.id, ring_timeout: 25 });
      const j = expectStatus(res, 202, 'POST calls');
      assertNoRealNumbers(res.text, [a, b], 'the 202 answer');
      const intId = j.interaction_id;

      const mine = await waitFor('maskd\'s carrier request', () => captured[0]);
      const sdk = await sdkCall(dialect, { to: a, from: pa.proxy_number, intId, ringTimeout: 25 });
      assert.equal(mine.method, sdk.method);
      assert.equal(mine.url, dialect === 'vobiz' ? `/api${sdk.url}` : sdk.url);
      assert.equal(mine.headers.authorization, sdk.headers.authorization);
      assert.equal(mine.headers['content-type'], sdk.headers['content-type']);
      assert.equal(mine.body, sdk.body, 'maskd\'s JSON body differs from the SDK\'s');

      // the carrier took it: leg a "queued", the carrier's call id on the interaction
      await waitFor('leg a "queued"', async () => (await interaction(ses.id, intId))?.legs.some((l) => l.leg === 'a' && l.status === 'queued'));
      assert.equal((await interaction(ses.id, intId)).carrier_call_id, mine.callId);

      // a forged answer fetch is refused; the signed one bridges b, who sees b's own proxy number
      const forged = await answer(dialect, intId, { from: pa.proxy_number, to: a, callId: mine.callId }, { forge: true });
      assert.equal(forged.status, 403);
      const ans = await answer(dialect, intId, { from: pa.proxy_number, to: a, callId: mine.callId });
      assert.equal(ans.status, 200, ans.text);
      assert.equal(ans.text, bridgeMarkup(dialect, { callerId: pb.proxy_number, realNumber: b, intId }));

      assert.equal((await bridgedLegEnds(dialect, intId, mine.callId, 40)).status, 200);
      assert.equal((await firstLegEnds(dialect, intId, mine.callId, 'completed', 42)).status, 200);
      const it = await interaction(ses.id, intId);
      assert.equal(it.carrier, dialect);
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
      assert.deepEqual(box.map((m) => [m.kind, m.status, m.tries]), [['carrier_call', 'sent', 1]]);
    });

    for (const outcome of ['busy', 'no-answer']) {
      test(`a ${outcome} first leg is recorded, nobody else is rung, nothing is sent again`, async () => {
        await d.ready;
        const { svc, ses, a, b, pa } = await setup(dialect);
        const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
        const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.to === destination(dialect, a)));
        await waitFor('leg a "queued"', async () => (await interaction(ses.id, j.interaction_id))?.legs.some((l) => l.status === 'queued'));
        assert.equal((await firstLegEnds(dialect, j.interaction_id, mine.callId, outcome, 0)).status, 200);
        const it = await interaction(ses.id, j.interaction_id);
        assert.equal(it.legs.length, 1);
        assert.equal(it.legs[0].leg, 'a');
        assert.equal(it.legs[0].status, outcome);
        assert.ok(it.legs[0].ended_at, 'a final status ends the leg');
        const box = await outboxOf(svc.id, j.interaction_id);
        assert.deepEqual(box.map((m) => [m.status, m.tries]), [['sent', 1]]);
        const toEither = captured.filter((c) => c.to === destination(dialect, a) || c.to === destination(dialect, b));
        assert.equal(toEither.length, 1);
      });
    }

    test('a carrier error fails the call once: never tried again', async () => {
      await d.ready;
      const { svc, ses, a, pa } = await setup(dialect);
      refuseWith.set(destination(dialect, a), 500);
      const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
      await waitFor('leg a "failed"', async () => (await interaction(ses.id, j.interaction_id))?.legs.some((l) => l.leg === 'a' && l.status === 'failed'));
      const box = await outboxOf(svc.id, j.interaction_id);
      assert.deepEqual(box.map((m) => [m.kind, m.status, m.tries]), [['carrier_call', 'failed', 1]]);
      assert.equal(captured.filter((c) => c.to === destination(dialect, a)).length, 1);
      assert.equal((await interaction(ses.id, j.interaction_id)).carrier_call_id, null);
      refuseWith.delete(destination(dialect, a));
    });
  });
}

describe('click-to-call: a missing credential is a 400 naming it; nothing is called or written', () => {
  test('every carrier', async () => {
    await d.ready;
    const cases = [
      ['telnyx', { telnyx: { public_key: TELNYX_PUBLIC, api_key: TELNYX_KEY, account_sid: TELNYX_ACCOUNT } }, 'carriers.telnyx.application_sid'],
      ['telnyx', { telnyx: { public_key: TELNYX_PUBLIC, account_sid: TELNYX_ACCOUNT, application_sid: TELNYX_APP } }, 'carriers.telnyx.api_key'],
      ['plivo', { plivo: { auth_token: PLIVO_TOKEN } }, 'carriers.plivo.auth_id'],
      ['vobiz', { vobiz: { auth_token: VOBIZ_TOKEN } }, 'carriers.vobiz.auth_id'],
    ];
    const before = captured.length;
    for (const [dialect, creds, field] of cases) {
      const { ses, pa } = await setup(dialect, { creds });
      expectError(await placeCall(ses.id, { from_participant: pa.id }), 400, 'invalid_field', field);
      assert.deepEqual(await interactions(d, ses.id), [], `${field}: no interaction`);
    }
    // nothing was queued: a call placed now is the next request the stand-in sees
    const { ses, pa } = await setup('plivo');
    const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
    const next = await waitFor('the next carrier request', () => captured[before]);
    assert.ok(next.body.includes(j.interaction_id), 'the first request after the refusals is this call\'s');
  });
});
