#!/usr/bin/env node
// Times an HTML report in Debian's chromium (playwright-core from tools/node_modules): load to the
// first drawn page, and the redraw after a layer change, a step click and a heatmap hover.
// node tools/bench/bench_report_load.js REPORT.html [REPEATS]  → one JSON line per repeat.
'use strict';
const path = require('path');
const { launch } = require(path.join(__dirname, '..', 'chromium.js'));

async function once(file) {
  const { page, close } = await launch();
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('file://' + path.resolve(file));
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120000 });
    const r = await page.evaluate(async () => {
      const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      const timeIt = async (fn) => { const t0 = performance.now(); fn(); await frame(); return performance.now() - t0; };
      const nav = performance.getEntriesByType('navigation')[0];
      const out = {
        ready_ms: window.moerouteReady.navigationMs,           // navigation start → first page drawn
        scripts_ms: window.moerouteReady.ms,                   // our start-up code alone
        dom_content_loaded_ms: nav.domContentLoadedEventEnd,
        heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,
        dom_nodes: document.getElementsByTagName('*').length,
      };
      for (const m of performance.getEntriesByType('measure')) if (m.name.startsWith('moeroute view ')) out['view_' + m.name.slice(14) + '_ms'] = m.duration;
      const select = document.querySelector('[data-view="divergence"] select.mr-layer');
      out.layer_change_ms = await timeIt(() => { select.value = '20'; select.dispatchEvent(new Event('change')); });
      const canvas = document.querySelector('[data-view="divergence"] canvas.mr-heatmap');
      const b = canvas.getBoundingClientRect();
      const [x, y, w, h] = canvas.dataset.plot.split(',').map(Number);
      const at = (fx, fy) => ({ clientX: b.left + x + fx * w, clientY: b.top + y + fy * h, bubbles: true });
      out.hover_ms = await timeIt(() => canvas.dispatchEvent(new MouseEvent('mousemove', at(0.5, 0.5))));
      out.click_ms = await timeIt(() => canvas.dispatchEvent(new MouseEvent('click', at(0.7, 0.3))));
      return out;
    });
    if (errors.length) throw new Error(errors.join('\n'));
    return r;
  } finally {
    await close();
  }
}

(async () => {
  const [file, repeats = '5'] = process.argv.slice(2);
  for (let i = 0; i < Number(repeats); i++) console.log(JSON.stringify(await once(file)));
})().catch((e) => { console.error(e); process.exit(1); });
