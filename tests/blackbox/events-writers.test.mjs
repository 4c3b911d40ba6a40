// SPDX-License-Identifier: MIT
// The events of the writers outside the inbound webhook path (docs/EVENTS.md, "Who emits what"),
// seen from outside: a click-to-call is interaction.created (in the transaction of its interaction
// and outbox message), its first leg's "queued" from the REST sender is leg.updated and its
// status callbacks leg.updated / leg.completed; the REST sender's outcome of a relayed text
// (Telnyx) is leg.completed "sent", or "failed" when the carrier refuses it; a Proxy API
// MessageInteraction is interaction.created, then leg.completed "sent". Each is delivered to the
// service's events_url signed as Standard Webhooks says (the npm `standardwebhooks` package
// verifies it) and pulled, the same document, from GET /v1/services/{id}/events; a refused
// click-to-call writes no event; no delivered or pulled document holds a real number.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';

import twilio from 'twilio';
import { Webhook } from 'standardwebhooks';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, assertNoRealNumbers, createService, createSession, expectStatus } from './lib/fixtures.mjs';
import { proxy, real } from './lib/numbers.mjs';

// ---------------------------------------------------------------------------------------
// One local server: the service's events_url (/events) and the carriers' REST APIs (Twilio's
// Calls and Messages, Telnyx's /v2/messages; a Telnyx text "refuse me" is answered 400).

const deliveries = []; // {headers, body}
const carrierRequests = []; // {url, body}
const held = []; // responses of /events-held, not answered yet
const stand = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url.startsWith('/events-held')) {
      held.push(res); // a stuck app: answered only when the test lets go
      return;
    }
    if (req.url.startsWith('/events')) {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
      return;
    }
    carrierRequests.push({ url: req.url, body });
    let status = 201;
    let answer;
    if (req.url.endsWith('/Calls.json')) answer = { sid: `CA${crypto.randomBytes(16).toString('hex')}`, status: 'queued' };
    else if (req.url.endsWith('/Messages.json')) answer = { sid: `SM${crypto.randomBytes(16).toString('hex')}`, status: 'queued' };
    else if (JSON.parse(body).text === 'refuse me') {
      status = 400;
      answer = { errors: [{ code: '40310', title: 'refused' }] };
    } else {
      status = 200;
      answer = { data: { id: crypto.randomUUID(), record_type: 'message' } };
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
});
await new Promise((resolve) => stand.listen(0, '127.0.0.1', resolve));
const STAND = `http://127.0.0.1:${stand.address().port}`;
after(() => {
  for (const res of held.splice(0)) res.writeHead(204).end();
  return new Promise((resolve) => stand.close(resolve));
});

const d = useDaemon({
  env: { MASKD_TWILIO_API_URL: STAND, MASKD_TELNYX_API_URL: STAND, MASKD_SEND_RETRY_MS: '20' },
});

const ACCOUNT = `AC${crypto.randomBytes(16).toString('hex')}`;
const TELNYX_KEY = `KEY${crypto.randomBytes(12).toString('hex')}_test`;
const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const TELNYX_PUBLIC = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
const REALS = [];
let n = 800;
function people() {
  const pair = [real(n), real(n + 1)];
  n += 2;
  REALS.push(...pair);
  return pair;
}

/** A service with an events_url, its pool of `carrier` numbers; {svc, secret}. */
async function eventService(name, carriers, carrier, pool, path = '/events') {
  const svc = await createService(d, {
    name, twilio: false, signalwire: false, events_url: `${STAND}${path}`, carriers,
    defaults: { mode: 'voice-and-message', ttl: 0 },
  });
  await addPool(d, svc.id, pool, { carrier });
  return { svc, secret: svc.events_secret };
}

let tw; // the Twilio service (click-to-call)
let tx; // the Telnyx service (texts relayed by the REST sender)
before(async () => {
  await d.ready;
  tw = await eventService('Writer events Twilio', { twilio: { auth_token: d.tokens.twilio, account_sid: ACCOUNT } },
    'twilio', [proxy(80), proxy(81)]);
  tx = await eventService('Writer events Telnyx', { telnyx: { public_key: TELNYX_PUBLIC, api_key: TELNYX_KEY } },
    'telnyx', [proxy(82, '650'), proxy(83, '650')]);
});

