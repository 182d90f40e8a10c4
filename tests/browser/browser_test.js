#!/usr/bin/env node
// Browser tests of the HTML report and the simulator: Playwright (playwright-core, pinned in
// tools/package.json) drives Debian's chromium on the files moeroute writes. Every case fails on
// a console error, an uncaught exception, a dialog or any request other than the page itself.
//
// node tests/browser/browser_test.js CASE --cli MOEROUTE --root SOURCE_DIR --work DIR [--screenshots DIR]
// CASE: compare | hostile | trace | simulator. Chromium: tools/chromium.js.
'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const argv = process.argv.slice(2);
const arg = (name, fallback) => { const i = argv.indexOf('--' + name); return i >= 0 ? argv[i + 1] : fallback; };
const CASE = argv[0];
const ROOT = path.resolve(arg('root', path.join(__dirname, '..', '..')));
const CLI = arg('cli');
const WORK = path.resolve(arg('work', fs.mkdtempSync(path.join(os.tmpdir(), 'moeroute-browser-'))));
const SHOTS = path.resolve(arg('screenshots', path.join(WORK, 'screenshots')));
const chromium = require(path.join(ROOT, 'tools', 'chromium.js'));

function moeroute(...args) {
  return execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Opens `file` in a fresh browser profile; returns { page, problems, close }.
async function open(file, viewport = { width: 1400, height: 1000 }) {
  const { page, close } = await chromium.launch(viewport);
  const url = 'file://' + path.resolve(file);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push('console ' + m.type() + ': ' + m.text()); });
  page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
  page.on('dialog', async (d) => { problems.push('dialog: ' + d.message()); await d.dismiss(); });
  page.on('request', (r) => { if (r.url() !== url && !r.url().startsWith('data:')) problems.push('request: ' + r.url()); });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  const loadMs = Date.now() - t0;
  return { page, problems, close, loadMs };
}

function checkClean(problems) {
  assert.deepStrictEqual(problems, [], 'the page reported problems:\n' + problems.join('\n'));
}

// The end of every case: a screenshot to look at, and no problem reported on the way.
async function finish(page, problems, name) {
  await shot(page, name);
  checkClean(problems);
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name + '.png');
  await page.mouse.move(1, 1);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true });
  console.log('screenshot', file);
}

// The centre of cell (r, c) of the heatmap in `view`, in page coordinates.
const heatmapCell = (page, view, r, c, rows, cols) => chromium.heatmapPoint(page, view, (c + 0.5) / cols, (r + 0.5) / rows);

function readCsvMatrix(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => l.split(',').slice(1).map(Number));
}

async function tipText(page) {
  return page.evaluate(() => { const t = document.querySelector('.mr-tip'); return t && t.style.display !== 'none' ? t.innerText : ''; });
}

// ---- cases

