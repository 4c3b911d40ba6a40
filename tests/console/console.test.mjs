// SPDX-License-Identifier: MIT
// The admin console in a real browser: playwright-core driving Debian's
// Chromium against the real maskd (tests/blackbox/lib/daemon.mjs starts it, on
// SQLite or, with MASKD_TEST_PG_URL, on PostgreSQL), serving web/ itself.
//   - a wrong key is refused with the API's message and nothing is stored;
//   - the flow: log in, see a session created through the API, open it, see a
//     signed Twilio webhook's interaction appear, close it (confirmed), see its
//     session.closed event (the detail reads the service's events pull API);
//   - the other pages: overview charts updating, numbers add / reserve / delete
//     with confirmation and an API error shown, services forms (a PATCH applied),
//     records with the CSV download;
//   - axe-core: no serious or critical violation on any page, at 1280×800 and
//     at 390 px wide, where the page itself does not scroll sideways;
//   - no real number in the DOM of any page or in any network response (all
//     recorded), and the key in sessionStorage only, never localStorage.
// Screenshots go to build-test/console-screenshots/ (not committed).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

import { REPO, SCALE, startDaemon } from '../blackbox/lib/daemon.mjs';
import { addNumber, assertNoRealNumbersAny, createService, createSession, voiceParams } from '../blackbox/lib/fixtures.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(REPO, 'build-test', 'console-screenshots');
const WAIT = 15_000 * SCALE;
const RIDER = '+14152371234';
const DRIVER = '+14152375678';
const REALS = [RIDER, DRIVER];
const POOL = ['+14155550100', '+14155550101'];

let d;
let browser;
let svc;
let session;
const responses = []; // every answer the browser received: {url, status, text}
const domSnapshots = []; // the DOM of every page visited: {what, html}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  d = await startDaemon({ env: { MASKD_CONSOLE_DIR: path.join(REPO, 'web') } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  svc = await createService(d, { name: 'Rides' });
  for (const n of POOL) await addNumber(d, svc.id, n, { carrier: 'twilio' });
  session = await createSession(d, svc.id, { unique_name: 'ride-4711', participants: [[RIDER, 'Rider'], [DRIVER, 'Driver']] });
});

let failed = false;
afterEach((t) => { if (t.passed === false) failed = true; });

after(async () => {
  await browser?.close();
  if (!d) return;
  await d.stop();
  if (failed || process.env.MASKD_TEST_KEEP) process.stderr.write(`# maskd temp dir kept: ${d.tmp} (log ${d.logPath})\n`);
  else await d.removeTmp();
});

/** A fresh page whose every response body is recorded. */
async function newPage(viewport = { width: 1280, height: 800 }) {
  if (d.exited) throw new Error(`maskd exited (${d.exited.code ?? d.exited.signal}):\n${d.logTail()}`);
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('response', async (r) => {
    let text = '';
    try { text = await r.text(); } catch { /* a redirect or an aborted body has none */ }
    responses.push({ url: r.url(), status: r.status(), text });
  });
  page.on('pageerror', (e) => responses.push({ url: 'pageerror', status: 0, text: String(e) }));
  return { context, page };
}

async function login(page, key) {
  await page.goto(`${d.base}/console/?poll=${400 * SCALE}`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** axe on the page as it is: fails on any serious or critical violation. */
async function axe(page, what) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `${what}: accessibility violations`);
}

async function snapshot(page, what) {
  domSnapshots.push({ what, html: await page.content() });
  await page.screenshot({ path: path.join(SHOTS, `${what}.png`), fullPage: true });
}

async function confirmDialog(page, label) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: label }).click();
  await dialog.waitFor({ state: 'hidden' });
}

test('a wrong key is refused with the API message and nothing is kept', async () => {
  const { context, page } = await newPage();
  await login(page, 'not-the-key-of-this-maskd');
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'missing, wrong, revoked or expired bearer key' }).waitFor());
  assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
  assert.equal(await page.getByRole('navigation', { name: 'Pages' }).isVisible(), false);
  await axe(page, 'login refused');
  await snapshot(page, 'login-refused');
  await context.close();
});

