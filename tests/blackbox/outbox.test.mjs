// SPDX-License-Identifier: MIT
// The durable outbox, seen from outside: texts maskd sends through a carrier's REST API
// (Telnyx here, at a local stand-in for api.telnyx.com whose answers each test scripts) are
// written to the outbox before the webhook is acknowledged, and then:
//   - a retried inbound webhook with no session (a HELP from a stranger) sends its REST reply once;
//   - a receiver that fails (503) and then recovers gets the text once, after backoff;
//   - a refused text (400) is `failed`, listed by GET /v1/services/{svc}/outbox?status=failed
//     (masked: no real number, no credential), and POST /v1/outbox/{id}/retry sends it again;
//   - texts still queued when maskd is killed with SIGKILL, or stopped, are delivered once after
//     a restart on the same database;
//   - on PostgreSQL, two nodes sharing one database deliver each queued text exactly once;
//   - /metrics shows the backlog, the oldest message's age and failures per destination.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { PG_URL, SCALE, startDaemon, useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertNoRealNumbers, createSession, expectError, expectStatus, interactions, metricValue } from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

const API_KEY = `KEY${crypto.randomBytes(12).toString('hex')}_test`;
const HELP = 'Rides: masked texts. Reply STOP to opt out.';

// ---------------------------------------------------------------------------------------
// A scriptable api.telnyx.com: `answer(text)` decides each request's status by the text sent.

const received = []; // {text, to, status}
let answer = () => 200;
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = {};
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* counted as sent nothing */ }
    const status = answer(body.text ?? '');
    received.push({ text: body.text, to: body.to, auth: req.headers.authorization, status });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(status === 200 ? JSON.stringify({ data: { id: crypto.randomUUID(), record_type: 'message' } }) : '{"errors":[]}');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const RECEIVER = `http://127.0.0.1:${receiver.address().port}`;
after(() => new Promise((resolve) => receiver.close(resolve)));

const deliveredOnce = (text) => received.filter((r) => r.text === text && r.status === 200).length;

const ENV = { MASKD_TELNYX_API_URL: RECEIVER, MASKD_SEND_RETRY_MS: '50' };
// Slow retries: texts stay queued (five tries span at least 7.5 s) while a test stops maskd.
const SLOW = { ...ENV, MASKD_SEND_RETRY_MS: '1000' };
const d = useDaemon({ env: ENV });

// ---------------------------------------------------------------------------------------
// Telnyx signing (Ed25519 over `${ts}|${body}`) and its message.received event

const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const PUBLIC_B64 = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');

function signed(body) {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = crypto.sign(null, Buffer.from(`${ts}|${body}`), privateKey).toString('base64');
  return { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts, 'Content-Type': 'application/json' };
}

function messageReceived({ from, to, text, id = crypto.randomUUID() }) {
  return JSON.stringify({
    data: {
      event_type: 'message.received',
      id: crypto.randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: {
        record_type: 'message', direction: 'inbound', id, text, type: 'SMS', parts: 1, media: [], errors: [],
        from: { phone_number: from }, to: [{ phone_number: to }],
      },
      record_type: 'event',
    },
    meta: { attempt: 1 },
  });
}

/** Posts a text from `from` to proxy `to` at daemon `dm`; the answer. */
async function text(dm, { from, to, body, id }) {
  const payload = messageReceived({ from, to, text: body, id });
  return dm.request('POST', '/hooks/telnyx/message', { kind: 'webhook', headers: signed(payload), body: payload });
}

const POOL = Array.from({ length: 8 }, (_, i) => proxy(i, '650'));
let realCounter = 5000;
const nextReal = () => real(realCounter++);

async function makeService(dm, name) {
  const res = await dm.api('POST', '/v1/services', {
    name,
    carriers: { telnyx: { public_key: PUBLIC_B64, api_key: API_KEY } },
    defaults: { mode: 'voice-and-message', ttl: 0, help_text: HELP },
  });
  const svc = expectStatus(res, 201, 'POST /v1/services');
  await addPool(dm, svc.id, POOL, { carrier: 'telnyx' });
  return svc;
}