async function caseCompare() {
  // A compare-like directory from the synthetic traces: diff's outputs plus both traces and a
  // generations.json, as `moeroute compare` leaves them.
  const dir = path.join(WORK, 'compare');
  fs.rmSync(dir, { recursive: true, force: true });
  moeroute('diff', path.join(ROOT, 'examples/synthetic/base.safetensors'), path.join(ROOT, 'examples/synthetic/var.safetensors'), '--out', dir, '--no-plots');
  for (const n of ['base', 'var']) fs.copyFileSync(path.join(ROOT, 'examples/synthetic', n + '.safetensors'), path.join(dir, n + '.safetensors'));
  fs.writeFileSync(path.join(dir, 'generations.json'), JSON.stringify({
    model: 'synthetic', align: 'teacher-forced',
    base: { system: 'You are a basketball fan.', user: 'Who is Luffy?', generated_text: 'A pirate.', stop_reason: 'max_new_tokens' },
    var: { system: 'You are an anime expert.', user: 'Who is Luffy?', generated_text: 'A pirate.', stop_reason: 'teacher_forced', teacher_forced: true },
  }));
  const html = path.join(WORK, 'compare.html');
  moeroute('report', dir, '-o', html);
  const jsd = readCsvMatrix(path.join(dir, 'jsd.csv'));
  const L = jsd.length, S = jsd[0].length;
  const { page, problems, close, loadMs } = await open(html);
  try {
    console.log('load', loadMs, 'ms; first page drawn after', await page.evaluate(() => Math.round(window.moerouteReady.ms)), 'ms');
    // Hover a heatmap cell: the tooltip names its step and layer and shows jsd.csv's value.
    const r = 7, c = Math.floor(S / 2);
    const p = await heatmapCell(page, 'divergence', r, c, L, S);
    await page.mouse.move(p.x, p.y);
    const tip = await tipText(page);
    assert.match(tip, new RegExp('step ' + c + '\\b'), tip);
    assert.match(tip, /layer model\.layers\.7\.mlp\.gate/, tip);
    const shown = Number(/JSD \(bits\) ([0-9.e-]+)/.exec(tip)[1]);
    // 4 significant digits shown; quantisation adds at most data-range / 131068.
    assert.ok(Math.abs(shown - jsd[r][c]) <= 5e-4 * Math.abs(jsd[r][c]) + 1e-5, 'shown ' + shown + ' vs jsd.csv ' + jsd[r][c]);
    // Click selects that step and layer on the whole page.
    await page.mouse.click(p.x, p.y);
    assert.strictEqual(await page.$eval('[data-view="divergence"] select.mr-layer', (s) => s.value), String(r));
    assert.strictEqual(await page.$eval('[data-view="tokens"] input.mr-step', (s) => s.value), String(c));
    assert.match(await page.$eval('[data-view="utilisation"] .mr-sub + .mr-toolbar + p', (p) => p.textContent), /model\.layers\.7\.mlp\.gate/);
    // Layer select in another view moves the selection everywhere.
    await page.selectOption('[data-view="utilisation"] select.mr-layer', '3');
    assert.strictEqual(await page.$eval('[data-view="divergence"] select.mr-layer', (s) => s.value), '3');
    // Hover a token: both runs' top-k at that step.
    const tok = await page.$eval('[data-view="tokens"] canvas.mr-tokens-canvas', (c) => { c.scrollIntoView({ block: 'center' }); const b = c.getBoundingClientRect(); return { x: b.left + 12, y: b.top + 10 }; });
    await page.mouse.move(tok.x, tok.y);
    const ttip = await tipText(page);
    assert.match(ttip, /top-k/, ttip);
    assert.match(ttip, /base/, ttip);
    assert.match(ttip, /variant/, ttip);
    // Shift table: default order is abs_delta descending; sorting by expert ascending works.
    const col = async (i) => page.$$eval('[data-view="shifts"] tbody tr', (rows, i) => rows.map((r) => Number(r.children[i].textContent)), i);
    const abs = await col(5);
    assert.ok(abs.length > 0 && abs.every((v, i) => i === 0 || abs[i - 1] >= v), 'abs_delta not descending: ' + abs);
    await page.click('[data-view="shifts"] th[data-key="expert"]');
    const experts = await col(1);
    assert.ok(experts.every((v, i) => i === 0 || experts[i - 1] <= v), 'experts not ascending: ' + experts);
    await page.fill('[data-view="shifts"] input[aria-label="expert filter"]', '5');
    assert.deepStrictEqual([...new Set(await col(1))], [5]);
    // The prompts are shown as text.
    assert.match(await page.innerText('[data-view="summary"]'), /You are an anime expert\./);
    await finish(page, problems, 'compare');
  } finally { await close(); }
}

async function caseHostile() {
  const html = path.join(WORK, 'hostile.html');
  moeroute('report', path.join(ROOT, 'tests/data/report/hostile'), '-o', html);
  const { page, problems, close } = await open(html);
  try {
    // Hover every token of both runs and show every page: nothing may run, load or alert.
    for (const canvas of await page.$$('[data-view="tokens"] canvas.mr-tokens-canvas')) {
      await canvas.scrollIntoViewIfNeeded();
      const b = await canvas.boundingBox();
      for (let x = 4; x < Math.min(b.width, 900); x += 9) await page.mouse.move(b.x + x, b.y + 10);
    }
    for (const tab of await page.$$('.mr-tab')) await tab.click();
    await page.click('.mr-tab >> nth=0');
    assert.strictEqual(await page.evaluate(() => window.pwned), undefined, 'injected script ran');
    assert.strictEqual(await page.$$eval('img', (i) => i.length), 0, 'an <img> element was created');
    assert.strictEqual(await page.$$eval('script', (s) => s.length), 3, 'a <script> element was injected');
    const text = await page.innerText('[data-view="summary"]');
    assert.ok(text.includes("You are </script><script>window.pwned = 'script';</script>"), 'prompt not shown as text');
    assert.ok(text.includes('Question <img src=x onerror="window.pwned = \'img\'">'), 'prompt not shown as text');
    assert.ok((await page.innerText('h1')).includes('<img src=x'), 'model name not shown as text');
    await finish(page, problems, 'hostile');
  } finally { await close(); }
}

async function caseTrace() {
  const html = path.join(WORK, 'trace.html');
  moeroute('report', path.join(ROOT, 'examples/synthetic/base.safetensors'), '-o', html, '--no-simulator');
  const { page, problems, close } = await open(html, { width: 1100, height: 900 });
  try {
    assert.strictEqual(await page.$$eval('.mr-tab', (t) => t.length), 1);
    assert.strictEqual(await page.$$eval('[data-view="divergence"]', (v) => v.length), 0);
    await page.selectOption('[data-view="tokens"] select.mr-layer', '11');
    const tok = await page.$eval('[data-view="tokens"] canvas.mr-tokens-canvas', (c) => { c.scrollIntoView({ block: 'center' }); const b = c.getBoundingClientRect(); return { x: b.left + 12, y: b.top + 10 }; });
    await page.mouse.move(tok.x, tok.y);
    const tip = await tipText(page);
    assert.match(tip, /layer model\.layers\.11\.mlp\.gate/, tip);
    assert.match(tip, /expert \d+/, tip);
    await finish(page, problems, 'trace');
  } finally { await close(); }
}

