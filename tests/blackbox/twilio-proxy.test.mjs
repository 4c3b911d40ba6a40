// SPDX-License-Identifier: MIT
// Twilio Proxy v1 wire compatibility: the npm `twilio` SDK's client.proxy.v1, with only the
// Proxy base URL changed, runs the Proxy quickstart against maskd (service, two numbers, a
// session with a TTL, two participants, a signed call and text bridged, a MessageInteraction
// sent through Twilio's Messages API (a local stand-in), interactions listed across pages,
// close, delete), and every refused request raises the SDK's RestException with Twilio's code
// and status and changes nothing (checked with a GET).
//
// The SDK is pointed at maskd's public URL (PUBLIC_URL, as a deployment would be); its HTTP
// client resolves that host to the test daemon, the way a hosts entry would, so the absolute
// next_page_url maskd answers with is followed as the SDK follows Twilio's.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';

import twilio from 'twilio';

import { PG_URL, PUBLIC_URL, psql, startDaemon, useDaemon, waitFor } from './lib/daemon.mjs';
import { assertNoRealNumbers, messageParams, voiceParams } from './lib/fixtures.mjs';
import * as markup from './lib/markup.mjs';
import { proxy, real } from './lib/numbers.mjs';

// ------------------------------------------------------------------ Twilio's Messages API
const sent = [];
const messagesApi = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const sid = `SM${crypto.randomBytes(16).toString('hex')}`;
    sent.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), sid });
    res.writeHead(201, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ sid, status: 'queued' }));
  });
});
await new Promise((resolve) => messagesApi.listen(0, '127.0.0.1', resolve));
const MESSAGES_API = `http://127.0.0.1:${messagesApi.address().port}`;
after(() => new Promise((resolve) => messagesApi.close(resolve)));

const d = useDaemon({ env: { MASKD_TWILIO_API_URL: MESSAGES_API, MASKD_SEND_RETRY_MS: '20' } });

const ACCOUNT = `AC${crypto.randomBytes(16).toString('hex')}`;
const answers = []; // every body maskd answered the SDK with

/** The rows of q on the daemon's database (either backend), one '|'-joined string a row. */
async function sql(q) {
  if (PG_URL) return (await psql(d.env.MASKD_DB, q)).split('\n').filter((l) => l !== '');
  const { stdout } = await promisify(execFile)('python3', ['-c',
    'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1], timeout=10)\nfor r in c.execute(sys.argv[2]): print("|".join(map(str,r)))',
    d.dbPath, q]);
  return stdout.split('\n').filter((l) => l !== '');
}

