// The simulator's maths, the same as libmoeroute's RoutingSimulator (moeroute/simulator.h,
// docs/simulator.md): mulberry32 streams, Box–Muller normals, a drifting token, noisy top-k
// gating over N_local · M micro-experts, shared experts always on.
'use strict';

MR.sim = {};

MR.sim.Mulberry32 = class {
  constructor(seed) { this.state = seed >>> 0; }
  nextU32() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  uniform() { return this.nextU32() / 4294967296; }
  normal() {
    const u1 = this.uniform(), u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
};

MR.sim.streamSeed = (seed, stream) => (seed + Math.imul(stream, 0x9e3779b9)) >>> 0;

// Top-k of `noisy` (ties: lower id), weights = softmax over the chosen values.
MR.sim.topKGate = function (logits, noisy, k) {
  const order = Array.from(noisy.keys()).sort((a, b) => noisy[b] - noisy[a] || a - b).slice(0, k);
  const top = noisy[order[0]];
  const w = order.map((i) => Math.exp(noisy[i] - top));
  const sum = w.reduce((a, b) => a + b, 0);
  return { logits, noisy, chosen: order, weights: w.map((x) => x / sum) };
};

MR.sim.validate = function (c) {
  const check = (name, v, lo, hi) => { if (!(v >= lo && v <= hi) || Number.isNaN(v)) throw new RangeError(name + ' must be in [' + lo + ', ' + hi + '], got ' + v); };
  check('N_local', c.local_experts, 1, 64); check('S_shared', c.shared_experts, 0, 16); check('M', c.micro_experts, 1, 16);
  check('embedding dimension', c.embedding_dim, 1, 1024); check('noise', c.noise, 0, 10); check('drift', c.drift, 0, 1);
  check('top-k', c.top_k, 1, c.local_experts * c.micro_experts);
};

MR.sim.Simulator = class {
  constructor(config) {
    MR.sim.validate(config);
    this.c = { ...config };
    this.routed = config.local_experts * config.micro_experts;
    const wr = new MR.sim.Mulberry32(MR.sim.streamSeed(config.seed, 0));
    this.tokenRng = new MR.sim.Mulberry32(MR.sim.streamSeed(config.seed, 1));
    this.noiseRng = new MR.sim.Mulberry32(MR.sim.streamSeed(config.seed, 2));
    this.w = new Float64Array(config.embedding_dim * this.routed);
    for (let i = 0; i < this.w.length; i++) this.w[i] = wr.normal();
    this.x = null;
    this.tokens = 0;
  }
  next() {
    const d = this.c.embedding_dim, n = this.routed, drift = this.c.drift;
    if (!this.x) {
      this.x = new Float64Array(d);
      for (let i = 0; i < d; i++) this.x[i] = this.tokenRng.normal();
    } else {
      for (let i = 0; i < d; i++) this.x[i] = (1 - drift) * this.x[i] + drift * this.tokenRng.normal();
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += this.x[i] * this.x[i];
    norm = Math.sqrt(norm);
    const inv = norm > 0 ? 1 / norm : 0;
    const z = new Array(n).fill(0), h = new Array(n);
    for (let i = 0; i < d; i++) {
      const xi = this.x[i] * inv;
      for (let j = 0; j < n; j++) z[j] += xi * this.w[i * n + j];
    }
    for (let j = 0; j < n; j++) h[j] = z[j] + this.c.noise * this.noiseRng.normal();
    this.tokens++;
    return MR.sim.topKGate(z, h, this.c.top_k);
  }
};
