// SPDX-License-Identifier: MIT
// Native API: services, numbers, sessions CRUD; masking of real numbers in every answer;
// bearer auth; every bad-input case of the contract (docs/API.md).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import {
  ID, TIMESTAMP, addNumber, addPool, assertNoRealNumbers, closeSession, createService, createSession,
  expectError, expectStatus, getSession, inUse, interactions, postSession, rfc3339In,
} from './lib/fixtures.mjs';
import { INVALID_NUMBER, assertValid, masked, proxy, real, realNy } from './lib/numbers.mjs';

/** The `carriers` of a service answer: every carrier maskd speaks, configured or not. */
const CARRIERS = ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage'];
function carriersShown(configured) {
  return Object.fromEntries(CARRIERS.map((c) => [c, { configured: Boolean(configured[c]) }]));
}

const d = useDaemon();

const R = [real(10), real(11), real(12), real(13), realNy(10), realNy(11)];
assertValid(R, proxy(0), proxy(1), proxy(2), proxy(3), proxy(0, '212'), proxy(0, '650'));

describe('health endpoints (no key)', () => {
  test('GET /healthz → 200 ok', async () => {
    const r = await d.request('GET', '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.text.trim(), 'ok');
  });
  test('GET /readyz → 200', async () => {
    const r = await d.request('GET', '/readyz');
    assert.equal(r.status, 200, r.text);
  });
  test('GET /metrics → Prometheus text', async () => {
    const r = await d.request('GET', '/metrics');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
    const lines = r.text.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, 'no metrics');
    for (const l of lines) {
      assert.match(l, /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+( -?\d+)?)$/,
        `not a Prometheus text line: ${l}`);
    }
  });
});

describe('bearer auth', () => {
  const routes = [
    ['GET', '/v1/services'],
    ['POST', '/v1/services', { name: 'Sneaky' }],
    ['GET', '/v1/services/svc_doesnotexist'],
    ['GET', '/v1/services/svc_doesnotexist/numbers'],
    ['POST', '/v1/services/svc_doesnotexist/sessions', { participants: [] }],
    ['PATCH', '/v1/numbers/num_doesnotexist', { state: 'retired' }],
    ['DELETE', '/v1/numbers/num_doesnotexist'],
    ['GET', '/v1/sessions/ses_doesnotexist'],
    ['PATCH', '/v1/sessions/ses_doesnotexist', { status: 'closed' }],
    ['DELETE', '/v1/sessions/ses_doesnotexist'],
    ['GET', '/v1/sessions/ses_doesnotexist/interactions'],
  ];
  for (const [method, path, body] of routes) {
    test(`${method} ${path} without a key → 401`, async () => {
      expectError(await d.api(method, path, body, { auth: null }), 401, 'unauthorized');
    });
  }
  test('wrong key, key with a suffix, key prefix, other schemes → 401', async () => {
    const k = d.adminKey;
    for (const auth of [`Bearer wrong-${k}`, `Bearer ${k}x`, `Bearer ${k.slice(0, -1)}`, `Bearer`, `Bearer `,
      `Basic ${Buffer.from(`admin:${k}`).toString('base64')}`, k, `Token ${k}`]) {
      expectError(await d.api('GET', '/v1/services', undefined, { auth }), 401, 'unauthorized');
    }
  });
  test('an unauthorised POST creates nothing', async () => {
    await d.api('POST', '/v1/services', { name: 'Unauthorised' }, { auth: 'Bearer nope' });
    const list = expectStatus(await d.api('GET', '/v1/services'), 200).services;
    assert.ok(!list.some((s) => s.name === 'Unauthorised'));
  });
});

