// Starts Debian's chromium through playwright-core (tools/node_modules; no browser download) in a
// fresh, empty profile with the flags every moeroute browser script uses; shared by the browser
// tests, the report benchmark and the README screenshot.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run'];

function playwright() {
  const where = path.join(__dirname, 'node_modules', 'playwright-core');
  try { return require(where); } catch (e) {
    throw new Error('playwright-core is not installed at ' + where + ': run scripts/setup-refs.sh (' + e.message + ')');
  }
}

// → { context, page, close() }; $MOEROUTE_CHROMIUM overrides /usr/bin/chromium.
async function launch(viewport = { width: 1400, height: 1000 }) {
  const executable = process.env.MOEROUTE_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executable)) throw new Error('no chromium at ' + executable + ' (scripts/install-deps.sh installs it)');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'moeroute-chromium-'));
  const context = await playwright().chromium.launchPersistentContext(profile, { executablePath: executable, headless: true, viewport, args: FLAGS });
  const page = context.pages()[0] || (await context.newPage());
  const close = async () => { await context.close(); fs.rmSync(profile, { recursive: true, force: true }); };
  return { context, page, close };
}

// Page coordinates of the point at fractions (fx, fy) of the plot area of the heatmap in view
// `view` (the canvas publishes its plot rectangle as data-plot = "x,y,w,h"), scrolled into view.
async function heatmapPoint(page, view, fx, fy) {
  return page.$eval('[data-view="' + view + '"] canvas.mr-heatmap', (canvas, f) => {
    canvas.scrollIntoView({ block: 'nearest' });
    const b = canvas.getBoundingClientRect();
    const [x, y, w, h] = canvas.dataset.plot.split(',').map(Number);
    return { x: b.left + x + f.fx * w, y: b.top + y + f.fy * h };
  }, { fx, fy });
}

module.exports = { launch, heatmapPoint };
