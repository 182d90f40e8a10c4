// View "replay": a recorded run token by token through its layers. Columns are the router
// layers, dots the experts; the current token's top-k experts light up in every layer (dot
// size = gate weight) and a packet walks from the first layer to the last, the bar chart
// showing the layer it is in.
'use strict';

MR.registerView('replay', function (root, section) {
  const runs = section.replay_runs;
  if (!runs.length || !MR.data.model) {
    root.append(MR.card('Replay a trace', 'Give trace files (moeroute simulate --html … --trace T) or make a report to replay real routing here.'));
    return;
  }
  const L = MR.data.model.layers.length, E = MR.data.model.num_experts;
  let run = MR.run(runs[0]), row = 0, playing = false, raf = 0, lastTime = 0, progress = 0;
  const runSelect = MR.el('select', { 'aria-label': 'run to replay', onchange: () => { run = MR.run(Number(runSelect.value)); setRow(0); slider.max = run.rows - 1; } },
    runs.map((i) => MR.el('option', { value: i, text: MR.data.runs[i].label })));
  const slider = MR.el('input', { type: 'range', min: 0, max: run.rows - 1, value: 0, 'aria-label': 'token', oninput: () => setRow(Number(slider.value)) });
  const speed = MR.el('input', { type: 'range', min: 0.25, max: 8, step: 0.25, value: 1.5, 'aria-label': 'tokens per second' });
  const speedOut = MR.el('output', { text: ' 1.50 tokens/s' });
  speed.addEventListener('input', () => { speedOut.textContent = ' ' + Number(speed.value).toFixed(2) + ' tokens/s'; });
  const strip = MR.el('p', { class: 'mr-replay-strip' });
  const { box, c } = MR.canvasBox('mr-replay');
  const bars = new MR.WeightBars(180, 'gate weights in the current layer', 'expert');
  const btn = MR.button;
  root.append(MR.card('Replay a trace', 'Each token of a recorded run passes through every router layer; the lit dots are the experts it was routed to (size = gate weight).',
    MR.el('div', { class: 'mr-toolbar' }, MR.el('label', { class: 'mr-control' }, 'Run ', runSelect),
      btn('\u25c0 token', () => { pause(); setRow(row - 1); }, 'prev'), btn('Play', play, 'play'), btn('Pause', pause, 'pause'),
      btn('token \u25b6', () => { pause(); setRow(row + 1); }, 'next'),
      MR.el('label', { class: 'mr-control' }, 'Token ', slider), MR.el('label', { class: 'mr-control' }, 'Speed ', speed, speedOut)),
    strip, box, bars.box));
  let chartLayer = -1;
  function updateBars(layer) {
    if (layer === chartLayer) return;
    chartLayer = layer;
    bars.show(run.choice(layer, row).map((x) => ({ label: String(x.expert), value: run.weights ? x.weight : 1 / run.k, expert: x.expert })),
      'layer ' + MR.layerName(layer));
  }
  function setRow(r) {
    row = Math.max(0, Math.min(run.rows - 1, r));
    slider.value = row; progress = 0; chartLayer = -1;
    const parts = [];
    for (let i = Math.max(0, row - 8); i <= Math.min(run.rows - 1, row + 3); i++) {
      parts.push(MR.el('span', { class: i === row ? 'mr-current' : run.isPrompt(i) ? 'mr-prompt-token' : '', text: MR.tokenText(run, i) }));
    }
    strip.replaceChildren(MR.el('span', { class: 'mr-sub', text: 'row ' + row + ' of ' + run.rows + (run.isPrompt(row) ? ' (prompt) ' : ' (generated) ') }), ...parts);
    root.dataset.row = String(row);
    draw();
  }
  function draw() {
    if (!c.width) return;
    const ctx = c.ctx, W = c.width, H = c.height;
    const left = 40, right = 12, topPad = 14, bottom = 26;
    const cx = (l) => left + ((l + 0.5) * (W - left - right)) / L;
    const cy = (e) => topPad + ((e + 0.5) * (H - topPad - bottom)) / E;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#d9d9d9';
    const small = Math.max(0.8, Math.min(2.5, (H - topPad - bottom) / E / 3));
    for (let l = 0; l < L; l++) for (let e = 0; e < E; e++) ctx.fillRect(cx(l) - small / 2, cy(e) - small / 2, small, small);
    // Lines between consecutive layers' top experts, then the chosen dots.
    const packetLayer = Math.min(L - 1, Math.floor(progress * L));
    for (let l = 0; l + 1 < L; l++) {
      ctx.strokeStyle = l < packetLayer ? 'rgba(40,40,40,0.55)' : 'rgba(40,40,40,0.15)';
      ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(cx(l), cy(run.topExpert(l, row))); ctx.lineTo(cx(l + 1), cy(run.topExpert(l + 1, row))); ctx.stroke();
    }
    const maxR = Math.max(3, Math.min(10, (H - topPad - bottom) / E * 1.5, (W - left - right) / L * 0.45));
    for (let l = 0; l < L; l++) {
      for (const ch of run.choice(l, row)) {
        const w = run.weights ? ch.weight : 1 / run.k;
        ctx.fillStyle = MR.expertColor(ch.expert);
        ctx.globalAlpha = l <= packetLayer ? 1 : 0.35;
        ctx.beginPath(); ctx.arc(cx(l), cy(ch.expert), 2 + maxR * Math.sqrt(Math.max(0, w)), 0, 2 * Math.PI); ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
    const pl = progress * L - 0.5;
    const l0 = Math.max(0, Math.min(L - 1, Math.floor(pl))), l1 = Math.min(L - 1, l0 + 1), f = Math.max(0, Math.min(1, pl - l0));
    const px = cx(l0) + (cx(l1) - cx(l0)) * f, py = cy(run.topExpert(l0, row)) + (cy(run.topExpert(l1, row)) - cy(run.topExpert(l0, row))) * f;
    ctx.fillStyle = '#111'; ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = '#333'; ctx.font = '11px ' + getComputedStyle(document.body).fontFamily; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const stride = [1, 2, 5, 10, 20, 50].find((s) => (s * (W - left - right)) / L >= 24) || 100;
    for (let l = 0; l < L; l += stride) ctx.fillText(MR.layerLabel(l), cx(l), H - bottom + 8);
    ctx.save(); ctx.translate(12, (H - bottom) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText('expert (0 at top)', 0, 0); ctx.restore();
    updateBars(packetLayer);
  }
  function frame(t) {
    if (!playing) return;
    const dt = lastTime ? Math.min(0.25, (t - lastTime) / 1000) : 0;
    lastTime = t;
    progress += dt * Number(speed.value);
    if (progress >= 1) { if (row + 1 >= run.rows) { pause(); progress = 1; } else { setRow(row + 1); } }
    draw();
    raf = requestAnimationFrame(frame);
  }
  function play() { if (playing) return; playing = true; lastTime = 0; root.dataset.playing = '1'; raf = requestAnimationFrame(frame); }
  function pause() { playing = false; cancelAnimationFrame(raf); root.dataset.playing = '0'; }
  MR.onWidth(box, (w) => { c.resize(w, Math.max(260, Math.min(520, E * 4 + 60))); draw(); });
  setRow(0);
});
