#include "torch/layers/cpu_decode.h"

#include <atomic>
#include <vector>

#include <ATen/Parallel.h>

#include "torch/kernels/decode_rows.h"
#include "torch/kernels/route_rows.h"

namespace moeroute::detail {

namespace {

std::atomic<bool> g_forced_off{false};
std::atomic<int64_t> g_norms{0}, g_attention{0}, g_routes{0}, g_combines{0};

void count(std::atomic<int64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

bool fused_param(const at::Tensor& t) {
  return !t.defined() || (t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous());
}

// Work items below ≈ 64 k multiply-adds are not worth a thread hand-off.
int64_t grain(int64_t work_per_item) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(work_per_item, 1)); }

}  // namespace

void cpu_fused_force_off(bool off) { g_forced_off = off; }

CpuFusedCounts cpu_fused_counts() { return {g_norms.load(), g_attention.load(), g_routes.load(), g_combines.load()}; }

bool cpu_fused_applies(const at::Tensor& x, std::initializer_list<const at::Tensor*> params) {
  if (g_forced_off || !x.defined() || !x.device().is_cpu() || x.scalar_type() != at::kFloat || !x.is_contiguous() ||
      x.dim() < 1 || x.size(-1) <= 0 || x.numel() / x.size(-1) > kCpuFusedMaxRows)
    return false;
  for (const at::Tensor* p : params)
    if (!fused_param(*p)) return false;
  return true;
}

at::Tensor cpu_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  count(g_norms);
  auto y = at::empty_like(x);
  const int64_t n = x.size(-1);
  rms_norm_rows(x.data_ptr<float>(), x.numel() / n, n, weight.data_ptr<float>(), static_cast<float>(eps),
                y.data_ptr<float>());
  return y;
}

at::Tensor cpu_attention(const CpuAttention& a, const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin,
                         int layer, KvCache& cache, const StepPlan& plan) {
  const int64_t B = qkv.size(0), T = qkv.size(1), H = a.heads, KV = a.kv_heads, D = a.head_dim, G = H / KV;
  const int64_t width = (H + 2 * KV) * D;
  TORCH_CHECK(qkv.size(2) == width && H % KV == 0 && D % 2 == 0, "cpu_attention: shapes do not match");
  count(g_attention);
  auto [ck, cv] = cache.buffers(layer, KV, D, qkv.options(), plan);
  const int64_t capacity = ck.size(2);
  const auto cosc = cos.contiguous(), sinc = sin.contiguous();
  const float* src = qkv.data_ptr<float>();
  const float* cs = cosc.data_ptr<float>();
  const float* sn = sinc.data_ptr<float>();
  const float* qn = a.q_norm.defined() ? a.q_norm.data_ptr<float>() : nullptr;
  const float* kn = a.k_norm.defined() ? a.k_norm.data_ptr<float>() : nullptr;
  const auto eps = static_cast<float>(a.eps);
  float* kc = ck.data_ptr<float>();
  float* vc = cv.data_ptr<float>();
  // Grid column c of row b: its position, or -1 for a left-padding column.
  auto position = [&](int64_t b, int64_t c) {
    const int64_t first = plan.first_column(b);
    return c < first ? -1 : plan.past[static_cast<size_t>(b)] + (c - first);
  };
  // Pass 1: q heads normed and rotated into q; the fresh keys (normed, rotated) and values into
  // the cache. Before any attention: a query reads the keys of earlier columns of this forward.
  std::vector<float> q(static_cast<size_t>(B * T * H * D)), normed(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < T; ++c) {
      const int64_t bt = b * T + c, pos = position(b, c);
      const float* x = src + bt * width;
      const float* cosr = cs + bt * D;
      const float* sinr = sn + bt * D;
      auto head = [&](const float* in, const float* norm, float* out) {
        if (norm) {
          rms_norm_rows(in, 1, D, norm, eps, normed.data());
          in = normed.data();
        }
        rotary_head(in, cosr, sinr, D, out);
      };
      for (int64_t h = 0; h < H; ++h) head(x + h * D, qn, q.data() + (bt * H + h) * D);
      if (pos < 0) continue;  // padding: its keys are never read
      for (int64_t g = 0; g < KV; ++g) {
        const int64_t at = ((b * KV + g) * capacity + pos) * D;
        head(x + (H + g) * D, kn, kc + at);
        std::copy(x + (H + KV + g) * D, x + (H + KV + g + 1) * D, vc + at);
      }
    }
  // Pass 2: per (row, column, kv head), the G query heads that share it over their keys.
  auto out = at::empty({B, T, H * D}, qkv.options());
  float* o = out.data_ptr<float>();
  const float* sinks = a.sinks.defined() ? a.sinks.data_ptr<float>() : nullptr;
  const auto scaling = static_cast<float>(a.scaling);
  at::parallel_for(0, B * T * KV, grain(G * plan.keys * D), [&](int64_t u0, int64_t u1) {
    std::vector<float> scores(static_cast<size_t>(G * plan.keys));
    std::vector<const float*> qr(static_cast<size_t>(G));
    std::vector<float*> orow(static_cast<size_t>(G));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t g = u % KV, bt = u / KV, b = bt / T, c = bt % T, pos = position(b, c);
      // The mask of ForwardContext::mask as a key range: at or before the query, within the
      // window; a padding query sees key 0 only.
      const int64_t hi = pos < 0 ? 0 : pos;
      const int64_t lo = pos >= 0 && a.window ? std::max<int64_t>(0, pos - *a.window + 1) : 0;
      for (int64_t i = 0; i < G; ++i) {
        const int64_t h = g * G + i;
        qr[static_cast<size_t>(i)] = q.data() + (bt * H + h) * D;
        orow[static_cast<size_t>(i)] = o + (bt * H + h) * D;
      }
      const int64_t base = (b * KV + g) * capacity * D;
      attend_rows(qr.data(), G, kc + base, vc + base, D, lo, hi, scaling, sinks ? sinks + g * G : nullptr,
                  scores.data(), orow.data());
    }
  });
  return out;
}

std::optional<RoutedTensors> cpu_route(const RoutingRule& rule, const at::Tensor& logits) {
  if (rule.kind != RoutingKind::SoftmaxTopK && rule.kind != RoutingKind::TopKSoftmax) return std::nullopt;
  if (!cpu_fused_applies(logits) || logits.dim() != 2) return std::nullopt;
  const int64_t N = logits.size(0), E = logits.size(1), k = rule.top_k;
  if (k < 1 || k > E) return std::nullopt;
  RoutedTensors r{at::empty({N, k}, at::kLong), at::empty({N, k}, at::kFloat)};
  const auto kind = rule.kind == RoutingKind::SoftmaxTopK ? RowRouting::SoftmaxTopK : RowRouting::TopKSoftmax;
  if (!route_rows(logits.data_ptr<float>(), N, E, k, kind, rule.norm_topk_prob, r.ids.data_ptr<int64_t>(),
                  r.weights.data_ptr<float>()))
    return std::nullopt;
  count(g_routes);
  return r;
}

at::Tensor cpu_combine(const at::Tensor& y, const at::Tensor& weights) {
  count(g_combines);
  const int64_t N = weights.size(0), k = weights.size(1), H = y.size(-1);
  const auto yc = y.contiguous(), wc = weights.contiguous();
  auto out = at::empty({N, H}, y.options());
  const float* yp = yc.data_ptr<float>();
  const float* wp = wc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, N, grain(k * H), [&](int64_t n0, int64_t n1) { combine_rows(yp, wp, n0, n1, k, H, op); });
  return out;
}

}  // namespace moeroute::detail
