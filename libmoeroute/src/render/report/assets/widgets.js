// Widgets several views share: the layer and step pickers and a canvas heatmap with axes,
// hover and click (one image pixel per cell, scaled without smoothing: fast at 48 × 1000).
'use strict';

MR.layerPicker = function (state) {
  const select = MR.el('select', { class: 'mr-layer', 'aria-label': 'layer',
    onchange: () => state.set({ layer: Number(select.value) }, select) });
  MR.data.model.layers.forEach((l, i) => select.append(MR.el('option', { value: i, text: l.label + (l.label !== l.name ? '  (' + l.name + ')' : '') })));
  select.value = String(state.layer);
  state.on((changed) => { if ('layer' in changed) select.value = String(state.layer); });
  return MR.el('label', { class: 'mr-control' }, 'Layer ', select);
};

MR.stepPicker = function (state, steps) {
  const range = MR.el('input', { type: 'range', min: 0, max: Math.max(0, steps - 1), value: state.step, class: 'mr-step-range', 'aria-label': 'step' });
  const num = MR.el('input', { type: 'number', min: 0, max: Math.max(0, steps - 1), value: state.step, class: 'mr-step' });
  range.addEventListener('input', () => state.set({ step: Number(range.value) }, range));
  num.addEventListener('change', () => state.set({ step: Math.min(steps - 1, Math.max(0, Number(num.value) | 0)) }, num));
  state.on((changed) => { if ('step' in changed) { range.value = state.step; num.value = state.step; } });
  return MR.el('label', { class: 'mr-control' }, 'Step ', range, num);
};

// A heatmap on canvas. opts: rows, cols, value(r, c), color(v), rowLabel(r), colTick(c),
// xTitle, yTitle, onHover(r, c, ev) → tooltip content, onClick(r, c), marker() → {r, c} (either
// may be null), rowHeight (px per row, ≥ 1), minHeight.
MR.Heatmap = class {
  constructor(parent, opts) {
    this.o = opts;
    this.c = new MR.Canvas('mr-heatmap');
    this.wrap = MR.el('div', { class: 'mr-heatmap-wrap' }, this.c.canvas);
    parent.append(this.wrap);
    this.image = document.createElement('canvas');
    this.hover = null;
    this.repaintImage();
    this.c.canvas.addEventListener('mousemove', (ev) => this.move(ev));
    this.c.canvas.addEventListener('mouseleave', () => { this.hover = null; MR.tip.hide(); this.draw(); });
    this.c.canvas.addEventListener('click', (ev) => { const cell = this.cellAt(ev); if (cell && this.o.onClick) this.o.onClick(cell.r, cell.c); });
    MR.onWidth(this.wrap, (w) => this.layout(w));
  }
  // Recolours the cell image (after a colour-scale change).
  repaintImage() {
    const { rows, cols } = this.o;
    this.image.width = cols; this.image.height = rows;
    const ictx = this.image.getContext('2d'), img = ictx.createImageData(cols, rows), px = img.data;
    const cache = new Map();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const hex = this.o.color(this.o.value(r, c));
        let rgb = cache.get(hex);
        if (!rgb) { rgb = MR.rgb(hex); cache.set(hex, rgb); }
        const i = (r * cols + c) * 4;
        px[i] = rgb[0]; px[i + 1] = rgb[1]; px[i + 2] = rgb[2]; px[i + 3] = 255;
      }
    }
    ictx.putImageData(img, 0, 0);
    if (this.c.width) this.draw();
  }
  layout(width) {
    const { rows } = this.o;
    const ctx = this.c.ctx;
    ctx.font = '11px ' + getComputedStyle(document.body).fontFamily;
    let labelW = 0;
    for (let r = 0; r < rows; r++) labelW = Math.max(labelW, ctx.measureText(this.o.rowLabel(r)).width);
    this.left = Math.min(180, Math.ceil(labelW) + 26);
    this.top = 6; this.bottom = 36; this.right = 12;
    const rowH = Math.max(this.o.rowHeight || 8, 1);
    const plotH = Math.max(this.o.minHeight || 120, Math.min(640, rows * rowH));
    this.c.resize(width, plotH + this.top + this.bottom);
    this.plot = { x: this.left, y: this.top, w: Math.max(10, width - this.left - this.right), h: plotH };
    this.c.canvas.dataset.plot = [this.plot.x, this.plot.y, this.plot.w, this.plot.h].join(',');
    this.draw();
  }
  cellAt(ev) {
    const p = this.c.pos(ev), pl = this.plot;
    if (!pl || p.x < pl.x || p.y < pl.y || p.x >= pl.x + pl.w || p.y >= pl.y + pl.h) return null;
    return { r: Math.floor((p.y - pl.y) / pl.h * this.o.rows), c: Math.floor((p.x - pl.x) / pl.w * this.o.cols) };
  }
  move(ev) {
    const cell = this.cellAt(ev);
    const key = cell ? cell.r + ',' + cell.c : null;
    if (key !== (this.hover && this.hover.key)) { this.hover = cell ? { ...cell, key } : null; this.draw(); }
    if (cell && this.o.onHover) MR.tip.show(ev, this.o.onHover(cell.r, cell.c)); else MR.tip.hide();
    this.c.canvas.style.cursor = cell ? 'crosshair' : 'default';
  }
  outline(ctx, r, c, color, width) {
    const pl = this.plot, cw = pl.w / this.o.cols, ch = pl.h / this.o.rows;
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.strokeRect(pl.x + c * cw, pl.y + r * ch, Math.max(cw, 2), Math.max(ch, 2));
  }
  draw() {
    const ctx = this.c.ctx, pl = this.plot;
    if (!pl) return;
    ctx.clearRect(0, 0, this.c.width, this.c.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image, pl.x, pl.y, pl.w, pl.h);
    ctx.strokeStyle = '#444'; ctx.lineWidth = 1; ctx.strokeRect(pl.x - 0.5, pl.y - 0.5, pl.w + 1, pl.h + 1);
    // y labels, thinned so they never overlap
    ctx.fillStyle = '#222'; ctx.font = '11px ' + getComputedStyle(document.body).fontFamily;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    const rows = this.o.rows, ch = pl.h / rows;
    const strideY = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((s) => s * ch >= 12) || 1000;
    for (let r = 0; r < rows; r += strideY) ctx.fillText(this.o.rowLabel(r), pl.x - 5, pl.y + (r + 0.5) * ch);
    // x ticks
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const cols = this.o.cols, cw = pl.w / cols;
    const strideX = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((s) => s * cw >= 40) || 10000;
    for (let c = 0; c < cols; c += strideX) {
      const x = pl.x + (c + 0.5) * cw;
      ctx.fillRect(x, pl.y + pl.h, 1, 4);
      ctx.fillText(this.o.colTick(c), x, pl.y + pl.h + 6);
    }
    if (this.o.xTitle) ctx.fillText(this.o.xTitle, pl.x + pl.w / 2, pl.y + pl.h + 21);
    if (this.o.yTitle) {
      ctx.save(); ctx.translate(10, pl.y + pl.h / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = 'middle';
      ctx.fillText(this.o.yTitle, 0, 0); ctx.restore();
    }
    const m = this.o.marker && this.o.marker();
    if (m) {
      ctx.fillStyle = '#d62728';
      if (m.r != null) { ctx.fillRect(pl.x - 4, pl.y + m.r * ch, 3, Math.max(ch, 2)); }
      if (m.c != null) { ctx.fillRect(pl.x + m.c * cw, pl.y + pl.h + 1, Math.max(cw, 2), 3); }
      if (m.r != null && m.c != null) { this.outline(ctx, m.r, m.c, '#000', 3); this.outline(ctx, m.r, m.c, '#fff', 1.5); }
    }
    if (this.hover) this.outline(ctx, this.hover.r, this.hover.c, '#ff2d55', 1.5);
  }
};

