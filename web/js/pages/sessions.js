// SPDX-License-Identifier: MIT
// sessions.js - the sessions of the selected service, searched by unique_name
// and status, and one session's detail: participants (masked by the API),
// proxy numbers, the interaction timeline with its legs and recordings, the
// session's events (the service's events pull API, GET /v1/services/{id}/events,
// filtered to the session), and the actions close, block, re-open and swap a number, each
// confirmed first. The detail refreshes itself while shown.

import { api, seg } from '../api.js';
import { clearError, confirmAction, el, field, fill, fmtNum, fmtTime, guarded, pollMs, selectField, showError, table } from '../ui.js';

const STATUSES = [['', 'any'], ['open', 'open'], ['in-progress', 'in progress'], ['closed', 'closed'], ['blocked', 'blocked']];
let lastFilter = { unique_name: '', status: '' };

async function list(ctx) {
  fill(ctx.main, el('h1', {}, 'Sessions'));
  if (!ctx.service) {
    ctx.main.append(el('p', { class: 'muted' }, 'No service yet: create one on the Services page.'));
    return;
  }
  const form = el('form', { class: 'inline panel', role: 'search', 'aria-label': 'Search sessions' },
    field('f-unique', 'Unique name', { type: 'search', value: lastFilter.unique_name }),
    selectField('f-status', 'Status', STATUSES, lastFilter.status),
    el('button', { type: 'submit' }, 'Search'));
  const results = el('div', { id: 'session-results' });
  ctx.main.append(form, results);
  const load = async () => {
    const q = new URLSearchParams();
    if (lastFilter.unique_name) q.set('unique_name', lastFilter.unique_name);
    if (lastFilter.status) q.set('status', lastFilter.status);
    const r = await api('GET', `/v1/services/${seg(ctx.service.id)}/sessions${q.size ? `?${q}` : ''}`);
    fill(results, table(`${r.sessions.length} sessions of ${ctx.service.name}`, [
      { label: 'Unique name', get: (s) => el('a', { href: `#/sessions/${s.id}` }, s.unique_name || s.id) },
      { label: 'Status', get: (s) => el('span', { class: 'badge' }, s.status) },
      { label: 'Mode', get: (s) => s.mode },
      { label: 'Participants', get: (s) => s.participants.map((p) => `${p.label || 'participant'} ${p.number} via ${p.proxy_number}`).join('; ') },
      { label: 'Created', get: (s) => fmtTime(s.created_at) },
    ], r.sessions, 'No session matches.'));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    lastFilter = { unique_name: form.querySelector('#f-unique').value.trim(), status: form.querySelector('#f-status').value };
    clearError();
    guarded(load);
  });
  await load();
}

function legRows(legs) {
  return table('Legs', [
    { label: 'Leg', get: (l) => l.leg },
    { label: 'Status', get: (l) => l.status || '—' },
    { label: 'Duration (s)', get: (l) => fmtNum(l.duration), num: true },
    { label: 'Proxy number', get: (l) => l.proxy_number || '—' },
    { label: 'Started', get: (l) => fmtTime(l.started_at) },
    { label: 'Ended', get: (l) => fmtTime(l.ended_at) },
    { label: 'Recording', get: (l) => l.recording_id || '—' },
  ], legs, 'No legs reported yet.');
}

async function act(ctx, text, okLabel, method, path, body) {
  if (!(await confirmAction(text, okLabel))) return false;
  clearError();
  await api(method, path, body);
  return true;
}

/** A label for an event document of the pull API (docs/EVENTS.md). */
function eventText(e, byPar) {
  const d = e.data || {};
  const bits = [fmtTime(e.timestamp), e.type];
  if (d.reason) bits.push(d.reason);
  if (d.participant_id) bits.push(byPar[d.participant_id] || d.participant_id);
  if (d.proxy_number) bits.push(d.proxy_number);
  return bits.join(' · ');
}

/**
 * The session's events from the service's pull API (GET /v1/services/{id}/events), in commit
 * order. `feed` remembers the cursor of the last full page and the session's events before it,
 * so each poll reads only from there on (the API gives no cursor after a partial last page).
 */
