// Recorder: per layer, the wanted positions' logits — and, from the native families, the ids and
// weights the model routed with — are copied into preallocated device staging buffers [position,
// layer, …] (device copies only); at the end of the forward the routing rule runs once over all
// layers on the device for sources that give only logits (TorchScript hooks), one asynchronous
// copy moves ids/weights/logits to (pinned) host memory, and the host harvests them into
// per-sequence arrays before the next forward — one wait per forward, none per layer.
#include "moeroute/torch/recorder.h"

#include <algorithm>
#include <optional>
#include <set>

#include <c10/core/impl/VirtualGuardImpl.h>
#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/recorder/routing_ops.h"

namespace moeroute {

namespace {

thread_local Recorder* t_active = nullptr;

at::ScalarType storage_type(LogitsDtype d) {
  switch (d) {
    case LogitsDtype::F16: return at::kHalf;
    case LogitsDtype::BF16: return at::kBFloat16;
    case LogitsDtype::F32: break;
  }
  return at::kFloat;
}

std::string index_list(const std::vector<LayerInfo>& layers) {
  std::string s;
  for (const auto& l : layers) s += (s.empty() ? "" : ", ") + std::to_string(l.index);
  return s;
}

}  // namespace

struct Recorder::Impl {
  std::vector<LayerInfo> gates;
  int num_experts = 0;
  RoutingRule rule;
  RecorderOptions options;
  int rows = 1;
  std::vector<int> slot_row;      // slot → row in `layers`, or -1 when not recorded
  std::vector<LayerInfo> layers;  // recorded layers, sorted

  // The forward in progress.
  bool in_forward = false;
  int64_t batch = 0, seq_len = 0, total = 0;
  std::vector<RowWindow> windows;
  std::vector<int64_t> offsets;  // row r's first position in the staging
  std::vector<int> seen;         // observe() calls per recorded layer
  bool staged_this_forward = false;  // staging chosen by this forward's first observed layer

  // Staging in the logits' dtype on their device: logits [capacity, L, E] (kept, or routed here),
  // the model's ids [capacity, L, k] int64 and weights float32 (when it gave them); host results
  // [capacity, L, k|E] (pinned on CUDA).
  c10::Device device{c10::kCPU};
  at::ScalarType staged_type = at::kFloat;
  int64_t capacity = 0;
  at::Tensor staged, staged_ids, staged_weights, h_ids, h_weights, h_logits;
  int routed_mode = -1;  // this forward: -1 nothing observed yet, 0 logits only, 1 the model's ids too
  uint64_t staging_generation = 0;  // bumped by every reallocation of the staging
  std::optional<c10::Stream> copy_stream;  // where the last host copies were queued
  struct Pending {
    std::vector<RowWindow> windows;
    std::vector<int64_t> offsets;
    int64_t total = 0;
  };
  std::optional<Pending> pending;

  // Per sequence, per layer: values appended position by position.
  std::vector<std::vector<std::vector<int32_t>>> ids;
  std::vector<std::vector<std::vector<float>>> weights, logits;
  std::vector<int64_t> positions;

  int k() const { return rule.top_k; }
  int num_layers() const { return static_cast<int>(layers.size()); }

  void ensure_staging(const at::Tensor& logits, bool routed) {
    const bool need_logits = options.keep_logits || !routed;
    if (h_ids.defined() && logits.device() == device && logits.scalar_type() == staged_type && total <= capacity &&
        (!need_logits || staged.defined()) && (!routed || staged_ids.defined()))
      return;
    if (pending) harvest();  // the buffers are about to be replaced
    ++staging_generation;
    device = logits.device();
    staged_type = logits.scalar_type();
    capacity = std::max<int64_t>(total, std::max<int64_t>(capacity, 1));
    const int64_t L = num_layers();
    const auto on_device = at::TensorOptions().device(device);
    staged = need_logits ? at::empty({capacity, L, num_experts}, on_device.dtype(staged_type)) : at::Tensor();
    staged_ids = routed ? at::empty({capacity, L, k()}, on_device.dtype(at::kLong)) : at::Tensor();
    staged_weights = routed ? at::empty({capacity, L, k()}, on_device.dtype(at::kFloat)) : at::Tensor();
    const auto host = at::TensorOptions().pinned_memory(device.is_cuda());
    h_ids = at::empty({capacity, L, k()}, host.dtype(at::kInt));
    h_weights = at::empty({capacity, L, k()}, host.dtype(at::kFloat));
    h_logits = options.keep_logits
                   ? at::empty({capacity, L, num_experts}, host.dtype(storage_type(options.logits_dtype)))
                   : at::Tensor();
  }