/** Every document delivered for service `of` ({svc, secret}), verified, in arrival order. */
function delivered(of) {
  const wh = new Webhook(of.secret);
  return deliveries.filter((x) => JSON.parse(x.body).service_id === of.svc.id).map((x) => {
    const doc = wh.verify(x.body, x.headers); // throws on a bad signature
    assert.equal(x.headers['webhook-id'], doc.id);
    return doc;
  });
}

async function pulled(serviceId) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const q = `limit=500${cursor ? `&after=${cursor}` : ''}`;
    const p = expectStatus(await d.api('GET', `/v1/services/${serviceId}/events?${q}`), 200, 'GET events');
    out.push(...p.events);
    if (p.next === null) return out;
    cursor = p.next;
  }
  throw new Error('the cursor never ended');
}

/** The `count` documents of service `of` matching `match`, once delivered; the pull API must list the same. */
async function eventsOf(of, match, count, what) {
  await waitFor(`${count} ${what} delivered`, () => delivered(of).filter(match).length >= count);
  const got = delivered(of).filter(match);
  const pull = (await pulled(of.svc.id)).filter(match);
  assert.deepEqual(pull, got, 'the pull API returns the documents delivered');
  return got;
}

const about = (intId) => (x) => x.data.interaction_id === intId;
const legs = (docs) => docs.filter((x) => x.type.startsWith('leg.')).map((x) => [x.type, x.data.leg, x.data.status]);

test('a click-to-call is interaction.created; its queued first leg and callbacks are leg events', async () => {
  const [a, b] = people();
  const s = await createSession(d, tw.svc.id, { participants: [[a, 'Customer'], [b, 'Agent']] });
  const [pa, pb] = s.participants;
  const placed = expectStatus(await d.api('POST', `/v1/sessions/${s.id}/calls`, { from_participant: pa.id }), 202, 'POST calls');
  const intId = placed.interaction_id;
  // the sender's REST answer: leg a "queued" (leg.updated)
  await eventsOf(tw, (x) => about(intId)(x) && x.type === 'leg.updated', 1, 'leg.updated queued');
  const call = carrierRequests.find((r) => r.url.endsWith('/Calls.json') && new URLSearchParams(r.body).get('To') === a);
  assert.ok(call, 'the Calls API request');
  // the first leg rings and ends: its status callbacks (no ParentCallSid: leg a)
  const callSid = `CA${crypto.randomBytes(16).toString('hex')}`;
  for (const [CallStatus, CallDuration] of [['ringing'], ['completed', '42']]) {
    const p = { AccountSid: ACCOUNT, CallSid: callSid, CallStatus, Direction: 'outbound-api' };
    if (CallDuration) p.CallDuration = CallDuration;
    expectStatus(await d.webhook('twilio', 'status', p, { query: { interaction: intId } }), 200, CallStatus);
  }
  const docs = await eventsOf(tw, about(intId), 4, 'click-to-call events');
  assert.deepEqual(docs.map((x) => x.type), ['interaction.created', 'leg.updated', 'leg.updated', 'leg.completed']);
  assert.equal(docs[0].service_id, tw.svc.id);
  assert.deepEqual(docs[0].data, {
    interaction_id: intId, session_id: s.id, channel: 'voice', carrier: 'twilio', decision: 'bridge', reason: null,
    from_participant_id: pa.id, to_participant_id: pb.id, proxy_number: pa.proxy_number,
  });
  assert.deepEqual(legs(docs), [['leg.updated', 'a', 'queued'], ['leg.updated', 'a', 'ringing'], ['leg.completed', 'a', 'completed']]);
  assert.deepEqual(docs[1].data, {
    interaction_id: intId, session_id: s.id, leg: 'a', channel: 'voice', status: 'queued', billable_seconds: null,
    cost: null, currency: null,
  });
  assert.equal(docs[3].data.billable_seconds, 42);
  // the session's events in its order
  const order = delivered(tw).filter((x) => x.data.session_id === s.id).map((x) => x.type);
  assert.deepEqual(order, ['session.created', 'interaction.created', 'leg.updated', 'leg.updated', 'leg.completed']);
});

test('a refused click-to-call writes no event', async () => {
  const [a, b] = people();
  const s = await createSession(d, tw.svc.id, { participants: [[a, 'Customer'], [b, 'Agent']] });
  const res = await d.api('POST', `/v1/sessions/${s.id}/calls`, { from_participant: 'par_nobody' });
  assert.equal(res.status, 400, res.text);
  const mine = (await pulled(tw.svc.id)).filter((x) => x.data.session_id === s.id).map((x) => x.type);
  assert.deepEqual(mine, ['session.created']);
});

