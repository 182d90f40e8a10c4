#!/usr/bin/env node
// Takes the README's screenshot of a report (docs/report-demo.png): the divergence heatmap with a
// cell hovered and the tokens below it, in Debian's chromium through playwright-core.
// node tools/screenshot_report.js REPORT.html OUT.png
'use strict';
const path = require('path');
const { launch, heatmapPoint } = require(path.join(__dirname, 'chromium.js'));

(async () => {
  const [html, out] = process.argv.slice(2);
  const { page, close } = await launch({ width: 1280, height: 900 });
  try {
    await page.goto('file://' + path.resolve(html));
    await page.waitForSelector('body[data-ready="1"]');
    // The divergence card right under the sticky header, a cell of its heatmap clicked and hovered.
    await page.$eval('[data-view="divergence"]', (view) => {
      const header = document.querySelector('.mr-header').offsetHeight;
      window.scrollTo(0, view.getBoundingClientRect().top + window.scrollY - header - 12);
    });
    const cell = await heatmapPoint(page, 'divergence', 0.42, 0.6);
    await page.mouse.click(cell.x, cell.y);
    await page.mouse.move(cell.x + 1, cell.y);
    await page.screenshot({ path: out });
    console.log('wrote', out);
  } finally {
    await close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