  // The recorded rows [total, X] of a per-grid tensor [batch·seq_len, X] (or [batch, seq_len, X]).
  at::Tensor recorded_rows(const at::Tensor& t) const {
    const int64_t X = t.size(-1);
    const auto grid = t.reshape({batch, seq_len, X});
    const bool uniform = std::all_of(windows.begin(), windows.end(), [&](const RowWindow& w) {
      return w.column == windows[0].column && w.count == windows[0].count;
    });
    if (uniform) return grid.narrow(1, windows[0].column, windows[0].count).reshape({total, X});
    std::vector<at::Tensor> parts;
    for (size_t r = 0; r < windows.size(); ++r)
      if (windows[r].count > 0) parts.push_back(grid[static_cast<int64_t>(r)].narrow(0, windows[r].column, windows[r].count));
    return at::cat(parts, 0);
  }

  // Appends the host mirror's positions to each sequence.
  void harvest_from(const std::vector<RowWindow>& wins, const std::vector<int64_t>& offs, int64_t n) {
    const int L = num_layers();
    const auto* pid = h_ids.data_ptr<int32_t>();
    const auto* pw = h_weights.data_ptr<float>();
    at::Tensor lf;
    if (options.keep_logits) lf = h_logits.narrow(0, 0, n).to(at::kFloat).contiguous();
    const float* pl = options.keep_logits ? lf.data_ptr<float>() : nullptr;
    for (size_t r = 0; r < wins.size(); ++r) {
      for (int64_t p = offs[r]; p < offs[r] + wins[r].count; ++p) {
        for (int l = 0; l < L; ++l) {
          const int64_t at_k = (p * L + l) * k();
          ids[r][l].insert(ids[r][l].end(), pid + at_k, pid + at_k + k());
          weights[r][l].insert(weights[r][l].end(), pw + at_k, pw + at_k + k());
          if (pl) {
            const int64_t at_e = (p * L + l) * num_experts;
            logits[r][l].insert(logits[r][l].end(), pl + at_e, pl + at_e + num_experts);
          }
        }
      }
      positions[r] += wins[r].count;
    }
  }

  void harvest() {
    if (!pending) return;
    // Only the forward's own host copies can still be queued here: its logits were already read.
    copy_stream->synchronize();
    harvest_from(pending->windows, pending->offsets, pending->total);
    pending.reset();
  }
};

Recorder::Recorder(std::vector<LayerInfo> gates, int num_experts, RoutingRule rule, RecorderOptions options, int rows)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  if (gates.empty()) throw InputError("recorder: the model has no MoE router layers");
  if (num_experts <= 0) throw InputError(fmt::format("recorder: invalid expert count {}", num_experts));
  if (rows < 1) throw InputError("recorder: need at least one sequence");
  if (options.top_k < 0) throw InputError(fmt::format("top_k must be ≥ 0 (0 = the model's), got {}", options.top_k));
  if (options.top_k > 0) rule.top_k = options.top_k;
  rule.validate(num_experts, "recorder");
  const std::set<int> wanted(options.layers.begin(), options.layers.end());
  for (int want : wanted) {
    const bool found = std::any_of(gates.begin(), gates.end(), [&](const LayerInfo& g) { return g.index == want; });
    if (!found)
      throw InputError(fmt::format("layer {} is not a MoE layer of this model (MoE layers: {})", want, index_list(gates)));
  }
  std::vector<int> order;
  for (int s = 0; s < static_cast<int>(gates.size()); ++s)
    if (wanted.empty() || wanted.count(gates[static_cast<size_t>(s)].index)) order.push_back(s);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const auto &ga = gates[static_cast<size_t>(a)], &gb = gates[static_cast<size_t>(b)];
    return ga.index != gb.index ? ga.index < gb.index : natural_less(ga.name, gb.name);
  });
  m.slot_row.assign(gates.size(), -1);
  for (size_t i = 0; i < order.size(); ++i) {
    m.slot_row[static_cast<size_t>(order[i])] = static_cast<int>(i);
    m.layers.push_back(gates[static_cast<size_t>(order[i])]);
  }
  m.gates = std::move(gates);
  m.num_experts = num_experts;
  m.rule = rule;
  m.options = std::move(options);
  m.rows = rows;
  const auto L = static_cast<size_t>(m.num_layers());
  m.ids.assign(static_cast<size_t>(rows), std::vector<std::vector<int32_t>>(L));
  m.weights.assign(static_cast<size_t>(rows), std::vector<std::vector<float>>(L));
  m.logits.assign(static_cast<size_t>(rows), std::vector<std::vector<float>>(L));
  m.positions.assign(static_cast<size_t>(rows), 0);
}