describe('services', () => {
  test('create, get, list; secrets never echoed', async () => {
    const body = {
      name: 'Rides',
      carriers: { twilio: { auth_token: d.tokens.twilio } },
      defaults: { mode: 'voice', ttl: 600, unknown_caller_message: 'This number is not in service.' },
    };
    const res = await d.api('POST', '/v1/services', body);
    const svc = expectStatus(res, 201);
    assert.match(res.headers['content-type'] ?? '', /^application\/json\b/);
    assert.match(svc.id, ID.service);
    assert.equal(svc.name, 'Rides');
    assert.deepEqual(svc.carriers, carriersShown({ twilio: true }));
    assert.deepEqual(svc.defaults, {
      ...body.defaults, record: false, time_limit: 0, ring_timeout: 0, consent_message: 'This call may be recorded.',
      geo_match: 'country', geo_match_strict: false, number_selection: 'prefer-sticky', cooloff: 86400,
      cooloff_reuse: false, number_cap: 100, ended_message: 'This conversation has ended.',
      help_text: svc.defaults.help_text, mms_fallback: 'text_with_note', pool_low_threshold: 0,
    });
    assert.match(svc.defaults.help_text, /STOP/);
    assert.deepEqual(svc.unknown_caller, {
      policy: 'reject', fallback_number: null, pin_number: null, pin_length: 6, pin_attempts: 3,
      callback_url: null, callback_timeout_ms: 2000, callback_fail_open: false,
    });
    assert.deepEqual(svc.rate_limits, { calls_per_hour: 0, texts_per_hour: 0, silent: false });
    assert.match(svc.created_at, TIMESTAMP);
    assert.ok(!res.text.includes(d.tokens.twilio), 'auth_token echoed');

    const got = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
    assert.deepEqual(got, svc);
    const list = expectStatus(await d.api('GET', '/v1/services'), 200);
    assert.ok(Array.isArray(list.services));
    assert.deepEqual(list.services.find((s) => s.id === svc.id), svc);
    for (const r of [res, list]) {
      assert.ok(!JSON.stringify(r).includes(d.tokens.twilio));
    }
  });

  test('both carriers configured; the signing key is never echoed', async () => {
    const res = await d.api('POST', '/v1/services', {
      name: 'Both', carriers: { twilio: { auth_token: d.tokens.twilio }, signalwire: { signing_key: d.tokens.signalwire } },
    });
    const svc = expectStatus(res, 201);
    assert.deepEqual(svc.carriers, carriersShown({ twilio: true, signalwire: true }));
    assert.ok(!res.text.includes(d.tokens.signalwire));
    assert.ok(!res.text.includes(d.tokens.twilio));
  });

  test('only name: carriers unconfigured, defaults filled in', async () => {
    const svc = expectStatus(await d.api('POST', '/v1/services', { name: 'Bare' }), 201);
    assert.deepEqual(svc.carriers, carriersShown({}));
    assert.equal(svc.defaults.mode, 'voice-and-message');
    assert.equal(svc.defaults.ttl, 0);
    assert.equal(typeof svc.defaults.unknown_caller_message, 'string');
    assert.ok(svc.defaults.unknown_caller_message.length > 0);
  });

  test('GET an unknown service → 404', async () => {
    expectError(await d.api('GET', '/v1/services/svc_doesnotexist'), 404, 'not_found');
  });

  test('bad input', async () => {
    const post = (b, o) => d.api('POST', '/v1/services', b, o);
    expectError(await post({}), 400, 'missing_field', 'name');
    expectError(await post({ carriers: {} }), 400, 'missing_field', 'name');
    expectError(await post({ name: 5 }), 400, 'invalid_field', 'name');
    expectError(await post({ name: null }), 400, 'invalid_field', 'name');
    expectError(await post({ name: 'X', colour: 'red' }), 400, 'unknown_field', 'colour');
    expectError(await post({ name: 'X', carriers: { twilio: { token: 'x' } } }), 400, 'unknown_field', 'token');
    expectError(await post({ name: 'X', carriers: { twilio: { auth_token: 7 } } }), 400, 'invalid_field', 'auth_token');
    expectError(await post({ name: 'X', defaults: { mode: 'fax' } }), 400, 'invalid_field', 'mode');
    expectError(await post({ name: 'X', defaults: { ttl: -1 } }), 400, 'invalid_field', 'ttl');
    expectError(await post({ name: 'X', defaults: { ttl: '60' } }), 400, 'invalid_field', 'ttl');
    expectError(await post({ name: 'X', defaults: { shade: 1 } }), 400, 'unknown_field', 'shade');
    expectError(await post('{"name": "X",\n "carriers": {\n'), 400, 'invalid_json', /line \d+ column \d+/);
    expectError(await post('{"name": "X",}'), 400, 'invalid_json', /line \d+ column \d+/);
    expectError(await post('not json'), 400, 'invalid_json', /line \d+ column \d+/);
    expectError(await post(''), 400, 'invalid_json');
  });

  test('invalid JSON: the message names the line and column of the error', async () => {
    const e = expectError(await d.api('POST', '/v1/services', '{\n  "name": "X",\n  "defaults": {"ttl": 0,,}\n}'),
      400, 'invalid_json', /line 3 column \d+/);
    assert.ok(e.message.length < 500);
  });

  test('Content-Type other than application/json → 415; with charset → accepted', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      expectError(await d.api('POST', '/v1/services', JSON.stringify({ name: 'CT' }), { contentType: ct }),
        415, 'unsupported_media_type');
    }
    const ok = await d.api('POST', '/v1/services', { name: 'Charset' }, { contentType: 'application/json; charset=utf-8' });
    expectStatus(ok, 201);
  });

  test('bodies over 256 KiB → 413 (2 MB, and 256 KiB + 1)', async () => {
    const big = JSON.stringify({ name: 'Big', pad: 'x'.repeat(2 * 1024 * 1024) });
    expectError(await d.api('POST', '/v1/services', big, { raw: true }), 413, 'payload_too_large');
    const over = `{"name":"Over","pad":"${'x'.repeat(256 * 1024 + 1 - '{"name":"Over","pad":""}'.length)}"}`;
    assert.equal(Buffer.byteLength(over), 256 * 1024 + 1);
    expectError(await d.api('POST', '/v1/services', over, { raw: true }), 413, 'payload_too_large');
    const list = expectStatus(await d.api('GET', '/v1/services'), 200).services;
    assert.ok(!list.some((s) => s.name === 'Big' || s.name === 'Over'), 'an oversized body created a service');
  });

  test('unknown route → 404; wrong method → 405', async () => {
    expectError(await d.api('GET', '/v1/nope'), 404, 'not_found');
    expectError(await d.api('PUT', '/v1/services', { name: 'X' }), 405, 'method_not_allowed');
    const svc = await createService(d, { name: 'Methods' });
    expectError(await d.api('PUT', `/v1/services/${svc.id}/numbers`, { number: proxy(90) }), 405, 'method_not_allowed');
    expectError(await d.api('PUT', `/v1/services/${svc.id}`, { name: 'Y' }), 405, 'method_not_allowed');
    const n = await addNumber(d, svc.id, proxy(90));
    expectError(await d.api('POST', `/v1/numbers/${n.id}`, { state: 'active' }), 405, 'method_not_allowed');
    expectError(await d.api('GET', `/v1/numbers/${n.id}/nope`), 404, 'not_found');
  });
});

