// SPDX-License-Identifier: MIT
// Scoped API keys (docs/API.md "API keys"): every /v1 route × every role × a resource of the
// key's own service and of another service, with the answer each cell must give written out
// from the rule (admin: everything; service: its service; readonly: its service, GET only;
// records: its service's records and usage; privacy: reveal and data-subject operations;
// another service's resource: 404, never 403). Writes in the matrix send a body the handler
// refuses (400) once the scope lets them through, so an allowed cell is told apart from a
// refused one without changing anything; destructive cells get a fresh resource.
// Then: the key is shown once and stored as a hash only, rotation and revocation take
// effect at once, expiry, bad input (400 naming the field, 403 for more power than one's
// own), and, on PostgreSQL, a revocation through one node refused by another at once.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';

import { PG_URL, startDaemon, useDaemon, waitFor } from './lib/daemon.mjs';
import { addNumber, createService, createSession, expectError, expectStatus, rfc3339In } from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();

const A_POOL = [proxy(80), proxy(81)];
const B_POOL = [proxy(82), proxy(83)];
const PEOPLE = [real(6001), real(6002), real(6003), real(6004), real(6005), real(6006)];
assertValid(A_POOL, B_POOL, PEOPLE);

const SCOPED = ['service', 'readonly', 'records'];
const ROLES = ['admin', 'service', 'readonly', 'records', 'privacy'];
const BOGUS = { bogus_field: 1 }; // every write handler answers 400 unknown_field to it

async function newKey(body, auth) {
  const res = await d.api('POST', '/v1/keys', body, auth ? { auth } : {});
  return expectStatus(res, 201, `POST /v1/keys ${JSON.stringify(body)}`);
}
const bearer = (k) => `Bearer ${k.key}`;

let world; // {A, B: {svc, num, ses, par}, keys: {role: key}}

async function makeService(name, pool, people) {
  const svc = await createService(d, { name });
  const nums = [];
  for (const n of pool) nums.push(await addNumber(d, svc.id, n));
  const ses = await createSession(d, svc.id, { participants: [{ number: people[0] }, { number: people[1] }] });
  return { svc: svc.id, num: nums[0].id, ses: ses.id, par: ses.participants[0].id, people };
}

async function setup() {
  if (world) return world;
  const A = await makeService('A', A_POOL, PEOPLE.slice(0, 2));
  const B = await makeService('B', B_POOL, PEOPLE.slice(2, 4));
  const keys = {
    admin: await newKey({ role: 'admin', label: 'ops admin' }),
    service: await newKey({ role: 'service', service_id: A.svc, label: 'A backend' }),
    readonly: await newKey({ role: 'readonly', service_id: A.svc, label: 'A dashboard' }),
    records: await newKey({ role: 'records', service_id: A.svc, label: 'A billing' }),
    privacy: await newKey({ role: 'privacy', label: 'DPO' }),
  };
  world = { A, B, keys };
  return world;
}

// A fresh session of service t (for the cells that delete or close one).
async function freshSession(t, i) {
  const s = await createSession(d, t.svc, { participants: [{ number: real(6100 + i) }, { number: real(6200 + i) }] });
  return s.id;
}
let freshCount = 0;

