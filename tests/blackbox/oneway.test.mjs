// SPDX-License-Identifier: MIT
// One-way sessions (docs/POLICY.md "One-way sessions"): a session with direction one-way and
// one hidden participant (the agent); the respondent's proxy number is the service's
// branded number. The agent dials the branded number and is bridged to its one open
// session's respondent, showing the branded number; with several open sessions it is asked
// for a PIN; the respondent calling back reaches the agent, also after the session closed,
// within the service's callback_window; after it (window 0 here: no sleep), the service's
// fallback number or its unknown-caller policy. On Twilio and SignalWire (answers compared
// with the SDKs' builders byte for byte) and Plivo (V3-signed, compared with plivo.Response);
// the agent's real number is never in an answer to the respondent, nor in the log.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import querystring from 'node:querystring';
import { before, describe, test } from 'node:test';

import plivo from 'plivo';

import { PUBLIC_URL, useDaemon } from './lib/daemon.mjs';
import {
  addPool, assertLogClean, closeSession, createService, expectError, expectStatus, listSessions, messageParams,
  postSession, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const UNKNOWN_MESSAGE = 'Unknown caller, goodbye.';
const PROMPT = 'Please enter the PIN of the conversation you want, then press the pound key.';
const SUPPORT = proxy(98, '415');
assertValid(SUPPORT);

const bare = (e164) => e164.replace(/^\+/, '');

// Plivo's V3 signature (plivo-node's construction), checked with plivo.validateV3Signature.
const hmac64 = (token, s) => crypto.createHmac('sha256', token).update(s, 'utf8').digest('base64');
const baseUrl = (url) => { const u = new URL(url); return `${u.protocol}//${u.host}${u.pathname}`; };
const nonce = () => String(crypto.randomInt(1e9, 1e10 - 1)) + String(crypto.randomInt(1e9, 1e10 - 1));
function plivoV3(url, params, token, n) {
  const u = new URL(url);
  const q = querystring.parse(u.search.slice(1));
  const sorted = (o, f) => Object.keys(o).sort().flatMap((k) => [].concat(o[k]).sort().map((v) => f(k, v)));
  const qs = sorted(q, (k, v) => `${k}=${v}`).join('&');
  const hasP = Object.keys(params).length > 0;
  let s = baseUrl(url);
  if (qs || hasP) s += `?${qs}`;
  if (qs && hasP) s += '.';
  s += sorted(params, (k, v) => k + v).join('');
  const sig = hmac64(token, `${s}.${n}`);
  assert.ok(plivo.validateV3Signature('POST', url, n, token, sig, params), 'plivo.validateV3Signature');
  return sig;
}
const PLIVO_AUTH_ID = `MA${crypto.randomBytes(9).toString('hex').toUpperCase()}`;

const twimlAdapter = (dialect) => ({
  service: () => ({ twilio: dialect === 'twilio', signalwire: dialect === 'signalwire' }),
  call: (from, to) => d.webhook(dialect, 'voice', voiceParams(dialect, { from, to })),
  gather: (from, to, attempt, digits) => {
    const p = { ...voiceParams(dialect, { from, to }), CallStatus: 'in-progress', Digits: digits, FinishedOnKey: '#' };
    return d.webhook(dialect, 'gather', p, { query: { attempt } });
  },
  text: (from, to, body) => d.webhook(dialect, 'message', messageParams(dialect, { from, to, body })),
  bridge: ({ callerId, real: r, intId }) => markup.bridge(dialect, { callerId, real: r, intId }),
  forward: ({ to, from, intId, body }) => markup.forward(dialect, { to, from, intId, body }),
  spoken: (message) => markup.rejectVoice(dialect, message),
});

function plivoAdapter() {
  const hook = (event, params, query) => {
    const qs = new URLSearchParams(query ?? {}).toString();
    const path = `/hooks/plivo/${event}${qs ? `?${qs}` : ''}`;
    const n = nonce();
    const headers = {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Plivo-Signature-V3': plivoV3(PUBLIC_URL + path, params, d.tokens.plivo, n),
      'X-Plivo-Signature-V3-Nonce': n,
    };
    return d.request('POST', path, { kind: 'webhook', headers, body: new URLSearchParams(params).toString() });
  };
  const voice = (from, to, callId = crypto.randomUUID()) => ({
    ALegRequestUUID: '', ALegUUID: callId, CallStatus: 'ringing', CallUUID: callId, CallerName: from,
    Direction: 'inbound', Event: 'StartApp', From: bare(from), To: bare(to), RequestUUID: callId,
  });
  return {
    service: () => ({ twilio: false, signalwire: false, carriers: { plivo: { auth_id: PLIVO_AUTH_ID, auth_token: d.tokens.plivo } } }),
    call: (from, to) => hook('voice', voice(from, to)),
    gather: (from, to, attempt, digits) => hook('gather', { ...voice(from, to), CallStatus: 'in-progress', Digits: digits },
      { attempt }),
    text: null,
    bridge: ({ callerId, real: r, intId }) => {
      const res = plivo.Response();
      const s = markup.statusUrl('plivo', intId);
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
  };
}

const ADAPTERS = { twilio: twimlAdapter('twilio'), signalwire: twimlAdapter('signalwire'), plivo: plivoAdapter() };

function assertBridge(A, res, { callerId, real: r }, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `${what}: not a session bridge: ${res.text}`);
  assert.equal(res.text, A.bridge({ callerId, real: r, intId }), `${what}: differs from the SDK's bridge`);
  return intId;
}

function assertNotTo(res, number, what) {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
  assert.ok(!res.text.includes(bare(number)), `${what}: ${res.text} names the hidden participant's number`);
}

let base = 0;
for (const [dialect, A] of Object.entries(ADAPTERS)) {
  describe(`one-way sessions on ${dialect}`, () => {
    base += 100;
    const BRANDED = proxy(base / 10, '628');
    const OTHER = proxy(base / 10 + 1, '628');
    const [AGENT, R1, R2, R3] = [real(5000 + base), real(5001 + base), real(5002 + base), real(5003 + base)];
    const REALS = [AGENT, R1, R2, R3];
    assertValid(BRANDED, OTHER, REALS);
    let svc;
    let s1;
    let s2;

    before(async () => {
      await d.ready;
      d.tokens.plivo ??= `pl_${crypto.randomBytes(16).toString('hex')}`;
      svc = await createService(d, {
        name: `Survey via ${dialect}`, ...A.service(),
        defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_MESSAGE },
      });
      assert.equal(svc.branded_number, null);
      assert.equal(svc.callback_window, 7 * 86400, 'the default callback window');
      await addPool(d, svc.id, [BRANDED, OTHER]);
      const p = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { branded_number: BRANDED, callback_window: 3600 }),
        200, 'PATCH branded_number');
      assert.equal(p.branded_number, BRANDED);
      assert.equal(p.callback_window, 3600);
    });

    test('refused shapes write nothing', async () => {
      const before = (await listSessions(d, svc.id)).length;
      const two = await postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: AGENT, hidden: true }, { number: R1, hidden: true }],
      });
      expectError(two, 400, 'invalid_field', 'hidden');
      const none = await postSession(d, svc.id, { direction: 'one-way', participants: [{ number: AGENT }, { number: R1 }] });
      expectError(none, 400, 'invalid_field', 'hidden');
      const twoWay = await postSession(d, svc.id, { participants: [{ number: AGENT, hidden: true }, { number: R1 }] });
      expectError(twoWay, 400, 'invalid_field', 'hidden');
      const dir = await postSession(d, svc.id, { direction: 'sideways', participants: [{ number: AGENT }, { number: R1 }] });
      expectError(dir, 400, 'invalid_field', 'direction');
      const notPool = await d.api('PATCH', `/v1/services/${svc.id}`, { branded_number: SUPPORT });
      expectError(notPool, 400, 'invalid_field', 'branded_number');
      assert.equal((await listSessions(d, svc.id)).length, before, 'a refused create wrote a session');
      const again = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200, 'GET service');
      assert.equal(again.branded_number, BRANDED, 'a refused PATCH changed the branded number');
    });

    test('the agent dials the branded number: bridged to its one respondent, who sees the branded number', async () => {
      const res = await postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: AGENT, label: 'Agent', hidden: true }, { number: R1, label: 'Respondent' }],
      });
      s1 = expectStatus(res, 201, 'one-way create');
      assert.equal(s1.direction, 'one-way');
      assert.equal(s1.participants[0].hidden, true);
      assert.equal(s1.participants[1].hidden, false);
      assert.equal(s1.participants[1].proxy_number, BRANDED, "the respondent's proxy is the branded number");
      assert.equal(s1.participants[0].number, masked(AGENT));
      assert.match(s1.pin, /^\d{4,8}$/, 'a one-way session has a PIN');
      assert.ok(!res.text.includes(AGENT) && !res.text.includes(R1), 'a real number in the create answer');
      const call = await A.call(AGENT, BRANDED);
      assertBridge(A, call, { callerId: BRANDED, real: R1 }, 'agent call');
    });

    test('the respondent calls back: the agent, shown the branded number', async () => {
      const res = await A.call(R1, BRANDED);
      assertBridge(A, res, { callerId: BRANDED, real: AGENT }, 'respondent call');
      if (A.text) {
        const t = await A.text(R1, BRANDED, 'About the survey');
        const intId = markup.interactionIdOf(t.text);
        assert.ok(intId, `respondent text not forwarded: ${t.text}`);
        assert.equal(t.text, A.forward({ to: AGENT, from: BRANDED, intId, body: 'About the survey' }));
        const a = await A.text(AGENT, BRANDED, 'Thanks for calling');
        const aid = markup.interactionIdOf(a.text);
        assert.equal(a.text, A.forward({ to: R1, from: BRANDED, intId: aid, body: 'Thanks for calling' }), 'agent text');
      }
    });

    test('two open sessions: the agent is asked for a PIN, and the PIN picks the respondent', async () => {
      s2 = expectStatus(await postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: R2 }, { number: AGENT, hidden: true }],
      }), 201, 'second one-way create');
      assert.equal(s2.participants[0].proxy_number, BRANDED);
      const ask = await A.call(AGENT, BRANDED);
      assert.equal(ask.status, 200);
      assert.equal(ask.text, markup.expectedGather(dialect, { prompt: PROMPT, url: markup.gatherUrl(dialect, 1), digits: 8, timeout: 8 }),
        'the PIN gather');
      const wrong = await A.gather(AGENT, BRANDED, 1, s2.pin === '00000000' ? '11111111' : '00000000');
      assert.equal(wrong.text, markup.expectedGather(dialect, {
        prompt: `That PIN is not valid. ${PROMPT}`, url: markup.gatherUrl(dialect, 2), digits: 8, timeout: 8,
      }), 'asked again after a wrong PIN');
      const ok = await A.gather(AGENT, BRANDED, 2, s2.pin);
      assertBridge(A, ok, { callerId: BRANDED, real: R2 }, 'agent by PIN');
      const ok1 = await A.gather(AGENT, BRANDED, 1, s1.pin);
      assertBridge(A, ok1, { callerId: BRANDED, real: R1 }, 'agent by the other PIN');
    });

    test('a closed session inside the callback window still reaches the agent; after it, the unknown-caller policy', async () => {
      await closeSession(d, s1.id);
      const inside = await A.call(R1, BRANDED);
      assertBridge(A, inside, { callerId: BRANDED, real: AGENT }, 'call back inside the window');
      expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { callback_window: 0 }), 200, 'window 0');
      const outside = await A.call(R1, BRANDED);
      assertNotTo(outside, AGENT, 'call back after the window');
      assert.equal(outside.text, A.spoken(UNKNOWN_MESSAGE), 'after the window: the unknown-caller message');
      // the open session still routes both ways
      assertBridge(A, await A.call(R2, BRANDED), { callerId: BRANDED, real: AGENT }, 'open session call back');
      // a stranger is an unknown caller, as before
      assert.equal((await A.call(R3, BRANDED)).text, A.spoken(UNKNOWN_MESSAGE), 'stranger');
    });

    if (dialect === 'twilio') {
      test('after the window with a fallback number: forwarded there, never to the agent', async () => {
        expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { unknown_caller: { policy: 'reject', fallback_number: SUPPORT } }),
          200, 'fallback number');
        const res = await A.call(R1, BRANDED);
        assertNotTo(res, AGENT, 'after the window, fallback');
        assert.equal(res.text, markup.expectedBridgeWithoutCallbacks('twilio', { callerId: BRANDED, real: SUPPORT }),
          'after the window: forwarded to the fallback number');
      });
    }

    test('a new one-way session takes over the respondent\'s cooling-off binding; a re-opened one keeps the agent unbound', async () => {
      const s3 = expectStatus(await postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: AGENT, hidden: true }, { number: R1 }],
      }), 201, 'one-way create over a cooling-off binding');
      assert.equal(s3.participants[1].proxy_number, BRANDED);
      assertBridge(A, await A.call(R1, BRANDED), { callerId: BRANDED, real: AGENT }, 'respondent of the new session');
      // s2 closed and re-opened: the agent still holds no binding, so a further one-way session for it works
      await closeSession(d, s2.id);
      expectStatus(await d.api('PATCH', `/v1/sessions/${s2.id}`, { status: 'open' }), 200, 're-open');
      expectStatus(await postSession(d, svc.id, {
        direction: 'one-way', participants: [{ number: AGENT, hidden: true }, { number: R3 }],
      }), 201, 'another one-way session for the agent after a re-open');
    });

    test("the hidden participant's number is in no log line", () => {
      assertLogClean(d, REALS);
    });
  });
}
