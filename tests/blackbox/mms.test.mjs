// SPDX-License-Identifier: MIT
// Media goes out only through proxy numbers with the `mms` capability (docs/POLICY.md, "Media
// (MMS)"). A text with media towards a participant whose proxy number lacks it follows the
// service's defaults.mms_fallback: "text_with_note" (default) forwards the text alone plus a note,
// "refuse" relays nothing and tells the sender why. The setting is validated, stored and shown.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import {
  addPool, createService, createSession, expectError, expectStatus, interactions, messageParams,
} from './lib/fixtures.mjs';
import { forward, interactionIdOf, reply } from './lib/markup.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const NOTE = '[A picture or file was sent with this message but could not be delivered.]';
const REFUSED = 'Your message was not delivered: this number cannot send pictures or files. Send it as text only.';
const PHOTO = 'https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0';
let n = 960;
const pair = () => [[real(n++), 'Buyer'], [real(n++), 'Seller']];

async function serviceWithPool(name, numbers, capabilities, defaults = {}) {
  assertValid(numbers);
  const svc = await createService(d, { name, defaults });
  await addPool(d, svc.id, numbers, { capabilities });
  return svc;
}

before(async () => {
  await d.ready;
});

for (const dialect of ['twilio', 'signalwire']) {
  test(`${dialect}: without mms, a text with media is forwarded without it, plus a note (the default)`, async () => {
    const svc = await serviceWithPool(`No MMS ${dialect}`, [proxy(50 + (dialect === 'twilio' ? 0 : 4)), proxy(51 + (dialect === 'twilio' ? 0 : 4))],
      ['voice', 'sms']);
    assert.equal(svc.defaults.mms_fallback, 'text_with_note');
    const parts = pair();
    const s = await createSession(d, svc.id, { participants: parts });
    const [p1, p2] = s.participants;
    const res = await d.webhook(dialect, 'message',
      messageParams(dialect, { from: parts[0][0], to: p1.proxy_number, body: 'the bike', media: [PHOTO] }));
    const intId = interactionIdOf(res.text);
    assert.equal(res.text, forward(dialect, { to: parts[1][0], from: p2.proxy_number, intId, body: `the bike\n\n${NOTE}` }));
    const only = await d.webhook(dialect, 'message',
      messageParams(dialect, { from: parts[0][0], to: p1.proxy_number, body: '', media: [PHOTO] }));
    assert.equal(only.text, forward(dialect, { to: parts[1][0], from: p2.proxy_number, intId: interactionIdOf(only.text), body: NOTE }),
      'a media-only text becomes the note alone');
  });
}

test('twilio: with mms_fallback "refuse", nothing is relayed and the sender is told why; texts without media still go', async () => {
  const svc = await serviceWithPool('No MMS, refuse', [proxy(58), proxy(59)], ['voice', 'sms'], { mms_fallback: 'refuse' });
  assert.equal(svc.defaults.mms_fallback, 'refuse');
  const parts = pair();
  const s = await createSession(d, svc.id, { participants: parts });
  const [p1, p2] = s.participants;
  const res = await d.webhook('twilio', 'message',
    messageParams('twilio', { from: parts[0][0], to: p1.proxy_number, body: 'the bike', media: [PHOTO] }));
  assert.equal(res.text, reply('twilio', { to: parts[0][0], from: p1.proxy_number, body: REFUSED }));
  const plain = await d.webhook('twilio', 'message',
    messageParams('twilio', { from: parts[0][0], to: p1.proxy_number, body: 'text only then' }));
  assert.equal(plain.text, forward('twilio', { to: parts[1][0], from: p2.proxy_number, intId: interactionIdOf(plain.text), body: 'text only then' }));
  const kinds = (await interactions(d, s.id)).map((i) => i.decision);
  assert.deepEqual(kinds.sort(), ['acknowledge', 'forward_message']);
});

test('twilio: a proxy number with mms relays the media as it came', async () => {
  const svc = await serviceWithPool('MMS', [proxy(60), proxy(61)], ['voice', 'sms', 'mms'], { mms_fallback: 'refuse' });
  const parts = pair();
  const s = await createSession(d, svc.id, { participants: parts });
  const [p1, p2] = s.participants;
  const res = await d.webhook('twilio', 'message',
    messageParams('twilio', { from: parts[0][0], to: p1.proxy_number, body: 'the bike', media: [PHOTO] }));
  assert.equal(res.text, forward('twilio', { to: parts[1][0], from: p2.proxy_number, intId: interactionIdOf(res.text), body: 'the bike', media: [PHOTO] }));
});

test('defaults.mms_fallback is validated, and a PATCH of it is stored', async () => {
  expectError(await d.api('POST', '/v1/services', { name: 'Bad', defaults: { mms_fallback: 'drop' } }), 400,
    'invalid_field', 'mms_fallback');
  const svc = await createService(d, { name: 'Patch MMS' });
  expectError(await d.api('PATCH', `/v1/services/${svc.id}`, { defaults: { mms_fallback: 7 } }), 400, 'invalid_field',
    'mms_fallback');
  const p = expectStatus(await d.api('PATCH', `/v1/services/${svc.id}`, { defaults: { mms_fallback: 'refuse' } }), 200);
  assert.equal(p.defaults.mms_fallback, 'refuse');
  const g = expectStatus(await d.api('GET', `/v1/services/${svc.id}`), 200);
  assert.equal(g.defaults.mms_fallback, 'refuse');
});
