// Drives the gateway's /dashboard page in Debian's headless Chromium (playwright-core, no browser
// download) for DashboardBrowserTest: every node and role of the running cluster appears, the
// counters move after a completion, and a screenshot is saved. Prints "all checks passed" at the end.
//
// Environment: MAGICPIG_URL (the gateway, http://HOST:PORT), MAGICPIG_NODES (JSON list of
// {address, roles}), MAGICPIG_SCREENSHOT (PNG path), MAGICPIG_CHROMIUM (default /usr/bin/chromium),
// MAGICPIG_PROMPT_TOKENS (prompt length, default 700).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.MAGICPIG_URL;
const expected = JSON.parse(process.env.MAGICPIG_NODES);
const screenshot = process.env.MAGICPIG_SCREENSHOT;
const promptTokens = Number(process.env.MAGICPIG_PROMPT_TOKENS ?? 700);

function check(ok, what) {
  if (!ok) throw new Error('FAILED: ' + what);
  console.log('ok - ' + what);
}

const count = (text) => (text && text.trim() !== '-' ? Number(text.replace(/[^0-9.]/g, '')) : 0);

const profile = mkdtempSync(join(tmpdir(), 'magicpig-chromium-'));
let context;
try {
  // A persistent context is how Playwright takes a fresh --user-data-dir.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.MAGICPIG_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  const response = await page.goto(base + '/dashboard');
  check(response.status() === 200, 'GET /dashboard answers 200');
  check(/^text\/html/.test(response.headers()['content-type']), 'the page is text/html');
  const js = await page.request.get(base + '/dashboard/dashboard.js');
  check(/^text\/javascript/.test(js.headers()['content-type']) && js.headers()['etag'], 'scripts are text/javascript with an ETag');

  await page.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 2, null, { timeout: 30000 });
  check(true, 'the page takes live updates from /dashboard/events');
  check(await page.evaluate(() => typeof uPlot === 'function'), 'uPlot was bundled and loaded (no CDN)');
  check(await page.locator('#chart-ttft canvas').count() > 0 && await page.locator('#chart-itl canvas').count() > 0,
    'the TTFT and inter-token latency charts are drawn');

  for (const n of expected) {
    const card = page.locator(`article.node[data-address="${n.address}"]`);
    await card.waitFor({ timeout: 60000 });
    for (const role of n.roles) await card.locator(`.role[data-role="${role}"]`).waitFor({ timeout: 10000 });
    check(true, `node ${n.address} is shown with roles ${n.roles.join(', ')}`);
  }

  const before = {
    tokens: count(await page.textContent('#tokens-generated')),
    completed: count(await page.textContent('#seq-completed')),
    updates: Number(await page.evaluate(() => document.body.dataset.updates)),
  };
  const prompt = [1];
  for (let i = 1; i < promptTokens; i++) prompt.push(3 + ((i * 7919) % 500));
  const completionsUrl = base + '/v1/completions';
  const answer = await fetch(completionsUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'synthetic:tiny', prompt, max_tokens: 24, temperature: 0 }),
  });
  const body = await answer.json();
  check(answer.status === 200 && body.usage?.completion_tokens > 0, `a completion of ${body.usage?.completion_tokens} tokens ran (${answer.status})`);

  await page.waitForFunction((b) => {
    const n = (id) => Number((document.getElementById(id).textContent || '').replace(/[^0-9.]/g, '') || 0);
    return n('tokens-generated') >= b.tokens + 1 && n('seq-completed') >= b.completed + 1;
  }, before, { timeout: 30000 });
  const after = {
    tokens: count(await page.textContent('#tokens-generated')),
    completed: count(await page.textContent('#seq-completed')),
    updates: Number(await page.evaluate(() => document.body.dataset.updates)),
  };
  check(after.tokens > before.tokens, `tokens generated moved: ${before.tokens} -> ${after.tokens}`);
  check(after.completed > before.completed, `sequences completed moved: ${before.completed} -> ${after.completed}`);
  check(after.updates > before.updates, `updates kept coming: ${before.updates} -> ${after.updates}`);

  // A long generation, for the picture: the page shows it running and its KV blocks on the shards;
  // the screenshot is taken then, and the client goes away after.
  const abort = new AbortController();
  const long = fetch(completionsUrl, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: abort.signal,
    body: JSON.stringify({ model: 'synthetic:tiny', prompt, max_tokens: 2000, temperature: 0, stream: true }),
  }).then(async (r) => { for await (const chunk of r.body) void chunk; }).catch(() => {}); // read until aborted
  await page.waitForFunction(() => Number(document.getElementById('seq-running').textContent) >= 1, null, { timeout: 60000 });
  check(true, 'a running sequence is shown');
  await page.waitForFunction(() => [...document.querySelectorAll('.shard-blocks')].some((e) => Number(e.textContent) > 0), null,
    { timeout: 30000 });
  check(true, 'its KV blocks are shown on the shards');
  await page.waitForTimeout(2500); // a few more updates, so the charts show the generation
  await page.screenshot({ path: screenshot, fullPage: true });
  check(true, 'screenshot saved to ' + screenshot);
  abort.abort();
  await long;

  // The stream drops without a word (window.stop() closes it and fires no event): the page notices
  // the silence, says so, reopens the stream and goes on.
  const dropped = Number(await page.evaluate(() => { window.stop(); return document.body.dataset.updates; }));
  await page.waitForFunction(() => /reconnecting/.test(document.getElementById('connection').textContent), null, { timeout: 15000 });
  check(true, 'a silent stream is noticed');
  await page.waitForFunction((n) => Number(document.body.dataset.updates) >= n + 2, dropped, { timeout: 30000 });
  check(true, 'the page reopens the stream and the updates go on');
  check(errors.length === 0, 'no script errors on the page' + (errors.length ? ': ' + errors.join('; ') : ''));
  console.log('all checks passed');
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
