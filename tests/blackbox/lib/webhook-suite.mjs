// SPDX-License-Identifier: MIT
// The carrier webhook tests, run once per dialect (twilio.test.mjs, signalwire.test.mjs).
// Every answer is compared exactly (string equality) with what the carrier's own SDK builds
// for the same decision (lib/markup.mjs).

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, describe, test } from 'node:test';

import { PUBLIC_URL, useDaemon } from './daemon.mjs';
import {
  ID, TIMESTAMP, addPool, assertNoRealNumbers, closeSession, createService, createSession, expectStatus,
  accountSid, getSession, interactions, messageParams, sid, voiceParams,
} from './fixtures.mjs';
import * as markup from './markup.mjs';
import { assertValid, proxy, real, realNy } from './numbers.mjs';

const UNKNOWN_CALLER_MESSAGE = 'Sorry & goodbye: this number is <not> in "service", it\'s closed.';
const ENDED = 'This conversation has ended.'; // the service default

export function webhookSuite(dialect) {
  const d = useDaemon();
  const area = dialect === 'twilio' ? '415' : '212';
  const realOf = dialect === 'twilio' ? real : realNy;
  const POOL = Array.from({ length: 6 }, (_, i) => proxy(i, area));
  const OTHER_POOL = [proxy(50, area)]; // another service, other credentials
  const NOT_IN_ANY_POOL = proxy(99, area);
  const STRANGER = realOf(999);
  assertValid(POOL, OTHER_POOL, NOT_IN_ANY_POOL, STRANGER);
  let realCounter = 0;
  const nextReal = () => realOf(realCounter++);
  const used = [STRANGER];
  let svc;
  let otherSvc;
  const otherTokens = {
    twilio: `other_${crypto.randomBytes(16).toString('hex')}`,
    signalwire: `PSK_other_${crypto.randomBytes(16).toString('hex')}`,
  };

  before(async () => {
    await d.ready;
    svc = await createService(d, {
      name: `Rides via ${dialect}`,
      defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN_CALLER_MESSAGE },
    });
    await addPool(d, svc.id, POOL, { carrier: dialect });
    otherSvc = await createService(d, { name: 'Other tenant', tokens: otherTokens });
    await addPool(d, otherSvc.id, OTHER_POOL, { carrier: dialect });
  });

  /** A new session between two fresh real numbers. */
  async function newPair({ mode, service = svc } = {}) {
    const riderReal = nextReal();
    const driverReal = nextReal();
    used.push(riderReal, driverReal);
    const body = { participants: [[riderReal, 'Rider'], [driverReal, 'Driver']] };
    if (mode) body.mode = mode;
    const ses = await createSession(d, service.id, body);
    const [p0, p1] = ses.participants;
    return {
      ses,
      rider: { real: riderReal, par: p0.id, proxy: p0.proxy_number },
      driver: { real: driverReal, par: p1.id, proxy: p1.proxy_number },
    };
  }

  const call = (from, to, opts = {}) =>
    d.webhook(dialect, 'voice', voiceParams(dialect, { from, to, callSid: opts.callSid }), opts);
  const text = (from, to, { body = '', media = [], messageSid, ...opts } = {}) =>
    d.webhook(dialect, 'message', messageParams(dialect, { from, to, body, media, messageSid }), opts);
  const status = (intId, params, opts = {}) =>
    d.webhook(dialect, 'status', params, { ...opts, query: { interaction: intId } });

  function assertXml(res, expected, what = 'answer') {
    assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.text}`);
    assert.match(res.headers['content-type'] ?? '', /^text\/xml\b/, `${what}: Content-Type`);
    assert.equal(res.text, expected, `${what} differs from the SDK's markup`);
  }

  /** Checks a bridge answer exactly and returns its interaction id. */
  function assertBridge(res, { callerId, real: realNumber }) {
    assert.equal(res.status, 200, `bridge: HTTP ${res.status} ${res.text}`);
    const intId = markup.interactionIdOf(res.text);
    assert.ok(intId, `no interaction id in ${res.text}`);
    assert.match(intId, ID.interaction);
    assertXml(res, markup.bridge(dialect, { callerId, real: realNumber, intId }), 'bridge');
    return intId;
  }

  function assertForward(res, { to, from, body, media }) {
    assert.equal(res.status, 200, `forward: HTTP ${res.status} ${res.text}`);
    const intId = markup.interactionIdOf(res.text);
    assert.ok(intId, `no interaction id in ${res.text}`);
    assertXml(res, markup.forward(dialect, { to, from, intId, body, media }), 'forward');
    return intId;
  }

  const rejectVoice = () => markup.rejectVoice(dialect, UNKNOWN_CALLER_MESSAGE);
  const empty = () => markup.empty(dialect);

  describe(`${dialect} voice`, () => {
    test('rider calls: bridged to the driver with the driver\'s proxy number as caller ID; open → in-progress', async () => {
      const { ses, rider, driver } = await newPair();
      assert.equal(ses.status, 'open');
      const callSid = sid(dialect, 'CA');
      const res = await call(rider.real, rider.proxy, { callSid });
      const intId = assertBridge(res, { callerId: driver.proxy, real: driver.real });
      const list = await interactions(d, ses.id);
      assert.equal(list.length, 1);
      const i = list[0];
      assert.equal(i.id, intId);
      assert.equal(i.session_id, ses.id);
      assert.equal(i.channel, 'voice');
      assert.equal(i.carrier, dialect);
      assert.equal(i.carrier_sid, callSid);
      assert.equal(i.decision, 'bridge');
      assert.equal(i.from_participant, rider.par);
      assert.equal(i.to_participant, driver.par);
      assert.match(i.created_at, TIMESTAMP);
      assert.ok(Array.isArray(i.legs));
      assert.equal((await getSession(d, ses.id)).status, 'in-progress');
    });

    test('driver calls back: bridged to the rider with the rider\'s proxy number as caller ID', async () => {
      const { ses, rider, driver } = await newPair();
      const intId = assertBridge(await call(driver.real, driver.proxy), { callerId: rider.proxy, real: rider.real });
      const [i] = await interactions(d, ses.id);
      assert.equal(i.id, intId);
      assert.equal(i.from_participant, driver.par);
      assert.equal(i.to_participant, rider.par);
    });

    test('the same proxy number serves several sessions: routing by (caller, proxy)', async () => {
      const a = await newPair();
      const b = await newPair();
      const resA = await call(a.rider.real, a.rider.proxy);
      const resB = await call(b.rider.real, b.rider.proxy);
      const idA = assertBridge(resA, { callerId: a.driver.proxy, real: a.driver.real });
      const idB = assertBridge(resB, { callerId: b.driver.proxy, real: b.driver.real });
      assert.deepEqual((await interactions(d, a.ses.id)).map((i) => i.id), [idA]);
      assert.deepEqual((await interactions(d, b.ses.id)).map((i) => i.id), [idB]);
    });

    test('a signature over the URL with ":443" added is accepted', async () => {
      const { rider, driver } = await newPair();
      const res = await call(rider.real, rider.proxy, {
        signUrl: `${PUBLIC_URL.replace(/^https:\/\/([^/]+)/, 'https://$1:443')}/hooks/${dialect}/voice`,
      });
      assertBridge(res, { callerId: driver.proxy, real: driver.real });
    });

    test('a Content-Type with a charset parameter is accepted', async () => {
      const { rider, driver } = await newPair();
      const res = await call(rider.real, rider.proxy, { contentType: 'application/x-www-form-urlencoded; charset=UTF-8' });
      assertBridge(res, { callerId: driver.proxy, real: driver.real });
    });

    test('GET with the params in the query string (signature over the full URL, no params)', async () => {
      const { ses, rider, driver } = await newPair();
      const callSid = sid(dialect, 'CA');
      const res = await call(rider.real, rider.proxy, { method: 'GET', callSid });
      const intId = assertBridge(res, { callerId: driver.proxy, real: driver.real });
      const [i] = await interactions(d, ses.id);
      assert.equal(i.id, intId);
      assert.equal(i.carrier_sid, callSid);
    });

    test('a retried webhook (same CallSid) gets the same answer and makes one interaction', async () => {
      const { ses, rider, driver } = await newPair();
      const callSid = sid(dialect, 'CA');
      const first = await call(rider.real, rider.proxy, { callSid });
      const intId = assertBridge(first, { callerId: driver.proxy, real: driver.real });
      const second = await call(rider.real, rider.proxy, { callSid });
      assertXml(second, first.text, 'retried answer');
      const third = await call(rider.real, rider.proxy, { callSid, method: 'GET' });
      assertXml(third, first.text, 'retried answer (GET)');
      const list = await interactions(d, ses.id);
      assert.deepEqual(list.map((i) => i.id), [intId]);
    });

    test('unknown caller → the service\'s message, then Hangup', async () => {
      const res = await call(STRANGER, POOL[0]);
      assertXml(res, rejectVoice(), 'unknown caller');
    });

    test('a participant dialling a pool number that is not theirs → unknown caller', async () => {
      const { ses, rider } = await newPair();
      const notTheirs = POOL.find((n) => n !== rider.proxy);
      assertXml(await call(rider.real, notTheirs), rejectVoice(), 'not their proxy');
      const list = await interactions(d, ses.id);
      assert.ok(!list.some((i) => i.decision === 'bridge'), 'bridged through a number the caller is not bound to');
    });

    test('closed session (cooling off) → "this conversation has ended"; nothing bridged', async () => {
      const { ses, rider } = await newPair();
      await closeSession(d, ses.id);
      assertXml(await call(rider.real, rider.proxy), markup.rejectVoice(dialect, ENDED), 'closed session');
      const list = await interactions(d, ses.id);
      assert.ok(!list.some((i) => i.decision === 'bridge'));
      assert.equal((await getSession(d, ses.id)).status, 'closed');
    });

    test('session deleted → "this conversation has ended"', async () => {
      const { ses, driver } = await newPair();
      assert.equal((await d.api('DELETE', `/v1/sessions/${ses.id}`)).status, 204);
      assertXml(await call(driver.real, driver.proxy), markup.rejectVoice(dialect, ENDED), 'deleted session');
    });

    test('mode "message" session + a call → reject', async () => {
      const { ses, rider } = await newPair({ mode: 'message' });
      assertXml(await call(rider.real, rider.proxy), rejectVoice(), 'voice in a message session');
      const list = await interactions(d, ses.id);
      assert.ok(!list.some((i) => i.decision === 'bridge'));
      for (const i of list) assert.equal(i.decision, 'reject');
    });
  });

  describe(`${dialect} messages`, () => {
    test('SMS forwarded to the other participant from their proxy number', async () => {
      const { ses, rider, driver } = await newPair();
      const messageSid = sid(dialect, 'SM');
      const res = await text(rider.real, rider.proxy, { body: 'On my way', messageSid });
      const intId = assertForward(res, { to: driver.real, from: driver.proxy, body: 'On my way' });
      const [i] = await interactions(d, ses.id);
      assert.equal(i.id, intId);
      assert.equal(i.channel, 'message');
      assert.equal(i.carrier, dialect);
      assert.equal(i.carrier_sid, messageSid);
      assert.equal(i.decision, 'forward_message');
      assert.equal(i.from_participant, rider.par);
      assert.equal(i.to_participant, driver.par);
      assert.equal((await getSession(d, ses.id)).status, 'in-progress');

      const back = await text(driver.real, driver.proxy, { body: 'Thanks' });
      assertForward(back, { to: rider.real, from: rider.proxy, body: 'Thanks' });
      assert.equal((await interactions(d, ses.id)).length, 2);
    });

    test('XML escaping of & < > " \' in the body', async () => {
      const { rider, driver } = await newPair();
      const body = 'Fish & chips <b>now</b> > "quoted" \'single\' &amp; done';
      assertForward(await text(rider.real, rider.proxy, { body }), { to: driver.real, from: driver.proxy, body });
    });

    test('unicode and new lines pass through verbatim', async () => {
      const { rider, driver } = await newPair();
      const body = 'Café 🚗 到了\nsecond line\ttab';
      assertForward(await text(rider.real, rider.proxy, { body }), { to: driver.real, from: driver.proxy, body });
    });

    test('MMS: several MediaUrlN forwarded in order', async () => {
      const { rider, driver } = await newPair();
      const media = [
        ['https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME0', 'image/jpeg'],
        ['https://media.example.org/b.png?x=1&y=2', 'image/png'],
        ['https://media.example.org/c.gif', 'image/gif'],
      ];
      const res = await text(rider.real, rider.proxy, { body: 'pics', media });
      assertForward(res, { to: driver.real, from: driver.proxy, body: 'pics', media: media.map(([u]) => u) });
    });

    test('MMS: media posted out of index order are forwarded in MediaUrlN order', async () => {
      const { rider, driver } = await newPair();
      const urls = ['https://media.example.org/0.jpg', 'https://media.example.org/1.jpg', 'https://media.example.org/2.jpg'];
      const pairs = messageParams(dialect, { from: rider.real, to: rider.proxy, body: 'x', media: urls });
      const mediaPairs = pairs.filter(([k]) => k.startsWith('Media'));
      const rest = pairs.filter(([k]) => !k.startsWith('Media'));
      const shuffled = [...rest, ...mediaPairs.filter(([k]) => k.endsWith('2')),
        ...mediaPairs.filter(([k]) => k.endsWith('0')), ...mediaPairs.filter(([k]) => k.endsWith('1'))];
      const res = await d.webhook(dialect, 'message', shuffled);
      assertForward(res, { to: driver.real, from: driver.proxy, body: 'x', media: urls });
    });

    test('MMS without a body: <Body> omitted', async () => {
      const { rider, driver } = await newPair();
      const media = ['https://media.example.org/only.jpg'];
      assertForward(await text(rider.real, rider.proxy, { body: '', media }), { to: driver.real, from: driver.proxy, body: '', media });
    });

    test('a retried webhook (same MessageSid) gets the same answer and makes one interaction', async () => {
      const { ses, rider, driver } = await newPair();
      const messageSid = sid(dialect, 'SM');
      const first = await text(rider.real, rider.proxy, { body: 'once', messageSid });
      const intId = assertForward(first, { to: driver.real, from: driver.proxy, body: 'once' });
      assertXml(await text(rider.real, rider.proxy, { body: 'once', messageSid }), first.text, 'retried answer');
      assert.deepEqual((await interactions(d, ses.id)).map((i) => i.id), [intId]);
    });

    test('unknown sender → <Response/>', async () => {
      assertXml(await text(STRANGER, POOL[0], { body: 'hello?' }), empty(), 'unknown sender');
    });

    test('closed session → the ended message back to the sender; nothing forwarded', async () => {
      const { ses, rider } = await newPair();
      await closeSession(d, ses.id);
      assertXml(await text(rider.real, rider.proxy, { body: 'late' }),
        markup.reply(dialect, { to: rider.real, from: rider.proxy, body: ENDED }), 'closed session');
      assert.ok(!(await interactions(d, ses.id)).some((i) => i.decision === 'forward_message'));
    });

    test('mode "voice" session + a text → <Response/>', async () => {
      const { ses, rider } = await newPair({ mode: 'voice' });
      assertXml(await text(rider.real, rider.proxy, { body: 'text in a voice session' }), empty(), 'message in a voice session');
      assert.ok(!(await interactions(d, ses.id)).some((i) => i.decision === 'forward_message'));
    });
  });

  describe(`${dialect} status callbacks`, () => {
    test('call legs: per-leg callbacks and the Dial action are recorded as legs', async () => {
      const { ses, rider, driver } = await newPair();
      const parentSid = sid(dialect, 'CA');
      const intId = assertBridge(await call(rider.real, rider.proxy, { callSid: parentSid }),
        { callerId: driver.proxy, real: driver.real });
      const childSid = sid(dialect, 'CA');
      const leg = (callStatus, extra = {}) => ({
        AccountSid: accountSid(dialect),
        ApiVersion: '2010-04-01',
        CallSid: childSid,
        ParentCallSid: parentSid,
        CallStatus: callStatus,
        CallbackSource: 'call-progress-events',
        Direction: 'outbound-dial',
        From: driver.proxy,
        To: driver.real,
        Timestamp: new Date().toUTCString(),
        ...extra,
      });
      for (const [i, st] of ['initiated', 'ringing', 'in-progress'].entries()) {
        assertXml(await status(intId, leg(st, { SequenceNumber: String(i) })), empty(), `leg ${st}`);
      }
      assertXml(await status(intId, leg('completed', { CallDuration: '12', SequenceNumber: '3' })), empty(), 'leg completed');
      const action = {
        ...voiceParams(dialect, { from: rider.real, to: rider.proxy, callSid: parentSid }),
        CallStatus: 'in-progress',
        DialCallStatus: 'completed',
        DialCallSid: childSid,
        DialCallDuration: '12',
        DialBridged: 'true',
      };
      assertXml(await status(intId, action), empty(), 'Dial action');
      // a retried callback changes nothing
      assertXml(await status(intId, leg('completed', { CallDuration: '12', SequenceNumber: '3' })), empty(), 'retried');

      const [i] = await interactions(d, ses.id);
      assert.equal(i.id, intId);
      const b = i.legs.filter((l) => l.carrier_sid === childSid);
      assert.equal(b.length, 1, `one leg for the B call, got ${JSON.stringify(i.legs)}`);
      assert.match(b[0].id, ID.leg);
      assert.equal(b[0].leg, 'b');
      assert.equal(b[0].status, 'completed');
      assert.equal(b[0].duration, 12);
      const a = i.legs.filter((l) => l.carrier_sid === parentSid);
      assert.ok(a.length <= 1, `at most one A leg: ${JSON.stringify(i.legs)}`);
      for (const l of a) assert.equal(l.leg, 'a');
      assert.ok(i.legs.every((l) => ['a', 'b'].includes(l.leg)));
      assertNoRealNumbers(JSON.stringify(i), [rider.real, driver.real], 'interaction');
    });

    test('message status callbacks are recorded as a leg', async () => {
      const { ses, rider, driver } = await newPair();
      const intId = assertForward(await text(rider.real, rider.proxy, { body: 'status please' }),
        { to: driver.real, from: driver.proxy, body: 'status please' });
      const outSid = sid(dialect, 'SM');
      for (const st of ['queued', 'sent', 'delivered']) {
        const p = {
          AccountSid: accountSid(dialect),
          ApiVersion: '2010-04-01', From: driver.proxy, To: driver.real,
          MessageSid: outSid, SmsSid: outSid, MessageStatus: st, SmsStatus: st,
        };
        assertXml(await status(intId, p), empty(), `message ${st}`);
      }
      const [i] = await interactions(d, ses.id);
      const legs = i.legs.filter((l) => l.carrier_sid === outSid);
      assert.equal(legs.length, 1, JSON.stringify(i.legs));
      assert.equal(legs[0].status, 'delivered');
      assert.match(legs[0].id, ID.leg);
    });

    test('unknown interaction → 200 <Response/>, ignored', async () => {
      const res = await status('int_doesnotexist', {
        CallSid: sid(dialect, 'CA'), CallStatus: 'completed', CallDuration: '3', From: POOL[0], To: STRANGER,
      });
      assertXml(res, empty(), 'unknown interaction');
    });

    test('bad or missing signature → 403, legs unchanged', async () => {
      const { ses, rider, driver } = await newPair();
      const intId = assertBridge(await call(rider.real, rider.proxy), { callerId: driver.proxy, real: driver.real });
      const before = JSON.stringify(await interactions(d, ses.id));
      const p = { CallSid: sid(dialect, 'CA'), CallStatus: 'completed', CallDuration: '40', From: driver.proxy, To: driver.real };
      assert.equal((await status(intId, p, { signature: null })).status, 403);
      assert.equal((await status(intId, p, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' })).status, 403);
      assert.equal((await status(intId, p, { token: otherTokens[dialect] })).status, 403);
      // signed without the ?interaction= query
      assert.equal((await status(intId, p, { signUrl: `${PUBLIC_URL}/hooks/${dialect}/status` })).status, 403);
      // signed for another interaction
      assert.equal((await status(intId, p, { signUrl: `${PUBLIC_URL}/hooks/${dialect}/status?interaction=int_other` })).status, 403);
      assert.equal(JSON.stringify(await interactions(d, ses.id)), before);
    });
  });

  describe(`${dialect} signatures and bad input`, () => {
    test('bad or missing signature → 403 and nothing recorded', async () => {
      const { ses, rider } = await newPair();
      const p = voiceParams(dialect, { from: rider.real, to: rider.proxy });
      const m = messageParams(dialect, { from: rider.real, to: rider.proxy, body: 'hi' });
      const cases = [
        ['voice', p, { signature: null }],
        ['voice', p, { signature: '' }],
        ['voice', p, { signature: 'not-a-signature' }],
        ['voice', p, { token: 'wrong-token' }],
        ['voice', p, { token: otherTokens[dialect] }],
        ['voice', p, { token: d.tokens[dialect === 'twilio' ? 'signalwire' : 'twilio'] }],
        ['voice', p, { signUrl: `${PUBLIC_URL}/hooks/${dialect}/message` }],
        ['voice', p, { signUrl: `http://maskd.example.com/hooks/${dialect}/voice` }],
        ['voice', p, { signUrl: `https://evil.example.com/hooks/${dialect}/voice` }],
        ['voice', p, { signParams: { ...p, From: realOf(998) } }],
        ['voice', p, { signParams: { ...p, Extra: '1' } }],
        ['voice', p, { method: 'GET', signature: null }],
        ['voice', p, { method: 'GET', signUrl: `${PUBLIC_URL}/hooks/${dialect}/voice` }],
        ['message', m, { signature: null }],
        ['message', m, { signParams: m.map(([k, v]) => [k, k === 'Body' ? 'HI' : v]) }],
        ['message', m, { token: otherTokens[dialect] }],
      ];
      for (const [event, params, opts] of cases) {
        const res = await d.webhook(dialect, event, params, opts);
        assert.equal(res.status, 403, `${event} ${JSON.stringify(opts)}: HTTP ${res.status} ${res.text}`);
        assertNoRealNumbers(res.text, used, '403 answer');
      }
      assert.deepEqual(await interactions(d, ses.id), []);
      assert.equal((await getSession(d, ses.id)).status, 'open');
    });

    test('the other service\'s number is checked with that service\'s credential', async () => {
      const { rider, driver } = await newPair({ service: otherSvc });
      const good = await call(rider.real, rider.proxy, { token: otherTokens[dialect] });
      assertBridge(good, { callerId: driver.proxy, real: driver.real });
      assert.equal((await call(driver.real, driver.proxy)).status, 403);
    });

    if (dialect === 'signalwire') {
      test('X-Twilio-Signature is accepted for SignalWire too', async () => {
        const { rider, driver } = await newPair();
        const res = await call(rider.real, rider.proxy, { header: 'X-Twilio-Signature' });
        assertBridge(res, { callerId: driver.proxy, real: driver.real });
      });
    }

    test('malformed body → 400; no From or To → 400; To in no pool → 404; > 256 KiB → 413; nothing recorded', async () => {
      const { ses, rider } = await newPair();
      const p = voiceParams(dialect, { from: rider.real, to: rider.proxy });
      const encoded = new URLSearchParams(p).toString();
      const bad = [
        ['voice', p, { rawBody: `${encoded}&Junk=%zz` }, 400],
        ['voice', p, { rawBody: `${encoded}&%zz=1` }, 400],
        ['voice', p, { rawBody: `From=%E0%A4%A&To=${encodeURIComponent(rider.proxy)}` }, 400],
        ['voice', voiceParams(dialect, { to: rider.proxy }), {}, 400],
        ['voice', voiceParams(dialect, { from: rider.real }), {}, 400],
        ['voice', voiceParams(dialect, { from: rider.real, to: NOT_IN_ANY_POOL }), {}, 404],
        ['voice', voiceParams(dialect, { from: rider.real, to: NOT_IN_ANY_POOL }), { method: 'GET' }, 404],
        ['voice', { ...p, Padding: 'x'.repeat(300 * 1024) }, { raw: true }, 413],
        ['message', messageParams(dialect, { to: rider.proxy, body: 'x' }), {}, 400],
        ['message', messageParams(dialect, { from: rider.real, body: 'x' }), {}, 400],
        ['message', messageParams(dialect, { from: rider.real, to: NOT_IN_ANY_POOL, body: 'x' }), {}, 404],
        ['message', messageParams(dialect, { from: rider.real, to: rider.proxy, body: 'y'.repeat(2 * 1024 * 1024) }), { raw: true }, 413],
      ];
      for (const [event, params, opts, want] of bad) {
        const res = await d.webhook(dialect, event, params, opts);
        assert.equal(res.status, want, `${event} ${JSON.stringify(opts).slice(0, 200)}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
        assertNoRealNumbers(res.text, used, `${want} answer`);
      }
      assert.deepEqual(await interactions(d, ses.id), []);
      assert.equal((await getSession(d, ses.id)).status, 'open');
    });
  });

  test('webhook answers other than bridge/forward carry no real number; API answers none at all', () => {
    for (const a of d.transcript) {
      if (a.kind === 'webhook' && a.status === 200 && /<(Dial|Message)[ >]/.test(a.text)) continue;
      assertNoRealNumbers(a.text, used, `${a.kind} ${a.method} ${a.path.slice(0, 120)} → ${a.status}`);
    }
  });

  test('metrics stay free of real numbers after the webhooks', async () => {
    const r = await d.request('GET', '/metrics');
    expectStatus(r, 200);
    assertNoRealNumbers(r.text, used, '/metrics');
  });
}
