// SPDX-License-Identifier: MIT
// records.js - the selected service's call records (GET
// /v1/services/{id}/records) for a period, filtered further by channel and
// status in the page, with the API's own CSV as a download, and usage per day
// (GET /v1/services/{id}/usage) as a chart.

import { api, seg } from '../api.js';
import { barChart } from '../chart.js';
import { clearError, el, field, fill, fmtNum, fmtTime, guarded, selectField, table } from '../ui.js';

let filter = { from: '', to: '', channel: '', status: '' };

export async function render(ctx) {
  fill(ctx.main, el('h1', {}, 'Records'));
  if (!ctx.service) {
    ctx.main.append(el('p', { class: 'muted' }, 'No service yet: create one on the Services page.'));
    return;
  }
  const svc = ctx.service;
  const form = el('form', { class: 'inline panel', role: 'search', 'aria-label': 'Filter records' },
    field('r-from', 'From (date)', { type: 'date', value: filter.from }),
    field('r-to', 'To (date, exclusive)', { type: 'date', value: filter.to }),
    selectField('r-channel', 'Channel', [['', 'any'], ['voice', 'voice'], ['message', 'message']], filter.channel),
    field('r-status', 'Leg status', { type: 'text', value: filter.status, placeholder: 'completed' }),
    el('button', { type: 'submit' }, 'Show'),
    el('button', { type: 'button', class: 'secondary', id: 'csv' }, 'Download CSV'));
  const usage = el('section', { class: 'panel', 'aria-labelledby': 'h-usage' });
  const rows = el('div', { id: 'record-rows' });
  ctx.main.append(form, usage, el('h2', {}, 'Call records'), rows);
  const period = () => {
    const q = new URLSearchParams();
    if (filter.from) q.set('from', filter.from);
    if (filter.to) q.set('to', filter.to);
    return q;
  };
  const load = async () => {
    const q = period();
    const [rec, use] = await Promise.all([api('GET', `/v1/services/${seg(svc.id)}/records?${q}`),
      api('GET', `/v1/services/${seg(svc.id)}/usage?${q}`)]);
    const shown = rec.records.filter((r) => (!filter.channel || r.channel === filter.channel) &&
      (!filter.status || r.status === filter.status));
    fill(usage, el('h2', { id: 'h-usage' }, 'Usage per day'),
      barChart('Calls, messages and billable minutes per day', ['calls', 'messages', 'billable minutes'],
        use.days.map((d) => ({ label: d.date.slice(5), values: [d.calls, d.messages, Math.round(d.billable_seconds / 60)] }))),
      el('p', { class: 'muted' }, `Total: ${use.total.calls} calls, ${use.total.messages} messages, ${use.total.keywords} keywords, ${use.total.billable_seconds} billable seconds.`));
    fill(rows, table(`${shown.length} of ${rec.records.length} legs${rec.next_from ? ' (more after this page: narrow the period)' : ''}`, [
      { label: 'Started', get: (r) => fmtTime(r.started_at) },
      { label: 'Channel', get: (r) => r.channel },
      { label: 'Decision', get: (r) => r.decision },
      { label: 'Leg', get: (r) => r.leg },
      { label: 'Status', get: (r) => r.status || '—' },
      { label: 'Proxy number', get: (r) => r.proxy_number || '—' },
      { label: 'Other country', get: (r) => r.other_country || '—' },
      { label: 'Billable s', get: (r) => fmtNum(r.billable_seconds ?? r.duration), num: true },
      { label: 'Session', get: (r) => el('a', { href: `#/sessions/${r.session_id}` }, r.session_id) },
    ], shown, 'No record in this period.'));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    filter = { from: form.querySelector('#r-from').value, to: form.querySelector('#r-to').value,
      channel: form.querySelector('#r-channel').value, status: form.querySelector('#r-status').value.trim() };
    clearError();
    guarded(load);
  });
  form.querySelector('#csv').addEventListener('click', () => guarded(async () => {
    clearError();
    const q = period();
    q.set('format', 'csv');
    const text = await api('GET', `/v1/services/${seg(svc.id)}/records?${q}`, undefined, { asText: true, accept: 'text/csv' });
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `maskd-records-${svc.id}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }));
  await load();
}
