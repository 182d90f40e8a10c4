// View "tokens": the text of each run token by token on a canvas, each token coloured by its
// top expert at the selected layer (or by the divergence of its step); hover shows the top-k
// ids and gate weights (of both runs on a comparison page), click selects the step.
// Row r is coloured by the routing *of* token r (docs/trace-format.md): on a comparison page
// that is step r − start, whose output is token r + 1.
'use strict';

const LINE_H = 22, PAD = 3, GAP = 2, MAX_VIEW_H = 340;

MR.TokenPane = class {
  constructor(parent, run, opts) {
    this.run = run; this.o = opts;
    this.c = new MR.Canvas('mr-tokens-canvas');
    this.spacer = MR.el('div', { class: 'mr-spacer' });
    this.scroll = MR.el('div', { class: 'mr-tokens-scroll' }, this.spacer, this.c.canvas);
    this.node = MR.el('div', { class: 'mr-tokens' }, MR.el('h4', { text: opts.title }), this.scroll);
    parent.append(this.node);
    this.widths = new Map();
    this.hoverRow = -1;
    this.scroll.addEventListener('scroll', () => this.draw(), { passive: true });
    this.c.canvas.addEventListener('mousemove', (ev) => this.move(ev));
    this.c.canvas.addEventListener('mouseleave', () => { this.hoverRow = -1; MR.tip.hide(); this.draw(); });
    this.c.canvas.addEventListener('click', (ev) => { const it = this.itemAt(ev); if (it && this.o.onClick) this.o.onClick(it.row); });
    MR.onWidth(this.scroll, (w) => this.layout(w));
  }
  setRows(first) { this.first = first; if (this.width) this.layout(this.width); }
  layout(width) {
    this.width = width;
    const ctx = this.c.ctx;
    ctx.font = '13px ' + MR.monoFont();
    const maxW = width - 2 * GAP - 2 * PAD - 16;
    const items = [];
    let x = GAP, line = 0;
    const first = this.first == null ? this.o.firstRow : this.first;
    let seq = this.run.sequenceIds ? this.run.sequenceIds[first] : null;
    for (let row = first; row < this.run.rows; row++) {
      const text = MR.tokenText(this.run, row);
      let w = this.widths.get(text);
      if (w == null) { w = Math.min(maxW, ctx.measureText(text).width); this.widths.set(text, w); }
      const boxW = w + 2 * PAD;
      const newSeq = this.run.sequenceIds && this.run.sequenceIds[row] !== seq;
      if ((x + boxW > width - 16 && x > GAP) || newSeq) { line++; x = GAP; }
      if (newSeq) seq = this.run.sequenceIds[row];
      items.push({ row, text, x, w: boxW, line });
      x += boxW + GAP;
    }
    this.items = items;
    this.lines = [];
    for (const it of items) (this.lines[it.line] = this.lines[it.line] || []).push(it);
    const contentH = (this.lines.length || 1) * LINE_H + GAP;
    this.spacer.style.height = contentH + 'px';
    this.viewH = Math.min(MAX_VIEW_H, contentH);
    this.scroll.style.height = this.viewH + 'px';
    this.c.resize(width, this.viewH);
    this.draw();
  }
  itemAt(ev) {
    if (!this.lines) return null;
    const p = this.c.pos(ev);
    const line = this.lines[Math.floor((p.y + this.scroll.scrollTop) / LINE_H)];
    if (!line) return null;
    return line.find((it) => p.x >= it.x && p.x < it.x + it.w) || null;
  }
  move(ev) {
    const it = this.itemAt(ev);
    const row = it ? it.row : -1;
    if (row !== this.hoverRow) { this.hoverRow = row; this.draw(); }
    if (it) MR.tip.show(ev, this.o.onHover(it.row)); else MR.tip.hide();
  }
  scrollTo(row) {
    const it = this.items && this.items.find((i) => i.row === row);
    if (!it) return;
    const y = it.line * LINE_H, top = this.scroll.scrollTop;
    if (y < top || y + LINE_H > top + this.viewH) this.scroll.scrollTop = Math.max(0, y - this.viewH / 2);
  }
  draw() {
    if (!this.lines) return;
    const top = this.scroll.scrollTop;
    this.c.canvas.style.top = top + 'px';
    const ctx = this.c.ctx;
    ctx.clearRect(0, 0, this.c.width, this.c.height);
    ctx.font = '13px ' + MR.monoFont();
    ctx.textBaseline = 'middle';
    const firstLine = Math.floor(top / LINE_H), lastLine = Math.ceil((top + this.viewH) / LINE_H);
    for (let l = firstLine; l <= lastLine && l < this.lines.length; l++) {
      const y = l * LINE_H - top + GAP;
      for (const it of this.lines[l] || []) {
        const bg = this.o.color(it.row);
        const prompt = this.run.isPrompt(it.row);
        ctx.fillStyle = bg || (prompt ? '#eeeeee' : '#f7f7f7');
        ctx.fillRect(it.x, y, it.w, LINE_H - GAP - 1);
        ctx.fillStyle = bg ? MR.inkOn(bg) : prompt ? '#777' : '#222';
        ctx.save(); ctx.beginPath(); ctx.rect(it.x, y, it.w, LINE_H); ctx.clip();
        ctx.fillText(it.text, it.x + PAD, y + (LINE_H - GAP) / 2);
        ctx.restore();
        if (this.o.isSelected(it.row)) {
          ctx.strokeStyle = '#000'; ctx.lineWidth = 2; ctx.strokeRect(it.x + 1, y + 1, it.w - 2, LINE_H - GAP - 3);
        } else if (it.row === this.hoverRow) {
          ctx.strokeStyle = '#ff2d55'; ctx.lineWidth = 1.5; ctx.strokeRect(it.x + 0.75, y + 0.75, it.w - 1.5, LINE_H - GAP - 2.5);
        }
      }
    }
  }
};

