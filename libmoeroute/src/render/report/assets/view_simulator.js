// View "simulator": the toy MoE layer of MR.sim drawn as flow — router on the left, local and
// shared experts with their micro-experts on the right, arcs whose width is the gate weight
// (2 + 18 · w px), packets moving along them, and a live bar chart of the top-k weights.
// Playback FPS = tokens per second; flow speed = packet trips per second.
'use strict';

MR.drawRoutingScene = function (ctx, scene, width, height) {
  const margin = 24, top = 62;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#262626'; ctx.textBaseline = 'top'; ctx.textAlign = 'left';
  ctx.font = 'bold 14px ' + getComputedStyle(document.body).fontFamily;
  ctx.fillText(scene.title, margin, 14);
  ctx.fillStyle = '#737373'; ctx.font = '12px ' + getComputedStyle(document.body).fontFamily;
  ctx.fillText(scene.caption, margin, 34);
  const radius = Math.min(40, Math.max(18, Math.min(width, height) * 0.065));
  const barsTop = height - margin - Math.min(130, (height - top) * 0.34);
  const router = { x: Math.max(margin + radius, width * 0.16), y: top + (barsTop - top) / 2 };
  const area = { x: width * 0.46, y: top, w: width * 0.54 - margin, h: height - top - margin };
  const n = scene.experts.length;
  // Boxes never grow beyond 130 × 46; of the column counts reaching 75 % of the best size the
  // fewest win, so arcs cross fewer boxes (the same rule as the GIF frames).
  const scaleFor = (cols) => Math.min((area.w / cols * 0.9) / 130, (area.h / Math.ceil(n / cols) * 0.82) / 46, 1);
  let top1 = 0;
  for (let cols = 1; cols <= n; cols++) top1 = Math.max(top1, scaleFor(cols));
  let cols = 1;
  while (scaleFor(cols) < 0.75 * top1) cols++;
  const best = { rows: Math.ceil(n / cols), cw: area.w / cols, ch: area.h / Math.ceil(n / cols) };
  const s = scaleFor(cols), bw = 130 * s, bh = 46 * s;
  const box = (i) => ({ x: area.x + Math.floor(i / best.rows) * best.cw + (best.cw - bw) / 2, y: area.y + (i % best.rows) * best.ch + (best.ch - bh) / 2 });
  const micro = (i, m) => { const b = box(i); return { x: b.x + (bw * (m + 1)) / (scene.micro + 1), y: b.y + bh * 0.72 }; };
  const p0 = { x: router.x + radius, y: router.y }, lift = Math.min(60, height * 0.12);
  const curve = (p2) => ({ c: { x: (p0.x + p2.x) / 2, y: (p0.y + p2.y) / 2 - lift }, p2 });
  const at = (cv, t) => ({ x: (1 - t) * (1 - t) * p0.x + 2 * (1 - t) * t * cv.c.x + t * t * cv.p2.x, y: (1 - t) * (1 - t) * p0.y + 2 * (1 - t) * t * cv.c.y + t * t * cv.p2.y });
  const stroke = (cv, color, w) => { ctx.strokeStyle = color; ctx.lineWidth = w; ctx.beginPath(); ctx.moveTo(p0.x, p0.y); ctx.quadraticCurveTo(cv.c.x, cv.c.y, cv.p2.x, cv.p2.y); ctx.stroke(); };
  const chosen = new Set(scene.arcs.map((a) => a.expert));
  scene.experts.forEach((ex, i) => {
    const b = box(i);
    ctx.fillStyle = ex.shared || chosen.has(i) ? ex.color + '33' : '#fff'; ctx.fillRect(b.x, b.y, bw, bh);
    ctx.strokeStyle = ex.color; ctx.lineWidth = 2; ctx.strokeRect(b.x, b.y, bw, bh);
  });
  if (scene.showAll) for (let e = 0; e < n; e++) for (let m = 0; m < scene.micro; m++) stroke(curve(micro(e, m)), '#dbdbdb', 1);
  const arcs = scene.arcs.map((a) => ({ ...a, cv: curve(micro(a.expert, a.micro)) })).sort((a, b) => a.weight - b.weight);
  for (const a of arcs) {
    const ex = scene.experts[a.expert];
    ctx.globalAlpha = ex.shared ? 0.6 : 1;
    if (ex.shared) ctx.setLineDash([6, 4]);
    stroke(a.cv, ex.color, ex.shared ? 3 : Math.max(2, 2 + 18 * a.weight));
    ctx.setLineDash([]); ctx.globalAlpha = 1;
  }
  ctx.fillStyle = '#fff'; ctx.beginPath(); ctx.arc(router.x, router.y, radius, 0, 2 * Math.PI); ctx.fill();
  ctx.strokeStyle = '#262626'; ctx.lineWidth = 2; ctx.stroke();
  ctx.fillStyle = '#262626'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
  ctx.font = Math.min(12, Math.max(8, radius * 0.36)) + 'px ' + getComputedStyle(document.body).fontFamily;
  ctx.fillText('Router', router.x, router.y);
  ctx.textAlign = 'left';
  ctx.font = Math.min(11, Math.max(6, bh * 0.26)) + 'px ' + getComputedStyle(document.body).fontFamily;
  const dot = Math.min(3.5, Math.max(1.5, bh * 0.075));
  scene.experts.forEach((ex, i) => {
    const b = box(i);
    ctx.fillStyle = '#262626'; ctx.fillText(ex.label, b.x + 4, b.y + bh * 0.3);
    ctx.fillStyle = ex.color;
    for (let m = 0; m < scene.micro; m++) { const p = micro(i, m); ctx.beginPath(); ctx.arc(p.x, p.y, dot, 0, 2 * Math.PI); ctx.fill(); }
  });
  for (const a of arcs) {
    ctx.fillStyle = scene.experts[a.expert].color;
    for (let k = 0; k < 2; k++) {
      const p = at(a.cv, (scene.phase + k / 2) % 1);
      ctx.beginPath(); ctx.arc(p.x, p.y, 5, 0, 2 * Math.PI); ctx.fill();
      ctx.strokeStyle = 'rgba(0,0,0,0.35)'; ctx.lineWidth = 1; ctx.stroke();
    }
  }
  return { barsTop };
};