/** An SDK client whose Proxy domain is maskd; user:password = account SID:maskd key. */
function client(password = d.adminKey, account = ACCOUNT) {
  class ToMaskd extends twilio.RequestClient {
    async request(opts) {
      const r = await super.request({ ...opts, uri: opts.uri.replace(PUBLIC_URL, d.base) });
      answers.push(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
      return r;
    }
  }
  const c = twilio(account, password, { httpClient: new ToMaskd() });
  c.proxy.baseUrl = PUBLIC_URL;
  return c;
}

/** A Proxy request without the SDK (which refuses to send a request lacking a required
 * parameter): {status, json}. */
async function raw(method, urlPath, form) {
  const headers = { Authorization: `Basic ${Buffer.from(`${ACCOUNT}:${d.adminKey}`).toString('base64')}` };
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const r = await d.request(method, `/v1${urlPath}`, { headers, body });
  answers.push(r.text);
  return { status: r.status, json: JSON.parse(r.text) };
}

/** Awaits p, which must reject with the SDK's RestException of this status and code. */
async function refused(p, status, code) {
  const err = await p.then(() => null, (e) => e);
  assert.ok(err, `expected a RestException ${status}/${code}, got success`);
  assert.ok(err instanceof twilio.RestException, `expected RestException, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, status, `status of: ${err.message}`);
  assert.equal(err.code, code, `code of: ${err.message}`);
  assert.equal(err.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
  return err;
}

const RIDER = real(700);
const DRIVER = real(701);
const OTHER = real(702);
const POOL = [proxy(70), proxy(71)];

describe('twilio-proxy', () => {
  let api;
  let svc;
  let ses;
  let rider;
  let driver;
  let riderMessage; // the MessageInteraction sent to the rider (test 6)

  before(async () => {
    await d.ready;
    const res = await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: d.tokens.twilio });
    assert.equal(res.status, 200, res.text);
    assert.ok(!res.text.includes(d.tokens.twilio), 'the auth token is echoed');
    api = client().proxy.v1;
  });

  test('PUT /v1/account refuses a malformed account SID and a missing token', async () => {
    let res = await d.api('PUT', '/v1/account', { twilio_account_sid: 'AC123', twilio_auth_token: 'x' });
    assert.equal(res.status, 400, res.text);
    res = await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT });
    assert.equal(res.status, 400, res.text);
    res = await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: 'x' }, { auth: null });
    assert.equal(res.status, 401, res.text);
  });

  test('1. create a service; it is a maskd service seen by the native API too', async () => {
    svc = await api.services.create({
      uniqueName: 'rides', defaultTtl: 3600, geoMatchLevel: 'country', numberSelectionBehavior: 'prefer-sticky',
      callbackUrl: 'https://app.example.com/proxy/events', chatInstanceSid: `IS${'0'.repeat(32)}`,
    });
    assert.match(svc.sid, /^KS[0-9a-f]{32}$/);
    assert.equal(svc.accountSid, ACCOUNT);
    assert.equal(svc.uniqueName, 'rides');
    assert.equal(svc.defaultTtl, 3600);
    assert.equal(svc.geoMatchLevel, 'country');
    assert.equal(svc.numberSelectionBehavior, 'prefer-sticky');
    assert.equal(svc.callbackUrl, 'https://app.example.com/proxy/events');
    assert.equal(svc.url, `${PUBLIC_URL}/v1/Services/${svc.sid}`);
    assert.equal(svc.links.sessions, `${PUBLIC_URL}/v1/Services/${svc.sid}/Sessions`);
    const byName = await api.services('rides').fetch();
    assert.equal(byName.sid, svc.sid);
    const native = await d.api('GET', '/v1/services');
    const row = native.json.services.find((s) => s.name === 'rides');
    assert.ok(row, 'the Proxy service is not a native service');
    assert.equal(row.defaults.ttl, 3600);
    assert.equal(row.carriers.twilio.configured, true);
    // the native path is unchanged and case-sensitive beside the Proxy one
    assert.equal((await d.api('GET', `/v1/services/${row.id}`)).status, 200);
  });

  test('2. add two phone numbers (one reserved, then not)', async () => {
    const a = await api.services(svc.sid).phoneNumbers.create({ phoneNumber: POOL[0] });
    const b = await api.services(svc.sid).phoneNumbers.create({ phoneNumber: POOL[1], isReserved: true });
    assert.match(a.sid, /^PN[0-9a-f]{32}$/);
    assert.equal(a.phoneNumber, POOL[0]);
    assert.equal(a.isReserved, false);
    assert.equal(a.inUse, 0);
    assert.equal(a.capabilities.sms, true);
    assert.equal(b.isReserved, true);
    const unreserved = await api.services(svc.sid).phoneNumbers(b.sid).update({ isReserved: false });
    assert.equal(unreserved.isReserved, false);
    const list = await api.services(svc.sid).phoneNumbers.list();
    assert.deepEqual(list.map((n) => n.phoneNumber).sort(), [...POOL].sort());
  });

  test('3. create a session with a TTL; 4. add two participants (identifiers masked)', async () => {
    ses = await api.services(svc.sid).sessions.create({ uniqueName: 'order-1', ttl: 600, mode: 'voice-and-message' });
    assert.match(ses.sid, /^KC[0-9a-f]{32}$/);
    assert.equal(ses.status, 'open');
    assert.equal(ses.ttl, 600);
    assert.equal(ses.mode, 'voice-and-message');
    rider = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: RIDER, friendlyName: 'Rider' });
    driver = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: DRIVER, friendlyName: 'Driver' });
    for (const p of [rider, driver]) {
      assert.match(p.sid, /^KP[0-9a-f]{32}$/);
      assert.ok(POOL.includes(p.proxyIdentifier), `proxy identifier ${p.proxyIdentifier} not from the pool`);
      assert.match(p.proxyIdentifierSid, /^PN[0-9a-f]{32}$/);
      assert.equal(p.sessionSid, ses.sid);
    }
    assert.equal(rider.identifier, '+1******2700');
    assert.equal(rider.friendlyName, 'Rider');
    const byName = await api.services(svc.sid).sessions('order-1').fetch();
    assert.equal(byName.sid, ses.sid);
    const parts = await api.services(svc.sid).sessions(ses.sid).participants.list();
    assert.deepEqual(parts.map((p) => p.sid).sort(), [rider.sid, driver.sid].sort());
    // the same session through the native API
    const native = await d.api('GET', `/v1/services/${(await d.api('GET', '/v1/services')).json.services.find((s) => s.name === 'rides').id}/sessions?unique_name=order-1`);
    assert.equal(native.json.sessions.length, 1);
    assert.equal(native.json.sessions[0].ttl, 600);
  });

  test('5. a signed inbound call and text are bridged as maskd does today', async () => {
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rider.proxyIdentifier }));
    assert.equal(call.status, 200, call.text);
    const callInt = markup.interactionIdOf(call.text);
    assert.equal(call.text, markup.bridge('twilio', { callerId: driver.proxyIdentifier, real: DRIVER, intId: callInt }));
    const text = await d.webhook('twilio', 'message',
      messageParams('twilio', { from: DRIVER, to: driver.proxyIdentifier, body: 'at the corner' }));
    assert.equal(text.status, 200, text.text);
    const textInt = markup.interactionIdOf(text.text);
    assert.equal(text.text, markup.forward('twilio',
      { to: RIDER, from: rider.proxyIdentifier, intId: textInt, body: 'at the corner' }));
    const now = await api.services(svc.sid).sessions(ses.sid).fetch();
    assert.equal(now.status, 'in-progress');
  });

  test('6. MessageInteraction create answers 200 and sends through Twilio\'s Messages API', async () => {
    const before = sent.length;
    const mi = await api.services(svc.sid).sessions(ses.sid).participants(rider.sid).messageInteractions
      .create({ body: 'Your driver is here' });
    assert.match(mi.sid, /^KI[0-9a-f]{32}$/);
    assert.equal(mi.type, 'message');
    assert.equal(mi.participantSid, rider.sid);
    assert.equal(mi.outboundParticipantSid, rider.sid);
    assert.equal(mi.inboundParticipantSid, null);
    assert.equal(mi.outboundResourceType, 'Message');
    // answered once queued in the outbox: no message SID until Twilio's Messages API names one
    assert.equal(mi.outboundResourceStatus, 'queued');
    assert.equal(mi.outboundResourceSid, null);
    const req = await waitFor('the Messages API request', () => sent.length > before && sent[sent.length - 1]);
    assert.equal(req.method, 'POST');
    assert.equal(req.url, `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`);
    assert.equal(req.headers.authorization,
      `Basic ${Buffer.from(`${ACCOUNT}:${d.tokens.twilio}`).toString('base64')}`);
    const form = new URLSearchParams(req.body);
    assert.equal(form.get('To'), RIDER);
    assert.equal(form.get('From'), rider.proxyIdentifier);
    assert.equal(form.get('Body'), 'Your driver is here');
    const done = await waitFor('the send recorded on the outbound leg', async () => {
      const f = await api.services(svc.sid).sessions(ses.sid).participants(rider.sid).messageInteractions(mi.sid).fetch();
      return f.outboundResourceStatus === 'sent' && f;
    });
    assert.equal(done.sid, mi.sid);
    riderMessage = done;
    assert.match(done.outboundResourceSid, /^SM[0-9a-f]{32}$/);
    assert.equal(done.outboundResourceSid, req.sid, 'the leg carries the SID the Messages API answered');
    const native = await d.api('GET', `/v1/sessions/${(await sql(`SELECT id FROM sessions WHERE unique_name = 'order-1'`))[0]}/interactions`);
    const legs = native.json.interactions.find((i) => i.legs.some((l) => l.carrier_sid === req.sid)).legs;
    assert.deepEqual(legs.filter((l) => l.leg === 'b').map((l) => l.carrier_sid), [req.sid],
      'one outbound leg, no placeholder');
    const mine = await api.services(svc.sid).sessions(ses.sid).participants(rider.sid).messageInteractions.list();
    assert.deepEqual(mine.map((m) => m.sid), [mi.sid]);
    await api.services(svc.sid).sessions(ses.sid).participants(driver.sid).messageInteractions
      .create({ body: 'Your rider is waiting' });
  });

  test('7. list the interactions, paging across pages by next_page_url', async () => {
    const all = await api.services(svc.sid).sessions(ses.sid).interactions.list({ pageSize: 1 });
    assert.equal(all.length, 4, JSON.stringify(all.map((i) => i.type)));
    assert.deepEqual(all.map((i) => i.type), ['voice', 'message', 'message', 'message']);
    assert.equal(new Set(all.map((i) => i.sid)).size, 4);
    for (const i of all) assert.match(i.sid, /^KI[0-9a-f]{32}$/);
    const first = await api.services(svc.sid).sessions(ses.sid).interactions.page({ pageSize: 3 });
    assert.equal(first.instances.length, 3);
    assert.match(first.nextPageUrl, new RegExp(`^${PUBLIC_URL}/v1/Services/${svc.sid}/Sessions/${ses.sid}/Interactions\\?PageSize=3&Page=1&PageToken=PT[0-9a-f]{32}$`));
    const second = await first.nextPage();
    assert.deepEqual(second.instances.map((i) => i.sid), [all[3].sid]);
    assert.equal(second.nextPageUrl, undefined);
    const one = await api.services(svc.sid).sessions(ses.sid).interactions(all[0].sid).fetch();
    assert.equal(one.inboundParticipantSid, rider.sid);
    assert.equal(one.outboundParticipantSid, driver.sid);
    assert.equal(one.inboundResourceType, 'Call');
  });

  test('an Interaction DELETE removes it and its legs (204); an unknown or another session\'s SID changes nothing', async () => {
    const count = async () => (await sql('SELECT COUNT(*) FROM interactions'))[0];
    const legs = async () => (await sql(`SELECT COUNT(*) FROM legs WHERE carrier_sid = '${riderMessage.outboundResourceSid}'`))[0];
    const before = await count();
    assert.equal(await legs(), '1');
    const other = await api.services(svc.sid).sessions.create({ uniqueName: 'other-order' });
    await refused(api.services(svc.sid).sessions(other.sid).interactions(riderMessage.sid).remove(), 404, 20404);
    await refused(api.services(svc.sid).sessions(ses.sid).interactions(`KI${'0'.repeat(32)}`).remove(), 404, 20404);
    assert.equal(await count(), before);
    assert.equal(await api.services(svc.sid).sessions(ses.sid).interactions(riderMessage.sid).remove(), true);
    assert.equal(await count(), String(Number(before) - 1));
    assert.equal(await legs(), '0');
    await refused(api.services(svc.sid).sessions(ses.sid).interactions(riderMessage.sid).fetch(), 404, 20404);
    await refused(api.services(svc.sid).sessions(ses.sid).interactions(riderMessage.sid).remove(), 404, 20404);
    const left = await api.services(svc.sid).sessions(ses.sid).interactions.list();
    assert.equal(left.length, 3);
    assert.ok(!left.some((i) => i.sid === riderMessage.sid));
  });

  test('errors: participant conflict, duplicate unique name, unknown SID, bad auth; nothing changes', async () => {
    // RIDER holds rider.proxyIdentifier in the open order-1: naming it again is refused
    const s2 = await api.services(svc.sid).sessions.create({ uniqueName: 'order-2' });
    await refused(api.services(svc.sid).sessions(s2.sid).participants
      .create({ identifier: RIDER, proxyIdentifier: rider.proxyIdentifier }), 400, 80604);
    assert.equal((await api.services(svc.sid).sessions(s2.sid).participants.list()).length, 0);
    await refused(api.services(svc.sid).sessions.create({ uniqueName: 'order-1' }), 400, 80603);
    const names = (await api.services(svc.sid).sessions.list()).map((s) => s.uniqueName);
    assert.equal(names.filter((n) => n === 'order-1').length, 1);
    await refused(api.services(`KS00${'0'.repeat(30)}`).fetch(), 404, 20404);
    await refused(api.services(svc.sid).sessions(`KC00${'0'.repeat(30)}`).fetch(), 404, 20404);
    await refused(api.services(svc.sid).sessions('no-such-order').fetch(), 404, 80308);
    await refused(client('wrong-key').proxy.v1.services.list(), 401, 20003);
    await refused(client(d.adminKey, `AC${'1'.repeat(32)}`).proxy.v1.services(svc.sid).fetch(), 401, 20003);
    // the native API keeps its own bearer auth and error shape
    const native = await d.api('GET', '/v1/services', undefined, { auth: null });
    assert.equal(native.status, 401);
    assert.equal(native.json.error.code, 'unauthorized');
  });

  test('Basic auth takes a scoped key for its own service; other services 404, service create 403, wrong pair 401', async () => {
    const other = await api.services.create({ uniqueName: 'other-tenant' });
    const nativeId = (await d.api('GET', '/v1/services')).json.services.find((x) => x.name === 'rides').id;
    const newKey = async (role) => {
      const r = await d.api('POST', '/v1/keys', { role, service_id: nativeId, label: `proxy ${role}` });
      assert.equal(r.status, 201, r.text);
      return r.json;
    };
    const svcKey = await newKey('service');
    const roKey = await newKey('readonly');
    const recKey = await newKey('records');
    // before its own PUT /v1/account, the key is no password for the account
    await refused(client(svcKey.key).proxy.v1.services(svc.sid).fetch(), 401, 20003);
    for (const k of [svcKey, roKey, recKey]) {
      const put = await d.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: d.tokens.twilio },
        { auth: `Bearer ${k.key}` });
      assert.equal(put.status, k === svcKey ? 200 : 403, `${k.role}: ${put.text}`);
    }
    // the readonly and records keys set no account: no Basic auth pair
    await refused(client(roKey.key).proxy.v1.services(svc.sid).fetch(), 401, 20003);
    await refused(client(recKey.key).proxy.v1.services(svc.sid).fetch(), 401, 20003);
    const mine = client(svcKey.key).proxy.v1;
    assert.equal((await mine.services(svc.sid).fetch()).sid, svc.sid);
    assert.deepEqual((await mine.services.list()).map((x) => x.sid), [svc.sid]);
    const s = await mine.services(svc.sid).sessions.create({ uniqueName: 'scoped-1' });
    assert.equal(await mine.services(svc.sid).sessions(s.sid).remove(), true);
    await refused(mine.services(other.sid).fetch(), 404, 20404);
    await refused(mine.services('other-tenant').fetch(), 404, 20404);
    await refused(mine.services(other.sid).sessions.create({ uniqueName: 'intruder' }), 404, 20404);
    await refused(mine.services.create({ uniqueName: 'by-a-service-key' }), 403, 20403);
    // wrong pairs: the key with another account SID, a revoked key
    await refused(client(svcKey.key, `AC${'2'.repeat(32)}`).proxy.v1.services(svc.sid).fetch(), 401, 20003);
    assert.equal((await d.api('DELETE', `/v1/keys/${svcKey.id}`)).status, 200);
    await refused(mine.services(svc.sid).fetch(), 401, 20003);
    // the admin key's identity for the same account is untouched; nothing was created by the refusals
    const names = (await api.services.list()).map((x) => x.uniqueName);
    assert.ok(names.includes('other-tenant') && !names.includes('by-a-service-key'), names.join(','));
    await refused(api.services(other.sid).sessions('intruder').fetch(), 404, 80308);
  });

  test('bad input: missing UniqueName / Identifier, Mode=fax, third participant, non-phone identifier', async () => {
    const count = (await api.services.list()).length;
    await refused(api.services.create({ uniqueName: '', defaultTtl: 5 }), 400, 20001);
    const missing = await raw('POST', '/Services', { DefaultTtl: '5' });
    assert.deepEqual(missing, { status: 400, json: { code: 20001,
      message: 'Missing required parameter UniqueName in the post body',
      more_info: 'https://www.twilio.com/docs/errors/20001', status: 400 } });
    assert.equal((await api.services.list()).length, count);
    const sessions = (await api.services(svc.sid).sessions.list()).length;
    await refused(api.services(svc.sid).sessions.create({ uniqueName: 'fax-1', mode: 'fax',
      participants: [{ Identifier: real(713) }] }), 400, 20001);
    await refused(api.services(svc.sid).sessions('fax-1').fetch(), 404, 80308);
    await refused(api.services(svc.sid).sessions.create({ uniqueName: 'three', participants: [
      { Identifier: real(710) }, { Identifier: real(711) }, { Identifier: real(712) }] }), 400, 80609);
    await refused(api.services(svc.sid).sessions('three').fetch(), 404, 80308);
    assert.equal((await api.services(svc.sid).sessions.list()).length, sessions);
    await refused(api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: OTHER }), 400, 80609);
    const s3 = await api.services(svc.sid).sessions.create({ uniqueName: 'order-3' });
    await refused(api.services(svc.sid).sessions(s3.sid).participants.create({ identifier: '' }), 400, 20001);
    const noId = await raw('POST', `/Services/${svc.sid}/Sessions/${s3.sid}/Participants`, { FriendlyName: 'x' });
    assert.equal(noId.status, 400);
    assert.equal(noId.json.code, 20001);
    await refused(api.services(svc.sid).sessions(s3.sid).participants.create({ identifier: 'messenger:123456' }),
      400, 80404);
    assert.equal((await api.services(svc.sid).sessions(ses.sid).participants.list()).length, 2);
    assert.equal((await api.services(svc.sid).sessions(s3.sid).participants.list()).length, 0);
    await refused(api.services(svc.sid).sessions(ses.sid).update({ status: 'paused' }), 400, 80608);
    assert.equal((await api.services(svc.sid).sessions(ses.sid).fetch()).status, 'in-progress');
  });

  test('session create with Participants (JSON items) binds both at once', async () => {
    const s = await api.services(svc.sid).sessions.create({ uniqueName: 'order-4', participants: [
      { Identifier: real(720), FriendlyName: 'Buyer' }, { identifier: real(721) }] });
    const parts = await api.services(svc.sid).sessions(s.sid).participants.list();
    assert.equal(parts.length, 2);
    assert.deepEqual(parts.map((p) => p.friendlyName).sort(), ['', 'Buyer']);
    // the Sessions list pages on the native list: by PageToken, and by Page alone
    const first = await api.services(svc.sid).sessions.page({ pageSize: 1 });
    assert.deepEqual(first.instances.map((x) => x.uniqueName), ['order-1']);
    assert.match(first.nextPageUrl, /[?&]PageToken=PT[0-9a-f]{32}$/);
    const second = await first.nextPage();
    assert.deepEqual(second.instances.map((x) => x.uniqueName), ['order-4']);
    assert.equal(second.nextPageUrl, undefined);
    const byNumber = await raw('GET', `/Services/${svc.sid}/Sessions?PageSize=1&Page=1`);
    assert.deepEqual(byNumber.json.sessions.map((x) => x.unique_name), ['order-4']);
    assert.equal(byNumber.json.meta.page, 1);
    assert.equal(byNumber.json.meta.key, 'sessions');
    const beyond = await raw('GET', `/Services/${svc.sid}/Sessions?PageSize=1&Page=5`);
    assert.deepEqual(beyond.json.sessions, []);
  });

  test('ShortCodes answer not supported; Proxy paths are case-sensitive', async () => {
    const sc = await raw('GET', `/Services/${svc.sid}/ShortCodes`);
    assert.equal(sc.status, 400);
    assert.equal(sc.json.code, 20001);
    const lower = await d.request('GET', '/v1/Services'.toLowerCase(), {
      headers: { Authorization: `Basic ${Buffer.from(`${ACCOUNT}:${d.adminKey}`).toString('base64')}` } });
    assert.equal(lower.status, 401, 'the native /v1/services takes no Basic auth');
  });

  test('8. update the session to closed; 9. delete it', async () => {
    const audited = async (action) => {
      const res = await d.api('GET', '/v1/audit/export');
      assert.equal(res.status, 200, res.text);
      const [nativeId] = await sql(`SELECT id FROM sessions WHERE unique_name = 'order-1'`);
      return res.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
        .filter((e) => e.action === action && e.target === nativeId).length;
    };
    assert.equal(await audited('session.changed'), 0);
    const closed = await api.services(svc.sid).sessions(ses.sid).update({ status: 'closed' });
    assert.equal(await audited('session.changed'), 1, 'the close through the Proxy API is audited');
    assert.equal(closed.status, 'closed');
    assert.ok(closed.dateEnded instanceof Date);
    await refused(api.services(svc.sid).sessions(ses.sid).participants(rider.sid).messageInteractions
      .create({ body: 'late' }), 400, 80607);
    assert.equal(await api.services(svc.sid).sessions(ses.sid).remove(), true);
    assert.equal(await audited('session.deleted'), 1, 'the delete through the Proxy API is audited');
    // a session without participants (no native session yet): its update and its delete
    // are audited in their own transaction too, with the id its native session would have
    const pending = await api.services(svc.sid).sessions.create({ uniqueName: 'order-5' });
    const [pendingId] = await sql(`SELECT id FROM proxy_sessions WHERE unique_name = 'order-5'`);
    const entriesOf = async (action, target) => (await d.api('GET', '/v1/audit/export')).text.split('\n')
      .filter((l) => l !== '').map((l) => JSON.parse(l)).filter((e) => e.action === action && e.target === target);
    assert.equal((await entriesOf('session.changed', pendingId)).length, 0);
    await api.services(svc.sid).sessions(pending.sid).update({ ttl: 90 });
    const changed = await entriesOf('session.changed', pendingId);
    assert.equal(changed.length, 1, 'a pending session\'s update is audited');
    await refused(api.services(svc.sid).sessions(pending.sid).update({ status: 'closed' }), 400, 80608);
    assert.equal((await entriesOf('session.changed', pendingId)).length, 1, 'a refused update writes no entry');
    assert.equal((await entriesOf('session.deleted', pendingId)).length, 0);
    assert.equal(await api.services(svc.sid).sessions(pending.sid).remove(), true);
    await refused(api.services(svc.sid).sessions(pending.sid).fetch(), 404, 20404);
    assert.equal((await entriesOf('session.deleted', pendingId)).length, 1, 'a pending session\'s delete is audited');
    await refused(api.services(svc.sid).sessions(pending.sid).remove(), 404, 20404);
    assert.equal((await entriesOf('session.deleted', pendingId)).length, 1, 'a refused delete writes no entry');
  });

  test('a session without participants is a row of its own, gone with its first participant or its delete', async () => {
    const pendingRows = async (name) => (await sql(`SELECT ttl, mode FROM proxy_sessions WHERE unique_name = '${name}'`));
    const a = await api.services(svc.sid).sessions.create({ uniqueName: 'pend-a', ttl: 120, mode: 'message-only' });
    assert.deepEqual(await pendingRows('pend-a'), ['120|2']);
    const updated = await api.services(svc.sid).sessions(a.sid).update({ ttl: 90 });
    assert.equal(updated.ttl, 90);
    assert.deepEqual(await pendingRows('pend-a'), ['90|2']);
    await api.services(svc.sid).sessions(a.sid).participants.create({ identifier: real(730) });
    assert.deepEqual(await pendingRows('pend-a'), [], 'the pending row outlives the native session');
    const back = await api.services(svc.sid).sessions(a.sid).fetch();
    assert.equal(back.ttl, 90);
    assert.equal(back.mode, 'message-only');
    const b = await api.services(svc.sid).sessions.create({ uniqueName: 'pend-b' });
    assert.equal((await pendingRows('pend-b')).length, 1);
    assert.equal(await api.services(svc.sid).sessions(b.sid).remove(), true);
    assert.deepEqual(await pendingRows('pend-b'), []);
    await refused(api.services(svc.sid).sessions(b.sid).remove(), 404, 20404);
    assert.deepEqual(await sql("SELECT key FROM settings WHERE key LIKE 'proxy.session.%'"), []);
  });

  test('no Proxy answer and no log line carries a real number', async () => {
    assert.ok(answers.length > 20);
    const reals = [RIDER, DRIVER, OTHER, real(710), real(713), real(720), real(721), real(730)];
    assertNoRealNumbers(answers.join('\n'), reals, 'Proxy API answers');
    assertNoRealNumbers(await fs.readFile(d.logPath, 'utf8'), reals, 'the log');
  });
});

describe('twilio-proxy participant DELETE', () => {
  const SOLO = proxy(75);
  const [A, B, C] = [real(740), real(741), real(742)];

  test('answers 200 with the participant; the session keeps the other; the released number binds again; the last one goes too', async () => {
    const api = client().proxy.v1;
    const svc = await api.services.create({ uniqueName: 'solo-rides' });
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: SOLO });
    // a cooling-off binding may be taken for another pair (an open one never): the delete's
    // release is what lets B name SOLO again below
    const native = (await d.api('GET', '/v1/services')).json.services.find((x) => x.name === 'solo-rides');
    const patched = await d.api('PATCH', `/v1/services/${native.id}`, { defaults: { cooloff: 3600, cooloff_reuse: true } });
    assert.equal(patched.status, 200, patched.text);
    const s1 = await api.services(svc.sid).sessions.create({ uniqueName: 'solo-1' });
    const a = await api.services(svc.sid).sessions(s1.sid).participants.create({ identifier: A });
    const b = await api.services(svc.sid).sessions(s1.sid).participants.create({ identifier: B, friendlyName: 'Bee' });
    assert.equal(b.proxyIdentifier, SOLO);
    const s2 = await api.services(svc.sid).sessions.create({ uniqueName: 'solo-2' });
    await api.services(svc.sid).sessions(s2.sid).participants.create({ identifier: C });
    // B holds SOLO in solo-1: binding it in solo-2 is refused while it does
    await refused(api.services(svc.sid).sessions(s2.sid).participants
      .create({ identifier: B, proxyIdentifier: SOLO }), 400, 80604);

    // refused deletes change nothing: an unknown SID, and B under another session
    const rows = () => sql(`SELECT id, idx, active, held_until IS NULL FROM participants ORDER BY id`);
    const removals = async () => (await d.api('GET', '/v1/audit/export')).text.split('\n').filter((l) => l !== '')
      .map((l) => JSON.parse(l)).filter((e) => e.action === 'participant.removed');
    const [nativeS1] = await sql(`SELECT id FROM sessions WHERE unique_name = 'solo-1'`);
    const nativeParts = (await d.api('GET', `/v1/sessions/${nativeS1}`)).json.participants;
    const nativeB = nativeParts.find((x) => x.number === '+1******2741').id;
    const nativeA = nativeParts.find((x) => x.number === '+1******2740').id;
    const before = await rows();
    await refused(api.services(svc.sid).sessions(s1.sid).participants(`KP${'0'.repeat(32)}`).remove(), 404, 20404);
    await refused(api.services(svc.sid).sessions(s2.sid).participants(b.sid).remove(), 404, 20404);
    assert.deepEqual(await rows(), before);
    assert.deepEqual(await removals(), [], 'a refused participant DELETE writes no entry');

    const del = await raw('DELETE', `/Services/${svc.sid}/Sessions/${s1.sid}/Participants/${b.sid}`);
    assert.equal(del.status, 200);
    assert.equal(del.json.sid, b.sid);
    assert.equal(del.json.session_sid, s1.sid);
    assert.equal(del.json.friendly_name, 'Bee');
    assert.equal(del.json.identifier, '+1******2741');
    assert.equal(del.json.proxy_identifier, SOLO);
    assert.match(del.json.date_deleted, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual((await removals()).map((e) => e.target), [nativeB], 'the participant DELETE is audited');
    const left = await api.services(svc.sid).sessions(s1.sid).participants.list();
    assert.deepEqual(left.map((p) => p.sid), [a.sid]);
    assert.equal((await api.services(svc.sid).sessions(s1.sid).fetch()).status, 'open');
    await refused(api.services(svc.sid).sessions(s1.sid).participants(b.sid).fetch(), 404, 20404);
    await refused(api.services(svc.sid).sessions(s1.sid).participants(b.sid).remove(), 404, 20404);
    // a call from B on SOLO no longer reaches A: the session is over for B
    const late = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: B, to: SOLO }));
    assert.equal(late.status, 200, late.text);
    assert.ok(!late.text.includes(A), 'a removed participant is bridged to the other');
    assert.ok(!late.text.includes('<Dial'), `a removed participant is bridged: ${late.text}`);

    // the released number is B's to bind again, in solo-2
    const again = await api.services(svc.sid).sessions(s2.sid).participants.create({ identifier: B, proxyIdentifier: SOLO });
    assert.equal(again.proxyIdentifier, SOLO);
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: B, to: SOLO }));
    assert.equal(call.status, 200, call.text);
    assert.equal(call.text, markup.bridge('twilio', { callerId: SOLO, real: C, intId: markup.interactionIdOf(call.text) }));

    // the session's only participant goes too, as on Twilio: 200, and the
    // session stays open with no participant; A's number no longer reaches anyone
    const soloUse = async () => (await api.services(svc.sid).phoneNumbers.list()).find((n) => n.phoneNumber === SOLO).inUse;
    const useBefore = await soloUse();
    const last = await raw('DELETE', `/Services/${svc.sid}/Sessions/${s1.sid}/Participants/${a.sid}`);
    assert.equal(last.status, 200, last.text);
    assert.equal(last.json.sid, a.sid);
    assert.deepEqual((await removals()).map((e) => e.target), [nativeB, nativeA]);
    assert.match(last.json.date_deleted, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(await api.services(svc.sid).sessions(s1.sid).participants.list(), []);
    assert.equal((await api.services(svc.sid).sessions(s1.sid).fetch()).status, 'open');
    assert.equal(await soloUse(), useBefore - 1);
    await refused(api.services(svc.sid).sessions(s1.sid).participants(a.sid).remove(), 404, 20404);
    // the emptied session takes no new participant (maskd's limit), and the refusal writes nothing
    const emptied = await rows();
    await refused(api.services(svc.sid).sessions(s1.sid).participants.create({ identifier: real(743) }), 400, 80609);
    assert.deepEqual(await rows(), emptied);
    const gone = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: SOLO }));
    assert.equal(gone.status, 200, gone.text);
    assert.ok(!gone.text.includes('<Dial'), `the removed last participant is bridged: ${gone.text}`);
    // and the emptied session closes as any other
    const closed = await api.services(svc.sid).sessions(s1.sid).update({ status: 'closed' });
    assert.equal(closed.status, 'closed');
    assertNoRealNumbers(answers.join('\n'), [A, B, C], 'Proxy API answers');
  });
});

describe('twilio-proxy OutOfSessionCallbackUrl', () => {
  const A_REMOVED = real(741); // the removed participant of the DELETE test
  const asked = [];
  let answer = { status: 200, body: {} };
  const app = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      asked.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  let appUrl;
  before(async () => {
    await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${app.address().port}/proxy/out-of-session`;
  });
  after(() => new Promise((resolve) => app.close(resolve)));

  test('a caller with no session is POSTed to it in Proxy\'s form, signed; the auto-create answer bridges', async () => {
    const api = client().proxy.v1;
    const svc = await api.services.create({ uniqueName: 'published', outOfSessionCallbackUrl: appUrl });
    assert.equal(svc.outOfSessionCallbackUrl, appUrl);
    const card = proxy(77);
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: card, isReserved: true });
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: proxy(78) });
    const [caller, agent] = [real(750), real(751)];
    answer = { status: 200, body: { participantIdentifier: agent, ttl: 300 } };
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: caller, to: card }));
    assert.equal(call.status, 200, call.text);
    assert.equal(asked.length, 1);
    const q = asked[0];
    assert.equal(q.url, '/proxy/out-of-session');
    assert.equal(q.headers['content-type'], 'application/x-www-form-urlencoded');
    const params = Object.fromEntries(new URLSearchParams(q.body));
    assert.equal(params.To, card);
    assert.equal(params.From, '+1******2750');
    assert.match(params.CallSid, /^CA/);
    assert.ok(!q.body.includes(caller.slice(1)), 'the caller\'s real number was sent');
    assert.equal(twilio.validateRequest(d.tokens.twilio, q.headers['x-twilio-signature'], appUrl, params), true);
    assert.equal(twilio.validateRequest('not-the-token', q.headers['x-twilio-signature'], appUrl, params), false);
    // auto-create: the caller keeps the dialled (reserved) number, the agent is bridged
    const intId = markup.interactionIdOf(call.text);
    assert.ok(intId, call.text);
    assert.match(call.text, new RegExp(agent.replace('+', '\\+')));
    const sessions = await api.services(svc.sid).sessions.list();
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].ttl, 300);
    const parts = await api.services(svc.sid).sessions(sessions[0].sid).participants.list();
    assert.deepEqual(parts.map((p) => p.identifier).sort(), ['+1******2750', '+1******2751']);
    assert.equal(parts.find((p) => p.identifier === '+1******2750').proxyIdentifier, card);

    // a text from another stranger, answered with TwiML (not supported): the service's failure policy
    answer = { status: 200, body: '<Response/>' };
    const text = await d.webhook('twilio', 'message', messageParams('twilio', { from: real(752), to: card, body: 'hello' }));
    assert.equal(text.status, 200, text.text);
    assert.equal(asked.length, 2);
    const tp = Object.fromEntries(new URLSearchParams(asked[1].body));
    assert.equal(tp.Body, 'hello');
    assert.match(tp.MessageSid, /^(SM|MM)/);
    assert.equal(twilio.validateRequest(d.tokens.twilio, asked[1].headers['x-twilio-signature'], appUrl, tp), true);
    assert.equal((await api.services(svc.sid).sessions.list()).length, 1, 'a refused answer created a session');
    assertNoRealNumbers(await fs.readFile(d.logPath, 'utf8'), [caller, agent, real(752), A_REMOVED], 'the log');
  });
});

