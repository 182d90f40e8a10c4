// moeroute report: shared helpers. Every view is a function registered with MR.registerView;
// main.js calls it with (container, section, context). Text from the data only ever reaches the
// page through textContent or canvas fillText, never as HTML.
'use strict';
const MR = (window.MR = {});
MR.views = {};
MR.registerView = (name, render) => { MR.views[name] = render; };

// ---- DOM
MR.el = function (tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'style') Object.assign(e.style, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
};
MR.button = (text, onclick, action) => MR.el('button', { type: 'button', text, onclick, 'data-action': action });
// A fixed-height box holding one Chart.js canvas: → { box, canvas }.
MR.chartBox = function (height, label) {
  const canvas = MR.el('canvas', { 'aria-label': label });
  return { box: MR.el('div', { class: 'mr-chart', style: { height: height + 'px' } }, canvas), canvas };
};
MR.card = (title, subtitle, ...body) =>
  MR.el('section', { class: 'mr-card' }, MR.el('h3', { text: title }), subtitle ? MR.el('p', { class: 'mr-sub', text: subtitle }) : null, ...body);

// ---- Data decoding (docs/report.md, "Data")
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
MR.bytes = function (b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};
function typed(bytes, Type, getter) {
  if (LITTLE_ENDIAN) return new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
  const view = new DataView(bytes.buffer), out = new Type(bytes.byteLength / Type.BYTES_PER_ELEMENT);
  for (let i = 0; i < out.length; i++) out[i] = view[getter](i * Type.BYTES_PER_ELEMENT, true);
  return out;
}
MR.decode = function (a) {
  if (a == null) return null;
  const bytes = MR.bytes(a.b64);
  switch (a.dtype) {
    case 'u8': return bytes;
    case 'u16': return typed(bytes, Uint16Array, 'getUint16');
    case 'u32': return typed(bytes, Uint32Array, 'getUint32');
    case 'i32': return typed(bytes, Int32Array, 'getInt32');
    case 'f32': return typed(bytes, Float32Array, 'getFloat32');
    case 'q16': {
      const q = typed(bytes, Uint16Array, 'getUint16'), out = new Float32Array(q.length);
      const lo = a.lo, step = (a.hi - a.lo) / 65534;
      for (let i = 0; i < q.length; i++) out[i] = q[i] === 65535 ? NaN : lo + q[i] * step;
      return out;
    }
  }
  throw new Error('unknown dtype ' + a.dtype);
};

// ---- Runs: the per-run arrays, decoded once on first use
MR.data = null;
const runCache = new Map();
MR.run = function (index) {
  if (runCache.has(index)) return runCache.get(index);
  const r = MR.data.runs[index];
  const run = {
    index, label: r.label, rows: r.rows, promptLength: r.prompt_length, k: r.top_k, raw: r,
    tokens: r.tokens, tokenIds: MR.decode(r.token_ids), segments: MR.decode(r.segments),
    positions: MR.decode(r.positions), sequenceIds: MR.decode(r.sequence_ids),
    ids: MR.decode(r.topk_ids), weights: MR.decode(r.gate_weights), prompt: r.prompt,
  };
  const L = MR.data.model.layers.length;
  run.slot = (layer, row) => (layer * run.rows + row) * run.k;
  run.topExpert = (layer, row) => run.ids[run.slot(layer, row)];
  run.choice = (layer, row) => {
    const out = [], s = run.slot(layer, row);
    for (let k = 0; k < run.k; k++) out.push({ expert: run.ids[s + k], weight: run.weights ? run.weights[s + k] : NaN });
    return out;
  };
  run.isPrompt = (row) => run.segments[row] === 0;
  run.position = (row) => (run.positions ? run.positions[row] : row);
  run.layers = L;
  runCache.set(index, run);
  return run;
};

// A token as one line of visible text: newlines, tabs and other control characters get symbols.
MR.tokenText = function (run, row) {
  let t = run.tokens ? run.tokens[row] : run.tokenIds ? '#' + run.tokenIds[row] : '\u00b7';
  t = t.replace(/\n/g, '\u23ce').replace(/\t/g, '\u21e5').replace(/\r/g, '\u240d');
  // eslint-disable-next-line no-control-regex
  t = t.replace(/[\u0000-\u001f\u007f]/g, '\ufffd');
  return t === '' ? '\u2205' : t;
};

// ---- Layers
MR.layerName = (l) => MR.data.model.layers[l].name;
MR.layerLabel = (l) => MR.data.model.layers[l].label;
MR.layerAxisTitle = () => (MR.data.model.layer_pattern ? 'Layer (' + MR.data.model.layer_pattern + ')' : 'Layer');

