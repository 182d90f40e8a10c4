// Start-up: read the embedded data, draw the header and one tab per page; a page's views are
// built the first time it is shown. window.moerouteReady holds the time to the first page.
'use strict';

(function start() {
  const t0 = performance.now();
  const app = document.getElementById('app');
  try {
    MR.data = JSON.parse(document.getElementById('moeroute-data').textContent);
    if (MR.data.format !== 'moeroute.report' || MR.data.version !== 1) throw new Error('this page holds no moeroute report data (format version 1)');
    MR.chartDefaults();
    const nav = MR.el('nav', { class: 'mr-tabs', role: 'tablist' });
    const pages = MR.el('main');
    app.append(MR.el('header', { class: 'mr-header' },
      MR.el('h1', { text: MR.data.title }),
      MR.el('p', { class: 'mr-sub', text: (MR.data.model ? MR.data.model.layers.length + ' router layers \u00b7 ' + MR.data.model.num_experts + ' experts \u00b7 ' : '') + MR.data.generator }),
      nav), pages);
    const built = new Map();
    const show = (i) => {
      for (const [j, b] of built) b.node.hidden = j !== i;
      [...nav.children].forEach((t, j) => t.setAttribute('aria-selected', String(j === i)));
      if (!built.has(i)) {
        const section = MR.data.sections[i];
        const node = MR.el('div', { class: 'mr-page', 'data-kind': section.kind });
        pages.append(node);
        const state = new MR.State({ layer: 0, step: 0, row: 0 });
        const context = { state, section };
        built.set(i, { node });
        for (const view of section.views) {
          const holder = MR.el('div', { class: 'mr-view', 'data-view': view });
          node.append(holder);
          if (!MR.views[view]) throw new Error('no view "' + view + '" in this page');
          const t = performance.now();
          MR.views[view](holder, section, context);
          performance.measure('moeroute view ' + view, { start: t });  // per-view start-up cost (tools/bench)
        }
      }
      document.body.dataset.page = String(i);
    };
    MR.data.sections.forEach((s, i) => nav.append(MR.el('button', { type: 'button', role: 'tab', class: 'mr-tab', text: s.title, 'data-kind': s.kind, onclick: () => show(i) })));
    MR.showPage = show;
    show(0);
    requestAnimationFrame(() => {
      window.moerouteReady = { ms: performance.now() - t0, navigationMs: performance.now() };
      document.body.dataset.ready = '1';
    });
  } catch (e) {
    app.append(MR.el('p', { class: 'mr-error', role: 'alert', text: 'The report could not be shown: ' + e.message }));
    console.error(e);
  }
})();