Recorder::~Recorder() = default;

bool Recorder::wants(int slot) const {
  return slot >= 0 && static_cast<size_t>(slot) < impl_->slot_row.size() && impl_->slot_row[static_cast<size_t>(slot)] >= 0;
}

const std::vector<LayerInfo>& Recorder::layers() const { return impl_->layers; }
const RoutingRule& Recorder::rule() const { return impl_->rule; }

void Recorder::begin_forward(int64_t batch, int64_t seq_len, std::vector<RowWindow> windows) {
  auto& m = *impl_;
  if (m.in_forward) throw Error("recorder: begin_forward called twice without end_forward");
  if (batch != m.rows || static_cast<int64_t>(windows.size()) != batch)
    throw Error(fmt::format("recorder: forward over {} rows with {} windows, recorder has {} sequences", batch,
                            windows.size(), m.rows));
  m.harvest();
  m.offsets.assign(windows.size(), 0);
  m.total = 0;
  for (size_t r = 0; r < windows.size(); ++r) {
    const auto& w = windows[r];
    if (w.count < 0 || w.column < 0 || w.column + w.count > seq_len)
      throw Error(fmt::format("recorder: window [{}, +{}) of row {} outside a sequence of {}", w.column, w.count, r,
                              seq_len));
    m.offsets[r] = m.total;
    m.total += w.count;
  }
  m.batch = batch;
  m.seq_len = seq_len;
  m.windows = std::move(windows);
  m.seen.assign(static_cast<size_t>(m.num_layers()), 0);
  m.staged_this_forward = false;
  m.routed_mode = -1;
  m.in_forward = true;
}

void Recorder::observe(int slot, const at::Tensor& router_logits) { stage(slot, router_logits, nullptr, nullptr); }

void Recorder::observe(int slot, const at::Tensor& router_logits, const at::Tensor& ids, const at::Tensor& weights) {
  // A --top-k other than the model's k records what the rule picks with that k: routed here.
  if (ids.size(-1) != impl_->k()) return stage(slot, router_logits, nullptr, nullptr);
  stage(slot, router_logits, &ids, &weights);
}

void Recorder::stage(int slot, const at::Tensor& router_logits, const at::Tensor* ids, const at::Tensor* weights) {
  if (!wants(slot)) return;
  auto& m = *impl_;
  const int l = m.slot_row[static_cast<size_t>(slot)];
  const auto& name = m.layers[static_cast<size_t>(l)].name;
  if (!m.in_forward) throw Error(fmt::format("recorder: router '{}' ran outside a recorded forward", name));
  if (m.seen[static_cast<size_t>(l)]++ > 0)
    throw Error(fmt::format("recorder: router '{}' ran twice in one forward; one call per layer is expected", name));
  const int routed = ids ? 1 : 0;
  if (m.routed_mode >= 0 && m.routed_mode != routed)
    throw Error(fmt::format("recorder: router '{}' {} the routing it used, earlier layers of this forward did {}",
                            name, routed ? "gave" : "did not give", routed ? "not" : "so"));
  m.routed_mode = routed;
  if (m.total == 0) return;
  const int64_t E = m.num_experts;
  if (router_logits.dim() < 2 || router_logits.size(-1) != E || router_logits.numel() != m.batch * m.seq_len * E)
    throw Error(fmt::format("recorder: router '{}' produced shape {}, expected [{}·{}, {}]", name,
                            c10::str(router_logits.sizes()), m.batch, m.seq_len, E));
  c10::InferenceMode guard;
  // The first layer of a forward picks the staging buffers' device; layers on other devices
  // (native models split over GPUs) are copied to it.
  if (!m.staged_this_forward) {
    m.ensure_staging(router_logits, routed != 0);
    m.staged_this_forward = true;
  }
  if (m.staged.defined())
    m.staged.narrow(0, 0, m.total).select(1, l).copy_(m.recorded_rows(router_logits), /*non_blocking=*/true);
  if (routed) {
    m.staged_ids.narrow(0, 0, m.total).select(1, l).copy_(m.recorded_rows(*ids), true);
    m.staged_weights.narrow(0, 0, m.total).select(1, l).copy_(m.recorded_rows(*weights), true);
  }
}

