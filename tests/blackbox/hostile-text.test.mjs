// SPDX-License-Identifier: MIT
// Hostile SMS bodies through every dialect: invalid UTF-8, lone and paired surrogates as
// CESU-8/WTF-8 encode them, truncated and overlong sequences, U+FFFE/U+FFFF, C0 controls and
// DEL, mixed with XML's special characters. Every answer maskd renders must be well-formed:
// each XML answer (TwiML, cXML, Plivo and Vobiz XML, TeXML) is checked by libxml2's xmllint
// (Debian libxml2-utils), each REST send (Telnyx, Vonage) must be valid UTF-8 that JSON.parse
// accepts, with the text still there (U+FFFD in place of what could not be carried).
// Form-encoded webhooks carry the raw bytes (%XX), so the signatures are computed here over
// bytes, by each carrier's documented construction.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { PUBLIC_URL, useDaemon, waitFor } from './lib/daemon.mjs';
import { addPool, createService, createSession, messageParams } from './lib/fixtures.mjs';
import { assertValid, proxy, real } from './lib/numbers.mjs';

const b = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const CORPUS = [
  ['invalid byte', b('hi \xff there \xe9')],
  ['lone high surrogate (WTF-8)', b('a \xed\xa0\x80 b')],
  ['lone low surrogate', b('a \xed\xbf\xbf b')],
  ['surrogate pair (CESU-8)', b('smile \xed\xa0\xbd\xed\xb8\x80')],
  ['truncated sequence', b('euro \xe2\x82')],
  ['overlong slash', b('path \xc0\xaf x')],
  ['U+FFFE and U+FFFF', b('not \xef\xbf\xbe chars \xef\xbf\xbf')],
  ['C0 controls and DEL', b('bell \x07 esc \x1b vt \x0b ff \x0c del \x7f soh \x01')],
  ['markup and controls', b('</Message><x a="', '\x01', '"> & ]]> \x02 \xf4\x90\x80\x80')],
];

// The carriers' REST APIs (Telnyx, Vonage): raw request bytes are kept.
const captured = [];
const capture = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    captured.push({ url: req.url, raw });
    res.setHeader('Content-Type', 'application/json');
    if (req.url.includes('/sms/json')) {
      res.end(JSON.stringify({ 'message-count': '1', messages: [{ to: '1', 'message-id': crypto.randomUUID(), status: '0' }] }));
    } else {
      res.end(JSON.stringify({ data: { id: crypto.randomUUID(), record_type: 'message', type: 'SMS' } }));
    }
  });
});
await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
const API = `http://127.0.0.1:${capture.address().port}`;
after(() => new Promise((resolve) => capture.close(resolve)));

const d = useDaemon({
  env: { MASKD_TELNYX_API_URL: `${API}/telnyx`, MASKD_VONAGE_API_URL: `${API}/vonage`, MASKD_SEND_RETRY_MS: '20' },
});

/** xmllint's verdict on text: throws with its message unless well-formed. */
function assertWellFormedXml(text, what) {
  try {
    execFileSync('xmllint', ['--noout', '-'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(`${what}: not well-formed XML (xmllint: ${e.stderr?.toString() ?? e.message}):\n${text}`);
  }
}

/** Strict UTF-8 then JSON.parse. */
function parseStrictJson(raw, what) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    assert.fail(`${what}: not valid UTF-8: ${raw.toString('hex')}`);
  }
  return JSON.parse(text);
}

