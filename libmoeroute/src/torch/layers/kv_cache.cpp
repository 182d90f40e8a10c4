#include "torch/layers/kv_cache.h"

#include <algorithm>

namespace moeroute::detail {

StepPlan KvCache::plan(const std::vector<std::vector<int64_t>>& rows, const std::vector<int64_t>& recompute_last) {
  const size_t B = rows.size();
  if (tokens_.size() != B) {
    clear();
    tokens_.assign(B, {});
  }
  StepPlan p;
  p.rows = static_cast<int64_t>(B);
  for (size_t b = 0; b < B; ++b) {
    const auto& row = rows[b];
    auto& cached = tokens_[b];
    const size_t common =
        static_cast<size_t>(std::mismatch(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(std::min(row.size(), cached.size())),
                                          cached.begin())
                                .first -
                            row.begin());
    const auto need = static_cast<size_t>(std::max<int64_t>(1, recompute_last[b]));
    const size_t reuse = std::min(common, row.size() >= need ? row.size() - need : 0);
    cached.resize(reuse);  // until commit(), only the reused prefix is known good
    p.past.push_back(static_cast<int64_t>(reuse));
    p.fresh.push_back(static_cast<int64_t>(row.size() - reuse));
    p.columns = std::max(p.columns, p.fresh.back());
    p.keys = std::max(p.keys, static_cast<int64_t>(row.size()));
  }
  return p;
}

void KvCache::reserve(int layer, int64_t rows, int64_t kv_heads, int64_t head_dim, const at::TensorOptions& options,
                      int64_t keys) {
  auto& k = k_[static_cast<size_t>(layer)];
  auto& v = v_[static_cast<size_t>(layer)];
  if (k.defined() && k.size(0) == rows && k.size(2) >= keys && k.device() == options.device() &&
      k.dtype() == options.dtype())
    return;
  // Grow geometrically so a long generation reallocates O(log n) times.
  const int64_t old = k.defined() ? k.size(2) : 0;
  const int64_t capacity = std::max<int64_t>((std::max(keys, 2 * old) + 63) / 64 * 64, 64);
  // Zeros, not empty: a row shorter than the longest leaves slots that attention masks to
  // probability 0, and 0 · v must be 0 — uninitialised memory can hold NaN (0 · NaN = NaN).
  auto nk = at::zeros({rows, kv_heads, capacity, head_dim}, options);
  auto nv = at::zeros_like(nk);
  if (k.defined() && k.size(0) == rows && old > 0) {
    nk.narrow(2, 0, old).copy_(k);
    nv.narrow(2, 0, old).copy_(v);
  }
  k = nk;
  v = nv;
  ++generation_;
}

std::pair<at::Tensor, at::Tensor> KvCache::update(int layer, const at::Tensor& k, const at::Tensor& v,
                                                  const StepPlan& plan) {
  reserve(layer, k.size(0), k.size(1), k.size(3), k.options(), plan.keys);
  auto& ck = k_[static_cast<size_t>(layer)];
  auto& cv = v_[static_cast<size_t>(layer)];
  const bool aligned = std::all_of(plan.past.begin(), plan.past.end(), [&](int64_t x) { return x == plan.past[0]; }) &&
                       std::all_of(plan.fresh.begin(), plan.fresh.end(), [&](int64_t x) { return x == plan.columns; });
  if (plan.static_step()) {  // row b's one new position at write_positions[b], read on the device
    const auto at = plan.write_positions.view({plan.rows, 1, 1, 1}).expand({plan.rows, k.size(1), 1, k.size(3)});
    ck.scatter_(2, at, k);
    cv.scatter_(2, at, v);
  } else if (aligned) {  // the common case: one copy for all rows
    ck.narrow(2, plan.past[0], plan.columns).copy_(k);
    cv.narrow(2, plan.past[0], plan.columns).copy_(v);
  } else {
    for (int64_t b = 0; b < plan.rows; ++b) {
      const int64_t n = plan.fresh[static_cast<size_t>(b)], at = plan.past[static_cast<size_t>(b)];
      ck[b].narrow(1, at, n).copy_(k[b].narrow(1, plan.first_column(b), n));
      cv[b].narrow(1, at, n).copy_(v[b].narrow(1, plan.first_column(b), n));
    }
  }
  return {ck.narrow(2, 0, plan.keys), cv.narrow(2, 0, plan.keys)};
}

std::pair<at::Tensor, at::Tensor> KvCache::buffers(int layer, int64_t kv_heads, int64_t head_dim,
                                                   const at::TensorOptions& options, const StepPlan& plan) {
  reserve(layer, plan.rows, kv_heads, head_dim, options, plan.keys);
  return {k_[static_cast<size_t>(layer)], v_[static_cast<size_t>(layer)]};
}

void KvCache::commit(const std::vector<std::vector<int64_t>>& rows) { tokens_ = rows; }

void KvCache::clear() {
  tokens_.clear();
  for (auto& t : k_) t = at::Tensor();
  for (auto& t : v_) t = at::Tensor();
  ++generation_;
}

int64_t KvCache::capacity(int64_t rows, const c10::Device& device, at::ScalarType dtype) const {
  int64_t n = -1;
  for (const auto& k : k_) {
    if (!k.defined() || k.size(0) != rows || k.device() != device || k.scalar_type() != dtype) return 0;
    n = n < 0 ? k.size(2) : std::min(n, k.size(2));
  }
  return std::max<int64_t>(n, 0);
}

}  // namespace moeroute::detail
