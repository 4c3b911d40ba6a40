// SPDX-License-Identifier: MIT
// Emergency numbers are never masked or proxied (DESIGN §6): a session naming one is
// refused with 400 and nothing is created or bound.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';

import { useDaemon } from './lib/daemon.mjs';
import { addPool, createService, expectError, inUse, postSession } from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
let svc;

before(async () => {
  await d.ready;
  svc = await createService(d);
  await addPool(d, svc.id, [proxy(0), proxy(1)]);
});

for (const number of ['911', '+1911', '112', '+44999', '+61000', '+49 110']) {
  test(`participant ${number} → 400 naming the participant, nothing bound`, async () => {
    const res = await postSession(d, svc.id, { participants: [[real(1), 'Rider'], [number, 'Driver']] });
    expectError(res, 400, 'invalid_field', 'participants[1].number', 'emergency');
    const counts = await inUse(d, svc.id);
    assert.ok(Object.values(counts).every((n) => n === 0), `in_use after refusal: ${JSON.stringify(counts)}`);
    const list = await d.api('GET', `/v1/services/${svc.id}/sessions`);
    assert.equal(list.json.sessions.length, 0);
  });
}