const pct = (v) => {
  const buf = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
  let out = '';
  for (const c of buf) out += /[A-Za-z0-9_.~-]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
};
const formOf = (pairs) => pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
const bytes = (v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'));
const bare = (e164) => e164.replace(/^\+/, '');

// Twilio and SignalWire: base64 HMAC-SHA1 over the URL, then each key and value sorted by key.
function twilioSignature(token, url, pairs) {
  const h = crypto.createHmac('sha1', token).update(url);
  for (const [k, v] of [...pairs].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) h.update(k).update(bytes(v));
  return h.digest('base64');
}

const TELNYX_KEY = crypto.generateKeyPairSync('ed25519');
const TELNYX_PUBLIC = TELNYX_KEY.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
const VONAGE_SECRET = `vgsig_${crypto.randomBytes(16).toString('hex')}`;
const PLIVO_AUTH_ID = `MA${crypto.randomBytes(9).toString('hex').toUpperCase()}`;
const TOKENS = { plivo: `pl_${crypto.randomBytes(12).toString('hex')}`, vobiz: `vb_${crypto.randomBytes(12).toString('hex')}` };

const CARRIERS = {
  twilio: () => ({ twilio: { auth_token: d.tokens.twilio } }),
  signalwire: () => ({ signalwire: { signing_key: d.tokens.signalwire } }),
  telnyx: () => ({ telnyx: { public_key: TELNYX_PUBLIC, api_key: 'KEYtest_hostile' } }),
  plivo: () => ({ plivo: { auth_id: PLIVO_AUTH_ID, auth_token: TOKENS.plivo } }),
  vobiz: () => ({ vobiz: { auth_id: PLIVO_AUTH_ID, auth_token: TOKENS.vobiz } }),
  vonage: () => ({ vonage: { signature_secret: VONAGE_SECRET, api_key: 'abcd1234', api_secret: 'shostile' } }),
};

/** Sends the text `body` (a Buffer of raw bytes) from → to as `dialect` posts an inbound SMS. */
async function sendText(dialect, from, to, body) {
  if (dialect === 'twilio' || dialect === 'signalwire') {
    const pairs = messageParams(dialect, { from, to, body: 'x' }).map(([k, v]) => [k, k === 'Body' ? body : v]);
    const path = `/hooks/${dialect}/message`;
    const header = dialect === 'twilio' ? 'X-Twilio-Signature' : 'X-SignalWire-Signature';
    return d.request('POST', path, {
      kind: 'webhook', body: formOf(pairs),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', [header]: twilioSignature(d.tokens[dialect], PUBLIC_URL + path, pairs) },
    });
  }
  if (dialect === 'plivo' || dialect === 'vobiz') {
    // a message's V2 signature covers the URL and the nonce, not the parameters
    const path = `/hooks/${dialect}/message`;
    const nonce = String(crypto.randomInt(1e9, 1e10 - 1));
    const sig = crypto.createHmac('sha256', TOKENS[dialect]).update(PUBLIC_URL + path + nonce).digest('base64');
    const prefix = dialect === 'vobiz' ? 'X-Vobiz-Signature' : 'X-Plivo-Signature';
    const pairs = [['From', bare(from)], ['To', bare(to)], ['Type', 'sms'], ['Text', body], ['MessageUUID', crypto.randomUUID()]];
    return d.request('POST', path, {
      kind: 'webhook', body: formOf(pairs),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', [`${prefix}-V2`]: sig, [`${prefix}-V2-Nonce`]: nonce },
    });
  }
  if (dialect === 'vonage') {
    // the SMS "sig": md5 over "&k=v" sorted by key (values with & and = as _), then the secret
    const p = [['msisdn', bare(from)], ['to', bare(to)], ['messageId', crypto.randomBytes(8).toString('hex').toUpperCase()],
      ['text', body], ['type', 'text'], ['api-key', 'abcd1234'], ['timestamp', String(Math.floor(Date.now() / 1000))],
      ['nonce', crypto.randomUUID()], ['message-timestamp', new Date().toISOString().slice(0, 19).replace('T', ' ')]];
    const h = crypto.createHash('md5');
    for (const [k, v] of [...p].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
      h.update(`&${k}=`).update(Buffer.from(bytes(v).map((c) => (c === 0x26 || c === 0x3d ? 0x5f : c))));
    }
    h.update(VONAGE_SECRET);
    p.push(['sig', h.digest('hex')]);
    return d.request('GET', `/hooks/vonage/message?${formOf(p)}`, { kind: 'webhook' });
  }
  // Telnyx posts JSON: a body that is not UTF-8 is no JSON at all, so its text is what
  // JSON can carry (the decoder's U+FFFD, controls, U+FFFE, U+FFFF)
  const text = body.toString('utf8');
  const json = JSON.stringify({
    data: {
      event_type: 'message.received', id: crypto.randomUUID(), record_type: 'event',
      payload: { direction: 'inbound', id: crypto.randomUUID(), text, type: 'SMS', media: [],
        from: { phone_number: from }, to: [{ phone_number: to }] },
    },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = crypto.sign(null, Buffer.from(`${timestamp}|${json}`), TELNYX_KEY.privateKey).toString('base64');
  return d.request('POST', '/hooks/telnyx/message', {
    kind: 'webhook', body: json,
    headers: { 'Content-Type': 'application/json', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp },
  });
}

const DIALECTS = ['twilio', 'signalwire', 'telnyx', 'plivo', 'vobiz', 'vonage'];
const REST = { telnyx: '/telnyx/v2/messages', vonage: '/vonage/sms/json' };
const pairs = {};

before(async () => {
  await d.ready;
  let n = 0;
  for (const dialect of DIALECTS) {
    const svc = await createService(d, { name: `Hostile ${dialect}`, twilio: false, signalwire: false, carriers: CARRIERS[dialect]() });
    const pool = [proxy(80 + n, '628'), proxy(81 + n, '628')];
    assertValid(pool);
    await addPool(d, svc.id, pool, { carrier: dialect });
    const [a, c] = [real(5400 + n), real(5401 + n)];
    n += 2;
    const ses = await createSession(d, svc.id, { mode: 'message', participants: [[a, 'A'], [c, 'B']] });
    pairs[dialect] = { from: a, to: ses.participants[0].proxy_number };
  }
});

for (const dialect of DIALECTS) {
  test(`${dialect}: every hostile text gives a well-formed answer and send`, async () => {
    const { from, to } = pairs[dialect];
    for (const [what, body] of CORPUS) {
      const sent = captured.length;
      const r = await sendText(dialect, from, to, body);
      assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
      if (REST[dialect]) {
        assert.equal(r.text, '', `${what}: ${dialect} texts go by REST, the webhook's answer is empty`);
      } else {
        assertWellFormedXml(r.text, `${dialect} ${what}`);
      }
      if (REST[dialect]) {
        await waitFor(`${dialect} ${what}: the REST send`, () => captured.slice(sent).some((c) => c.url.startsWith(REST[dialect])));
        const send = captured.slice(sent).find((c) => c.url.startsWith(REST[dialect]));
        const o = parseStrictJson(send.raw, `${dialect} ${what} REST body`);
        assert.equal(typeof o.text, 'string', `${what}: the text is sent`);
        assert.ok(o.text.length > 0, `${what}: the text is sent`);
      } else {
        assert.match(r.text, /<Message[ >]/, `${what}: forwarded in markup`);
      }
    }
  });
}