describe('numbers', () => {
  let svc;
  test('create: normalised to E.164, defaults, country and area code', async () => {
    svc = await createService(d, { name: 'Pool' });
    const res = await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: '+1 (415) 555-0100' });
    const n = expectStatus(res, 201);
    assert.match(n.id, ID.number);
    assert.deepEqual({ ...n, id: 'x', created_at: 'x' }, {
      id: 'x', service_id: svc.id, number: proxy(0), carrier: null, capabilities: ['voice', 'sms', 'mms'],
      country: 'US', area_code: '415', region: 'California', state: 'active', in_use: 0, cooling_off: 0,
      created_at: 'x',
    });
    assert.match(n.created_at, TIMESTAMP);

    const r2 = await addNumber(d, svc.id, proxy(0, '212'), { carrier: 'signalwire', capabilities: ['voice'], reserved: true });
    assert.equal(r2.number, proxy(0, '212'));
    assert.equal(r2.carrier, 'signalwire');
    assert.deepEqual(r2.capabilities, ['voice']);
    assert.equal(r2.area_code, '212');
    assert.equal(r2.region, 'New York');
    assert.equal(r2.state, 'reserved');

    const r3 = await addNumber(d, svc.id, proxy(1), { capabilities: ['sms', 'mms'], reserved: false });
    assert.equal(r3.state, 'active');
    assert.deepEqual(r3.capabilities, ['sms', 'mms']);

    const list = expectStatus(await d.api('GET', `/v1/services/${svc.id}/numbers`), 200).numbers;
    assert.deepEqual(list.map((x) => x.number).sort(), [proxy(0), proxy(1), proxy(0, '212')].sort());
    assert.deepEqual(list.find((x) => x.id === n.id), n);
    for (const x of list) assert.equal(x.in_use, 0);
  });

  test('the same number twice → 409 conflict (also spelled differently, also in another service)', async () => {
    const before = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers.length;
    expectError(await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: proxy(0) }), 409, 'conflict');
    expectError(await d.api('POST', `/v1/services/${svc.id}/numbers`, { number: '+1 415-555-0100' }), 409, 'conflict');
    const other = await createService(d, { name: 'Other pool' });
    expectError(await d.api('POST', `/v1/services/${other.id}/numbers`, { number: proxy(0) }), 409, 'conflict');
    assert.equal((await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers.length, before);
    assert.equal((await d.api('GET', `/v1/services/${other.id}/numbers`)).json.numbers.length, 0);
  });

  test('PATCH state: reserved, retired, active', async () => {
    const n = await addNumber(d, svc.id, proxy(2));
    for (const state of ['reserved', 'retired', 'active']) {
      const r = expectStatus(await d.api('PATCH', `/v1/numbers/${n.id}`, { state }), 200);
      assert.equal(r.id, n.id);
      assert.equal(r.number, proxy(2));
      assert.equal(r.state, state);
      const listed = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers.find((x) => x.id === n.id);
      assert.equal(listed.state, state);
    }
  });

  test('DELETE → 204, then gone; again → 404', async () => {
    const n = await addNumber(d, svc.id, proxy(3));
    const r = await d.api('DELETE', `/v1/numbers/${n.id}`);
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    const list = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers;
    assert.ok(!list.some((x) => x.id === n.id));
    expectError(await d.api('DELETE', `/v1/numbers/${n.id}`), 404, 'not_found');
    // and the number can be added again
    await addNumber(d, svc.id, proxy(3));
  });

  test('DELETE a number in use → 409; after the session closes → 204', async () => {
    const s = await createService(d, { name: 'In use' });
    const n = await addNumber(d, s.id, proxy(0, '650'));
    const ses = await createSession(d, s.id, { participants: [[real(10)], [real(11)]] });
    expectError(await d.api('DELETE', `/v1/numbers/${n.id}`), 409, 'conflict');
    assert.ok((await inUse(d, s.id))[proxy(0, '650')] > 0);
    await closeSession(d, ses.id);
    assert.equal((await inUse(d, s.id))[proxy(0, '650')], 0);
    assert.equal((await d.api('DELETE', `/v1/numbers/${n.id}`)).status, 204);
  });

  test('unknown ids → 404', async () => {
    expectError(await d.api('POST', '/v1/services/svc_doesnotexist/numbers', { number: proxy(9) }), 404, 'not_found');
    expectError(await d.api('GET', '/v1/services/svc_doesnotexist/numbers'), 404, 'not_found');
    expectError(await d.api('PATCH', '/v1/numbers/num_doesnotexist', { state: 'retired' }), 404, 'not_found');
  });

  test('bad input', async () => {
    const post = (b) => d.api('POST', `/v1/services/${svc.id}/numbers`, b);
    expectError(await post({}), 400, 'missing_field', 'number');
    expectError(await post({ carrier: 'twilio' }), 400, 'missing_field', 'number');
    expectError(await post({ number: INVALID_NUMBER }), 400, 'invalid_field', 'number');
    expectError(await post({ number: 'hello' }), 400, 'invalid_field', 'number');
    expectError(await post({ number: '4155550150' }), 400, 'invalid_field', 'number');
    expectError(await post({ number: 14155550150 }), 400, 'invalid_field', 'number');
    expectError(await post({ number: proxy(50), carrier: 'carrier-pigeon' }), 400, 'invalid_field', 'carrier');
    expectError(await post({ number: proxy(50), capabilities: ['fax'] }), 400, 'invalid_field', 'capabilities');
    expectError(await post({ number: proxy(50), capabilities: 'voice' }), 400, 'invalid_field', 'capabilities');
    expectError(await post({ number: proxy(50), reserved: 'yes' }), 400, 'invalid_field', 'reserved');
    expectError(await post({ number: proxy(50), colour: 'red' }), 400, 'unknown_field', 'colour');
    expectError(await post('{"number": '), 400, 'invalid_json', /line \d+ column \d+/);
    expectError(await d.api('POST', `/v1/services/${svc.id}/numbers`, JSON.stringify({ number: proxy(50) }),
      { contentType: 'text/plain' }), 415, 'unsupported_media_type');
    const n = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers[0];
    expectError(await d.api('PATCH', `/v1/numbers/${n.id}`, { state: 'sleeping' }), 400, 'invalid_field', 'state');
    expectError(await d.api('PATCH', `/v1/numbers/${n.id}`, { state: 'active', colour: 'red' }), 400, 'unknown_field', 'colour');
    expectError(await d.api('PATCH', `/v1/numbers/${n.id}`, '{"state":'), 400, 'invalid_json', /line \d+ column \d+/);
    const list = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers;
    assert.ok(!list.some((x) => x.number === proxy(50)), 'a bad request added a number');
  });
});