test('the Proxy tree shares the key\'s MASKD_API_RATE budget: 429 with code 20429', async () => {
  const d2 = await startDaemon({ env: { MASKD_API_RATE: '2' } });
  let ok = false;
  try {
    const put = await d2.api('PUT', '/v1/account', { twilio_account_sid: ACCOUNT, twilio_auth_token: 'token' });
    assert.equal(put.status, 200, put.text);
    const auth = { Authorization: `Basic ${Buffer.from(`${ACCOUNT}:${d2.adminKey}`).toString('base64')}` };
    const burst = await Promise.all(Array.from({ length: 10 }, () => d2.request('GET', '/v1/Services', { headers: auth })));
    const limited = burst.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, `no 429 in a burst of 10: ${burst.map((r) => r.status).join(' ')}`);
    const body = JSON.parse(limited[0].text);
    assert.equal(body.code, 20429);
    assert.equal(body.status, 429);
    assert.match(limited[0].headers['retry-after'] ?? '', /^\d+$/);
    ok = true;
  } finally {
    await d2.stop();
    if (ok) await d2.removeTmp();
  }
});

describe('twilio-proxy InterceptCallbackUrl', () => {
  const asked = [];
  let status = 200;
  const app = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      asked.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end('');
    });
  });
  let appUrl;
  before(async () => {
    await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${app.address().port}/proxy/intercept`;
  });
  after(() => new Promise((resolve) => app.close(resolve)));

  test('each interaction is POSTed in Proxy\'s form, signed; a 403 blocks it, a 2xx lets it through', async () => {
    const api = client().proxy.v1;
    const svc = await api.services.create({ uniqueName: 'intercepted', interceptCallbackUrl: appUrl });
    assert.equal(svc.interceptCallbackUrl, appUrl);
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: proxy(81) });
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: proxy(82) });
    const [A, B] = [real(760), real(761)];
    const ses = await api.services(svc.sid).sessions.create({ uniqueName: 'icp-1' });
    const pa = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: A });
    const pb = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: B });

    status = 200;
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: pa.proxyIdentifier }));
    assert.equal(call.status, 200, call.text);
    const intId = markup.interactionIdOf(call.text);
    assert.equal(call.text, markup.bridge('twilio', { callerId: pb.proxyIdentifier, real: B, intId }));
    assert.equal(asked.length, 1);
    const q = asked[0];
    assert.equal(q.headers['content-type'], 'application/x-www-form-urlencoded');
    const params = Object.fromEntries(new URLSearchParams(q.body));
    assert.equal(twilio.validateRequest(d.tokens.twilio, q.headers['x-twilio-signature'], appUrl, params), true);
    assert.equal(params.interactionServiceSid, svc.sid);
    assert.equal(params.interactionSessionSid, ses.sid);
    assert.equal(params.inboundParticipantSid, pa.sid);
    assert.equal(params.interactionType, 'Voice');
    assert.equal(params.inboundResourceType, 'call');
    assert.match(params.interactionSid, /^KI[0-9a-f]{32}$/);
    assert.ok(!q.body.includes(A.slice(2)) && !q.body.includes(B.slice(2)), 'a real number was sent');

    status = 403;
    const text = await d.webhook('twilio', 'message', messageParams('twilio', { from: A, to: pa.proxyIdentifier, body: 'hi there' }));
    assert.equal(text.status, 200, text.text);
    assert.equal(text.text, markup.reply('twilio', { to: A, from: pa.proxyIdentifier, body: 'Your message was not delivered.' }));
    assert.equal(asked.length, 2);
    const tp = Object.fromEntries(new URLSearchParams(asked[1].body));
    assert.equal(twilio.validateRequest(d.tokens.twilio, asked[1].headers['x-twilio-signature'], appUrl, tp), true);
    assert.equal(tp.interactionType, 'Message');
    assert.deepEqual(JSON.parse(tp.interactionData), { body: 'hi there' });

    // the native view of the same service: the intercept is its intercept_url, failing open as Proxy does
    const sid = svc.sid;
    const nativeId = (await d.api('GET', '/v1/services')).json.services.find((s) => s.intercept_url === appUrl)?.id;
    assert.ok(nativeId, `no native service with the intercept of ${sid}`);
    const native = (await d.api('GET', `/v1/services/${nativeId}`)).json;
    assert.equal(native.intercept_fail_open, true);
    const updated = await api.services(svc.sid).update({ interceptCallbackUrl: '' });
    assert.equal(updated.interceptCallbackUrl, null);
    assert.equal((await d.api('GET', `/v1/services/${nativeId}`)).json.intercept_url, null);
  });
});

describe('twilio-proxy CallbackUrl', () => {
  const got = []; // every request the app received: {path, headers, body, params, answered}
  const failFirst = new Set(); // paths whose first request is answered 500
  const app = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url;
      let answered = 200;
      if (failFirst.has(path)) {
        failFirst.delete(path);
        answered = 500;
      }
      got.push({ path, headers: req.headers, body, params: Object.fromEntries(new URLSearchParams(body)), answered });
      res.writeHead(answered, { 'Content-Type': 'text/plain' });
      res.end('');
    });
  });
  let base;
  before(async () => {
    await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${app.address().port}`;
  });
  after(() => new Promise((resolve) => app.close(resolve)));

  /** A Proxy service calling back url, two numbers, a session and its two participants. */
  async function setup(name, url, n) {
    const api = client().proxy.v1;
    const svc = await api.services.create({ uniqueName: name, callbackUrl: url });
    assert.equal(svc.callbackUrl, url);
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: proxy(n) });
    await api.services(svc.sid).phoneNumbers.create({ phoneNumber: proxy(n + 1) });
    const [A, B] = [real(n * 10), real(n * 10 + 1)];
    const ses = await api.services(svc.sid).sessions.create({ uniqueName: `${name}-1` });
    const pa = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: A });
    const pb = await api.services(svc.sid).sessions(ses.sid).participants.create({ identifier: B });
    return { svc, ses, pa, pb, A, B };
  }

  /** The callbacks received at path for interaction ki (answered 2xx when ok). */
  const callbacks = (path, ki) => got.filter((g) => g.path === path && g.params.interactionSid === ki);

  test('a signed call and text each reach the CallbackUrl in Proxy\'s form, signed, SIDs only', async () => {
    const path = '/proxy/callback';
    const url = `${base}${path}`;
    const { svc, ses, pa, pb, A, B } = await setup('called-back', url, 84);

    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: A, to: pa.proxyIdentifier }));
    assert.equal(call.status, 200, call.text);
    const intId = markup.interactionIdOf(call.text);
    assert.equal(call.text, markup.bridge('twilio', { callerId: pb.proxyIdentifier, real: B, intId }));
    const interactions = await client().proxy.v1.services(svc.sid).sessions(ses.sid).interactions.list();
    assert.equal(interactions.length, 1);
    const ki = interactions[0].sid;
    await waitFor('the call\'s callback', () => callbacks(path, ki).length === 1);
    const q = callbacks(path, ki)[0];
    assert.equal(q.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(twilio.validateRequest(d.tokens.twilio, q.headers['x-twilio-signature'], url, q.params), true);
    assert.equal(twilio.validateRequest('not-the-token', q.headers['x-twilio-signature'], url, q.params), false);
    assert.equal(q.params.interactionServiceSid, svc.sid);
    assert.equal(q.params.interactionSessionSid, ses.sid);
    assert.equal(q.params.inboundParticipantSid, pa.sid);
    assert.equal(q.params.outboundParticipantSid, pb.sid);
    assert.equal(q.params.interactionType, 'Voice');
    assert.equal(q.params.inboundResourceType, 'call');
    assert.match(q.params.inboundResourceSid, /^CA/);
    assert.match(q.params.interactionDateCreated, /^\d{4}-\d\d-\d\dT/);
    assert.ok(!q.body.includes(A.slice(2)) && !q.body.includes(B.slice(2)), 'a real number was sent');

    // the callee's leg completes (its status callback): one more callback, with the outbound resource
    const child = `CA${crypto.randomBytes(16).toString('hex')}`;
    const st = await d.webhook('twilio', 'status',
      { AccountSid: ACCOUNT, CallSid: child, ParentCallSid: q.params.inboundResourceSid, CallStatus: 'completed', CallDuration: '42' },
      { query: { interaction: intId } });
    assert.equal(st.status, 200, st.text);
    await waitFor('the leg\'s callback', () => callbacks(path, ki).length === 2);
    const l = callbacks(path, ki)[1];
    assert.equal(twilio.validateRequest(d.tokens.twilio, l.headers['x-twilio-signature'], url, l.params), true);
    assert.equal(l.params.outboundResourceSid, child);
    assert.equal(l.params.outboundResourceStatus, 'completed');
    assert.equal(l.params.outboundResourceType, 'call');
    assert.equal(l.params.outboundParticipantSid, pb.sid);
    assert.equal(l.params.inboundResourceSid, q.params.inboundResourceSid);

    const text = await d.webhook('twilio', 'message', messageParams('twilio', { from: B, to: pb.proxyIdentifier, body: 'on my way' }));
    assert.equal(text.status, 200, text.text);
    const after2 = await client().proxy.v1.services(svc.sid).sessions(ses.sid).interactions.list();
    const kt = after2.find((i) => i.sid !== ki)?.sid;
    assert.ok(kt, 'no interaction for the text');
    await waitFor('the text\'s callback', () => callbacks(path, kt).length === 1);
    const t = callbacks(path, kt)[0];
    assert.equal(twilio.validateRequest(d.tokens.twilio, t.headers['x-twilio-signature'], url, t.params), true);
    assert.equal(t.params.interactionType, 'Message');
    assert.equal(t.params.inboundResourceType, 'message');
    assert.equal(t.params.inboundParticipantSid, pb.sid);
    assert.equal(t.params.outboundParticipantSid, pa.sid);
    assert.ok(!t.body.includes(A.slice(2)) && !t.body.includes(B.slice(2)), 'a real number was sent');
    assert.ok(!t.body.includes('on my way'), 'the text was sent');
    assertNoRealNumbers(got.map((g) => g.body).join('\n'), [A, B]);
  });

  test('a CallbackUrl answering 500 then 200 gets the callback again, delivered once', async () => {
    const path = '/proxy/flaky';
    const url = `${base}${path}`;
    failFirst.add(path);
    const { svc, ses, pa } = await setup('called-back-flaky', url, 86);
    const call = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: real(860), to: pa.proxyIdentifier }));
    assert.equal(call.status, 200, call.text);
    const [it] = await client().proxy.v1.services(svc.sid).sessions(ses.sid).interactions.list();
    const ki = it.sid;
    await waitFor('the callback tried again', () => callbacks(path, ki).length === 2);
    const [first, second] = callbacks(path, ki);
    assert.equal(first.answered, 500);
    assert.equal(second.answered, 200);
    assert.equal(second.body, first.body);
    assert.equal(twilio.validateRequest(d.tokens.twilio, second.headers['x-twilio-signature'], url, second.params), true);
    // the outbox row is settled as sent after its second try: no third delivery can follow
    await waitFor('the outbox row settled', async () =>
      (await sql(`SELECT status, tries FROM outbox WHERE url = '${url}'`)).join(',') === '2|2');
    assert.equal(callbacks(path, ki).length, 2);
  });
});