void Recorder::observed_in_graph(bool routed) {
  auto& m = *impl_;
  if (!m.in_forward) throw Error("recorder: a replayed forward outside begin_forward/end_forward");
  for (auto& n : m.seen) ++n;
  m.routed_mode = routed ? 1 : 0;
}

int Recorder::observed_routed() const { return impl_->routed_mode; }

uint64_t Recorder::staging_generation() const { return impl_->staging_generation; }

void Recorder::end_forward() {
  auto& m = *impl_;
  if (!m.in_forward) throw Error("recorder: end_forward without begin_forward");
  m.in_forward = false;
  for (size_t l = 0; l < m.seen.size(); ++l)
    if (m.seen[l] == 0)
      throw Error(fmt::format("recorder: router '{}' did not run in this forward (is the model hooked?)",
                              m.layers[l].name));
  if (m.total == 0) return;
  c10::InferenceMode guard;
  const int64_t L = m.num_layers();
  const bool cpu = m.device.is_cpu();
  if (m.routed_mode == 1) {  // what the model routed with, as it was
    m.h_ids.narrow(0, 0, m.total).copy_(m.staged_ids.narrow(0, 0, m.total), /*non_blocking=*/!cpu);
    m.h_weights.narrow(0, 0, m.total).copy_(m.staged_weights.narrow(0, 0, m.total), !cpu);
  } else {  // the rule once over every layer's rows: [total·L, E] → ids and weights [total, L, k]
    const auto logits = m.staged.narrow(0, 0, m.total);
    const auto routed = detail::route_tensor(m.rule, logits.reshape({m.total * L, m.num_experts}));
    m.h_ids.narrow(0, 0, m.total).copy_(routed.ids.reshape({m.total, L, m.k()}), /*non_blocking=*/!cpu);
    m.h_weights.narrow(0, 0, m.total).copy_(routed.weights.reshape({m.total, L, m.k()}), !cpu);
  }
  if (m.options.keep_logits) m.h_logits.narrow(0, 0, m.total).copy_(m.staged.narrow(0, 0, m.total), !cpu);
  if (cpu) {
    m.harvest_from(m.windows, m.offsets, m.total);
    return;
  }
  m.copy_stream = c10::impl::VirtualGuardImpl(m.device.type()).getStream(m.device);
  m.pending = Impl::Pending{m.windows, m.offsets, m.total};
}

RouterTrace Recorder::trace(int row) {
  auto& m = *impl_;
  if (row < 0 || row >= m.rows) throw Error(fmt::format("recorder: no sequence {}", row));
  if (m.in_forward) throw Error("recorder: trace() during a forward");
  m.harvest();
  const auto r = static_cast<size_t>(row);
  RouterTrace t;
  t.meta.routing_rule = m.rule.to_string();
  t.layers = m.layers;
  t.num_experts = m.num_experts;
  t.top_k = m.k();
  t.num_positions = m.positions[r];
  t.allocate(true, m.options.keep_logits);
  for (size_t l = 0; l < m.layers.size(); ++l) {
    std::copy(m.ids[r][l].begin(), m.ids[r][l].end(), t.topk_ids.begin() + static_cast<std::ptrdiff_t>(l * m.ids[r][l].size()));
    std::copy(m.weights[r][l].begin(), m.weights[r][l].end(),
              t.gate_weights.begin() + static_cast<std::ptrdiff_t>(l * m.weights[r][l].size()));
    if (m.options.keep_logits)
      std::copy(m.logits[r][l].begin(), m.logits[r][l].end(),
                t.router_logits.begin() + static_cast<std::ptrdiff_t>(l * m.logits[r][l].size()));
  }
  return t;
}

ActiveRecorder::ActiveRecorder(Recorder* recorder) : previous_(t_active) { t_active = recorder; }
ActiveRecorder::~ActiveRecorder() { t_active = previous_; }
Recorder* ActiveRecorder::current() { return t_active; }

}  // namespace moeroute
