// SPDX-License-Identifier: MIT
// Click-to-call (POST /v1/sessions/{id}/calls, src/flow/calls.c, src/hooks/outcall.c),
// Twilio and SignalWire, on SQLite (and PostgreSQL with MASKD_TEST_PG_URL).
//
// The carrier request maskd makes through the outbox is captured by a local server standing
// in for api.twilio.com / the SignalWire space (MASKD_TWILIO_API_URL,
// MASKD_SIGNALWIRE_API_URL) and compared byte for byte (method, path, Authorization,
// Content-Type, body) with what the carrier's own SDK sends for the same call to the same
// stand-in: twilio (npm) calls.create() and @signalwire/compatibility-api RestClient
// calls.create(). The second leg is driven by signed callbacks: the answer URL the carrier
// fetches (answered with the SDK's TwiML / LaML for the bridge), the Dial action and the
// first leg's status callback. The stand-in answers 201 with a call sid, or the status a
// test names for a number (a carrier error).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import twilio from 'twilio';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import {
  addPool, assertNoRealNumbers, closeSession, createService, createSession, expectError, expectStatus,
  interactions, sid, voiceParams,
} from './lib/fixtures.mjs';
import { bridge, rejectVoice, statusUrl } from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';

const require = createRequire(import.meta.url);
const { RestClient: SignalWire } = require('@signalwire/compatibility-api');

// ---------------------------------------------------------------------------------------
// The stand-in carrier API.

const captured = [];
const refuseWith = new Map(); // To (E.164) -> HTTP status the stand-in answers with
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const to = new URLSearchParams(body).get('To');
    const callSid = `CA${crypto.randomBytes(16).toString('hex')}`;
    captured.push({ method: req.method, url: req.url, headers: req.headers, body, to, sid: callSid });
    const status = refuseWith.get(to) ?? 201;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(status === 201 ? { sid: callSid, status: 'queued' } : { code: 21211, message: 'refused', status }));
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
capture.unref();
const API_BASE = `http://127.0.0.1:${capture.address().port}`;

const d = useDaemon({ env: { MASKD_TWILIO_API_URL: API_BASE, MASKD_SIGNALWIRE_API_URL: API_BASE, MASKD_SEND_RETRY_MS: '20' } });

const ACCOUNT = `AC${crypto.randomBytes(16).toString('hex')}`;
const PROJECT = crypto.randomUUID();
const API_TOKEN = `PT${crypto.randomBytes(12).toString('hex')}`;

function carriers(dialect) {
  if (dialect === 'twilio') return { twilio: { auth_token: d.tokens.twilio, account_sid: ACCOUNT } };
  return { signalwire: { signing_key: d.tokens.signalwire, project_id: PROJECT, api_token: API_TOKEN, space_url: 'example.signalwire.com' } };
}

/** The same call placed by the carrier's SDK against the stand-in; resolves to its captured request. */
async function sdkCall(dialect, args) {
  const before = captured.length;
  if (dialect === 'twilio') {
    const client = twilio(ACCOUNT, d.tokens.twilio);
    client.api.baseUrl = API_BASE;
    await client.calls.create(args);
  } else {
    const client = SignalWire(PROJECT, API_TOKEN, { signalwireSpaceUrl: 'example.signalwire.com' });
    client.api.baseUrl = API_BASE;
    await client.calls.create(args);
  }
  assert.equal(captured.length, before + 1, 'the SDK request was not captured');
  return captured[before];
}

const answerUrl = (dialect, intId) => `${PUBLIC_URL}/hooks/${dialect}/answer?interaction=${intId}`;

/** The carrier fetching the answer URL once the first leg (to `to`, from `from`) picked up. */
function answer(dialect, intId, { from, to, callSid }, opts = {}) {
  const p = { ...voiceParams(dialect, { from, to, callSid }), CallStatus: 'in-progress', Direction: 'outbound-api' };
  return d.webhook(dialect, 'answer', p, { query: { interaction: intId }, ...opts });
}