test('log in, open a session made through the API, see a webhook interaction, close it, see the event', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('maskd.key')), d.adminKey);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

  await page.getByRole('link', { name: 'Sessions' }).click();
  const row = page.getByRole('row').filter({ hasText: 'ride-4711' });
  await row.waitFor();
  assert.match(await row.innerText(), /\+1\*{6}1234/);
  await axe(page, 'sessions');
  await snapshot(page, 'sessions');
  await row.getByRole('link', { name: 'ride-4711' }).click();
  await page.getByRole('heading', { name: 'Session ride-4711' }).waitFor();
  await page.getByText('No call or message yet.').waitFor();

  const rider = session.participants[0];
  const hook = await d.webhook('twilio', 'voice', voiceParams('twilio', { from: RIDER, to: rider.proxy_number }));
  assert.equal(hook.status, 200);
  assert.match(hook.text, /<Dial/);
  const item = page.locator('#interactions li');
  await item.first().waitFor(); // the detail polls: the call appears without a reload
  assert.match(await item.first().innerText(), /voice · bridge/);
  assert.match(await item.first().innerText(), /Rider → Driver/);
  await axe(page, 'session detail');
  await snapshot(page, 'session-detail');

  await page.getByRole('button', { name: 'Close', exact: true }).click();
  await confirmDialog(page, 'Close session');
  await page.locator('#events li[data-kind="session.closed"][data-reason="api"]').waitFor();
  assert.match(await page.locator('#events li[data-kind="session.created"]').innerText(), /session\.created/);
  assert.equal(await page.locator('#session-status').innerText(), 'closed');
  const api = await d.api('GET', `/v1/sessions/${session.id}`);
  assert.equal(api.json.status, 'closed');
  await page.getByRole('button', { name: 'Re-open' }).waitFor();
  await snapshot(page, 'session-closed');
  await context.close();
});

test('a cancelled confirmation changes nothing', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${d.base}/console/?poll=${400 * SCALE}#/sessions/${session.id}`);
  await page.getByRole('button', { name: 'Re-open' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await d.api('GET', `/v1/sessions/${session.id}`)).json.status, 'closed');
  await context.close();
});

test('re-open, swap a number and block, each confirmed; each shows as an event', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${d.base}/console/?poll=${400 * SCALE}#/sessions/${session.id}`);
  await page.getByRole('button', { name: 'Re-open' }).click();
  await confirmDialog(page, 'Re-open');
  await page.locator('#events li[data-kind="session.reopened"]').waitFor();
  assert.equal((await d.api('GET', `/v1/sessions/${session.id}`)).json.status, 'open');

  const before = (await d.api('GET', `/v1/sessions/${session.id}`)).json.participants[0].proxy_number;
  await page.getByRole('button', { name: 'Swap the proxy number of Rider' }).click();
  await confirmDialog(page, 'Swap number');
  await page.locator('#events li[data-kind="participant.number_swapped"]').waitFor();
  const after = (await d.api('GET', `/v1/sessions/${session.id}`)).json.participants[0].proxy_number;
  assert.notEqual(after, before);
  await page.getByRole('cell', { name: after, exact: true }).first().waitFor();

  await page.getByRole('button', { name: 'Block' }).click();
  await confirmDialog(page, 'Block session');
  await page.locator('#events li[data-kind="session.closed"][data-reason="blocked"]').waitFor();
  assert.equal((await d.api('GET', `/v1/sessions/${session.id}`)).json.status, 'blocked');
  await snapshot(page, 'session-blocked');

  // an API error on a page is shown, never a blank page
  await page.goto(`${d.base}/console/#/sessions/ses_nosuchsession0000000000000`);
  await page.getByRole('alert').filter({ hasText: 'not_found' }).waitFor();
  assert.ok((await page.getByRole('link', { name: 'All sessions' }).count()) === 1, 'the page around the error stays');
  await context.close();
});

test('the overview charts update live', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('heading', { name: 'Webhooks per minute by outcome' }).waitFor();
  await page.locator('#samples').filter({ hasText: /^([3-9]|\d\d+) samples/ }).waitFor();
  const points = await page.locator('polyline[data-series="bridge"]').getAttribute('data-points');
  assert.ok(Number(points) >= 2, `the webhook rate has ${points} points`);
  await page.getByText('Pool headroom by area code (Rides)').waitFor();
  assert.ok(await page.locator('svg[aria-label^="Pool headroom and sessions by area code"] rect').count() >= 2);
  await axe(page, 'overview');
  await snapshot(page, 'overview');
  await context.close();
});