describe('sessions', () => {
  let svc;
  const pool = [proxy(10), proxy(11), proxy(12)];

  test('create, get, list with filters, patch, close, delete', async () => {
    svc = await createService(d, { name: 'Sessions' });
    await addPool(d, svc.id, pool);
    const expiresAt = rfc3339In(86400);
    const res = await postSession(d, svc.id, {
      unique_name: 'order-1', mode: 'voice-and-message', ttl: 3600, expires_at: expiresAt,
      participants: [[R[0], 'Rider'], [R[1], 'Driver', pool[2]]],
    });
    const s = expectStatus(res, 201);
    assert.match(res.headers['content-type'] ?? '', /^application\/json\b/);
    assert.match(s.id, ID.session);
    assert.equal(s.service_id, svc.id);
    assert.equal(s.unique_name, 'order-1');
    assert.equal(s.mode, 'voice-and-message');
    assert.equal(s.status, 'open');
    assert.equal(s.ttl, 3600);
    assert.equal(s.expires_at, expiresAt);
    assert.match(s.created_at, TIMESTAMP);
    assert.match(s.updated_at, TIMESTAMP);
    assert.equal(s.closed_at, null);
    assert.equal(s.participants.length, 2);
    const [p0, p1] = s.participants;
    assert.match(p0.id, ID.participant);
    assert.match(p1.id, ID.participant);
    assert.notEqual(p0.id, p1.id);
    assert.deepEqual({ ...p0, id: 'x', proxy_number: 'x' }, { id: 'x', label: 'Rider', number: masked(R[0]), proxy_number: 'x' });
    assert.ok(pool.includes(p0.proxy_number), `proxy ${p0.proxy_number} not from the pool`);
    assert.deepEqual({ ...p1, id: 'x' }, { id: 'x', label: 'Driver', number: masked(R[1]), proxy_number: pool[2] });

    assert.deepEqual(await getSession(d, s.id), s);
    assert.deepEqual(await interactions(d, s.id), []);

    const s2 = await createSession(d, svc.id, { unique_name: 'order-2', participants: [[R[2], 'Buyer'], [R[3], 'Seller']] });
    assert.equal(s2.mode, 'voice-and-message', 'mode defaults to the service default');
    assert.equal(s2.expires_at, null);

    const list = async (q) => expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions${q}`), 200).sessions;
    assert.deepEqual((await list('')).map((x) => x.id).sort(), [s.id, s2.id].sort());
    assert.deepEqual((await list('?unique_name=order-1')).map((x) => x.id), [s.id]);
    assert.deepEqual((await list('?status=open&unique_name=order-1')), [s]);
    assert.deepEqual((await list('?status=closed')), []);
    assert.deepEqual((await list('?unique_name=order-404')), []);

    const t = expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { ttl: 120 }), 200);
    assert.equal(t.ttl, 120);
    assert.equal(t.status, 'open');
    const later = rfc3339In(2 * 86400);
    const e = expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { expires_at: later }), 200);
    assert.equal(e.expires_at, later);
    assert.equal(e.ttl, 120);
    assert.deepEqual(await getSession(d, s.id), e);

    const before = await inUse(d, svc.id);
    const c = expectStatus(await d.api('PATCH', `/v1/sessions/${s.id}`, { status: 'closed' }), 200);
    assert.equal(c.status, 'closed');
    assert.match(c.closed_at, TIMESTAMP);
    assert.deepEqual(c.participants.map((p) => p.number), [masked(R[0]), masked(R[1])]);
    const after = await inUse(d, svc.id);
    const released = [p0.proxy_number, p1.proxy_number];
    for (const n of pool) {
      if (released.includes(n)) assert.ok(after[n] < before[n], `in_use of ${n} did not drop on close`);
      else assert.equal(after[n], before[n], `in_use of ${n} after close`);
    }
    assert.deepEqual((await list('?status=closed')).map((x) => x.id), [s.id]);
    assert.deepEqual((await list('?status=open')).map((x) => x.id), [s2.id]);

    const del = await d.api('DELETE', `/v1/sessions/${s2.id}`);
    assert.equal(del.status, 204, del.text);
    const g = await getSession(d, s2.id);
    assert.equal(g.status, 'closed');
    assert.match(g.closed_at, TIMESTAMP);
    for (const n of pool) assert.equal((await inUse(d, svc.id))[n], 0);
  });

  test('mode defaults to the service default', async () => {
    const s = await createService(d, { name: 'Texts only', defaults: { mode: 'message' } });
    await addNumber(d, s.id, proxy(20));
    const ses = await createSession(d, s.id, { participants: [[R[0]], [R[1]]] });
    assert.equal(ses.mode, 'message');
    assert.equal(ses.unique_name ?? null, null);
  });

  test('unknown ids → 404', async () => {
    expectError(await d.api('GET', '/v1/sessions/ses_doesnotexist'), 404, 'not_found');
    expectError(await d.api('PATCH', '/v1/sessions/ses_doesnotexist', { status: 'closed' }), 404, 'not_found');
    expectError(await d.api('DELETE', '/v1/sessions/ses_doesnotexist'), 404, 'not_found');
    expectError(await d.api('GET', '/v1/sessions/ses_doesnotexist/interactions'), 404, 'not_found');
    expectError(await d.api('GET', '/v1/services/svc_doesnotexist/sessions'), 404, 'not_found');
    expectError(await postSession(d, 'svc_doesnotexist', { participants: [[R[0]], [R[1]]] }), 404, 'not_found');
  });

  test('bad input; nothing created, no real number echoed', async () => {
    const post = (b) => postSession(d, svc.id, b);
    const two = [[R[4]], [R[5]]];
    const cases = [
      [{}, 400, 'missing_field', 'participants'],
      [{ participants: [] }, 400, 'invalid_field', 'participants'],
      [{ participants: [[R[4]], [R[5]], [R[3]]] }, 400, 'invalid_field', 'participants'],
      [{ participants: 'both' }, 400, 'invalid_field', 'participants'],
      [{ participants: [{ number: R[4] }, { label: 'Driver' }] }, 400, 'missing_field', 'participants[1].number'],
      [{ participants: [{ label: 'Rider' }, { number: R[5] }] }, 400, 'missing_field', 'participants[0].number'],
      [{ participants: [[R[4]], [INVALID_NUMBER]] }, 400, 'invalid_field', 'participants[1].number'],
      [{ participants: [['hello'], [R[5]]] }, 400, 'invalid_field', 'participants[0].number'],
      [{ participants: [{ number: 14152372010 }, { number: R[5] }] }, 400, 'invalid_field', 'participants[0].number'],
      [{ participants: [[R[4]], [R[4]]] }, 400, 'invalid_field'],
      [{ participants: [[R[4]], [R[4].replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '+1 ($1) $2-$3')]] }, 400, 'invalid_field'],
      [{ participants: [[R[4]], [R[5], 'Driver', INVALID_NUMBER]] }, 400, 'invalid_field', 'participants[1].proxy_number'],
      [{ participants: [{ number: R[4], label: 5 }, { number: R[5] }] }, 400, 'invalid_field', 'participants[0].label'],
      [{ participants: [{ number: R[4], nickname: 'x' }, { number: R[5] }] }, 400, 'unknown_field', 'nickname'],
      [{ participants: two, colour: 'red' }, 400, 'unknown_field', 'colour'],
      [{ participants: two, mode: 'fax' }, 400, 'invalid_field', 'mode'],
      [{ participants: two, ttl: -1 }, 400, 'invalid_field', 'ttl'],
      [{ participants: two, ttl: '60' }, 400, 'invalid_field', 'ttl'],
      [{ participants: two, ttl: 1.5 }, 400, 'invalid_field', 'ttl'],
      [{ participants: two, expires_at: 'tomorrow' }, 400, 'invalid_field', 'expires_at'],
      [{ participants: two, expires_at: 1893456000 }, 400, 'invalid_field', 'expires_at'],
      [{ participants: two, unique_name: 42 }, 400, 'invalid_field', 'unique_name'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await post(body);
      expectError(r, status, code, ...(field ? [field] : []));
      assertNoRealNumbers(r.text, R, `error answer to ${JSON.stringify(body)}`);
    }
    expectError(await d.api('POST', `/v1/services/${svc.id}/sessions`, '{"participants": [\n{"number": "+14152372014"}\n'),
      400, 'invalid_json', /line \d+ column \d+/);
    expectError(await d.api('POST', `/v1/services/${svc.id}/sessions`, JSON.stringify({ participants: two.map(([n]) => ({ number: n })) }),
      { contentType: 'text/plain' }), 415, 'unsupported_media_type');
    const all = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions`), 200).sessions;
    assert.ok(!all.some((x) => x.participants.some((p) => p.number === masked(R[4]) || p.number === masked(R[5]))),
      'a bad request created a session');
  });

  test('PATCH bad input', async () => {
    const s = await createSession(d, svc.id, { participants: [[R[2]], [R[3]]] });
    const patch = (b) => d.api('PATCH', `/v1/sessions/${s.id}`, b);
    expectError(await patch({ status: 'paused' }), 400, 'invalid_field', 'status');
    expectError(await patch({ ttl: -5 }), 400, 'invalid_field', 'ttl');
    expectError(await patch({ expires_at: 'soon' }), 400, 'invalid_field', 'expires_at');
    expectError(await patch({ colour: 'red' }), 400, 'unknown_field', 'colour');
    expectError(await patch('{"ttl": }'), 400, 'invalid_json', /line \d+ column \d+/);
    expectError(await d.api('PATCH', `/v1/sessions/${s.id}`, '{"ttl": 5}', { contentType: 'text/plain' }), 415, 'unsupported_media_type');
    const g = await getSession(d, s.id);
    assert.equal(g.status, 'open');
    assert.equal(g.ttl, s.ttl);
    await closeSession(d, s.id);
  });
});

test('no API answer of this file contains a real number', () => {
  const answers = d.transcript.filter((x) => x.kind === 'api');
  assert.ok(answers.length > 50, `only ${answers.length} API answers recorded`);
  for (const a of answers) assertNoRealNumbers(a.text, R, `${a.method} ${a.path} → ${a.status}`);
});
