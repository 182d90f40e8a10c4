// View "utilisation": per layer, the share of top-k slots each expert received (count of slots
// holding it / (rows · k); docs/report.md) — bars for the selected layer and a layers × experts
// overview whose rows select the layer.
'use strict';

MR.registerView('utilisation', function (root, section, ctx) {
  const { state } = ctx;
  const L = MR.data.model.layers.length, E = MR.data.model.num_experts;
  const series = section.kind === 'comparison'
    ? [{ name: 'base', run: MR.run(section.base_run), u: section.utilisation.base, color: '#1f77b4' },
      { name: 'variant', run: MR.run(section.var_run), u: section.utilisation.var, color: '#ff7f0e' }]
    : [{ name: MR.run(section.run).label, run: MR.run(section.run), u: section.utilisation.run, color: '#1f77b4' }];
  for (const s of series) {
    const counts = MR.decode(s.u.counts), slots = s.u.row_count * s.run.k;
    s.share = new Float64Array(L * E);
    for (let i = 0; i < counts.length; i++) s.share[i] = slots ? counts[i] / slots : NaN;
  }
  const uniform = 1 / E;

  const { box: chartBox, canvas } = MR.chartBox(240, 'expert utilisation of the selected layer');
  const what = series[0].u.rows === 'aligned steps' ? 'the ' + series[0].u.row_count + ' aligned steps' : 'all ' + series[0].u.row_count + ' rows';
  const title = MR.el('p', { class: 'mr-sub' });
  root.append(MR.card('Expert utilisation', 'Share of the top-k slots of ' + what + ' that each expert received (sums to 1 per layer; the dashed line is 1/E, perfectly balanced).',
    MR.el('div', { class: 'mr-toolbar' }, MR.layerPicker(state)), title, chartBox));
  const layerData = (s) => Array.from(s.share.subarray(state.layer * E, state.layer * E + E));
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: Array.from({ length: E }, (_, e) => String(e)),
      datasets: series.map((s) => ({ label: s.name, data: layerData(s), backgroundColor: s.color, grouped: true }))
        .concat([{ type: 'line', label: '1/E', data: new Array(E).fill(uniform), borderColor: '#555', borderDash: [4, 4], borderWidth: 1, pointRadius: 0 }]),
    },
    options: {
      scales: { x: { title: { display: true, text: 'expert' } }, y: { beginAtZero: true, title: { display: true, text: 'share of top-k slots' } } },
      plugins: { tooltip: { callbacks: { title: (items) => 'expert ' + items[0].label, label: (item) => item.dataset.label + ': ' + MR.fixed(item.raw, 4) } } },
    },
  });
  const retitle = () => { title.textContent = 'Layer ' + MR.layerName(state.layer); };
  retitle();
  state.on((changed) => {
    if (!('layer' in changed)) return;
    series.forEach((s, i) => { chart.data.datasets[i].data = layerData(s); });
    chart.update('none');
    retitle();
    map.draw();
  });

  // Overview: layers × experts.
  const comparison = series.length === 2;
  let which = 0;
  let diffMax = 0, shareMax = 0;
  if (comparison) for (let i = 0; i < L * E; i++) diffMax = Math.max(diffMax, Math.abs(series[1].share[i] - series[0].share[i]));
  for (const s of series) for (let i = 0; i < L * E; i++) if (s.share[i] > shareMax) shareMax = s.share[i];
  const value = (r, c) => (which === 2 ? series[1].share[r * E + c] - series[0].share[r * E + c] : series[which].share[r * E + c]);
  const color = (v) => (which === 2 ? MR.coolwarm(0.5 + v / (2 * (diffMax || 1))) : MR.viridis(v / (shareMax || 1)));
  const legend = MR.el('span');
  const paintLegend = () => legend.replaceChildren(which === 2
    ? MR.colorbar((t) => MR.coolwarm(t), -diffMax, diffMax, 'variant \u2212 base share')
    : MR.colorbar(MR.viridis, 0, shareMax, 'share of top-k slots'));
  const pick = MR.el('select', { 'aria-label': 'overview', onchange: () => { which = Number(pick.value); paintLegend(); map.repaintImage(); } },
    series.map((s, i) => MR.el('option', { value: i, text: s.name })), comparison ? MR.el('option', { value: 2, text: 'variant \u2212 base' }) : null);
  paintLegend();
  const box = MR.el('div');
  root.append(MR.card('Utilisation overview', 'Every layer \u00d7 expert; click a row to select its layer.', MR.el('div', { class: 'mr-toolbar' }, pick, legend), box));
  const map = new MR.Heatmap(box, {
    rows: L, cols: E, rowHeight: L > 60 ? 4 : 8, minHeight: 140,
    value, color,
    rowLabel: (r) => MR.layerLabel(r), colTick: (c) => String(c),
    xTitle: 'expert', yTitle: MR.layerAxisTitle(),
    marker: () => ({ r: state.layer, c: null }),
    onHover: (r, c) => [MR.tipLine('layer', MR.layerName(r)), MR.tipLine('expert', String(c))].concat(
      series.map((s) => MR.tipLine(s.name, MR.fixed(s.share[r * E + c], 4) + ' (' + Math.round(s.share[r * E + c] * s.u.row_count * s.run.k) + ' slots)'))),
    onClick: (r) => state.set({ layer: r }, map),
  });
});
