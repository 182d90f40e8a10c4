// View "divergence": the layers × steps divergence heatmap (hover: step, layer, value, both
// tokens; click: select that step and layer on the whole page) and the per-layer means.
'use strict';

MR.registerView('divergence', function (root, section, ctx) {
  const { state } = ctx;
  const L = MR.data.model.layers.length, S = section.steps;
  const div = MR.decode(section.divergence);
  const base = MR.run(section.base_run), v = MR.run(section.var_run);
  let dataMax = 0;
  for (let i = 0; i < div.length; i++) if (div[i] > dataMax) dataMax = div[i];
  const fullMax = section.metric_max;
  // Default scale: the metric's whole range when the data uses a good part of it, else the data.
  let scale = fullMax != null && dataMax > 0.25 * fullMax ? 'full' : 'data';
  const vmax = () => (scale === 'full' && fullMax != null ? fullMax : dataMax > 0 ? dataMax : 1);

  const tokenPair = (run, start, s) => {
    const row = start + s;
    const produced = row + 1 < run.rows ? MR.tokenText(run, row + 1) : '(end of trace)';
    return '\u201c' + MR.tokenText(run, row) + '\u201d \u2192 \u201c' + produced + '\u201d';
  };
  const heat = MR.el('div');
  const legend = MR.el('span');
  const scaleSelect = MR.el('select', { 'aria-label': 'colour scale', onchange: () => { scale = scaleSelect.value; paintLegend(); map.repaintImage(); } },
    fullMax != null ? MR.el('option', { value: 'full', text: 'colours: full range [0, ' + fullMax + ']' }) : null,
    MR.el('option', { value: 'data', text: 'colours: [0, data max = ' + MR.fmt(dataMax, 3) + ']' }));
  scaleSelect.value = scale;
  const paintLegend = () => legend.replaceChildren(MR.colorbar(MR.viridis, 0, vmax(), section.metric_label));
  paintLegend();
  const card = MR.card('Divergence per layer and generation step',
    section.metric_label + ' between base and variant routing at each aligned step (' + section.distribution +
    ' distribution). Hover a cell for its tokens; click to select that step and layer.',
    MR.el('div', { class: 'mr-toolbar' }, MR.layerPicker(state), MR.stepPicker(state, S), scaleSelect, legend), heat);
  root.append(card);

  const map = new MR.Heatmap(heat, {
    rows: L, cols: S, rowHeight: L > 60 ? 4 : 10, minHeight: 160,
    value: (r, c) => div[r * S + c],
    color: (x) => MR.viridis(x / vmax()),
    rowLabel: (r) => MR.layerLabel(r),
    colTick: (c) => String(c),
    xTitle: 'generation step', yTitle: MR.layerAxisTitle(),
    marker: () => ({ r: state.layer, c: state.step }),
    onHover: (r, c) => [
      MR.tipLine('step', String(c)),
      MR.tipLine('layer', MR.layerName(r)),
      MR.tipLine(section.metric_label, MR.fmt(div[r * S + c], 4)),
      MR.tipLine('base', tokenPair(base, section.base_start, c)),
      MR.tipLine('variant', tokenPair(v, section.var_start, c)),
      MR.el('div', { class: 'mr-sub', text: 'routing of the first token, which produced the second' }),
    ],
    onClick: (r, c) => state.set({ layer: r, step: c }, map),
  });
  state.on(() => map.draw());

  // Per-layer means (Chart.js), the selected layer highlighted; click a bar to select it.
  const means = section.layer_mean.map((x) => (x == null ? NaN : x));
  const { box: chartBox, canvas } = MR.chartBox(220, 'mean divergence per layer');
  root.append(MR.card('Mean divergence per layer', 'Mean of each layer\u2019s row over the ' + S + ' aligned steps.', chartBox));
  const colors = () => means.map((_, l) => (l === state.layer ? '#d62728' : '#2f6c8e'));
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels: MR.data.model.layers.map((l) => l.label), datasets: [{ label: 'mean ' + section.metric, data: means, backgroundColor: colors() }] },
    options: {
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => MR.layerName(items[0].dataIndex), label: (item) => section.metric_label + ' ' + MR.fmt(item.raw, 4) } } },
      scales: { x: { title: { display: true, text: MR.layerAxisTitle() } }, y: { beginAtZero: true, title: { display: true, text: 'mean ' + section.metric_label } } },
      onClick: (_, elements) => { if (elements.length) state.set({ layer: elements[0].index }, chart); },
    },
  });
  state.on((changed) => { if ('layer' in changed) { chart.data.datasets[0].backgroundColor = colors(); chart.update('none'); } });
});