test('numbers: add, reserve and delete with confirmation; an API refusal is shown', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('link', { name: 'Numbers' }).click();
  await page.getByRole('heading', { name: 'Add a number' }).waitFor();
  await page.getByLabel('Number (E.164)').fill('+14155550102');
  await page.getByRole('button', { name: 'Add number' }).click();
  await confirmDialog(page, 'Add number');
  const row = page.getByRole('row').filter({ hasText: '+14155550102' });
  await row.waitFor();
  await row.getByRole('button', { name: 'Reserve +14155550102' }).click();
  await confirmDialog(page, 'Reserve');
  await row.getByText('reserved', { exact: true }).waitFor();
  let nums = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers;
  assert.equal(nums.find((n) => n.number === '+14155550102').state, 'reserved');

  await page.getByLabel('Number (E.164)').fill(POOL[0]); // already in the pool: 409
  await page.getByRole('button', { name: 'Add number' }).click();
  await confirmDialog(page, 'Add number');
  await page.getByRole('alert').filter({ hasText: 'conflict' }).waitFor();
  await axe(page, 'numbers');
  await snapshot(page, 'numbers');

  await row.getByRole('button', { name: 'Delete +14155550102' }).click();
  await confirmDialog(page, 'Delete number');
  await row.waitFor({ state: 'detached' });
  nums = (await d.api('GET', `/v1/services/${svc.id}/numbers`)).json.numbers;
  assert.equal(nums.some((n) => n.number === '+14155550102'), false);
  await context.close();
});

test('services: defaults saved through the form; credentials only replaced, never shown', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('link', { name: 'Services' }).click();
  await page.getByRole('heading', { name: 'Defaults of Rides' }).waitFor();
  await page.getByLabel('Idle timeout (s, 0 = none)').fill('900');
  await page.getByRole('button', { name: 'Save defaults' }).click();
  await confirmDialog(page, 'Save');
  await page.getByRole('status').filter({ hasText: 'Saved the defaults.' }).waitFor();
  assert.equal((await d.api('GET', `/v1/services/${svc.id}`)).json.defaults.ttl, 900);
  assert.equal(await page.getByText(d.tokens.twilio).count(), 0, 'the auth token is not in the page');
  await page.getByText('twilio: configured').waitFor();
  await axe(page, 'services');
  await snapshot(page, 'services');
  await context.close();
});

test('records: the table and the CSV download', async () => {
  const { context, page } = await newPage();
  await login(page, d.adminKey);
  await page.getByRole('link', { name: 'Records' }).click();
  await page.getByRole('heading', { name: 'Usage per day' }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^interaction_id,session_id,channel,carrier,decision,leg,/);
  assertNoRealNumbersAny(csv, REALS, 'the CSV download');
  await axe(page, 'records');
  await snapshot(page, 'records');
  await context.close();
});

test('every page at 390 px wide: no sideways scroll, no serious accessibility violation', async () => {
  const { context, page } = await newPage({ width: 390, height: 844 });
  await login(page, d.adminKey);
  for (const [hash, heading] of [['overview', 'Overview'], ['sessions', 'Sessions'], [`sessions/${session.id}`, 'Session ride-4711'],
    ['numbers', 'Numbers'], ['services', 'Services'], ['records', 'Records']]) {
    await page.goto(`${d.base}/console/?poll=${400 * SCALE}#/${hash}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `#/${hash} scrolls sideways by ${overflow} px at 390 px`);
    await axe(page, `${hash} at 390 px`);
    await snapshot(page, `phone-${hash.replace('/', '-')}`);
  }
  await context.close();
});

test('no real number reached the browser: not in any DOM, not in any network response', () => {
  assert.ok(responses.length > 20, `${responses.length} responses recorded`);
  assert.ok(domSnapshots.length >= 10, `${domSnapshots.length} pages recorded`);
  for (const r of responses) assertNoRealNumbersAny(r.text, REALS, `response ${r.status} ${r.url}`);
  for (const s of domSnapshots) assertNoRealNumbersAny(s.html, REALS, `the DOM of ${s.what}`);
  assert.equal(responses.filter((r) => r.url === 'pageerror').length, 0,
    `page errors: ${responses.filter((r) => r.url === 'pageerror').map((r) => r.text).join('; ')}`);
});