/** The first leg's status callback (no ParentCallSid: leg 'a'). */
function legStatus(dialect, intId, callSid, status, duration) {
  const p = { AccountSid: 'x', CallSid: callSid, CallStatus: status, Direction: 'outbound-api' };
  if (duration !== undefined) p.CallDuration = String(duration);
  return d.webhook(dialect, 'status', p, { query: { interaction: intId } });
}

async function interaction(sessionId, intId) {
  return (await interactions(d, sessionId)).find((x) => x.id === intId);
}

async function outboxOf(serviceId, intId) {
  const j = expectStatus(await d.api('GET', `/v1/services/${serviceId}/outbox`), 200, 'GET outbox');
  return j.messages.filter((m) => m.interaction_id === intId);
}

let block = 0;
/** A service of `dialect`, two pool numbers of that carrier, and an open session of a and b. */
async function setup(dialect, { mode = 'voice-and-message', creds } = {}) {
  const base = block;
  block += 4;
  const svc = await createService(d, {
    name: `Calls ${dialect} ${base}`, twilio: false, signalwire: false, carriers: creds ?? carriers(dialect),
    defaults: { mode: 'voice-and-message', ttl: 0 },
  });
  await addPool(d, svc.id, [proxy(base), proxy(base + 1)], { carrier: dialect });
  const a = real(7000 + base);
  const b = real(7001 + base);
  const ses = await createSession(d, svc.id, { mode, participants: [[a, 'Customer'], [b, 'Agent']] });
  return { svc, ses, a, b, pa: ses.participants[0], pb: ses.participants[1] };
}

async function placeCall(sessionId, body) {
  return d.api('POST', `/v1/sessions/${sessionId}/calls`, body);
}