test('a click-to-call of a service without events_url is recorded for the pull API and sends no event', async () => {
  const quiet = await createService(d, {
    name: 'Writer events quiet', twilio: false, signalwire: false,
    carriers: { twilio: { auth_token: d.tokens.twilio, account_sid: ACCOUNT } },
    defaults: { mode: 'voice-and-message', ttl: 0 },
  });
  await addPool(d, quiet.id, [proxy(85), proxy(86)], { carrier: 'twilio' });
  const [a, b] = people();
  const s = await createSession(d, quiet.id, { participants: [[a, 'Customer'], [b, 'Agent']] });
  const before = deliveries.length;
  const placed = expectStatus(await d.api('POST', `/v1/sessions/${s.id}/calls`, { from_participant: s.participants[0].id }), 202);
  const intId = placed.interaction_id;
  await waitFor('leg a "queued" pulled', async () => (await pulled(quiet.id)).some((x) => x.type === 'leg.updated'));
  const types = (await pulled(quiet.id)).map((x) => [x.type, x.data.interaction_id ?? null, x.type.startsWith('leg.') ? x.data.status : null]);
  assert.deepEqual(types, [['session.created', null, null], ['interaction.created', intId, null], ['leg.updated', intId, 'queued']]);
  const box = expectStatus(await d.api('GET', `/v1/services/${quiet.id}/outbox`), 200).messages;
  assert.deepEqual(box.map((m) => [m.kind, m.interaction_id]), [['carrier_call', intId]]);
  assert.equal(deliveries.slice(before).filter((x) => x.body.includes(s.id)).length, 0);
});

// ---------------------------------------------------------------------------------------
// Telnyx texts: relayed by the REST sender