// Each route: method, path(t) for target service t, body, the roles besides admin that may
// use it, where its owning service is named ('path', 'body' or 'none'), and the status of an
// allowed request. make(t) prepares a fresh resource for cells that would change state.
const ROUTES = [
  { m: 'POST', p: () => '/v1/services', body: BOGUS, roles: [], via: 'none', ok: 400 },
  { m: 'GET', p: () => '/v1/services', roles: ['service', 'readonly'], via: 'none', ok: 200 },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'PATCH', p: (t) => `/v1/services/${t.svc}`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  { m: 'POST', p: (t) => `/v1/services/${t.svc}/numbers`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/numbers`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'PATCH', p: (t) => `/v1/numbers/${t.num}`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  // the number is in use by the open session: an allowed delete is refused with 409
  { m: 'DELETE', p: (t) => `/v1/numbers/${t.num}`, roles: ['service'], via: 'path', ok: 409 },
  { m: 'POST', p: (t) => `/v1/services/${t.svc}/sessions`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/sessions`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'GET', p: (t) => `/v1/sessions/${t.ses}`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'PATCH', p: (t) => `/v1/sessions/${t.ses}`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  {
    m: 'DELETE', p: (t, x) => `/v1/sessions/${x ?? t.ses}`, roles: ['service'], via: 'path', ok: 204,
    make: (t) => freshSession(t, freshCount++),
  },
  { m: 'GET', p: (t) => `/v1/sessions/${t.ses}/interactions`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'GET', p: (t) => `/v1/sessions/${t.ses}/events`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'POST', p: (t) => `/v1/sessions/${t.ses}/participants`, body: BOGUS, roles: ['service'], via: 'path', ok: 400 },
  {
    m: 'PATCH', p: (t) => `/v1/sessions/${t.ses}/participants/${t.par}`, body: BOGUS, roles: ['service'], via: 'path',
    ok: 400,
  },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/pool`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/records`, roles: SCOPED, via: 'path', ok: 200 },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/usage`, roles: SCOPED, via: 'path', ok: 200 },
  { m: 'GET', p: () => '/v1/keys', roles: ['service'], via: 'none', ok: 200 },
  {
    m: 'POST', p: () => '/v1/keys', body: (t) => ({ role: 'readonly', service_id: t.svc, label: 'matrix' }),
    roles: ['service'], via: 'body', ok: 201,
  },
  {
    m: 'POST', p: (t, x) => `/v1/keys/${x}/rotate`, roles: ['service'], via: 'path', ok: 200,
    make: async (t) => (await newKey({ role: 'readonly', service_id: t.svc, label: 'to rotate' })).id, always: true,
  },
  {
    m: 'DELETE', p: (t, x) => `/v1/keys/${x}`, roles: ['service'], via: 'path', ok: 200,
    make: async (t) => (await newKey({ role: 'records', service_id: t.svc, label: 'to revoke' })).id, always: true,
  },
  { m: 'GET', p: () => '/v1/audit', roles: [], via: 'none', ok: 200 },
  { m: 'GET', p: () => '/v1/audit/export', roles: [], via: 'none', ok: 200 },
  { m: 'GET', p: () => '/v1/audit/verify', roles: [], via: 'none', ok: 200 },
  {
    m: 'POST', p: (t) => `/v1/participants/${t.par}/reveal`, body: { reason: 'key matrix' }, roles: ['privacy'],
    via: 'path', ok: 200,
  },
  { m: 'GET', p: (t) => `/v1/services/${t.svc}/events`, roles: ['service', 'readonly'], via: 'path', ok: 200 },
];

/** The answer the scope rule asks for: role on a resource of its own service (own) or not. */
function expected(route, role, own) {
  if (role === 'admin') return route.ok;
  const scoped = SCOPED.includes(role);
  if (scoped && !own && route.via === 'path') return 404;
  if (!route.roles.includes(role)) return 403;
  if (scoped && !own && route.via === 'body') return 404;
  return route.ok;
}

describe('the route × role × service matrix', () => {
  test('every cell answers as the rule says, and refused cells change nothing', async () => {
    const w = await setup();
    const failures = [];
    let cells = 0;
    for (const route of ROUTES) {
      for (const role of ROLES) {
        for (const own of route.via === 'none' ? [true] : [true, false]) {
          const t = own ? w.A : w.B;
          const want = expected(route, role, own);
          const x = route.make && (route.always || want === route.ok) ? await route.make(t) : undefined;
          const body = typeof route.body === 'function' ? route.body(t) : route.body;
          const res = await d.api(route.m, route.p(t, x), body, { auth: bearer(w.keys[role]) });
          cells++;
          if (res.status !== want) {
            failures.push(`${role} ${own ? 'own' : 'other'} ${route.m} ${route.p(t, x)}: ${res.status} ` +
              `(want ${want}) ${res.text.slice(0, 160)}`);
          }
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cells} cells wrong`);
    // the refused deletes and closes left the standing resources as they were
    for (const t of [w.A, w.B]) {
      const s = expectStatus(await d.api('GET', `/v1/sessions/${t.ses}`), 200);
      assert.equal(s.status, 'open');
      expectStatus(await d.api('GET', `/v1/services/${t.svc}/numbers`), 200);
    }
  });

  test('a scoped key lists only its own service; a 404 for another service reads as one for no such id', async () => {
    const w = await setup();
    const list = expectStatus(await d.api('GET', '/v1/services', undefined, { auth: bearer(w.keys.readonly) }), 200);
    assert.deepEqual(list.services.map((s) => s.id), [w.A.svc]);
    const all = expectStatus(await d.api('GET', '/v1/services', undefined, { auth: bearer(w.keys.admin) }), 200);
    assert.ok(all.services.length >= 2);
    const other = await d.api('GET', `/v1/sessions/${w.B.ses}`, undefined, { auth: bearer(w.keys.service) });
    const unknownId = w.B.ses.slice(0, -1) + (w.B.ses.endsWith('a') ? 'b' : 'a');
    const missing = await d.api('GET', `/v1/sessions/${unknownId}`, undefined,
      { auth: bearer(w.keys.service) });
    assert.equal(other.status, 404);
    assert.equal(missing.status, 404);
    assert.deepEqual(other.json, missing.json);
  });
});