MR.registerView('simulator', function (root, section) {
  const d = section.defaults;
  const cfg = { ...d };
  const inputs = {};
  const num = (key, label, min, max, step) => {
    const input = MR.el('input', { type: 'number', min, max, step: step || 1, value: cfg[key], 'data-key': key, class: 'mr-num-input' });
    inputs[key] = input;
    return MR.el('label', { class: 'mr-control' }, label + ' ', input);
  };
  const fps = MR.el('input', { type: 'range', min: 1, max: 30, value: 6, 'aria-label': 'playback fps' });
  const flow = MR.el('input', { type: 'range', min: 0.05, max: 2, step: 0.05, value: 0.5, 'aria-label': 'flow speed' });
  const fpsOut = MR.el('output'), flowOut = MR.el('output'), meter = MR.el('span', { class: 'mr-sub' });
  const status = MR.el('p', { class: 'mr-sub mr-sim-status' });
  const error = MR.el('p', { class: 'mr-error', role: 'alert' });
  const { box: canvasBox, c } = MR.canvasBox('mr-sim');
  const bars = new MR.WeightBars(200, 'top-k weights', 'micro-expert (expert.micro)');
  const button = MR.button;
  root.append(MR.card('Routing simulator', 'A toy MoE layer: token embeddings x drift slowly, the router scores every local micro-expert (z = W\u1d40x\u0302), adds Gaussian noise and keeps the top-k; shared experts are always on. Definitions: docs/simulator.md.',
    MR.el('div', { class: 'mr-toolbar' }, num('local_experts', 'N_local', 1, 64), num('shared_experts', 'S_shared', 0, 16), num('micro_experts', 'M', 1, 16),
      num('top_k', 'top-k', 1, 1024), num('embedding_dim', 'embedding dim', 1, 1024), num('noise', 'noise \u03c3', 0, 10, 0.01), num('seed', 'seed', 0, 4294967295)),
    MR.el('div', { class: 'mr-toolbar' }, button('Randomize', randomize, 'randomize'), button('Compute once', once, 'once'),
      button('Start animation', start, 'start'), button('Stop', stop, 'stop'),
      MR.el('label', { class: 'mr-control' }, 'Playback FPS ', fps, fpsOut), MR.el('label', { class: 'mr-control' }, 'Flow speed ', flow, flowOut), meter),
    error, canvasBox, status, bars.box));

  let sim = null, last = null, phase = 0, running = false, raf = 0, lastTime = 0, tokenClock = 0, frames = 0, meterClock = 0;
  const readConfig = () => {
    for (const [k, input] of Object.entries(inputs)) cfg[k] = Number(input.value);
    cfg.seed = cfg.seed >>> 0;
  };
  function rebuild() {
    readConfig();
    try { sim = new MR.sim.Simulator(cfg); error.textContent = ''; } catch (e) { sim = null; error.textContent = e.message; stop(); return false; }
    last = null;
    return true;
  }
  function scene() {
    const experts = [];
    for (let e = 0; e < cfg.local_experts; e++) experts.push({ label: 'E' + e, color: MR.expertColor(e), shared: false });
    for (let s = 0; s < cfg.shared_experts; s++) experts.push({ label: 'S' + s, color: MR.expertColor(cfg.local_experts + s), shared: true });
    const arcs = [];
    for (let s = 0; s < cfg.shared_experts; s++) for (let m = 0; m < cfg.micro_experts; m++) arcs.push({ expert: cfg.local_experts + s, micro: m, weight: 1 });
    if (last) last.chosen.forEach((id, i) => arcs.push({ expert: Math.floor(id / cfg.micro_experts), micro: id % cfg.micro_experts, weight: last.weights[i] }));
    return {
      title: 'MoE routing: top-' + cfg.top_k + ' of ' + cfg.local_experts * cfg.micro_experts + ' micro-experts (' + cfg.local_experts + ' experts \u00d7 ' + cfg.micro_experts + '), ' + cfg.shared_experts + ' shared always on',
      caption: sim ? 'token ' + sim.tokens + ' \u00b7 noise \u03c3 = ' + cfg.noise + ' \u00b7 d = ' + cfg.embedding_dim + ' \u00b7 seed ' + cfg.seed : '',
      experts, micro: cfg.micro_experts, arcs, phase, showAll: false,
    };
  }
  function draw() { if (c.width) MR.drawRoutingScene(c.ctx, scene(), c.width, c.height); }
  function step() {
    if (!sim && !rebuild()) return;
    last = sim.next();
    const labels = last.chosen.map((id) => 'E' + Math.floor(id / cfg.micro_experts) + '.' + (id % cfg.micro_experts));
    bars.show(last.chosen.map((id, i) => ({ label: labels[i], value: last.weights[i], expert: Math.floor(id / cfg.micro_experts) })), '');
    status.textContent = 'token ' + sim.tokens + ': ' + labels.map((l, i) => l + ' ' + MR.fixed(last.weights[i], 3)).join(', ');
    root.dataset.tokens = String(sim.tokens);
  }
  function once() { stop(); step(); draw(); }
  function randomize() {
    inputs.seed.value = String(Math.floor(Math.random() * 4294967296));
    if (rebuild()) once();
  }
  function frame(t) {
    if (!running) return;
    const dt = lastTime ? Math.min(0.25, (t - lastTime) / 1000) : 0;
    lastTime = t;
    phase = (phase + dt * Number(flow.value)) % 1;
    tokenClock += dt * Number(fps.value);
    while (tokenClock >= 1) { tokenClock -= 1; step(); }
    draw();
    frames++; meterClock += dt;
    if (meterClock >= 0.5) { meter.textContent = Math.round(frames / meterClock) + ' frames/s drawn'; frames = 0; meterClock = 0; }
    raf = requestAnimationFrame(frame);
  }
  function start() {
    if (running || (!sim && !rebuild())) return;
    running = true; lastTime = 0; root.dataset.running = '1';
    raf = requestAnimationFrame(frame);
  }
  function stop() { running = false; cancelAnimationFrame(raf); root.dataset.running = '0'; }
  for (const input of Object.values(inputs)) input.addEventListener('change', () => { const was = running; if (rebuild()) { step(); draw(); if (was) start(); } });
  const label = () => { fpsOut.textContent = ' ' + fps.value; flowOut.textContent = ' ' + Number(flow.value).toFixed(2); };
  fps.addEventListener('input', label); flow.addEventListener('input', label); label();
  MR.onWidth(canvasBox, (w) => { c.resize(w, Math.max(320, Math.min(560, w * 0.58))); draw(); });
  rebuild(); step();
  // For tests and the curious: the current simulator and its last decision.
  MR.sim.current = () => ({ config: { ...cfg }, last, tokens: sim ? sim.tokens : 0, running });
});
