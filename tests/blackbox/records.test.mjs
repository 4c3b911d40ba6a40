// SPDX-License-Identifier: MIT
// Call records, export and usage, and recording and limits, through
// the real daemon with Twilio webhooks: the recorded bridge is compared with what
// twilio.twiml.VoiceResponse builds; the callee's consent notice is served by maskd;
// status and recording callbacks land on the leg rows; the JSON and CSV exports and
// the usage sums carry no real number.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';

import { PUBLIC_URL, useDaemon } from './lib/daemon.mjs';
import { addPool, assertNoRealNumbers, createService, createSession, expectError, expectStatus, interactions,
  sid, voiceParams } from './lib/fixtures.mjs';
import { interactionIdOf, statusUrl } from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';

const d = useDaemon();
const RIDER = real(301);
const DRIVER = real(302);
let svc;
let session;

before(async () => {
  await d.ready;
  svc = await createService(d, {
    defaults: { record: true, time_limit: 3600, ring_timeout: 25, consent_message: 'This call may be recorded.' },
  });
  await addPool(d, svc.id, [proxy(10), proxy(11)]);
  session = await createSession(d, svc.id, { participants: [[RIDER, 'Rider'], [DRIVER, 'Driver']] });
});

function expectedRecordedBridge({ callerId, real: callee, intId }) {
  const r = new twilio.twiml.VoiceResponse();
  const url = statusUrl('twilio', intId);
  r.say('This call may be recorded.');
  const dial = r.dial({
    callerId, timeout: 25, timeLimit: 3600, answerOnBridge: true, record: 'record-from-answer-dual',
    recordingStatusCallback: url, recordingStatusCallbackEvent: 'completed', action: url,
  });
  dial.number({
    url: `${PUBLIC_URL}/hooks/twilio/consent?interaction=${intId}`, statusCallback: url,
    statusCallbackEvent: 'initiated ringing answered completed',
  }, callee);
  return r.toString();
}

