#include "torch/layers/moe_experts.h"

#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/layers/cpu_decode.h"
#include "torch/layers/cpu_matmul.h"

namespace moeroute::detail {

namespace {

at::Tensor add_bias(at::Tensor y, const at::Tensor& bias) { return bias.defined() ? y + bias : y; }

at::Tensor experts_loop(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids, const at::Tensor& weights,
                        const ExpertActivation& act) {
  const int64_t N = x.size(0), H = x.size(1), k = ids.size(1);
  const auto flat = ids.reshape(-1);
  const auto sorted = at::sort(flat, /*stable=*/true, 0, /*descending=*/false);
  const auto order = std::get<1>(sorted);  // pair index, grouped by expert
  const auto experts = std::get<0>(sorted).to(at::kCPU);
  const auto* e = experts.data_ptr<int64_t>();
  const auto tokens = at::div(order, k, "floor");
  const int64_t P = flat.size(0);
  // Each pair's expert output in pair order, then weighted and summed over k like the other
  // implementations (and transformers' grouped_mm): in bfloat16, index_add per expert would
  // round after every one of the k additions instead of once.
  auto per_pair = at::empty({P, H}, x.options());
  for (int64_t s = 0; s < P;) {
    int64_t t = s;
    while (t < P && e[t] == e[s]) ++t;
    const int64_t ex = e[s];
    const auto xs = x.index_select(0, tokens.narrow(0, s, t - s));
    const auto dt = x.scalar_type();  // 16-bit stored weights widen (exactly) to the activations' dtype
    const auto h = add_bias(at::linear(xs, w.gate_up[ex].to(dt)), w.gate_up_bias.defined() ? w.gate_up_bias[ex] : at::Tensor());
    const auto y = add_bias(at::linear(act(h), w.down[ex].to(dt)), w.down_bias.defined() ? w.down_bias[ex] : at::Tensor());
    per_pair.index_copy_(0, order.narrow(0, s, t - s), y.to(x.scalar_type()));
    s = t;
  }
  return (per_pair.view({N, k, H}) * weights.unsqueeze(-1)).sum(1);
}

// `loop` on the CPU in float32: the same per-expert products through the row kernels — each
// active expert's weights read in place once per layer, its tokens' rows gathered and the
// outputs written in pair order by pointer, all experts in one parallel region per projection.
bool rows_apply(const ExpertWeights& w, const at::Tensor& x) {
  auto ok = [](const at::Tensor& t) { return !t.defined() || (t.scalar_type() == at::kFloat && t.is_contiguous()); };
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && row_kernel_weight(w.gate_up) &&
         row_kernel_weight(w.down) && ok(w.gate_up_bias) && ok(w.down_bias);
}

at::Tensor experts_rows(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids, const at::Tensor& weights,
                        const ExpertActivation& act) {
  const int64_t N = x.size(0), H = x.size(1), k = ids.size(1), P = N * k, E = w.gate_up.size(0);
  const int64_t G = w.gate_up.size(1), I = w.down.size(2);
  const auto xc = x.contiguous();
  const auto idc = ids.to(at::kLong).contiguous();
  const int64_t* id = idc.data_ptr<int64_t>();
  // Pairs (token·k + slot) grouped by expert in pair order: a counting sort.
  std::vector<int64_t> count(static_cast<size_t>(E) + 1, 0);
  for (int64_t p = 0; p < P; ++p) {
    TORCH_CHECK(id[p] >= 0 && id[p] < E, "expert id ", id[p], " out of range");
    ++count[static_cast<size_t>(id[p]) + 1];
  }
  std::vector<int64_t> starts{0}, experts;
  for (int64_t e = 0; e < E; ++e)
    if (count[static_cast<size_t>(e) + 1] > 0) {
      experts.push_back(e);
      starts.push_back(starts.back() + count[static_cast<size_t>(e) + 1]);
    }
  for (int64_t e = 0; e < E; ++e) count[static_cast<size_t>(e) + 1] += count[static_cast<size_t>(e)];
  std::vector<int64_t> order(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) order[static_cast<size_t>(count[static_cast<size_t>(id[p])]++)] = p;
  auto h = at::empty({P, G}, x.options());
  auto y = at::empty({P, H}, x.options());
  std::vector<const float*> in(static_cast<size_t>(P));
  std::vector<float*> out(static_cast<size_t>(P));
  const float* xp = xc.data_ptr<float>();
  for (size_t j = 0; j < order.size(); ++j) {
    in[j] = xp + order[j] / k * H;
    out[j] = h.data_ptr<float>() + order[j] * G;
  }
  cpu_grouped_matmul(in, out, starts, experts, w.gate_up, w.gate_up_bias);
  const auto a = act(h).contiguous();  // [P, I]
  for (size_t j = 0; j < order.size(); ++j) {
    in[j] = a.data_ptr<float>() + order[j] * I;
    out[j] = y.data_ptr<float>() + order[j] * H;
  }
  cpu_grouped_matmul(in, out, starts, experts, w.down, w.down_bias);
  if (cpu_fused_applies(weights)) return cpu_combine(y, weights);
  return (y.view({N, k, H}) * weights.unsqueeze(-1)).sum(1);
}

at::Tensor experts_gather(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids,
                          const at::Tensor& weights, const ExpertActivation& act) {
  const int64_t N = x.size(0), H = x.size(1), k = ids.size(1);
  const auto flat = ids.reshape(-1);
  const auto xs = x.unsqueeze(1).expand({N, k, H}).reshape({N * k, 1, H});
  const auto dt = x.scalar_type();  // 16-bit stored weights widen (exactly) to the activations' dtype
  auto h = at::bmm(xs, w.gate_up.index_select(0, flat).to(dt).transpose(1, 2)).squeeze(1);  // [P, 2I]
  if (w.gate_up_bias.defined()) h = h + w.gate_up_bias.index_select(0, flat);
  auto y = at::bmm(act(h).unsqueeze(1), w.down.index_select(0, flat).to(dt).transpose(1, 2)).squeeze(1);  // [P, H]
  if (w.down_bias.defined()) y = y + w.down_bias.index_select(0, flat);
  return (y.view({N, k, H}) * weights.unsqueeze(-1)).sum(1);
}

at::Tensor experts_grouped(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids,
                           const at::Tensor& weights, const ExpertActivation& act) {
  const int64_t N = x.size(0), H = x.size(1), k = ids.size(1), E = w.gate_up.size(0);
  const int64_t P = N * k;
  const auto flat = ids.reshape(-1);
  const auto sorted = at::sort(flat, /*stable=*/true, 0, /*descending=*/false);
  const auto& sorted_ids = std::get<0>(sorted);
  const auto& order = std::get<1>(sorted);
  const auto counts = at::bincount(flat, c10::nullopt, E);
  const auto starts = counts.cumsum(0) - counts;
  const auto slot = at::arange(P, flat.options()) - starts.index_select(0, sorted_ids);
  const int64_t capacity = counts.max().item<int64_t>();  // the one host sync
  auto block = at::zeros({E, capacity, H}, x.options());
  block.index_put_({sorted_ids, slot}, x.index_select(0, at::div(order, k, "floor")));
  // 16-bit stored weights widen (exactly) to the activations' dtype: a whole copy per call.
  auto h = at::bmm(block, w.gate_up.to(x.scalar_type()).transpose(1, 2));  // [E, C, 2I]
  if (w.gate_up_bias.defined()) h = h + w.gate_up_bias.unsqueeze(1);
  const auto a = act(h.view({E * capacity, h.size(2)})).view({E, capacity, -1});
  auto y = at::bmm(a, w.down.to(x.scalar_type()).transpose(1, 2));  // [E, C, H]
  if (w.down_bias.defined()) y = y + w.down_bias.unsqueeze(1);
  const auto per_sorted = y.index({sorted_ids, slot});  // [P, H]
  const auto per_pair = at::empty_like(per_sorted).index_copy_(0, order, per_sorted);
  return (per_pair.view({N, k, H}) * weights.unsqueeze(-1)).sum(1);
}

}  // namespace

ExpertActivation swiglu_activation() {
  return [](const at::Tensor& h) {
    const int64_t half = h.size(-1) / 2;
    return at::silu(h.narrow(-1, 0, half)) * h.narrow(-1, half, half);
  };
}

ExpertActivation clamped_swiglu_activation(double limit, double alpha) {
  return [limit, alpha](const at::Tensor& h) {
    const int64_t last = h.dim() - 1, n = h.size(last);
    const auto gate = h.slice(last, 0, n, 2).clamp_max(limit);
    const auto up = h.slice(last, 1, n, 2).clamp(-limit, limit);
    return (up + 1) * (gate * at::sigmoid(gate * alpha));
  };
}

at::Tensor run_experts(const ExpertWeights& w, const at::Tensor& x, const at::Tensor& ids, const at::Tensor& weights,
                       const ExpertActivation& act, ExpertsImpl impl) {
  if (impl == ExpertsImpl::Auto) {
    if (x.device().is_cpu()) impl = ExpertsImpl::Loop;
    else impl = ids.numel() <= w.gate_up.size(0) ? ExpertsImpl::Gather : ExpertsImpl::Grouped;
  }
  switch (impl) {
    case ExpertsImpl::Gather: return experts_gather(w, x, ids, weights, act);
    case ExpertsImpl::Grouped: return experts_grouped(w, x, ids, weights, act);
    default: return rows_apply(w, x) ? experts_rows(w, x, ids, weights, act) : experts_loop(w, x, ids, weights, act);
  }
}

}  // namespace moeroute::detail
