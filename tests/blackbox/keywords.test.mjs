// SPDX-License-Identifier: MIT
// Opt-out, opt-in and help keywords are never relayed to the other participant
// (DESIGN §6): a whole-message keyword is recorded as an interaction and forwards nothing;
// STOP/START-like ones are acknowledged with an empty answer (the carrier confirms them),
// HELP/INFO get the service's help text back; a sentence containing one is forwarded as usual.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';

import { useDaemon } from './lib/daemon.mjs';
import {
  addPool, closeSession, createService, createSession, expectStatus, interactions, messageParams, patchSession,
} from './lib/fixtures.mjs';
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

// A keyword is read before the session's state: on a closed (cooling-off), blocked or
// voice-only session a STOP is still kept (not answered with the ended message) and HELP
// still gets help_text; after a re-open, texts do not reach whoever sent STOP.
const OPTED_OUT = 'Your message was not delivered: the recipient has opted out of texts from this number.';
let n = 410;
for (const dialect of ['twilio', 'signalwire']) {
  test(`${dialect}: STOP on a closed session is kept; HELP on a blocked or voice-only session is answered`, async () => {
    const svc = await createService(d, { name: `Keyword states ${dialect}`, defaults: { help_text: HELP } });
    await addPool(d, svc.id, [proxy(30 + n - 410), proxy(31 + n - 410)]);
    const [r1, r2, r3, r4] = [real(n), real(n + 1), real(n + 2), real(n + 3)];
    n += 4;
    const s = await createSession(d, svc.id, { participants: [[r1, 'Rider'], [r2, 'Driver']] });
    const [p1, p2] = s.participants;
    await closeSession(d, s.id);
    const stop = await d.webhook(dialect, 'message', messageParams(dialect, { from: r1, to: p1.proxy_number, body: 'STOP' }));
    assert.equal(stop.text, empty(dialect), 'STOP on a closed session is answered');
    expectStatus(await patchSession(d, s.id, { status: 'open' }), 200, 're-open');
    const hi = await d.webhook(dialect, 'message', messageParams(dialect, { from: r2, to: p2.proxy_number, body: 'still there?' }));
    assert.equal(hi.text, reply(dialect, { to: r2, from: p2.proxy_number, body: OPTED_OUT }), 'relayed to the opted-out sender');
    expectStatus(await patchSession(d, s.id, { status: 'blocked' }), 200, 'block');
    const help = await d.webhook(dialect, 'message', messageParams(dialect, { from: r2, to: p2.proxy_number, body: 'HELP' }));
    assert.equal(help.text, reply(dialect, { to: r2, from: p2.proxy_number, body: HELP }), 'HELP on a blocked session');
    const v = await createSession(d, svc.id, { mode: 'voice', participants: [[r3, 'Rider'], [r4, 'Driver']] });
    const p3 = v.participants[0];
    const info = await d.webhook(dialect, 'message', messageParams(dialect, { from: r3, to: p3.proxy_number, body: 'info' }));
    assert.equal(info.text, reply(dialect, { to: r3, from: p3.proxy_number, body: HELP }), 'INFO on a voice-only session');
    const kinds = (await interactions(d, s.id)).map((i) => i.decision);
    assert.equal(kinds.length, 3, `the STOP, the refused text and the HELP are recorded: ${JSON.stringify(kinds)}`);
  });
}

// /usage counts keyword texts apart from the messages it relayed, and names the period it used.
test('usage: STOP, START and HELP texts are counted as keywords, not as messages; no from = since the service began', async () => {
  const svc = await createService(d, { name: 'Keyword usage', defaults: { help_text: HELP } });
  await addPool(d, svc.id, [proxy(40), proxy(41)]);
  const s = await createSession(d, svc.id, { participants: [[real(430), 'Rider'], [real(431), 'Driver']] });
  const [p1] = s.participants;
  for (const body of ['on my way', 'HELP', 'STOP', 'start']) {
    const res = await d.webhook('twilio', 'message', messageParams('twilio', { from: real(430), to: p1.proxy_number, body }));
    assert.equal(res.status, 200);
  }
  const usage = expectStatus(await d.api('GET', `/v1/services/${svc.id}/usage`), 200, 'GET usage');
  assert.equal(usage.total.messages, 1, `only the relayed text is a message: ${JSON.stringify(usage)}`);
  assert.equal(usage.total.keywords, 3);
  assert.equal(usage.days.length, 1);
  assert.equal(usage.days[0].messages, 1);
  assert.equal(usage.days[0].keywords, 3);
  assert.equal(usage.from, svc.created_at, 'with no from, the period starts when the service was created');
  assert.match(usage.to, /^\d{4}-\d{2}-\d{2}T/);
});