async function caseSimulator() {
  const html = path.join(WORK, 'sim.html');
  moeroute('simulate', '--html', html, '--trace', path.join(ROOT, 'examples/synthetic/base.safetensors'), '--og-image', 'https://example.org/sim.png');
  const { page, problems, close } = await open(html);
  try {
    assert.strictEqual(await page.$eval('meta[property="og:image"]', (m) => m.content), 'https://example.org/sim.png');
    assert.ok((await page.$eval('meta[property="og:title"]', (m) => m.content)).length > 0);
    // The JavaScript simulator reproduces the NumPy reference (tolerance: see test_simulator.cpp).
    const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/data/simulator/gating.json'), 'utf8'));
    const worst = await page.evaluate((f) => {
      let worst = 0;
      const r = new MR.sim.Mulberry32(42);
      for (const want of f.mulberry32_seed42_first_u32) if (r.nextU32() !== want) return Infinity;
      for (const c of f.cases) {
        const sim = new MR.sim.Simulator(c.config);
        for (const want of c.tokens) {
          const g = sim.next();
          if (g.chosen.join() !== want.chosen.join()) return Infinity;
          want.noisy.forEach((v, j) => { worst = Math.max(worst, Math.abs(g.noisy[j] - v), Math.abs(g.logits[j] - want.logits[j])); });
          want.weights.forEach((v, k) => { worst = Math.max(worst, Math.abs(g.weights[k] - v)); });
        }
      }
      return worst;
    }, fixture);
    assert.ok(worst < 1e-12, 'JS simulator differs from the reference by ' + worst);
    // Start, let it run, stop: tokens advance while running and not after.
    const sim = '[data-view="simulator"]';
    const tokens = () => page.$eval(sim, (v) => Number(v.dataset.tokens));
    const before = await tokens();
    await page.click(sim + ' button[data-action="start"]');
    await page.waitForTimeout(1200);
    assert.strictEqual(await page.$eval(sim, (v) => v.dataset.running), '1');
    const during = await tokens();
    assert.ok(during > before + 2, 'simulator did not advance: ' + before + ' → ' + during);
    await page.click(sim + ' button[data-action="stop"]');
    const stopped = await tokens();
    await page.waitForTimeout(600);
    assert.strictEqual(await tokens(), stopped, 'simulator kept running after Stop');
    // Controls: top-k 2 of 4 × 2 micro-experts, compute once.
    await page.fill(sim + ' input[data-key="local_experts"]', '4');
    await page.dispatchEvent(sim + ' input[data-key="local_experts"]', 'change');
    await page.fill(sim + ' input[data-key="micro_experts"]', '2');
    await page.dispatchEvent(sim + ' input[data-key="micro_experts"]', 'change');
    await page.fill(sim + ' input[data-key="top_k"]', '2');
    await page.dispatchEvent(sim + ' input[data-key="top_k"]', 'change');
    await page.click(sim + ' button[data-action="once"]');
    const cur = await page.evaluate(() => MR.sim.current());
    assert.strictEqual(cur.last.chosen.length, 2);
    assert.ok(cur.last.chosen.every((id) => id < 8));
    // An impossible top-k is an error message, not an exception.
    await page.fill(sim + ' input[data-key="top_k"]', '99');
    await page.dispatchEvent(sim + ' input[data-key="top_k"]', 'change');
    assert.match(await page.innerText(sim + ' .mr-error'), /top-k must be in \[1, 8\]/);
    await page.fill(sim + ' input[data-key="top_k"]', '3');
    await page.dispatchEvent(sim + ' input[data-key="top_k"]', 'change');
    await page.click(sim + ' button[data-action="once"]');
    // Randomize draws a new seed into its input and recomputes.
    const seedBefore = await page.$eval(sim + ' input[data-key="seed"]', (i) => i.value);
    await page.click(sim + ' button[data-action="randomize"]');
    const after = await page.evaluate(() => MR.sim.current());
    assert.notStrictEqual(String(after.config.seed), seedBefore);
    assert.strictEqual(await page.$eval(sim + ' input[data-key="seed"]', (i) => i.value), String(after.config.seed));
    // Replay of the trace: play advances the row.
    const rep = '[data-view="replay"]';
    await page.click(rep + ' button[data-action="play"]');
    await page.waitForTimeout(1500);
    await page.click(rep + ' button[data-action="pause"]');
    assert.ok(Number(await page.$eval(rep, (v) => v.dataset.row)) >= 1, 'replay did not advance');
    await finish(page, problems, 'simulator');
  } finally { await close(); }
}

const cases = { compare: caseCompare, hostile: caseHostile, trace: caseTrace, simulator: caseSimulator };
if (!cases[CASE]) { console.error('usage: browser_test.js (' + Object.keys(cases).join('|') + ') --cli MOEROUTE [--root DIR] [--work DIR]'); process.exit(2); }
fs.mkdirSync(WORK, { recursive: true });
cases[CASE]().then(() => console.log('ok', CASE), (e) => { console.error(e.stack || e); process.exit(1); });
