// SPDX-License-Identifier: MIT
// overview.js - the live overview: open sessions, webhooks per minute by
// outcome, signature failures and errors (rates from the differences between
// two GET /v1/stats samples), and the selected service's pool headroom by
// country and area code (GET /v1/services/{id}/pool). Polls while shown.

import { api, seg } from '../api.js';
import { barChart, lineChart } from '../chart.js';
import { clearError, el, fill, pollMs, showError } from '../ui.js';

const KEEP = 60; // samples kept per series
const OUTCOMES = ['bridge', 'forward_message', 'reject', 'acknowledge', 'status'];
let history = []; // [{t, stats}] kept across visits of this tab

function perMinute(key, pick) {
  const out = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i];
    const dt = (b.t - a.t) / 60000;
    out.push(dt > 0 ? Math.max(0, pick(b.stats, key) - pick(a.stats, key)) / dt : 0);
  }
  return out;
}

const webhook = (s, k) => s.webhooks[k];

function tile(label, value, id) {
  return el('div', { class: 'tile' }, el('span', { class: 'value', id }, String(value)), label);
}

function draw(view, svc, pool) {
  const last = history[history.length - 1].stats;
  const open = last.store ? last.store.sessions_open : '—';
  const rates = OUTCOMES.map((k) => ({ name: k, values: perMinute(k, webhook) }));
  const failures = [
    { name: 'bad signature', values: perMinute('bad_signature', webhook) },
    { name: 'webhook errors', values: perMinute('error', webhook) },
    { name: 'bad requests', values: perMinute('bad_request', webhook) },
    { name: 'API errors', values: perMinute('errors', (s) => s.api.errors) },
  ];
  const children = [
    el('div', { class: 'tiles' },
      tile('open sessions (all services)', open, 'tile-open'),
      tile('webhooks answered', Object.values(last.webhooks).reduce((a, b) => a + b, 0), 'tile-webhooks'),
      tile('signature failures', last.webhooks.bad_signature, 'tile-badsig'),
      tile('webhook errors', last.webhooks.error, 'tile-errors'),
      tile('sessions created', last.sessions.created, 'tile-created')),
    el('div', { class: 'grid' },
      el('section', { class: 'panel', 'aria-labelledby': 'h-open' }, el('h2', { id: 'h-open' }, 'Open sessions'),
        lineChart('Open sessions over time', [{ name: 'open sessions', values: history.filter((h) => h.stats.store).map((h) => h.stats.store.sessions_open) }])),
      el('section', { class: 'panel', 'aria-labelledby': 'h-rate' }, el('h2', { id: 'h-rate' }, 'Webhooks per minute by outcome'),
        lineChart('Webhooks per minute by outcome', rates)),
      el('section', { class: 'panel', 'aria-labelledby': 'h-fail' }, el('h2', { id: 'h-fail' }, 'Signature failures and errors per minute'),
        lineChart('Signature failures and errors per minute', failures))),
  ];
  if (pool) {
    const byCountry = Object.entries(pool.by_country).map(([k, g]) => ({ label: k, values: [g.headroom, g.sessions] }));
    const byArea = Object.entries(pool.by_area_code).map(([k, g]) => ({ label: k, values: [g.headroom, g.sessions] }));
    children.push(el('div', { class: 'grid' },
      el('section', { class: 'panel', 'aria-labelledby': 'h-pc' }, el('h2', { id: 'h-pc' }, `Pool headroom by country (${svc.name})`),
        barChart('Pool headroom and sessions by country', ['headroom', 'sessions'], byCountry)),
      el('section', { class: 'panel', 'aria-labelledby': 'h-pa' }, el('h2', { id: 'h-pa' }, `Pool headroom by area code (${svc.name})`),
        barChart('Pool headroom and sessions by area code', ['headroom', 'sessions'], byArea)),
      el('section', { class: 'panel', 'aria-labelledby': 'h-pt' }, el('h2', { id: 'h-pt' }, 'Pool in total'),
        el('dl', { class: 'facts' },
          el('dt', {}, 'numbers'), el('dd', {}, String(pool.total.numbers)),
          el('dt', {}, 'active / reserved / retired'), el('dd', {}, `${pool.total.active} / ${pool.total.reserved} / ${pool.total.retired}`),
          el('dt', {}, 'headroom'), el('dd', { id: 'pool-headroom' }, String(pool.total.headroom)),
          el('dt', {}, 'utilisation'), el('dd', {}, `${Math.round(pool.total.utilisation * 100)} %`),
          el('dt', {}, 'busiest participant can still get'), el('dd', {}, `${pool.participants.headroom_of_busiest} numbers`)))));
  } else {
    children.push(el('p', { class: 'muted' }, 'No service yet: create one on the Services page to see its pool.'));
  }
  children.push(el('p', { class: 'muted', id: 'samples' }, `${history.length} samples, every ${pollMs() / 1000} s; counters since maskd started.`));
  fill(view, ...children);
}

export async function render(ctx) {
  fill(ctx.main, el('h1', {}, 'Overview'));
  const view = el('div', { id: 'overview' });
  ctx.main.append(view);
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      const [stats, pool] = await Promise.all([api('GET', '/v1/stats'),
        ctx.service ? api('GET', `/v1/services/${seg(ctx.service.id)}/pool`) : null]);
      if (stopped) return;
      history.push({ t: Date.now(), stats });
      if (history.length > KEEP) history = history.slice(-KEEP);
      draw(view, ctx.service, pool);
      clearError();
    } catch (e) {
      if (!stopped) showError(e);
    }
    if (!stopped) timer = setTimeout(tick, pollMs());
  };
  ctx.onCleanup(() => { stopped = true; clearTimeout(timer); });
  await tick();
}
