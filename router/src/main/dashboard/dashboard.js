// The cluster dashboard: reads /dashboard/state once, then follows /dashboard/events (one JSON
// snapshot a second, server-sent events) and redraws the totals, the charts and the per-node tables.
// A stream that errors or goes quiet for 5 s is reopened, with back-off up to 10 s.
'use strict';
(() => {
  const HISTORY = 300;            // points kept per chart: five minutes at one update a second
  const QUIET_MS = 5000;          // no update for this long: reopen the stream
  const HOT_MAILBOX = 100;        // mailbox depth shown as a warning
  const $ = (id) => document.getElementById(id);
  const charts = typeof uPlot === 'function' ? {} : null;
  const history = { t: [], ttft50: [], ttft99: [], itl50: [], itl99: [], tps: [] };
  let updates = 0;
  let source = null;
  let lastUpdate = 0;
  let retryMs = 1000;
  let reconnectTimer = null;

  // ---- formatting ----
  const missing = (x) => x === null || x === undefined || Number.isNaN(x);
  const num = (x, digits = 0) => missing(x) ? '-' : Number(x).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const ms = (x) => missing(x) ? '-' : (x >= 100 ? num(x, 0) : x >= 1 ? num(x, 1) : num(x, 2)) + ' ms';
  function bytes(b) {
    if (missing(b)) return '-';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i === 0 ? num(b, 0) : num(b, b >= 100 ? 0 : 1)) + ' ' + units[i];
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // ---- charts (uPlot) ----
  function chartWidth(id) { return Math.max(280, $(id).clientWidth || 400); }

  function lineChart(id, labels, colors) {
    const opts = {
      width: chartWidth(id), height: 180,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [{}, { size: 56 }],
      series: [{}].concat(labels.map((label, i) => ({ label, stroke: colors[i], width: 2, spanGaps: false }))),
      legend: { live: false },
    };
    return new uPlot(opts, [[]].concat(labels.map(() => [])), $(id));
  }

  function sampledChart(layers) {
    const opts = {
      width: chartWidth('chart-sampled'), height: 180,
      scales: {
        x: { time: false, range: (u, min, max) => [min - 0.6, max + 0.6] },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.2 : 1] },
      },
      axes: [{ label: 'layer', incrs: [1, 2, 4, 8], values: (u, v) => v.map(String) }, { size: 56, values: (u, v) => v.map((x) => x + ' %') }],
      series: [{ label: 'layer' }, {
        label: 'sampled %', stroke: '#1f77b4', fill: 'rgba(31,119,180,0.35)', width: 1,
        paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false },
      }],
      legend: { live: false },
    };
    const u = new uPlot(opts, [layers.map((_, i) => i), layers.map(() => null)], $('chart-sampled'));
    u.layers = layers.length;
    return u;
  }

  function initCharts() {
    if (!charts) {
      $('no-charts').hidden = false;
      $('charts').hidden = true;
      return;
    }
    charts.ttft = lineChart('chart-ttft', ['p50', 'p99'], ['#1f77b4', '#d62728']);
    charts.itl = lineChart('chart-itl', ['p50', 'p99'], ['#1f77b4', '#d62728']);
    charts.tokens = lineChart('chart-tokens', ['tokens/s'], ['#2ca02c']);
    window.addEventListener('resize', () => {
      for (const [key, u] of Object.entries(charts)) {
        const id = key === 'sampled' ? 'chart-sampled' : 'chart-' + key;
        u.setSize({ width: chartWidth(id), height: 180 });
      }
    });
  }

  function pushHistory(s) {
    const h = history;
    h.t.push((s.time ?? Date.now()) / 1000);
    h.ttft50.push(s.ttftMs?.p50 ?? null);
    h.ttft99.push(s.ttftMs?.p99 ?? null);
    h.itl50.push(s.itlMs?.p50 ?? null);
    h.itl99.push(s.itlMs?.p99 ?? null);
    h.tps.push(s.tokens?.perSec ?? null);
    if (h.t.length > HISTORY) for (const a of Object.values(h)) a.shift();
  }

  function drawCharts(s) {
    if (!charts) return;
    const h = history;
    charts.ttft.setData([h.t, h.ttft50, h.ttft99]);
    charts.itl.setData([h.t, h.itl50, h.itl99]);
    charts.tokens.setData([h.t, h.tps]);
    const layers = Array.isArray(s.sampledFraction) ? s.sampledFraction : [];
    if (layers.length > 0) {
      if (!charts.sampled || charts.sampled.layers !== layers.length) {
        if (charts.sampled) charts.sampled.destroy();
        charts.sampled = sampledChart(layers);
      }
      charts.sampled.setData([layers.map((_, i) => i), layers.map((f) => (missing(f) ? null : 100 * f))]);
    }
  }

  // ---- tables ----
  function sampledList(fractions) {
    const list = $('sampled-list');
    if (!Array.isArray(fractions) || fractions.length === 0) { list.textContent = 'no MagicPIG layer has run yet'; return; }
    list.textContent = fractions.map((f, i) => 'L' + i + ' ' + (missing(f) ? 'dense' : num(100 * f, 2) + '%')).join('  ');
  }

  function actorTable(actors) {
    const head = el('tr', {}, ...['actor', 'instance', 'msg/s', 'processed', 'p50', 'p99', 'mailbox'].map((h) => el('th', {}, h)));
    const rows = [...actors].sort((a, b) => (a.type + a.instance).localeCompare(b.type + b.instance)).map((a) => el('tr', { 'data-actor': a.type + '/' + a.instance },
      el('td', {}, a.type ?? '-'), el('td', {}, a.instance ?? '-'), el('td', {}, num(a.messagesPerSec, 1)), el('td', {}, num(a.processed)),
      el('td', {}, ms(a.p50Ms)), el('td', {}, ms(a.p99Ms)), el('td', { class: (a.mailbox ?? 0) >= HOT_MAILBOX ? 'hot' : '' }, num(a.mailbox))));
    return el('table', { class: 'actors' }, el('thead', {}, head), el('tbody', {}, ...rows));
  }

  function shardTable(shards) {
    const head = el('tr', {}, ...['shard', 'blocks', 'KV bytes', 'budget', 'used'].map((h) => el('th', {}, h)));
    const rows = shards.map((s) => {
      const used = s.budgetBytes > 0 ? Math.min(1, s.bytes / s.budgetBytes) : 0;
      const bar = el('span', { class: 'bar', title: num(100 * used, 1) + ' % of the budget' }, el('span', { style: 'width:' + (100 * used).toFixed(1) + '%' }));
      return el('tr', { 'data-shard': s.id }, el('td', {}, s.id), el('td', { class: 'shard-blocks' }, num(s.blocks)), el('td', {}, bytes(s.bytes)),
        el('td', {}, bytes(s.budgetBytes)), el('td', {}, bar));
    });
    return el('table', { class: 'shards' }, el('thead', {}, head), el('tbody', {}, ...rows));
  }

  function nodeCard(n) {
    const up = (n.status ?? '').toLowerCase() === 'up';
    const card = el('article', { class: 'node', 'data-address': n.address },
      el('h3', {}, el('span', { class: 'address' }, n.address), el('span', { class: 'status' + (up ? ' up' : '') }, n.status ?? '?'),
        el('span', { class: 'kv' }, 'KV ' + bytes(n.kvBytes))),
      el('div', { class: 'roles' }, ...(n.roles ?? []).map((r) => el('span', { class: 'role', 'data-role': r }, r))));
    if ((n.actors ?? []).length > 0) card.append(actorTable(n.actors));
    if ((n.shards ?? []).length > 0) card.append(shardTable(n.shards));
    return card;
  }

  function render(s) {
    updates++;
    lastUpdate = Date.now();
    document.body.dataset.updates = String(updates);
    $('seq-running').textContent = num(s.sequences?.running);
    $('seq-waiting').textContent = num(s.sequences?.waiting);
    $('seq-completed').textContent = num(s.sequences?.completed);
    $('tokens-generated').textContent = num(s.tokens?.generated);
    $('tokens-per-sec').textContent = num(s.tokens?.perSec, 1);
    $('ttft').textContent = ms(s.ttftMs?.p50) + ' / ' + ms(s.ttftMs?.p99);
    $('itl').textContent = ms(s.itlMs?.p50) + ' / ' + ms(s.itlMs?.p99);
    $('updated').textContent = 'updated ' + new Date(s.time ?? Date.now()).toLocaleTimeString();
    const nodes = [...(s.nodes ?? [])].sort((a, b) => String(a.address).localeCompare(String(b.address)));
    $('nodes').replaceChildren(...nodes.map(nodeCard));
    sampledList(s.sampledFraction);
    pushHistory(s);
    drawCharts(s);
  }

  // ---- the feed ----
  function setConnection(state, text) {
    const c = $('connection');
    c.className = 'connection ' + state;
    c.textContent = text;
  }

  function reconnectLater() {
    if (reconnectTimer) return;
    if (source) { source.close(); source = null; }
    setConnection('down', 'reconnecting in ' + Math.round(retryMs / 1000) + ' s');
    reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, retryMs);
    retryMs = Math.min(10000, retryMs * 2);
  }

  function connect() {
    setConnection('', 'connecting');
    lastUpdate = Date.now();
    source = new EventSource('/dashboard/events');
    source.onopen = () => { setConnection('live', 'live'); retryMs = 1000; };
    source.onmessage = (e) => {
      setConnection('live', 'live');
      try { render(JSON.parse(e.data)); } catch (err) { console.error('dashboard: bad update', err); }
    };
    // The browser retries a dropped stream by itself, but not one answered with an error status;
    // we reopen both ourselves, so every loss ends the same way.
    source.onerror = () => reconnectLater();
  }

  setInterval(() => { if (source && Date.now() - lastUpdate > QUIET_MS) reconnectLater(); }, 1000);

  initCharts();
  fetch('/dashboard/state', { cache: 'no-store' })
    .then((r) => (r.ok ? r.json() : null))
    .then((s) => { if (s && updates === 0) render(s); })
    .catch(() => {});
  connect();
})();
