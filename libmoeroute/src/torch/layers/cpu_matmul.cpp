#include "torch/layers/cpu_matmul.h"

#include <ATen/Parallel.h>

#include "torch/kernels/row_matmul.h"

namespace moeroute::detail {

namespace {

// Weight rows per work item: all of them for one or two activation rows (W is read once either
// way); otherwise a block of ≈ 16 KB that stays in L1 while every activation row passes over it.
int64_t block_rows(int64_t rows, int64_t K) {
  if (rows <= 2) return 64;
  return std::max<int64_t>(4, 4096 / std::max<int64_t>(K, 1) / 4 * 4);
}

// Items below ≈ 64 k multiply-adds are not worth a thread hand-off.
int64_t grain_rows(int64_t rows, int64_t K) {
  const int64_t g = 65536 / std::max<int64_t>(rows * K, 1);
  return std::max<int64_t>(4, (g + 3) / 4 * 4);
}

WeightView weight_view(const at::Tensor& w) {
  switch (w.scalar_type()) {
    case at::kBFloat16: return {w.data_ptr(), WeightFormat::BF16};
    case at::kHalf: return {w.data_ptr(), WeightFormat::F16};
    default: return {w.data_ptr<float>(), WeightFormat::F32};
  }
}

}  // namespace

bool row_kernel_weight(const at::Tensor& w) {
  const auto t = w.scalar_type();
  return w.device().is_cpu() && w.is_contiguous() && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf);
}

bool reduced_weight(const at::Tensor& w, const at::Tensor& x) {
  const auto t = w.scalar_type();
  return x.scalar_type() == at::kFloat && (t == at::kBFloat16 || t == at::kHalf);
}

bool cpu_linear_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || !row_kernel_weight(w) || w.dim() != 2 || x.dim() < 1 ||
      x.size(-1) != w.size(1))
    return false;
  if (bias.defined() && (bias.scalar_type() != at::kFloat || !bias.is_contiguous() || bias.numel() != w.size(0)))
    return false;
  const int64_t K = w.size(1);
  return K > 0 && x.numel() / K <= kCpuLinearMaxRows;
}

at::Tensor cpu_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  const int64_t N = w.size(0), K = w.size(1), M = x.numel() / K;
  const auto xc = x.contiguous();
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  auto y = at::empty(sizes, x.options());
  const float* xp = xc.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  std::vector<const float*> in(static_cast<size_t>(M));
  std::vector<float*> out(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    in[static_cast<size_t>(m)] = xp + m * K;
    out[static_cast<size_t>(m)] = yp + m * N;
  }
  const WeightView wv = weight_view(w);
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  at::parallel_for(0, N, grain_rows(M, K), [&](int64_t n0, int64_t n1) {
    row_matmul(in.data(), M, wv, K, n0, n1, bp, out.data());
  });
  return y;
}

at::Tensor parallel_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  const int64_t N = w.size(0);
  const int threads = at::get_num_threads();
  const bool widen = reduced_weight(w, x);
  auto plain = [&](const at::Tensor& wi, const at::Tensor& bi) { return bi.defined() ? at::linear(x, wi, bi) : at::linear(x, wi); };
  if (!widen && (threads <= 1 || at::in_parallel_region() || N < 64 * threads)) return plain(w, bias);
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  auto y = at::empty(sizes, x.options());
  // Slices: one per thread for a float32 weight; 64 Ki elements (256 KB widened) of a reduced one,
  // so the widened copy stays in the core's L2 while the product reads it.
  const int64_t chunk = widen ? std::max<int64_t>(16, (int64_t{1} << 16) / std::max<int64_t>(w.size(1), 1))
                              : (N + threads - 1) / threads;
  const int64_t chunks = (N + chunk - 1) / chunk;
  // Workers run tensor ops: in the caller's inference mode (thread-local; the pool's threads do
  // not inherit it).
  const bool inference = c10::InferenceMode::is_enabled();
  auto run = [&](int64_t c0, int64_t c1) {
    c10::InferenceMode guard(inference);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t n0 = c * chunk, n = std::min(N, n0 + chunk) - n0;
      const auto wi = w.narrow(0, n0, n);
      y.narrow(-1, n0, n).copy_(plain(widen ? wi.to(x.scalar_type()) : wi, bias.defined() ? bias.narrow(0, n0, n) : at::Tensor()));
    }
  };
  if (at::in_parallel_region()) run(0, chunks);
  else at::parallel_for(0, chunks, 1, run);
  return y;
}

void cpu_grouped_matmul(const std::vector<const float*>& in_rows, const std::vector<float*>& out_rows,
                        const std::vector<int64_t>& starts, const std::vector<int64_t>& experts, const at::Tensor& W,
                        const at::Tensor& bias) {
  const int64_t N = W.size(1), K = W.size(2);
  struct Item {
    size_t group;
    int64_t n0, n1;
  };
  std::vector<Item> items;
  for (size_t g = 0; g < experts.size(); ++g) {
    const int64_t rows = starts[g + 1] - starts[g];
    if (rows == 0) continue;
    const int64_t step = block_rows(rows, K);
    for (int64_t n = 0; n < N; n += step) items.push_back({g, n, std::min(N, n + step)});
  }
  const WeightView wv = weight_view(W);
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  at::parallel_for(0, static_cast<int64_t>(items.size()), 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const Item& it = items[static_cast<size_t>(i)];
      const int64_t e = experts[it.group], first = starts[it.group];
      row_matmul(in_rows.data() + first, starts[it.group + 1] - first, wv.advanced(e * N * K), K, it.n0, it.n1,
                 bp ? bp + e * N : nullptr, out_rows.data() + first);
    }
  });
}

}  // namespace moeroute::detail