describe('key lifecycle', () => {
  test('shown once, never listed, stored only as a hash; last_used_at is kept', async () => {
    const w = await setup();
    const k = await newKey({ role: 'readonly', service_id: w.A.svc, label: 'once' });
    assert.match(k.key, /^mk_[0-9a-f]{64}$/);
    assert.match(k.id, /^key_/);
    expectStatus(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 200);
    const list = expectStatus(await d.api('GET', '/v1/keys'), 200);
    assert.ok(!JSON.stringify(list).includes(k.key), 'the key never appears in the list');
    const row = list.keys.find((x) => x.id === k.id);
    assert.equal(row.role, 'readonly');
    assert.equal(row.label, 'once');
    assert.notEqual(row.last_used_at, null);
    assert.equal(row.key, undefined);
    // a service key sees its service's keys only
    const mine = expectStatus(await d.api('GET', '/v1/keys', undefined, { auth: bearer(w.keys.service) }), 200);
    assert.ok(mine.keys.length > 0);
    for (const x of mine.keys) assert.equal(x.service_id, w.A.svc);
    if (!PG_URL) {
      const db = fs.readFileSync(d.dbPath);
      const wal = fs.existsSync(`${d.dbPath}-wal`) ? fs.readFileSync(`${d.dbPath}-wal`) : Buffer.alloc(0);
      assert.ok(!db.includes(k.key) && !wal.includes(k.key), 'the key is not in the database file or WAL');
    }
  });

  test('rotate: the old key is refused at once, the new one works', async () => {
    const w = await setup();
    const k = await newKey({ role: 'service', service_id: w.A.svc, label: 'rot' });
    const r = expectStatus(await d.api('POST', `/v1/keys/${k.id}/rotate`), 200);
    assert.equal(r.id, k.id);
    assert.notEqual(r.key, k.key);
    expectError(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 401, 'unauthorized');
    expectStatus(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(r) }), 200);
  });

  test('revoke: 401 at once; a revoked key cannot be rotated or revoked again', async () => {
    const w = await setup();
    const k = await newKey({ role: 'service', service_id: w.A.svc, label: 'rev' });
    expectStatus(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 200);
    const r = expectStatus(await d.api('DELETE', `/v1/keys/${k.id}`), 200);
    assert.equal(r.revoked, true);
    expectError(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 401, 'unauthorized');
    expectError(await d.api('POST', `/v1/keys/${k.id}/rotate`), 404, 'not_found');
    expectError(await d.api('DELETE', `/v1/keys/${k.id}`), 404, 'not_found');
  });

  test('an expired key is refused', async () => {
    const w = await setup();
    const k = await newKey({ role: 'readonly', service_id: w.A.svc, expires_at: rfc3339In(2) });
    expectStatus(await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 200);
    await waitFor('the key to expire', async () =>
      (await d.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) })).status === 401,
    { timeoutMs: 10_000 });
  });
});

