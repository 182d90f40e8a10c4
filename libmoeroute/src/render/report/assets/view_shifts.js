// View "shifts": every (layer, expert) with its routing mass in both runs over the aligned steps
// (docs/metrics.md, "Expert mass and shifts"), sortable by any column and filtered by layer,
// expert and |delta|; one page of rows in the DOM at a time.
'use strict';

const PAGE = 25;

MR.registerView('shifts', function (root, section, ctx) {
  const { state } = ctx;
  const L = MR.data.model.layers.length, E = MR.data.model.num_experts;
  const bm = MR.decode(section.base_mass), vm = MR.decode(section.var_mass);
  const all = [];
  for (let l = 0; l < L; l++) {
    for (let e = 0; e < E; e++) {
      const b = bm[l * E + e], v = vm[l * E + e];
      all.push({ layer: l, expert: e, base: b, var: v, delta: v - b, abs: Math.abs(v - b) });
    }
  }
  const columns = [
    { key: 'layer', title: 'layer', fmt: (r) => MR.layerLabel(r.layer) },
    { key: 'expert', title: 'expert', fmt: (r) => String(r.expert) },
    { key: 'base', title: 'base_mass', fmt: (r) => MR.fixed(r.base, 4) },
    { key: 'var', title: 'var_mass', fmt: (r) => MR.fixed(r.var, 4) },
    { key: 'delta', title: 'delta', fmt: (r) => MR.fixed(r.delta, 4) },
    { key: 'abs', title: 'abs_delta', fmt: (r) => MR.fixed(r.abs, 4) },
  ];
  let sortKey = 'abs', desc = true, page = 0, rows = all;

  const layerScope = MR.el('select', { 'aria-label': 'layers shown', onchange: () => refilter() },
    MR.el('option', { value: 'selected', text: 'selected layer only' }), MR.el('option', { value: 'all', text: 'all layers' }));
  const expertFilter = MR.el('input', { type: 'text', placeholder: 'expert ids, e.g. 3, 17', size: 16, 'aria-label': 'expert filter', oninput: () => refilter() });
  const minAbs = MR.el('input', { type: 'number', min: 0, step: 'any', value: 0, 'aria-label': 'minimum abs delta', class: 'mr-num-input', oninput: () => refilter() });
  const head = MR.el('tr');
  const tbody = MR.el('tbody');
  const status = MR.el('span', { class: 'mr-sub' });
  const prev = MR.button('\u2039 previous', () => { page--; show(); }, 'previous');
  const next = MR.button('next \u203a', () => { page++; show(); }, 'next');
  for (const c of columns) {
    const th = MR.el('th', { class: 'mr-sortable', tabindex: 0, 'data-key': c.key, text: c.title });
    const toggle = () => { if (sortKey === c.key) desc = !desc; else { sortKey = c.key; desc = c.key !== 'layer' && c.key !== 'expert'; } resort(); };
    th.addEventListener('click', toggle);
    th.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') toggle(); });
    head.append(th);
  }
  root.append(MR.card('Expert shifts', 'Routing mass of each expert summed over the ' + section.steps +
    ' aligned steps (' + section.distribution + ' distribution), delta = var_mass \u2212 base_mass. Click a header to sort, a row to select its layer.',
  MR.el('div', { class: 'mr-toolbar' }, MR.el('label', { class: 'mr-control' }, 'Show ', layerScope),
    MR.el('label', { class: 'mr-control' }, 'Experts ', expertFilter), MR.el('label', { class: 'mr-control' }, '|delta| \u2265 ', minAbs)),
  MR.el('table', { class: 'mr-table' }, MR.el('thead', null, head), tbody),
  MR.el('div', { class: 'mr-pager' }, prev, next, status)));

  function refilter() {
    const scope = layerScope.value;
    const wanted = expertFilter.value.split(/[\s,]+/).filter((s) => s !== '').map(Number).filter((n) => Number.isInteger(n));
    const min = Number(minAbs.value) || 0;
    rows = all.filter((r) => (scope === 'all' || r.layer === state.layer) && (!wanted.length || wanted.includes(r.expert)) && r.abs >= min);
    page = 0;
    resort();
  }
  function resort() {
    const sign = desc ? -1 : 1;
    rows.sort((a, b) => sign * (a[sortKey] - b[sortKey]) || a.layer - b.layer || a.expert - b.expert);
    for (const th of head.children) th.dataset.sort = th.dataset.key === sortKey ? (desc ? 'desc' : 'asc') : '';
    show();
  }
  function show() {
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    const slice = rows.slice(page * PAGE, page * PAGE + PAGE);
    tbody.replaceChildren(...slice.map((r) => {
      const tr = MR.el('tr', { class: r.layer === state.layer ? 'mr-selected' : '', onclick: () => state.set({ layer: r.layer }, tbody) });
      for (const c of columns) tr.append(MR.el('td', { class: c.key === 'layer' ? '' : 'mr-num', text: c.fmt(r) }));
      tr.firstChild.title = MR.layerName(r.layer);
      return tr;
    }));
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
    status.textContent = rows.length ? 'rows ' + (page * PAGE + 1) + '\u2013' + (page * PAGE + slice.length) + ' of ' + rows.length : 'no rows match';
  }
  state.on((changed) => { if ('layer' in changed) { if (layerScope.value === 'selected') refilter(); else show(); } });
  refilter();
});
