// SPDX-License-Identifier: MIT
// chart.js - the console's charts, drawn as SVG with attributes only (no style
// attributes: the Content-Security-Policy has no 'unsafe-inline'). Each chart is
// an <svg role="img"> with a text label, plus a legend list for its series.

import { el } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
export const COLOURS = ['#1d4e89', '#c2410c', '#15803d', '#7e22ce', '#a4161a', '#0e7490'];

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function legend(series) {
  return el('ul', { class: 'legend' }, series.map((s, i) =>
    el('li', {}, el('span', { class: `swatch s${i % COLOURS.length}`, 'aria-hidden': 'true' }), s.name)));
}

function frame(label, width, height) {
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  root.append(svg('title', {}, label));
  return root;
}

function axes(root, max, w, h, pad) {
  for (const f of [0, 0.5, 1]) {
    const y = pad.t + (h - pad.t - pad.b) * (1 - f);
    root.append(svg('line', { x1: pad.l, x2: w - pad.r, y1: y, y2: y, stroke: '#d0d6dd', 'stroke-width': 1 }));
    root.append(svg('text', { x: pad.l - 4, y: y + 4, 'text-anchor': 'end' }, String(Math.round(max * f * 10) / 10)));
  }
}

/** A line chart of series [{name, values:[number]}] sharing an x of sample
 *  indexes; label describes it for screen readers (the latest values are appended). */
export function lineChart(label, series, { width = 560, height = 180 } = {}) {
  const pad = { l: 40, r: 10, t: 10, b: 18 };
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const latest = series.map((s) => `${s.name} ${s.values.length ? Math.round(s.values[s.values.length - 1] * 10) / 10 : 0}`).join(', ');
  const root = frame(`${label}. Latest: ${latest}`, width, height);
  axes(root, max, width, height, pad);
  const x = (i) => pad.l + (width - pad.l - pad.r) * (i / (n - 1));
  const y = (v) => pad.t + (height - pad.t - pad.b) * (1 - v / max);
  series.forEach((s, k) => {
    if (!s.values.length) return;
    const pts = s.values.map((v, i) => `${x(i + n - s.values.length).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: pts, fill: 'none', stroke: COLOURS[k % COLOURS.length], 'stroke-width': 2,
      'data-series': s.name, 'data-points': s.values.length }));
  });
  return el('figure', { class: 'figure' }, root, legend(series));
}

/** A bar chart: groups [{label, values:[number per series]}], series names [..]. */
export function barChart(label, seriesNames, groups, { width = 560, height = 200 } = {}) {
  const pad = { l: 40, r: 10, t: 10, b: 34 };
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values)));
  const root = frame(`${label}. ${groups.map((g) => `${g.label}: ${g.values.join('/')}`).join('; ') || 'no data'}`, width, height);
  axes(root, max, width, height, pad);
  const gw = (width - pad.l - pad.r) / Math.max(1, groups.length);
  const bw = Math.max(2, (gw * 0.8) / Math.max(1, seriesNames.length));
  groups.forEach((g, i) => {
    const gx = pad.l + i * gw + gw * 0.1;
    g.values.forEach((v, k) => {
      const h = (height - pad.t - pad.b) * (v / max);
      root.append(svg('rect', { x: (gx + k * bw).toFixed(1), y: (height - pad.b - h).toFixed(1), width: (bw - 1).toFixed(1),
        height: h.toFixed(1), fill: COLOURS[k % COLOURS.length], 'data-value': v }));
    });
    root.append(svg('text', { x: (gx + (bw * seriesNames.length) / 2).toFixed(1), y: height - pad.b + 14, 'text-anchor': 'middle' },
      g.label));
  });
  return el('figure', { class: 'figure' }, root, legend(seriesNames.map((name) => ({ name }))));
}