async function sessionEvents(serviceId, sessionId, feed) {
  const tail = [];
  let after = feed.cursor;
  for (;;) {
    const page = await api('GET', `/v1/services/${seg(serviceId)}/events?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    const mine = page.events.filter((e) => e.data && e.data.session_id === sessionId);
    if (page.next === null) {
      tail.push(...mine);
      return feed.before.concat(tail);
    }
    feed.before.push(...mine);
    feed.cursor = page.next;
    after = page.next;
  }
}

async function detail(ctx) {
  const id = ctx.detail;
  fill(ctx.main, el('p', {}, el('a', { href: '#/sessions' }, '← All sessions')));
  const view = el('div', { id: 'session-detail' });
  ctx.main.append(view);
  let stopped = false;
  let timer;
  let shown = ''; // what is drawn: redraw only on a change, so a poll never moves a button under the pointer
  const feed = { cursor: null, before: [] };
  const draw = async () => {
    const s = await api('GET', `/v1/sessions/${seg(id)}`);
    const [ints, evs] = await Promise.all([api('GET', `/v1/sessions/${seg(id)}/interactions`),
      sessionEvents(s.service_id, s.id, feed)]);
    if (stopped) return;
    const now = JSON.stringify([s, ints, evs]);
    if (now === shown) return;
    shown = now;
    const byPar = Object.fromEntries(s.participants.map((p) => [p.id, p.label || p.id]));
    const actions = el('div', { class: 'buttons' });
    const run = (text, label, body) => guarded(async () => {
      if (await act(ctx, text, label, 'PATCH', `/v1/sessions/${seg(id)}`, body)) await draw();
    });
    if (s.status === 'open' || s.status === 'in-progress') {
      actions.append(el('button', { type: 'button', id: 'act-close', onclick: () => run(`Close session ${s.unique_name || s.id}? Its numbers cool off, then return to the pool.`, 'Close session', { status: 'closed' }) }, 'Close'));
    }
    if (s.status !== 'blocked') {
      actions.append(el('button', { type: 'button', class: 'danger', id: 'act-block', onclick: () => run(`Block session ${s.unique_name || s.id}? Every call and text is refused from the next webhook on.`, 'Block session', { status: 'blocked' }) }, 'Block'));
    }
    if (s.status === 'closed' || s.status === 'blocked') {
      actions.append(el('button', { type: 'button', class: 'secondary', id: 'act-reopen', onclick: () => run(`Re-open session ${s.unique_name || s.id}?`, 'Re-open', { status: 'open' }) }, 'Re-open'));
    }
    const swap = (p) => guarded(async () => {
      if (await act(ctx, `Give ${p.label || p.id} a new proxy number instead of ${p.proxy_number}? They must be told the new one.`, 'Swap number',
        'PATCH', `/v1/sessions/${seg(id)}/participants/${seg(p.id)}`, { proxy_number: null })) await draw();
    });
    fill(view,
      el('h1', {}, `Session ${s.unique_name || s.id}`),
      el('dl', { class: 'facts panel' },
        el('dt', {}, 'id'), el('dd', {}, s.id),
        el('dt', {}, 'status'), el('dd', { id: 'session-status' }, el('span', { class: 'badge' }, s.status)),
        el('dt', {}, 'mode'), el('dd', {}, s.mode),
        el('dt', {}, 'idle timeout'), el('dd', {}, s.ttl ? `${s.ttl} s` : 'none'),
        el('dt', {}, 'expires'), el('dd', {}, fmtTime(s.expires_at)),
        el('dt', {}, 'created'), el('dd', {}, fmtTime(s.created_at)),
        el('dt', {}, 'closed'), el('dd', {}, fmtTime(s.closed_at))),
      actions,
      el('h2', {}, 'Participants'),
      table('Participants (real numbers masked)', [
        { label: 'Label', get: (p) => p.label || '—' },
        { label: 'Number', get: (p) => p.number },
        { label: 'Proxy number', get: (p) => p.proxy_number },
        { label: 'Action', get: (p) => (s.status === 'open' || s.status === 'in-progress')
          ? el('button', { type: 'button', class: 'secondary', onclick: () => swap(p), 'aria-label': `Swap the proxy number of ${p.label || p.id}` }, 'Swap number') : '—' },
      ], s.participants),
      el('h2', {}, 'Interactions'),
      ints.interactions.length ? el('ol', { class: 'timeline', id: 'interactions' }, ints.interactions.map((i) =>
        el('li', { 'data-id': i.id },
          el('h3', {}, `${fmtTime(i.created_at)} · ${i.channel} · ${i.decision}`),
          el('p', { class: 'muted' }, `${byPar[i.from_participant] || 'unknown'} → ${byPar[i.to_participant] || 'unknown'}, ${i.carrier}`),
          legRows(i.legs)))) : el('p', { class: 'muted', id: 'interactions' }, 'No call or message yet.'),
      el('h2', {}, 'Events'),
      evs.length ? el('ol', { class: 'timeline', id: 'events' }, evs.map((e) =>
        el('li', { 'data-kind': e.type, 'data-reason': (e.data && e.data.reason) || '' }, eventText(e, byPar))))
        : el('p', { class: 'muted', id: 'events' }, 'No event yet.'));
  };
  const tick = async () => {
    try {
      await draw();
    } catch (e) {
      if (!stopped) showError(e);
    }
    if (!stopped) timer = setTimeout(tick, pollMs());
  };
  ctx.onCleanup(() => { stopped = true; clearTimeout(timer); });
  await tick();
}

export async function render(ctx) {
  return ctx.detail ? detail(ctx) : list(ctx);
}