for (const dialect of ['twilio', 'signalwire']) {
  describe(`click-to-call (${dialect})`, () => {
    test('the carrier request equals the SDK\'s; the answer bridges the other participant; legs recorded', async () => {
      await d.ready;
      const { svc, ses, a, b, pa, pb } = await setup(dialect);
      captured.length = 0;
      const res = await placeCall(ses.id, { from_participant: pa.id, ring_timeout: 25 });
      const j = expectStatus(res, 202, 'POST calls');
      assert.match(j.interaction_id, /^int_/);
      assert.equal(j.session_id, ses.id);
      assert.equal(j.ring_timeout, 25);
      assertNoRealNumbers(res.text, [a, b], 'the 202 answer');
      const intId = j.interaction_id;

      const mine = await waitFor('maskd\'s carrier request', () => captured[0]);
      const sdk = await sdkCall(dialect, {
        to: a, from: pa.proxy_number, url: answerUrl(dialect, intId), statusCallback: statusUrl(dialect, intId), timeout: 25,
      });
      assert.equal(mine.method, sdk.method);
      assert.equal(mine.url, sdk.url);
      assert.equal(mine.headers.authorization, sdk.headers.authorization);
      assert.equal(mine.headers['content-type'], sdk.headers['content-type']);
      assert.equal(mine.body, sdk.body, 'maskd\'s form body differs from the SDK\'s');

      // the carrier took it: leg a "queued", under the interaction's own sid (the one leg a)
      const queued = await waitFor('leg a "queued"', async () => {
        const it = await interaction(ses.id, intId);
        return it?.legs.find((l) => l.leg === 'a' && l.status === 'queued');
      });
      assert.equal(queued.carrier_sid, `ctc:${intId}`);
      // the carrier's own call id, from its REST answer, is on the interaction
      assert.equal((await interaction(ses.id, intId)).carrier_call_id, mine.sid);

      // the first participant answers: the carrier fetches the answer URL
      const ans = await answer(dialect, intId, { from: pa.proxy_number, to: a, callSid: mine.sid });
      assert.equal(ans.status, 200, ans.text);
      assert.equal(ans.text, bridge(dialect, { callerId: pb.proxy_number, real: b, intId }));
      // fetched again (a carrier retry): the same answer
      const again = await answer(dialect, intId, { from: pa.proxy_number, to: a, callSid: mine.sid });
      assert.equal(again.text, ans.text);

      // the bridged leg and the first leg end
      const dial = { AccountSid: 'x', CallSid: mine.sid, DialCallSid: sid(dialect, 'CA'), DialCallStatus: 'completed', DialCallDuration: '40' };
      assert.equal((await d.webhook(dialect, 'status', dial, { query: { interaction: intId } })).status, 200);
      assert.equal((await legStatus(dialect, intId, mine.sid, 'completed', 42)).status, 200);
      const it = await interaction(ses.id, intId);
      assert.equal(it.channel, 'voice');
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
      assert.equal(box.length, 1);
      assert.equal(box[0].kind, 'carrier_call');
      assert.equal(box[0].status, 'sent');
      assert.equal(captured.filter((c) => c.to === a).length, 2, 'maskd\'s request and the SDK\'s, nothing else');
    });

    for (const outcome of ['busy', 'no-answer']) {
      test(`a ${outcome} first leg is recorded, nobody else is rung, nothing is sent again`, async () => {
        await d.ready;
        const { svc, ses, a, b, pa } = await setup(dialect);
        const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
        const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.to === a));
        assert.match(mine.body, /&Timeout=30(&|$)/, 'the default ring timeout');
        await waitFor('leg a "queued"', async () => (await interaction(ses.id, j.interaction_id))?.legs.some((l) => l.status === 'queued'));
        assert.equal((await legStatus(dialect, j.interaction_id, mine.sid, outcome, 0)).status, 200);
        const it = await interaction(ses.id, j.interaction_id);
        assert.equal(it.legs.length, 1);
        assert.equal(it.legs[0].leg, 'a');
        assert.equal(it.legs[0].status, outcome);
        assert.ok(it.legs[0].ended_at, 'a final status ends the leg');
        const box = await outboxOf(svc.id, j.interaction_id);
        assert.deepEqual(box.map((m) => [m.status, m.tries]), [['sent', 1]]);
        assert.equal(captured.filter((c) => c.to === a || c.to === b).length, 1);
      });
    }

    for (const status of [400, 500]) {
      test(`a carrier error (HTTP ${status}) fails the call once: never tried again, never retryable`, async () => {
        await d.ready;
        const { svc, ses, a, pa } = await setup(dialect);
        refuseWith.set(a, status);
        const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
        const failed = await waitFor('leg a "failed"', async () => {
          const it = await interaction(ses.id, j.interaction_id);
          return it?.legs.find((l) => l.leg === 'a' && l.status === 'failed');
        });
        assert.equal(failed.carrier_sid, `ctc:${j.interaction_id}`);
        assert.equal((await interaction(ses.id, j.interaction_id)).legs.length, 1);
        const box = await outboxOf(svc.id, j.interaction_id);
        assert.deepEqual(box.map((m) => [m.kind, m.status, m.tries]), [['carrier_call', 'failed', 1]]);
        assert.match(box[0].last_error, new RegExp(`HTTP ${status}`));
        expectError(await d.api('POST', `/v1/outbox/${box[0].id}/retry`), 409, 'call_not_retried');
        assert.equal(captured.filter((c) => c.to === a).length, 1);
        refuseWith.delete(a);
      });
    }

    test('a session closed before the answer: the caller hears the ended message, the other side is never rung', async () => {
      await d.ready;
      const { svc, ses, a, b, pa } = await setup(dialect);
      const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
      const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.to === a));
      await closeSession(d, ses.id);
      const ans = await answer(dialect, j.interaction_id, { from: pa.proxy_number, to: a, callSid: mine.sid });
      assert.equal(ans.status, 200);
      assert.equal(ans.text, rejectVoice(dialect, svc.defaults.ended_message));
      assertNoRealNumbers(ans.text, [b], 'the refusal');
      const it = await interaction(ses.id, j.interaction_id);
      const legB = it.legs.find((l) => l.leg === 'b');
      assert.equal(legB.status, 'canceled');
    });

    test('the answer URL: a bad signature is 403, an interaction that is not a click-to-call 404', async () => {
      await d.ready;
      const { ses, a, pa } = await setup(dialect);
      const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
      const mine = await waitFor('maskd\'s carrier request', () => captured.find((c) => c.to === a));
      const forged = await answer(dialect, j.interaction_id, { from: pa.proxy_number, to: a, callSid: mine.sid },
        { token: 'not-the-token' });
      assert.equal(forged.status, 403);
      const other = await answer(dialect, 'int_notacall000000000000', { from: pa.proxy_number, to: a, callSid: mine.sid });
      assert.equal(other.status, 404);
      // an inbound call's interaction is no click-to-call
      const inbound = await d.webhook(dialect, 'voice', voiceParams(dialect, { from: a, to: pa.proxy_number }));
      const inboundId = /[?&]interaction=(int_[A-Za-z0-9_-]+)/.exec(inbound.text)[1];
      const notCall = await answer(dialect, inboundId, { from: pa.proxy_number, to: a, callSid: mine.sid });
      assert.equal(notCall.status, 404);
    });
  });
}