async function pair(dm, svc) {
  const a = nextReal();
  const b = nextReal();
  const ses = await createSession(dm, svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  return { ses, a, b, aProxy: ses.participants[0].proxy_number, reals: [a, b] };
}

async function outbox(dm, svcId, query = '') {
  const res = await dm.api('GET', `/v1/services/${svcId}/outbox${query}`);
  return expectStatus(res, 200, `GET outbox${query}`);
}

/** Every message of the service's outbox (following the cursor). */
async function allMessages(dm, svcId, status) {
  const out = [];
  let after = null;
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ limit: '5', ...(status ? { status } : {}), ...(after ? { after } : {}) });
    const body = await outbox(dm, svcId, `?${q}`);
    out.push(...body.messages);
    if (body.next === null) return out;
    after = body.next;
  }
  throw new Error('more than 100 pages');
}

const WAIT = { timeoutMs: 30_000 * SCALE };

// ---------------------------------------------------------------------------------------

describe('outbox', () => {
  let svc;
  before(async () => {
    await d.ready;
    svc = await makeService(d, 'Outbox');
  });

  test('a retried webhook with no session sends its REST reply once', async () => {
    answer = () => 200;
    const stranger = nextReal();
    const id = crypto.randomUUID();
    const before = (await allMessages(d, svc.id)).length;
    for (let i = 0; i < 3; i++) {
      const res = await text(d, { from: stranger, to: POOL[0], body: 'HELP', id });
      assert.equal(res.status, 200, `try ${i}: HTTP ${res.status} ${res.text}`);
    }
    const msgs = await waitFor('the reply sent', async () => {
      const all = await allMessages(d, svc.id);
      return all.length > before && all.every((m) => m.status === 'sent') ? all : null;
    }, WAIT);
    assert.equal(msgs.length, before + 1, 'one outbox message for three deliveries of one webhook');
    assert.equal(received.filter((r) => r.text === HELP && r.to === stranger).length, 1, 'one REST send');
    const m = msgs[msgs.length - 1];
    assert.equal(m.kind, 'carrier_send');
    assert.equal(m.destination, RECEIVER);
    assert.equal(m.tries, 1);
  });

  test('a receiver that fails and then recovers gets the text once; the leg records it', async () => {
    const { ses, a, aProxy, reals } = await pair(d, svc);
    const body = `flaky ${crypto.randomUUID()}`;
    let failures = 3;
    answer = (t) => (t === body && failures-- > 0 ? 503 : 200);
    const res = await text(d, { from: a, to: aProxy, body });
    assert.equal(res.status, 200, res.text);
    await waitFor('delivered after the failures', () => deliveredOnce(body) === 1, WAIT);
    assert.equal(received.filter((r) => r.text === body).length, 4, 'three 503s, then one 200');
    const [i] = await waitFor('leg b sent', async () => {
      const list = await interactions(d, ses.id);
      return list[0]?.legs.some((l) => l.leg === 'b' && l.status === 'sent') ? list : null;
    }, WAIT);
    const msg = (await allMessages(d, svc.id)).find((m) => m.interaction_id === i.id);
    assert.equal(msg.status, 'sent');
    assert.equal(msg.tries, 4);
    assert.equal(msg.session_id, ses.id);
    assertNoRealNumbers(JSON.stringify(msg), reals, 'outbox message');
  });

  test('a refused text is failed, listed masked, and sent again by POST /v1/outbox/{id}/retry', async () => {
    const { a, aProxy, reals } = await pair(d, svc);
    const body = `refused ${crypto.randomUUID()}`;
    let refuse = true;
    answer = (t) => (t === body && refuse ? 400 : 200);
    const failedBefore = await metricValue(d, 'maskd_sender_failed_total');
    assert.equal((await text(d, { from: a, to: aProxy, body })).status, 200);
    const [m] = await waitFor('the failed message', async () => {
      const f = (await allMessages(d, svc.id, 'failed'));
      return f.length ? f : null;
    }, WAIT);
    assert.equal(received.filter((r) => r.text === body).length, 1, 'a 400 is not retried');
    assert.equal(m.status, 'failed');
    assert.equal(m.tries, 1);
    assert.equal(m.last_error, 'HTTP 400');
    const listing = await d.api('GET', `/v1/services/${svc.id}/outbox?status=failed`);
    assertNoRealNumbers(listing.text, reals, 'outbox listing');
    assert.ok(!listing.text.includes(API_KEY), 'no carrier credential in the listing');
    assert.equal(await metricValue(d, 'maskd_sender_failed_total'), failedBefore + 1);
    const failedMetric = await waitFor('per-destination failures', async () => {
      const res = await d.request('GET', '/metrics');
      const line = res.text.split('\n').find((l) => l.startsWith(`maskd_outbox_destination_failed{destination="${RECEIVER}"}`));
      return line && Number(line.split(' ')[1]) >= 1 ? line : null;
    }, WAIT);
    assert.ok(failedMetric);

    refuse = false;
    const retried = await d.api('POST', `/v1/outbox/${m.id}/retry`);
    const r = expectStatus(retried, 202, 'POST retry');
    assert.equal(r.id, m.id);
    await waitFor('sent after the retry', () => deliveredOnce(body) === 1, WAIT);
    const after = await waitFor('listed as sent', async () => {
      const x = (await allMessages(d, svc.id)).find((y) => y.id === m.id);
      return x.status === 'sent' ? x : null;
    }, WAIT);
    assert.equal(after.tries, 1);
    assert.equal((await allMessages(d, svc.id, 'failed')).filter((y) => y.id === m.id).length, 0);
    // only a failed message can be retried; bad input changes nothing
    expectError(await d.api('POST', `/v1/outbox/${m.id}/retry`), 409, 'not_failed');
    assert.equal((await d.api('POST', '/v1/outbox/obx_23navwgwx222xwaxhpbpuk3p/retry')).status, 404);
    assert.equal((await d.api('POST', '/v1/outbox/nope/retry')).status, 404);
    expectError(await d.api('GET', `/v1/services/${svc.id}/outbox?status=lost`), 400, 'invalid_field');
    expectError(await d.api('GET', `/v1/services/${svc.id}/outbox?limit=0`), 400, 'invalid_field');
    expectError(await d.api('GET', `/v1/services/${svc.id}/outbox?after=x`), 400, 'invalid_field');
    assert.equal((await d.api('GET', '/v1/services/svc_23navwgwx222xwaxhpbpuk3p/outbox')).status, 404);
    assert.equal(received.filter((x) => x.text === body && x.status === 200).length, 1);
  });

  test('texts of one session go out in the order they came', async () => {
    answer = () => 200;
    const { a, aProxy } = await pair(d, svc);
    const tag = crypto.randomUUID();
    for (let i = 0; i < 5; i++) assert.equal((await text(d, { from: a, to: aProxy, body: `${tag} #${i}` })).status, 200);
    await waitFor('all five sent', () => received.filter((r) => r.text?.startsWith(tag)).length === 5, WAIT);
    assert.deepEqual(received.filter((r) => r.text?.startsWith(tag)).map((r) => r.text),
      [0, 1, 2, 3, 4].map((i) => `${tag} #${i}`));
  });
});

