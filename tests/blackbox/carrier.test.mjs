// SPDX-License-Identifier: MIT
// A number's `carrier` routes its webhooks (docs/API.md, "Numbers"): a number added with a
// carrier takes only that carrier's webhooks; one on another dialect's path is refused with 403,
// a log line (ids and the masked number only) and maskd_webhooks_wrong_carrier_total. A number
// added without a carrier takes any dialect's.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import { useDaemon } from './lib/daemon.mjs';
import { addNumber, assertLogClean, createService, logText, metricValue, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { assertValid, masked, proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const [SW, ANY, TW] = [proxy(70), proxy(71), proxy(72)];
const STRANGER = real(980);
assertValid(SW, ANY, TW, STRANGER);
const UNKNOWN = 'Unknown caller, goodbye.';
let nums;

before(async () => {
  await d.ready;
  const svc = await createService(d, { name: 'Carriers', defaults: { unknown_caller_message: UNKNOWN } });
  nums = {
    sw: await addNumber(d, svc.id, SW, { carrier: 'signalwire' }),
    any: await addNumber(d, svc.id, ANY),
    tw: await addNumber(d, svc.id, TW, { carrier: 'twilio' }),
  };
  assert.equal(nums.sw.carrier, 'signalwire');
  assert.equal(nums.any.carrier, null);
});

const call = (dialect, to) => d.webhook(dialect, 'voice', voiceParams(dialect, { from: STRANGER, to }));
const wrong = async () => (await metricValue(d, 'maskd_webhooks_wrong_carrier_total')) ?? 0;

test('a webhook on another carrier\'s path is refused with 403, logged with ids only, and counted', async () => {
  const before = await wrong();
  const res = await call('twilio', SW);
  assert.equal(res.status, 403, `HTTP ${res.status} ${res.text}`);
  assert.match(res.text, /another carrier/);
  const back = await call('signalwire', TW);
  assert.equal(back.status, 403, `HTTP ${back.status} ${back.text}`);
  assert.equal(await wrong(), before + 2);
  const log = logText(d);
  assert.ok(log.includes(`number ${nums.sw.id} (${masked(SW)}`), 'the log line names the number id and its masked form');
  assert.ok(log.includes('is a signalwire number'));
  assertLogClean(d, [STRANGER]);
});

test('the number\'s own carrier, and any carrier for a number without one, are routed as usual', async () => {
  const before = await wrong();
  for (const [dialect, to] of [['signalwire', SW], ['twilio', TW], ['twilio', ANY], ['signalwire', ANY]]) {
    const res = await call(dialect, to);
    assert.equal(res.status, 200, `${dialect} → ${to}: HTTP ${res.status} ${res.text}`);
    assert.equal(res.text, markup.rejectVoice(dialect, UNKNOWN));
  }
  assert.equal(await wrong(), before);
});