describe('click-to-call: bad input is refused, names the field, calls nobody, writes nothing', () => {
  test('every refusal', async () => {
    await d.ready;
    const { ses, pa } = await setup('twilio');
    const other = await setup('twilio');
    const msgOnly = await setup('twilio', { mode: 'message' });
    const noSid = await setup('twilio', { creds: { twilio: { auth_token: d.tokens.twilio } } });
    const closed = await setup('twilio');
    await closeSession(d, closed.ses.id);
    const cases = [
      [ses.id, { from_participant: other.pa.id }, 400, 'invalid_field', 'from_participant'],
      [ses.id, {}, 400, 'missing_field', 'from_participant'],
      [ses.id, { from_participant: pa.id, ring_timeout: 0 }, 400, 'invalid_field', 'ring_timeout'],
      [ses.id, { from_participant: pa.id, ring_timeout: 601 }, 400, 'invalid_field', 'ring_timeout'],
      [ses.id, { from_participant: pa.id, ring_timeout: '30' }, 400, 'invalid_field', 'ring_timeout'],
      [ses.id, { from_participant: pa.id, to: '+14155550000' }, 400, 'unknown_field', 'to'],
      [msgOnly.ses.id, { from_participant: msgOnly.pa.id }, 409, 'conflict', 'mode'],
      [noSid.ses.id, { from_participant: noSid.pa.id }, 400, 'invalid_field', 'carriers.twilio.account_sid'],
      [closed.ses.id, { from_participant: closed.pa.id }, 409, 'conflict', 'session'],
    ];
    const before = captured.length;
    for (const [sessionId, body, status, code, field] of cases) {
      expectError(await placeCall(sessionId, body), status, code, field);
    }
    expectError(await placeCall('ses_nosuchsession00000000', { from_participant: pa.id }), 404, 'not_found');
    for (const s of [ses, msgOnly.ses, noSid.ses, closed.ses]) {
      assert.deepEqual(await interactions(d, s.id), [], `session ${s.id} has no interaction`);
    }
    // nothing was queued: a request placed now is the next one the stand-in sees
    const j = expectStatus(await placeCall(ses.id, { from_participant: pa.id }), 202, 'POST calls');
    const next = await waitFor('the next carrier request', () => captured[before]);
    assert.ok(next.body.includes(encodeURIComponent(j.interaction_id)), 'the first request after the refusals is this call\'s');
  });
});