// ---- Colours
MR.viridis = (t) => {
  const table = MR.data.palette.viridis;
  if (!(t === t)) return '#808080';
  return table[Math.min(255, Math.max(0, Math.floor(t * 256)))];
};
MR.coolwarm = (t) => {
  const table = MR.data.palette.coolwarm;
  if (!(t === t)) return '#808080';
  return table[Math.min(255, Math.max(0, Math.floor(t * 256)))];
};
MR.expertColor = (e) => {
  const table = MR.data.palette.experts;
  return table[e] || table[e % table.length];
};
MR.rgb = (hex) => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
// Black or white text, whichever contrasts more with `hex` (WCAG relative luminance).
MR.inkOn = function (hex) {
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const [r, g, b] = MR.rgb(hex);
  const y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return y > 0.22 ? '#111111' : '#ffffff';
};

// ---- Numbers
// `digits` significant digits without trailing zeros after the point ("0.25", "1200", "3.1e-5").
MR.fmt = function (v, digits = 4) {
  if (v == null || !(v === v)) return 'n/a';
  const [mantissa, exponent] = Number(v).toPrecision(digits).split('e');
  const m = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return exponent ? m + 'e' + exponent : m;
};
MR.fixed = (v, digits = 3) => (v == null || !(v === v) ? 'n/a' : Number(v).toFixed(digits));

// ---- Shared selection state of one page (layer, step, …): views listen and set.
MR.State = class {
  constructor(init) { Object.assign(this, init); this.listeners = []; }
  on(fn) { this.listeners.push(fn); }
  set(patch, source) {
    const changed = {};
    let any = false;
    for (const [k, v] of Object.entries(patch)) if (this[k] !== v) { this[k] = v; changed[k] = v; any = true; }
    if (any) for (const fn of this.listeners) fn(changed, source);
  }
};

// ---- Tooltip (one for the page)
MR.tip = {
  node: null,
  show(ev, ...content) {
    if (!this.node) { this.node = MR.el('div', { class: 'mr-tip', role: 'tooltip' }); document.body.append(this.node); }
    this.node.replaceChildren(...content.flat().filter((c) => c != null));
    this.node.style.display = 'block';
    const pad = 14, w = this.node.offsetWidth, h = this.node.offsetHeight;
    let x = ev.clientX + pad, y = ev.clientY + pad;
    if (x + w > window.innerWidth - 4) x = ev.clientX - w - pad;
    if (y + h > window.innerHeight - 4) y = ev.clientY - h - pad;
    this.node.style.left = Math.max(4, x) + 'px';
    this.node.style.top = Math.max(4, y) + 'px';
  },
  hide() { if (this.node) this.node.style.display = 'none'; },
};
MR.tipLine = (label, value) => MR.el('div', null, MR.el('b', { text: label + ' ' }), value);

// ---- Canvas with device-pixel-ratio backing store; size in CSS pixels.
MR.Canvas = class {
  constructor(cls) {
    this.canvas = MR.el('canvas', { class: cls || 'mr-canvas' });
    this.ctx = this.canvas.getContext('2d');
    this.width = 0; this.height = 0;
  }
  resize(w, h) {
    const dpr = window.devicePixelRatio || 1;
    w = Math.max(1, Math.floor(w)); h = Math.max(1, Math.floor(h));
    if (w === this.width && h === this.height && this.dpr === dpr) return false;
    this.width = w; this.height = h; this.dpr = dpr;
    this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = w + 'px'; this.canvas.style.height = h + 'px';
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return true;
  }
  // Event position in CSS pixels relative to the canvas.
  pos(ev) { const r = this.canvas.getBoundingClientRect(); return { x: ev.clientX - r.left, y: ev.clientY - r.top }; }
};

// Calls fn(width) now and whenever `node` changes width (debounced to one call per frame).
MR.onWidth = function (node, fn) {
  let last = -1, pending = false;
  const run = () => { pending = false; const w = node.clientWidth; if (w !== last && w > 0) { last = w; fn(w); } };
  new ResizeObserver(() => { if (!pending) { pending = true; requestAnimationFrame(run); } }).observe(node);
  requestAnimationFrame(run);
};

// Chart.js defaults for every chart: no animation (the report must stay fast), our font.
MR.chartDefaults = function () {
  if (!window.Chart) throw new Error('Chart.js is missing from the page');
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 11;
  Chart.defaults.color = '#333';
  Chart.defaults.maintainAspectRatio = false;
};