function telnyxText({ from, to, text }) {
  const body = JSON.stringify({
    data: {
      event_type: 'message.received', id: crypto.randomUUID(), occurred_at: new Date().toISOString(),
      payload: {
        record_type: 'message', direction: 'inbound', id: crypto.randomUUID(), text, type: 'SMS', parts: 1, media: [],
        errors: [], from: { phone_number: from }, to: [{ phone_number: to }],
      },
      record_type: 'event',
    },
    meta: { attempt: 1 },
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = crypto.sign(null, Buffer.from(`${ts}|${body}`), privateKey).toString('base64');
  const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ts, 'Content-Type': 'application/json' };
  return d.request('POST', '/hooks/telnyx/message', { kind: 'webhook', headers, body });
}

async function telnyxSession() {
  const [a, b] = people();
  const s = await createSession(d, tx.svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  const pa = s.participants[0];
  assert.match(pa.proxy_number, /^\+1650/, 'a Telnyx pool number');
  return { s, a, pa };
}

for (const [text, status] of [['on my way', 'sent'], ['refuse me', 'failed']]) {
  test(`a relayed Telnyx text the carrier answers ${status === 'sent' ? '200' : '400'} is leg.completed "${status}"`, async () => {
    const { s, a, pa } = await telnyxSession();
    expectStatus(await telnyxText({ from: a, to: pa.proxy_number, text }), 200, 'the text');
    const docs = await eventsOf(tx, (x) => x.data.session_id === s.id && x.type.startsWith('leg.'), 1, `leg ${status}`);
    const [created] = (await pulled(tx.svc.id)).filter((x) => x.data.session_id === s.id && x.type === 'interaction.created');
    assert.ok(created, 'interaction.created of the text');
    assert.deepEqual(docs.map((x) => x.data), [{
      interaction_id: created.data.interaction_id, session_id: s.id, leg: 'b', channel: 'message', status,
      billable_seconds: null, cost: null, currency: null,
    }]);
    assert.equal(docs[0].type, 'leg.completed');
  });
}

test('a stuck events_url never holds the session\'s carrier sends: the text goes out while its events wait', async () => {
  const stuck = await eventService('Writer events stuck app', { telnyx: { public_key: TELNYX_PUBLIC, api_key: TELNYX_KEY } },
    'telnyx', [proxy(84, '650')], '/events-held');
  const [a, b] = people();
  const s = await createSession(d, stuck.svc.id, { participants: [[a, 'Rider'], [b, 'Driver']] });
  // session.created is the session's first outbox message, and its delivery hangs
  await waitFor('the stuck app holding session.created', () => held.length >= 1);
  const text = `held app ${crypto.randomBytes(4).toString('hex')}`;
  expectStatus(await telnyxText({ from: a, to: s.participants[0].proxy_number, text }), 200, 'the text');
  await waitFor('the relayed text at the carrier', () => carrierRequests.some((r) => r.body.includes(text)));
  assert.equal(deliveries.filter((x) => x.body.includes(s.id)).length, 0, 'no event of the session answered yet');
  for (const res of held.splice(0)) res.writeHead(204).end();
  await waitFor('the session\'s events delivered once the app answers', async () =>
    held.length === 0 && (await pulled(stuck.svc.id)).some((x) => x.data.session_id === s.id && x.type === 'interaction.created'));
});

// ---------------------------------------------------------------------------------------
// Proxy API MessageInteraction create

test('a Proxy API MessageInteraction is interaction.created, then leg.completed "sent"', async () => {
  expectStatus(await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: d.tokens.twilio }), 200);
  class ToMaskd extends twilio.RequestClient {
    request(opts) {
      return super.request({ ...opts, uri: opts.uri.replace(PUBLIC_URL, d.base) });
    }
  }
  const c = twilio(ACCOUNT, d.adminKey, { httpClient: new ToMaskd() });
  c.proxy.baseUrl = PUBLIC_URL;
  const api = c.proxy.v1;
  const ps = await api.services.create({ uniqueName: 'writer-events' });
  const native = expectStatus(await d.api('GET', '/v1/services'), 200).services.find((x) => x.name === 'writer-events');
  assert.ok(native, 'the Proxy service is a native one');
  const patched = expectStatus(await d.api('PATCH', `/v1/services/${native.id}`, { events_url: `${STAND}/events` }), 200);
  const proxySecret = patched.events_secret;
  assert.match(proxySecret, /^whsec_/);
  await api.services(ps.sid).phoneNumbers.create({ phoneNumber: proxy(84) });
  const [rider] = people();
  const ses = await api.services(ps.sid).sessions.create({ uniqueName: 'writer-events-1' });
  const part = await api.services(ps.sid).sessions(ses.sid).participants.create({ identifier: rider });
  await api.services(ps.sid).sessions(ses.sid).participants(part.sid).messageInteractions.create({ body: 'Your driver is here' });

  const wh = new Webhook(proxySecret);
  const theirs = () => deliveries.map((x) => JSON.parse(x.body)).filter((x) => x.service_id === native.id);
  await waitFor('the MessageInteraction events', () => theirs().filter((x) => x.type === 'leg.completed').length >= 1);
  for (const x of deliveries.filter((y) => JSON.parse(y.body).service_id === native.id)) wh.verify(x.body, x.headers);
  const docs = theirs();
  // the Proxy session becomes a native one with its first participant: session.created
  assert.deepEqual(docs.map((x) => x.type), ['session.created', 'interaction.created', 'leg.completed']);
  assert.deepEqual((await pulled(native.id)), docs, 'the pull API returns the documents delivered');
  const [opened, created, completed] = docs;
  const sessionId = opened.data.session_id;
  assert.equal(opened.data.unique_name, 'writer-events-1');
  const participantId = opened.data.participants[0].id;
  assert.deepEqual(created.data, {
    interaction_id: created.data.interaction_id, session_id: sessionId, channel: 'message', carrier: 'twilio',
    decision: 'forward_message', reason: null, from_participant_id: participantId,
    to_participant_id: participantId, proxy_number: proxy(84),
  });
  assert.match(created.data.interaction_id, /^int_/);
  assert.deepEqual(completed.data, {
    interaction_id: created.data.interaction_id, session_id: sessionId, leg: 'b', channel: 'message', status: 'sent',
    billable_seconds: null, cost: null, currency: null,
  });
});

test('no delivered or pulled event of these writers holds a real number', async () => {
  assert.ok(deliveries.length >= 15, `${deliveries.length} deliveries`);
  for (const x of deliveries) assertNoRealNumbers(x.body, REALS, 'a delivered event');
  for (const of of [tw, tx]) assertNoRealNumbers(JSON.stringify(await pulled(of.svc.id)), REALS, 'the pull API');
});