test('a recorded, limited bridge; consent for the callee; callbacks become leg rows; export and usage', async () => {
  const [rider, driver] = session.participants;
  assert.equal(session.record, null); /* the service's default applies */
  const callSid = sid('twilio', 'CA');
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rider.proxy_number, callSid }));
  assert.equal(res.status, 200);
  const intId = interactionIdOf(res.text);
  assert.ok(intId, res.text);
  assert.equal(res.text, expectedRecordedBridge({ callerId: driver.proxy_number, real: DRIVER, intId }));

  /* Twilio fetches the callee's notice from <Number url>: signed like any webhook */
  const consent = await d.webhook('twilio', 'consent', { CallSid: sid('twilio', 'CA'), AccountSid: 'AC1' },
    { query: { interaction: intId } });
  assert.equal(consent.status, 200);
  const say = new twilio.twiml.VoiceResponse();
  say.say('This call may be recorded.');
  assert.equal(consent.text, say.toString());
  const unsigned = await d.webhook('twilio', 'consent', { CallSid: 'CA1' }, { query: { interaction: intId }, signature: null });
  assert.equal(unsigned.status, 403);

  /* the callee's leg: ringing, answered, completed; then the recording of the call */
  const child = sid('twilio', 'CA');
  for (const CallStatus of ['ringing', 'in-progress', 'completed']) {
    const p = { CallSid: child, ParentCallSid: callSid, CallStatus, AccountSid: 'AC1' };
    if (CallStatus === 'completed') p.CallDuration = '42';
    const s = await d.webhook('twilio', 'status', p, { query: { interaction: intId } });
    assert.equal(s.status, 200);
  }
  const rec = await d.webhook('twilio', 'status', {
    AccountSid: 'AC1', CallSid: callSid, RecordingSid: 'RE0123', RecordingStatus: 'completed',
    RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123', RecordingDuration: '41',
  }, { query: { interaction: intId } });
  assert.equal(rec.status, 200);

  const [it] = await interactions(d, session.id);
  const a = it.legs.find((l) => l.leg === 'a');
  const b = it.legs.find((l) => l.leg === 'b');
  assert.equal(a.recording_id, 'RE0123');
  assert.equal(a.proxy_number, rider.proxy_number);
  assert.equal(a.other_country, 'US');
  assert.equal(b.carrier_sid, child);
  assert.equal(b.status, 'completed');
  assert.equal(b.duration, 42);
  assert.ok(b.answered_at && b.ended_at, JSON.stringify(b));
  assert.equal(b.proxy_number, driver.proxy_number);

  const json = expectStatus(await d.api('GET', `/v1/services/${svc.id}/records`), 200);
  assert.equal(json.records.length, 2);
  assert.deepEqual(json.records.map((r) => r.leg).sort(), ['a', 'b']);
  assert.ok(json.records.every((r) => r.session_id === session.id && r.interaction_id === intId));
  assertNoRealNumbers(JSON.stringify(json), [RIDER, DRIVER], 'records export');

  const csv = await d.request('GET', `/v1/services/${svc.id}/records?from=2000-01-01`, {
    headers: { Authorization: `Bearer ${d.adminKey}`, Accept: 'text/csv' },
  });
  assert.equal(csv.status, 200);
  assert.match(csv.headers['content-type'], /^text\/csv/);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0].split(',')[0], 'interaction_id');
  assert.equal(lines.length, 3);
  assert.ok(lines.slice(1).some((l) => l.includes(',42,')), csv.text);
  assertNoRealNumbers(csv.text, [RIDER, DRIVER], 'CSV export');

  const usage = expectStatus(await d.api('GET', `/v1/services/${svc.id}/usage`), 200);
  assert.equal(usage.total.calls, 1);
  assert.equal(usage.total.billable_seconds, 42);
  assert.equal(usage.days.length, 1);
  assert.match(usage.days[0].date, /^\d{4}-\d{2}-\d{2}$/);

  const empty = expectStatus(await d.api('GET', `/v1/services/${svc.id}/records?to=2000-01-01`), 200);
  assert.equal(empty.records.length, 0);
});

test('a session overrides the service: no recording, its own limits', async () => {
  const s = await createSession(d, svc.id, {
    record: false, ring_timeout: 10, participants: [[real(303), 'Rider'], [real(304), 'Driver']],
  });
  assert.equal(s.record, false);
  assert.equal(s.ring_timeout, 10);
  assert.equal(s.time_limit, null);
  const res = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: real(303), to: s.participants[0].proxy_number }));
  const intId = interactionIdOf(res.text);
  const r = new twilio.twiml.VoiceResponse();
  const url = statusUrl('twilio', intId);
  r.dial({ callerId: s.participants[1].proxy_number, timeout: 10, timeLimit: 3600, answerOnBridge: true, action: url })
    .number({ statusCallback: url, statusCallbackEvent: 'initiated ringing answered completed' }, real(304));
  assert.equal(res.text, r.toString());
});

test('bad windows and policies are refused', async () => {
  expectError(await d.api('GET', `/v1/services/${svc.id}/records?from=yesterday`), 400, 'invalid_field', 'from');
  expectError(await d.api('GET', `/v1/services/${svc.id}/usage?from=2026-01-02&to=2026-01-01`), 400, 'invalid_field', 'before');
  expectError(await d.api('GET', '/v1/services/svc_aaaaaaaaaaaaaaaaaaaaaaaa/records'), 404, 'not_found');
  const bad = await d.api('POST', `/v1/services/${svc.id}/sessions`, {
    record: 'yes', participants: [{ number: real(305) }, { number: real(306) }],
  });
  expectError(bad, 400, 'invalid_field', 'record');
  expectError(await d.api('POST', '/v1/services', { name: 'X', defaults: { ring_timeout: 601 } }), 400, 'invalid_field', 'ring_timeout');
});