describe('bad input writes nothing', () => {
  async function keyCount() {
    return expectStatus(await d.api('GET', '/v1/keys'), 200).keys.length;
  }

  test('unknown role, past expiry, missing or stray service_id: 400 naming the field', async () => {
    const w = await setup();
    const before = await keyCount();
    expectError(await d.api('POST', '/v1/keys', { role: 'root' }), 400, 'invalid_field', 'role');
    expectError(await d.api('POST', '/v1/keys', { role: 'readonly', service_id: w.A.svc, expires_at: rfc3339In(-60) }),
      400, 'invalid_field', 'expires_at');
    expectError(await d.api('POST', '/v1/keys', { role: 'readonly', service_id: w.A.svc, expires_at: 'soon' }),
      400, 'invalid_field', 'expires_at');
    expectError(await d.api('POST', '/v1/keys', { role: 'service' }), 400, 'missing_field', 'service_id');
    expectError(await d.api('POST', '/v1/keys', { role: 'admin', service_id: w.A.svc }), 400, 'invalid_field',
      'service_id');
    expectError(await d.api('POST', '/v1/keys', { role: 'records', service_id: 'svc_0000000000000000000000aa' }), 400,
      'invalid_field', 'service_id');
    expectError(await d.api('POST', '/v1/keys', { role: 'readonly', service_id: w.A.svc, extra: 1 }), 400,
      'unknown_field');
    expectError(await d.api('POST', '/v1/keys', {}), 400, 'missing_field', 'role');
    assert.equal(await keyCount(), before);
  });

  test('more power than one\'s own: 403', async () => {
    const w = await setup();
    const before = await keyCount();
    for (const role of ['admin', 'privacy']) {
      expectError(await d.api('POST', '/v1/keys', { role }, { auth: bearer(w.keys.service) }), 403, 'forbidden');
    }
    expectError(await d.api('POST', '/v1/keys', { role: 'readonly', service_id: w.A.svc },
      { auth: bearer(w.keys.readonly) }), 403, 'forbidden');
    expectError(await d.api('POST', '/v1/keys', { role: 'records', service_id: w.A.svc },
      { auth: bearer(w.keys.privacy) }), 403, 'forbidden');
    // a service key rotating the admin key it cannot see: 404
    expectError(await d.api('POST', `/v1/keys/${w.keys.admin.id}/rotate`, undefined, { auth: bearer(w.keys.service) }),
      404, 'not_found');
    assert.equal(await keyCount(), before);
  });

  test('a wrong key, and the bootstrap key as before', async () => {
    expectError(await d.api('GET', '/v1/services', undefined, { auth: 'Bearer mk_' + '0'.repeat(64) }), 401,
      'unauthorized');
    expectStatus(await d.api('GET', '/v1/services'), 200);
  });
});

describe('several nodes (PostgreSQL)', { skip: !PG_URL && 'needs MASKD_TEST_PG_URL' }, () => {
  test('a key revoked through one node is refused by another at once', async () => {
    const w = await setup();
    const other = await startDaemon({ env: { MASKD_DB: d.env.MASKD_DB, MASKD_KEY_FILE: d.env.MASKD_KEY_FILE,
      MASKD_ADMIN_KEY: d.adminKey } });
    try {
      for (let i = 0; i < 20; i++) {
        const k = await newKey({ role: 'service', service_id: w.A.svc, label: `multi ${i}` });
        expectStatus(await other.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 200);
        expectStatus(await d.api('DELETE', `/v1/keys/${k.id}`), 200);
        expectError(await other.api('GET', `/v1/services/${w.A.svc}`, undefined, { auth: bearer(k) }), 401,
          'unauthorized');
      }
    } finally {
      await other.stop();
    }
  });
});
