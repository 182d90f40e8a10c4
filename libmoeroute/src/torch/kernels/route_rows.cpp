#include "torch/kernels/route_rows.h"

#include <cmath>
#include <vector>

#include "torch/kernels/decode_rows.h"

namespace moeroute::detail {

namespace {

// The k + 1 largest of v[0..E) (fewer when E = k), best first, into top/at; false on a NaN or a
// tie among them. A value enters only if strictly above the current last, so equal values stay
// in index order — and any two equal among the k + 1 largest end up side by side.
bool largest(const float* v, int64_t E, int64_t keep, float* top, int64_t* at) {
  int64_t n = 0;
  for (int64_t e = 0; e < E; ++e) {
    const float x = v[e];
    if (std::isnan(x)) return false;
    if (n == keep && !(x > top[n - 1])) continue;
    int64_t i = n < keep ? n++ : n - 1;
    for (; i > 0 && x > top[i - 1]; --i) {
      top[i] = top[i - 1];
      at[i] = at[i - 1];
    }
    top[i] = x;
    at[i] = e;
  }
  for (int64_t i = 1; i < n; ++i)
    if (top[i] == top[i - 1]) return false;
  return true;
}

}  // namespace

bool route_rows(const float* logits, int64_t N, int64_t E, int64_t k, RowRouting rule, bool renormalize,
                int64_t* ids, float* weights) {
  const int64_t keep = k < E ? k + 1 : k;
  std::vector<float> probs(static_cast<size_t>(E)), top(static_cast<size_t>(keep));
  std::vector<int64_t> at(static_cast<size_t>(keep));
  for (int64_t r = 0; r < N; ++r) {
    const float* z = logits + r * E;
    if (rule == RowRouting::SoftmaxTopK) {
      std::copy(z, z + E, probs.begin());
      softmax_row(probs.data(), E);
      z = probs.data();
    }
    if (!largest(z, E, keep, top.data(), at.data())) return false;
    float* w = weights + r * k;
    std::copy(at.begin(), at.begin() + k, ids + r * k);
    std::copy(top.begin(), top.begin() + k, w);
    if (rule == RowRouting::TopKSoftmax) {
      softmax_row(w, k);
    } else if (renormalize) {
      // w / w.sum(-1): a float32 sum of k values, then a division per value.
      float s = 0;
      for (int64_t j = 0; j < k; ++j) s += w[j];
      for (int64_t j = 0; j < k; ++j) w[j] /= s;
    }
  }
  return true;
}

}  // namespace moeroute::detail