/** Queues n texts of one session while the receiver answers 503; waits until the first was
 *  tried (the others wait behind it: a session's texts go out in order) and all n are queued. */
async function queueFailing(dm, svc, n, tag) {
  answer = (t) => (t.startsWith(tag) ? 503 : 200);
  const p = await pair(dm, svc);
  const bodies = [];
  for (let i = 0; i < n; i++) {
    const body = `${tag} #${i}`;
    bodies.push(body);
    const res = await text(dm, { from: p.a, to: p.aProxy, body });
    assert.equal(res.status, 200, res.text);
  }
  await waitFor('the first text tried', () => received.some((r) => r.text === bodies[0]), WAIT);
  const queued = await allMessages(dm, svc.id);
  assert.equal(queued.length, n);
  assert.ok(queued.every((m) => m.status === 'pending' || m.status === 'sending'), JSON.stringify(queued));
  return bodies;
}

describe('outbox across restarts', () => {
  test('texts queued when maskd is killed with SIGKILL are delivered once after a restart', async () => {
    const d1 = await startDaemon({ env: SLOW });
    const svc = await makeService(d1, 'Killed');
    const tag = `killed ${crypto.randomUUID()}`;
    const bodies = await queueFailing(d1, svc, 4, tag);
    const backlog = await waitFor('the backlog gauge', async () => {
      const v = await metricValue(d1, 'maskd_outbox_backlog');
      return v >= 4 ? v : null;
    }, WAIT);
    assert.ok(backlog >= 4);
    d1.child.kill('SIGKILL');
    const exit = await d1.exit;
    assert.equal(exit.signal, 'SIGKILL');
    answer = () => 200;
    const d2 = await startDaemon({ env: { ...ENV, MASKD_DB: d1.dbPath, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE } });
    try {
      await waitFor('every queued text delivered', () => bodies.every((b) => deliveredOnce(b) >= 1), { timeoutMs: 60_000 * SCALE });
      const msgs = await waitFor('all sent', async () => {
        const all = await allMessages(d2, svc.id);
        return all.length === 4 && all.every((m) => m.status === 'sent') ? all : null;
      }, WAIT);
      assert.equal(msgs.length, 4);
      for (const b of bodies) assert.equal(deliveredOnce(b), 1, `${b}: delivered once`);
    } finally {
      await d2.stop();
      await d2.removeTmp();
      await d1.removeTmp();
    }
  });

  test('texts queued when maskd is stopped are delivered once after the next start', async () => {
    const d1 = await startDaemon({ env: SLOW });
    const svc = await makeService(d1, 'Stopped');
    const tag = `stopped ${crypto.randomUUID()}`;
    const bodies = await queueFailing(d1, svc, 3, tag);
    await d1.stop();
    answer = () => 200;
    const d2 = await startDaemon({ env: { ...ENV, MASKD_DB: d1.dbPath, MASKD_KEY_FILE: d1.env.MASKD_KEY_FILE } });
    try {
      await waitFor('every queued text delivered', () => bodies.every((b) => deliveredOnce(b) >= 1), { timeoutMs: 60_000 * SCALE });
      await waitFor('all sent', async () => (await allMessages(d2, svc.id)).every((m) => m.status === 'sent'), WAIT);
      for (const b of bodies) assert.equal(deliveredOnce(b), 1, `${b}: delivered once`);
    } finally {
      await d2.stop();
      await d2.removeTmp();
      await d1.removeTmp();
    }
  });

  test('two nodes on one PostgreSQL database deliver each text once', { skip: PG_URL ? false : 'MASKD_TEST_PG_URL is not set' }, async () => {
    const n1 = await startDaemon({ env: SLOW });
    const n2 = await startDaemon({ env: { ...SLOW, MASKD_DB: n1.pg.url, MASKD_KEY_FILE: n1.env.MASKD_KEY_FILE } });
    try {
      const svc = await makeService(n1, 'Two nodes');
      const tag = `nodes ${crypto.randomUUID()}`;
      // while the receiver fails, both nodes take their turns at the queue; then it recovers
      answer = (t) => (t.startsWith(tag) ? 503 : 200);
      const bodies = [];
      const pairs = [await pair(n1, svc), await pair(n2, svc), await pair(n1, svc), await pair(n2, svc)];
      for (let i = 0; i < 24; i++) {
        const p = pairs[i % pairs.length];
        const body = `${tag} #${i}`;
        bodies.push(body);
        const res = await text(i % 2 ? n2 : n1, { from: p.a, to: p.aProxy, body });
        assert.equal(res.status, 200, res.text);
      }
      answer = () => 200;
      await waitFor('every text delivered', () => bodies.every((b) => deliveredOnce(b) >= 1), { timeoutMs: 60_000 * SCALE });
      await waitFor('all sent', async () => {
        const all = await allMessages(n1, svc.id);
        return all.length === 24 && all.every((m) => m.status === 'sent');
      }, WAIT);
      for (const b of bodies) assert.equal(deliveredOnce(b), 1, `${b}: delivered once`);
      // per session, in order
      for (let k = 0; k < pairs.length; k++) {
        const mine = bodies.filter((_, i) => i % pairs.length === k);
        const got = received.filter((r) => r.status === 200 && mine.includes(r.text)).map((r) => r.text);
        assert.deepEqual(got, mine, `session ${k}: in order`);
      }
    } finally {
      await n2.stop();
      await n1.stop();
      await n2.removeTmp();
      await n1.removeTmp();
    }
  });
});
