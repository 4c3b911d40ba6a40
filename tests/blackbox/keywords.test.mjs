// SPDX-License-Identifier: MIT
// Opt-out, opt-in and help keywords are never relayed to the other participant
// (DESIGN §6): a whole-message keyword is recorded as an interaction and forwards nothing;
// STOP/START-like ones are acknowledged with an empty answer (the carrier confirms them),
// HELP/INFO get the service's help text back; a sentence containing one is forwarded as usual.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';

import { useDaemon } from './lib/daemon.mjs';
import { addPool, createService, createSession, interactions, messageParams } from './lib/fixtures.mjs';
import { empty, forward, interactionIdOf, reply } from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
let session;
const HELP = 'Rides: masked texts. Reply STOP to opt out. Help: rides.example/help';

before(async () => {
  await d.ready;
  const svc = await createService(d, { defaults: { help_text: HELP } });
  await addPool(d, svc.id, [proxy(20), proxy(21)]);
  session = await createSession(d, svc.id, { participants: [[real(401), 'Rider'], [real(402), 'Driver']] });
});

for (const dialect of ['twilio', 'signalwire']) {
  test(`${dialect}: STOP, stop, " Help ", UNSTOP are not relayed; "stop please" is`, async () => {
    const [rider, driver] = session.participants;
    const seen = new Set((await interactions(d, session.id)).map((i) => i.id));
    for (const body of ['STOP', 'stop', ' Help ', 'UNSTOP', 'Info']) {
      const res = await d.webhook(dialect, 'message', messageParams(dialect, { from: real(401), to: rider.proxy_number, body }));
      assert.equal(res.status, 200);
      const help = /help|info/i.test(body);
      assert.equal(res.text, help ? reply(dialect, { to: real(401), from: rider.proxy_number, body: HELP }) : empty(dialect),
        `${JSON.stringify(body)} must not be forwarded`);
      assert.ok(!res.text.includes(real(402)));
    }
    const added = (await interactions(d, session.id)).filter((i) => !seen.has(i.id));
    assert.equal(added.length, 5);
    assert.ok(added.every((i) => i.decision === 'acknowledge'), JSON.stringify(added));
    const res = await d.webhook(dialect, 'message', messageParams(dialect, { from: real(401), to: rider.proxy_number, body: 'stop please' }));
    const intId = interactionIdOf(res.text);
    assert.equal(res.text, forward(dialect, { to: real(402), from: driver.proxy_number, intId, body: 'stop please' }));
  });
}