// The live gate-weight bar chart of the simulator and the replay: one bar per chosen expert.
MR.WeightBars = class {
  constructor(height, label, xTitle) {
    const { box, canvas } = MR.chartBox(height, label);
    this.box = box;
    this.chart = new Chart(canvas, {
      type: 'bar', data: { labels: [], datasets: [{ label: 'gate weight', data: [], backgroundColor: [] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, suggestedMax: 1, title: { display: true, text: 'gate weight' } }, x: { title: { display: true, text: xTitle } } } },
    });
  }
  // bars: [{ label, value, expert }], coloured by expert; title shown above ('' = none).
  show(bars, title) {
    const c = this.chart;
    c.data.labels = bars.map((b) => b.label);
    c.data.datasets[0].data = bars.map((b) => b.value);
    c.data.datasets[0].backgroundColor = bars.map((b) => MR.expertColor(b.expert));
    c.options.plugins.title = { display: !!title, text: title };
    c.update('none');
  }
};

// A canvas in a full-width box (for views that size it to the box's width): → { box, c }.
MR.canvasBox = function (cls) {
  const c = new MR.Canvas(cls);
  return { box: MR.el('div', { class: 'mr-sim-canvas' }, c.canvas), c };
};

// A colour bar: a horizontal ramp from lo to hi with a label.
MR.colorbar = function (colorOf, lo, hi, label) {
  const c = new MR.Canvas('mr-colorbar');
  c.resize(220, 34);
  const ctx = c.ctx;
  for (let x = 0; x < 200; x++) { ctx.fillStyle = colorOf(x / 199); ctx.fillRect(10 + x, 2, 1, 12); }
  ctx.fillStyle = '#222'; ctx.font = '11px sans-serif'; ctx.textBaseline = 'top';
  ctx.textAlign = 'left'; ctx.fillText(MR.fmt(lo, 3), 10, 17);
  ctx.textAlign = 'right'; ctx.fillText(MR.fmt(hi, 3), 210, 17);
  return MR.el('span', { class: 'mr-colorbar-wrap' }, c.canvas, MR.el('span', { class: 'mr-sub', text: label }));
};
