// SPDX-License-Identifier: MIT
// Profiles (docs/POLICY.md "Profiles: stable numbers", docs/API.md): an agent's or a
// customer's persistent identity with a fixed proxy number. Checked through the API and
// signed voice webhooks (Twilio and SignalWire, answers compared with the SDKs' markup):
// one agent profile serving three customers at once with the same face, a device swap,
// customer-based mode, concurrent creates naming one profile, scoped keys, retire and its
// cool-off, bad input that writes nothing, and the audit entry of a real-number change.
// Runs on SQLite, and on PostgreSQL when MASKD_TEST_PG_URL is set.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import {
  addPool, assertLogClean, assertNoRealNumbersAny, createService, createSession, expectError, expectStatus,
  interactions, listNumbers, postSession, voiceParams,
} from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real, realNy } from './lib/numbers.mjs';

const d = useDaemon();
const UNKNOWN = 'Unknown caller, goodbye.';
const AGENT = real(7100);
const AGENT_NEW = real(7101); // the agent's new phone
const CUSTOMERS = [real(7110), real(7111), real(7112)];
const SOMEONE = real(7120);
const CUSTOMER_NY = realNy(3130);
const REALS = [AGENT, AGENT_NEW, ...CUSTOMERS, SOMEONE, CUSTOMER_NY];
assertValid(REALS);
// numbers belong to one pool each: every service gets its own block, six 415 and two 212
// numbers; P(k) is the k-th of the current service's block
let block = -1;
const P = (k) => (k < 6 ? proxy(block * 6 + k) : proxy(block * 2 + k - 6, '212'));

const call = (dialect, from, to) => d.webhook(dialect, 'voice', voiceParams(dialect, { from, to }));

/** Checks a bridge answer exactly (the SDK's markup) and returns its interaction id. */
function assertBridge(dialect, res, { callerId, real: realNumber }) {
  assert.equal(res.status, 200, `bridge: HTTP ${res.status} ${res.text}`);
  const intId = markup.interactionIdOf(res.text);
  assert.ok(intId, `no interaction id in ${res.text}`);
  assert.equal(res.text, markup.bridge(dialect, { callerId, real: realNumber, intId }), 'bridge markup');
  return intId;
}

function assertUnknown(dialect, res) {
  assert.equal(res.status, 200, `reject: HTTP ${res.status} ${res.text}`);
  assert.equal(res.text, markup.rejectVoice(dialect, UNKNOWN), 'unknown-caller markup');
}

async function newService(defaults = {}) {
  const svc = await createService(d, {
    name: 'Support', defaults: { mode: 'voice-and-message', ttl: 0, unknown_caller_message: UNKNOWN, ...defaults },
  });
  block += 1;
  const pool = [0, 1, 2, 3, 4, 5, 6, 7].map(P);
  assertValid(pool);
  const nums = await addPool(d, svc.id, pool);
  return { svc, nums };
}

const createProfile = async (svcId, body) =>
  expectStatus(await d.api('POST', `/v1/services/${svcId}/profiles`, body), 201, 'POST profiles');
const getProfile = async (svcId, id) =>
  expectStatus(await d.api('GET', `/v1/services/${svcId}/profiles/${id}`), 200, 'GET profile');
const patchProfile = (svcId, id, body, opts) => d.api('PATCH', `/v1/services/${svcId}/profiles/${id}`, body, opts);
const numberState = async (svcId, e164) => (await listNumbers(d, svcId)).find((n) => n.number === e164).state;