MR.monoFont = () => 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';

// Top-k of `run` at (layer, row) as a small table for the tooltip.
MR.choiceTable = function (title, run, layer, row) {
  const rows = run.choice(layer, row).map((c) => MR.el('tr', null,
    MR.el('td', null, MR.el('span', { class: 'mr-swatch', style: { background: MR.expertColor(c.expert) } }), 'expert ' + c.expert),
    MR.el('td', { class: 'mr-num', text: run.weights ? MR.fixed(c.weight, 4) : '\u2013' })));
  return MR.el('div', { class: 'mr-tip-block' },
    MR.el('div', null, MR.el('b', { text: title }), ' \u201c' + MR.tokenText(run, row) + '\u201d'),
    MR.el('div', { class: 'mr-sub', text: 'row ' + row + ', position ' + run.position(row) + (run.isPrompt(row) ? ', prompt' : ', generated') }),
    MR.el('table', { class: 'mr-tip-table' }, MR.el('tr', null, MR.el('th', { text: 'top-k' }), MR.el('th', { text: run.weights ? 'gate weight' : '' })), rows));
};

MR.registerView('tokens', function (root, section, ctx) {
  const { state } = ctx;
  const comparison = section.kind === 'comparison';
  const runs = comparison ? [MR.run(section.base_run), MR.run(section.var_run)] : [MR.run(section.run)];
  const starts = comparison ? [section.base_start, section.var_start] : [0];
  const S = comparison ? section.steps : 0;
  const div = comparison ? MR.decode(section.divergence) : null;
  let divMax = 0;
  if (div) for (let i = 0; i < div.length; i++) if (div[i] > divMax) divMax = div[i];
  let mode = 'expert';
  const stepOf = (i, row) => { const s = row - starts[i]; return comparison && s >= 0 && s < S ? s : null; };

  const modeSelect = MR.el('select', { 'aria-label': 'token colour', onchange: () => { mode = modeSelect.value; panes.forEach((p) => p.draw()); } },
    MR.el('option', { value: 'expert', text: 'colour: top expert at the layer' }),
    comparison ? MR.el('option', { value: 'divergence', text: 'colour: divergence of the step' }) : null,
    runs[0].weights ? MR.el('option', { value: 'weight', text: 'colour: gate weight of the top expert' }) : null);
  const hidePrompt = MR.el('input', { type: 'checkbox', checked: comparison });
  hidePrompt.addEventListener('change', () => panes.forEach((p, i) => p.setRows(firstRow(i))));
  const firstRow = (i) => (hidePrompt.checked ? (comparison ? starts[i] : Math.min(runs[i].promptLength, runs[i].rows - 1)) : 0);
  const body = MR.el('div', { class: comparison ? 'mr-token-grid' : '' });
  root.append(MR.card('Tokens', comparison
    ? 'Both runs token by token from step 0 (the last prompt token). Each token is coloured by the routing of that token; hover for the top-k of both runs at its step.'
    : 'The trace token by token, coloured by the routing of each token; hover for its top-k.',
  MR.el('div', { class: 'mr-toolbar' }, MR.layerPicker(state), comparison ? MR.stepPicker(state, S) : null, modeSelect,
    // A trace of several sequences has no single prompt to hide: each sequence starts a line.
    runs[0].sequenceIds ? null : MR.el('label', { class: 'mr-control' }, hidePrompt, comparison ? ' hide the prompt before step 0' : ' hide the prompt')), body));

  const panes = runs.map((run, i) => new MR.TokenPane(body, run, {
    title: comparison ? (i === 0 ? 'base' : 'variant') : run.label,
    firstRow: firstRow(i),
    color: (row) => {
      if (mode === 'expert') return MR.expertColor(run.topExpert(state.layer, row));
      if (mode === 'weight') return MR.viridis(run.weights[run.slot(state.layer, row)]);
      const s = stepOf(i, row);
      return s == null ? null : MR.viridis(div[state.layer * S + s] / (divMax || 1));
    },
    isSelected: (row) => (comparison ? stepOf(i, row) === state.step : row === state.row),
    onHover: (row) => {
      const s = stepOf(i, row);
      const head = MR.el('div', { class: 'mr-sub', text: 'layer ' + MR.layerName(state.layer) + (s != null ? ', step ' + s : '') });
      if (s == null) return [head, MR.choiceTable(comparison ? (i === 0 ? 'base' : 'variant') : run.label, run, state.layer, row)];
      return [head, MR.tipLine(section.metric_label, MR.fmt(div[state.layer * S + s], 4)),
        MR.el('div', { class: 'mr-tip-pair' },
          MR.choiceTable('base', runs[0], state.layer, starts[0] + s),
          MR.choiceTable('variant', runs[1], state.layer, starts[1] + s))];
    },
    onClick: (row) => { const s = stepOf(i, row); if (s != null) state.set({ step: s }, panes[i]); else if (!comparison) state.set({ row }, panes[i]); },
  }));
  state.on((changed, source) => {
    panes.forEach((p, i) => {
      if ('step' in changed && comparison && source !== p) p.scrollTo(starts[i] + state.step);
      p.draw();
    });
  });
});
