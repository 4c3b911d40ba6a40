// SPDX-License-Identifier: MIT
// Pool events through the Twilio Proxy v1 API (docs/EVENTS.md, docs/MIGRATING-FROM-TWILIO-PROXY.md):
// a Session create the npm `twilio` SDK sends, refused with Twilio's 80206 for want of a free
// number, records pool.exhausted on the service (already listed when the SDK's RestException is
// raised), and with the native pool_low_threshold set, a Proxy create that reaches it records
// pool.low once. Documents carry masked numbers only.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, test } from 'node:test';

import twilio from 'twilio';

import { PUBLIC_URL, useDaemon } from './lib/daemon.mjs';
import { assertNoRealNumbers, expectStatus } from './lib/fixtures.mjs';
import { masked, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const ACCOUNT = `AC${crypto.randomBytes(16).toString('hex')}`;
const RIDER = real(760);
const DRIVER = real(761);
const OTHER = real(762);

function client() {
  class ToMaskd extends twilio.RequestClient {
    async request(opts) {
      return super.request({ ...opts, uri: opts.uri.replace(PUBLIC_URL, d.base) });
    }
  }
  const c = twilio(ACCOUNT, d.adminKey, { httpClient: new ToMaskd() });
  c.proxy.baseUrl = PUBLIC_URL;
  return c;
}

let api;
let ks; // the Proxy Service
let svcId; // its native id

before(async () => {
  await d.ready;
  expectStatus(await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: d.tokens.twilio }), 200);
  api = client().proxy.v1;
  ks = await api.services.create({ uniqueName: 'pool-events-proxy' });
  await api.services(ks.sid).phoneNumbers.create({ phoneNumber: proxy(76) });
  const list = expectStatus(await d.api('GET', '/v1/services'), 200);
  svcId = list.services.find((s) => s.name === 'pool-events-proxy').id;
  // one number, one session on it (cap 1): the first create leaves 0 free, at or below 1
  expectStatus(await d.api('PATCH', `/v1/services/${svcId}`, { defaults: { number_cap: 1, pool_low_threshold: 1 } }), 200);
});

async function pooled() {
  const p = expectStatus(await d.api('GET', `/v1/services/${svcId}/events?limit=500`), 200);
  return p.events.filter((e) => e.type.startsWith('pool.'));
}

test('a Proxy Session create that takes the last free number records pool.low; the next one, refused 80206, pool.exhausted', async () => {
  const first = await api.services(ks.sid).sessions.create({ uniqueName: 'order-1',
    participants: [JSON.stringify({ Identifier: RIDER }), JSON.stringify({ Identifier: DRIVER })] });
  let events = await pooled();
  assert.deepEqual(events.map((e) => [e.type, e.data.request, e.data.free_numbers]), [['pool.low', 'session', 0]]);
  assert.equal(events[0].data.session_id.startsWith('ses_'), true);
  const native = expectStatus(await d.api('GET', `/v1/services/${svcId}/sessions`), 200).sessions;
  assert.deepEqual(native.map((s) => s.id), [events[0].data.session_id]);
  assert.match(first.sid, /^KC[0-9a-f]{32}$/);

  const err = await api.services(ks.sid).sessions.create({ uniqueName: 'order-2',
    participants: [JSON.stringify({ Identifier: OTHER })] }).then(() => null, (e) => e);
  assert.ok(err instanceof twilio.RestException, `expected a RestException, got ${err}`);
  assert.equal(err.status, 400); // Twilio's status for 80206
  assert.equal(err.code, 80206);
  events = await pooled();
  assert.deepEqual(events.map((e) => e.type), ['pool.low', 'pool.exhausted']);
  assert.deepEqual(events[1].data, { capabilities: ['voice', 'sms'], request: 'session', participant: 0,
    number: masked(OTHER), geo_level: null });
  assertNoRealNumbers(JSON.stringify(events), [RIDER, DRIVER, OTHER], 'pool events');
});