describe('profiles', () => {
  before(async () => { await d.ready; });

  test('create: a named proxy number is fixed and reserved; the answer masks the real number', async () => {
    const { svc } = await newService();
    const p = await createProfile(svc.id, { number: AGENT, label: 'Agent 42', proxy_number: P(3) });
    assert.match(p.id, /^prf_/);
    assert.equal(p.service_id, svc.id);
    assert.equal(p.label, 'Agent 42');
    assert.equal(p.number, masked(AGENT));
    assert.equal(p.proxy_number, P(3));
    assert.equal(p.state, 'active');
    assert.equal(p.retired_at, null);
    assert.deepEqual(await getProfile(svc.id, p.id), p);
    const list = expectStatus(await d.api('GET', `/v1/services/${svc.id}/profiles`), 200).profiles;
    assert.deepEqual(list, [p]);
    // reserved: automatic picks skip it, so no stranger's session is given the agent's face
    assert.equal(await numberState(svc.id, P(3)), 'reserved');
    // a second profile cannot take the same number
    expectError(await d.api('POST', `/v1/services/${svc.id}/profiles`, { number: SOMEONE, proxy_number: P(3) }),
      409, 'conflict', 'proxy_number', 'another profile');
  });

  test('create without proxy_number: picked once by the geo rules (area-code)', async () => {
    const { svc } = await newService({ geo_match: 'area-code' });
    const ny = await createProfile(svc.id, { number: CUSTOMER_NY, label: 'NY customer' });
    assert.equal(ny.proxy_number, P(6));
    const sf = await createProfile(svc.id, { number: AGENT, label: 'SF agent' });
    assert.equal(sf.proxy_number.slice(0, 5), '+1415');
    // picked once: reading it back never picks again
    assert.equal((await getProfile(svc.id, sf.id)).proxy_number, sf.proxy_number);
  });

  for (const dialect of ['twilio', 'signalwire']) {
    test(`${dialect}: one agent profile serves three customers at once, always with the same number`, async () => {
      const { svc } = await newService();
      const agent = await createProfile(svc.id, { number: AGENT, label: 'Agent 7' });
      const sessions = [];
      for (const c of CUSTOMERS) {
        sessions.push(await createSession(d, svc.id, { participants: [{ profile: agent.id }, { number: c, label: 'Customer' }] }));
      }
      const agentProxies = new Set();
      for (const [i, s] of sessions.entries()) {
        const [a, c] = s.participants;
        assert.equal(a.label, 'Agent 7', 'the profile label is the default');
        assert.equal(a.number, masked(AGENT));
        assert.equal(c.proxy_number, agent.proxy_number, 'each customer dials the agent\'s stable number');
        agentProxies.add(a.proxy_number);
        // the customer calls the agent's number: the agent sees its own number for this customer
        assertBridge(dialect, await call(dialect, CUSTOMERS[i], agent.proxy_number), { callerId: a.proxy_number, real: AGENT });
        // the agent calls back: the customer sees the agent's stable number
        assertBridge(dialect, await call(dialect, AGENT, a.proxy_number), { callerId: agent.proxy_number, real: CUSTOMERS[i] });
      }
      assert.equal(agentProxies.size, 3, 'the binding rule: the agent holds each number once');
      assert.ok(!agentProxies.has(agent.proxy_number));
      for (const s of sessions) assert.equal((await interactions(d, s.id)).length, 2);
    });
  }

  test('customer-based: the customer\'s profile gives every agent the same number to reach it', async () => {
    const { svc } = await newService();
    const cust = await createProfile(svc.id, { number: CUSTOMERS[0], label: 'VIP' });
    const s1 = await createSession(d, svc.id, { participants: [[AGENT, 'Agent'], { profile: cust.id }] });
    const s2 = await createSession(d, svc.id, { participants: [[SOMEONE, 'Agent 2'], { profile: cust.id }] });
    assert.equal(s1.participants[0].proxy_number, cust.proxy_number);
    assert.equal(s2.participants[0].proxy_number, cust.proxy_number);
    assert.equal(s1.participants[1].label, 'VIP');
    assertBridge('twilio', await call('twilio', SOMEONE, cust.proxy_number),
      { callerId: s2.participants[1].proxy_number, real: CUSTOMERS[0] });
  });

  test('device swap: the real number changes, the proxy number does not; open sessions follow; audited', async () => {
    const { svc } = await newService();
    const agent = await createProfile(svc.id, { number: AGENT, label: 'Agent 9' });
    const s = await createSession(d, svc.id, { participants: [{ profile: agent.id }, [CUSTOMERS[0]]] });
    const agentProxy = s.participants[0].proxy_number;
    const res = patchProfile(svc.id, agent.id, { number: AGENT_NEW }, { });
    const swapped = expectStatus(await res, 200, 'PATCH number');
    assert.equal(swapped.number, masked(AGENT_NEW));
    assert.equal(swapped.proxy_number, agent.proxy_number);
    assert.equal((await d.api('GET', `/v1/sessions/${s.id}`)).json.participants[0].number, masked(AGENT_NEW));
    // the customer's call reaches the new phone; the new phone reaches the customer with the same face
    assertBridge('twilio', await call('twilio', CUSTOMERS[0], agent.proxy_number), { callerId: agentProxy, real: AGENT_NEW });
    assertBridge('twilio', await call('twilio', AGENT_NEW, agentProxy), { callerId: agent.proxy_number, real: CUSTOMERS[0] });
    // the old phone holds nothing any more
    assertUnknown('twilio', await call('twilio', AGENT, agentProxy));
    // new sessions use the new number
    const s2 = await createSession(d, svc.id, { participants: [{ profile: agent.id }, [CUSTOMERS[1]]] });
    assert.equal(s2.participants[0].number, masked(AGENT_NEW));
    // the audit log has the change, with ids and field names only
    const entries = (await d.api('GET', '/v1/audit/export')).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const e = entries.filter((x) => x.action === 'profile.changed' && x.target === agent.id);
    assert.equal(e.length, 1);
    assert.equal(e[0].detail, 'fields=number');
    assertNoRealNumbersAny(JSON.stringify(entries), REALS, 'audit log');
  });

  test('a refused PATCH writes nothing: bad number, unknown field, a swap onto a number that holds the binding', async () => {
    const { svc } = await newService();
    const agent = await createProfile(svc.id, { number: AGENT, label: 'A' });
    const s = await createSession(d, svc.id, { participants: [{ profile: agent.id }, [CUSTOMERS[0]]] });
    const agentProxy = s.participants[0].proxy_number;
    // SOMEONE already holds the agent's session number in a session of its own
    await createSession(d, svc.id, { participants: [[SOMEONE, 'X', agentProxy], [CUSTOMERS[2]]] });
    const before = await getProfile(svc.id, agent.id);
    expectError(await patchProfile(svc.id, agent.id, { number: '+1415237' }), 400, 'invalid_field', 'number');
    expectError(await patchProfile(svc.id, agent.id, { proxy_number: P(4) }), 400, 'unknown_field', 'proxy_number');
    expectError(await patchProfile(svc.id, agent.id, {}), 400, 'missing_field');
    expectError(await patchProfile(svc.id, agent.id, { number: SOMEONE, label: 'renamed' }), 409, 'conflict', 'number');
    assert.deepEqual(await getProfile(svc.id, agent.id), before);
    // and no audit entry: the change and its entry commit together or not at all
    const entries = (await d.api('GET', '/v1/audit/export')).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(entries.filter((x) => x.action === 'profile.changed' && x.target === agent.id).length, 0);
    // a PATCH that succeeds afterwards has its one entry
    expectStatus(await patchProfile(svc.id, agent.id, { label: 'renamed' }), 200, 'PATCH label');
    const after = (await d.api('GET', '/v1/audit/export')).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const mine = after.filter((x) => x.action === 'profile.changed' && x.target === agent.id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].detail, 'fields=label');
    assertBridge('twilio', await call('twilio', AGENT, agentProxy), { callerId: agent.proxy_number, real: CUSTOMERS[0] });
  });

  test('races: concurrent creates naming one profile all succeed with distinct bindings, or refuse cleanly', async () => {
    const { svc } = await newService({ number_cap: 0 });
    const agent = await createProfile(svc.id, { number: AGENT, proxy_number: P(5) });
    const distinct = await Promise.all(CUSTOMERS.slice(0, 3).map((c) =>
      postSession(d, svc.id, { participants: [{ profile: agent.id }, [c]] })));
    for (const r of distinct) assert.equal(r.status, 201, r.text);
    assert.equal(new Set(distinct.map((r) => r.json.participants[0].proxy_number)).size, 3);
    // one customer five times at once: its binding to the agent's number exists once
    const same = await Promise.all([0, 1, 2, 3, 4].map(() =>
      postSession(d, svc.id, { participants: [{ profile: agent.id }, [SOMEONE]] })));
    assert.deepEqual(same.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
    for (const r of same.filter((x) => x.status === 409)) {
      assert.equal(r.json.error.code, 'conflict');
      assert.match(r.json.error.message, /participants\[1\]\.proxy_number/);
    }
    const open = expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions?status=open`), 200).sessions;
    assert.equal(open.length, 4);
  });

  test('scoped keys: another service\'s profile is not found; naming it in a session is a 400', async () => {
    const a = await newService();
    const b = await createService(d, { name: 'Other' });
    const agent = await createProfile(a.svc.id, { number: AGENT });
    const key = expectStatus(await d.api('POST', '/v1/keys', { role: 'service', service_id: b.id, label: 'b' }), 201);
    const auth = { auth: `Bearer ${key.key}` };
    expectError(await d.api('GET', `/v1/services/${a.svc.id}/profiles/${agent.id}`, undefined, auth), 404, 'not_found');
    expectError(await d.api('GET', `/v1/services/${b.id}/profiles/${agent.id}`, undefined, auth), 404, 'not_found');
    expectError(await d.api('PATCH', `/v1/services/${b.id}/profiles/${agent.id}`, { label: 'x' }, auth), 404, 'not_found');
    const before = expectStatus(await d.api('GET', `/v1/services/${b.id}/sessions`), 200).sessions.length;
    expectError(await postSession(d, b.id, { participants: [{ profile: agent.id }, [CUSTOMERS[0]]] }),
      400, 'invalid_field', 'participants[0].profile');
    assert.equal(expectStatus(await d.api('GET', `/v1/services/${b.id}/sessions`), 200).sessions.length, before);
  });

  test('bad input: profile with a number, a lone profile, a named number on the profile\'s other side', async () => {
    const { svc } = await newService();
    const agent = await createProfile(svc.id, { number: AGENT });
    expectError(await postSession(d, svc.id, { participants: [{ profile: agent.id, number: AGENT }, [CUSTOMERS[0]]] }),
      400, 'invalid_field', 'participants[0]');
    expectError(await postSession(d, svc.id, { participants: [{ profile: agent.id }] }),
      400, 'invalid_field', 'participants[0].profile');
    expectError(await postSession(d, svc.id, { participants: [{ profile: agent.id }, [CUSTOMERS[0], 'C', P(1)]] }),
      400, 'invalid_field', 'participants[1].proxy_number');
    expectError(await postSession(d, svc.id, { participants: [{ profile: agent.id }, { profile: agent.id }] }),
      400, 'invalid_field', 'participants[1].profile');
    expectError(await postSession(d, svc.id, { participants: [{ profile: 'prf_nosuchprofile00000000' }, [CUSTOMERS[0]]] }),
      400, 'invalid_field', 'participants[0].profile');
    expectError(await d.api('POST', `/v1/services/${svc.id}/profiles`, { number: '911' }), 400, 'invalid_field', 'number');
    expectError(await d.api('POST', `/v1/services/${svc.id}/profiles`, { number: SOMEONE, proxy_number: proxy(99, '650') }),
      409, 'conflict', 'proxy_number');
    assert.equal(expectStatus(await d.api('GET', `/v1/services/${svc.id}/sessions`), 200).sessions.length, 0);
    assert.equal(expectStatus(await d.api('GET', `/v1/services/${svc.id}/profiles`), 200).profiles.length, 1);
  });

  test('retire: sessions refuse it; its number stays held through cool-off, then returns to the pool', async () => {
    const held = await newService({ cooloff: 3600 });
    const p = await createProfile(held.svc.id, { number: AGENT, proxy_number: P(2) });
    const r = expectStatus(await patchProfile(held.svc.id, p.id, { state: 'retired' }), 200);
    assert.equal(r.state, 'retired');
    assert.equal(Date.parse(r.free_at) - Date.parse(r.retired_at), 3600 * 1000);
    expectError(await postSession(d, held.svc.id, { participants: [{ profile: p.id }, [CUSTOMERS[0]]] }),
      409, 'conflict', 'participants[0].profile', 'retired');
    expectError(await patchProfile(held.svc.id, p.id, { label: 'back' }), 409, 'conflict', 'retired');
    assert.equal(await numberState(held.svc.id, P(2)), 'reserved');
    expectError(await d.api('POST', `/v1/services/${held.svc.id}/profiles`, { number: SOMEONE, proxy_number: P(2) }),
      409, 'conflict', 'another profile');
    // no cool-off: freed at once
    const now = await newService({ cooloff: 0 });
    const q = await createProfile(now.svc.id, { number: AGENT, proxy_number: P(2) });
    expectStatus(await patchProfile(now.svc.id, q.id, { state: 'retired' }), 200);
    assert.equal(await numberState(now.svc.id, P(2)), 'active');
    const q2 = await createProfile(now.svc.id, { number: SOMEONE, proxy_number: P(2) });
    assert.equal(q2.proxy_number, P(2));
  });

  test('no real number in any answer or log line', () => {
    const answers = d.transcript.filter((t) => t.kind === 'api').map((t) => t.text).join('\n');
    assertNoRealNumbersAny(answers, REALS, 'API answers');
    assertLogClean(d, REALS);
  });
});
