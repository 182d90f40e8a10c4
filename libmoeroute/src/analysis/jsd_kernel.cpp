#include "jsd_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace moeroute::detail {

namespace {

// Max of v[0..n) and whether any element is NaN/±inf (exponent bits all ones). Two plain
// reductions so that both vectorise: the float max, and a min over the exponent bits xor'ed
// with all-ones, which is 0 exactly for a non-finite element.
inline __attribute__((always_inline)) float max_checked(const float* v, int n, bool& nonfinite) {
  float mx = v[0];
  for (int i = 1; i < n; ++i) mx = mx > v[i] ? mx : v[i];
  uint32_t finite = 0xffffffffu;
  for (int i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, v + i, 4);
    const uint32_t e = (bits & 0x7f800000u) ^ 0x7f800000u;
    finite = finite < e ? finite : e;
  }
  nonfinite = nonfinite || finite == 0;
  return mx;
}

// exp(v − max) into e[]; returns Z = Σe and the moment Σ e·(v − max), so that the softmax's
// entropy is H = log Z − moment / Z without a per-element log of p.
struct Softmax {
  double z = 0, moment = 0;
};
inline __attribute__((always_inline)) Softmax exp_shifted(const float* v, float mx, int n, double* e) {
  Softmax s;
  for (int i = 0; i < n; ++i) {
    const double d = static_cast<double>(v[i]) - static_cast<double>(mx);
    e[i] = std::exp(d);
    s.z += e[i];
    s.moment += e[i] * d;
  }
  return s;
}

}  // namespace

// Two clones: the baseline ISA for any x86-64, and AVX2 with glibc's 4-wide vector exp/log.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
double jsd_from_logits(const float* x, const float* y, int n, double* mass_p, double* mass_q, double* scratch) {
  bool nonfinite = false;
  const float mx = max_checked(x, n, nonfinite);
  const float my = max_checked(y, n, nonfinite);
  if (nonfinite) return -1.0;
  double* ex = scratch;
  double* ey = scratch + n;
  const Softmax sx = exp_shifted(x, mx, n, ex);
  const Softmax sy = exp_shifted(y, my, n, ey);
  const double ix = 1.0 / sx.z, iy = 1.0 / sy.z;
  double m_log_m = 0.0;
  for (int i = 0; i < n; ++i) {
    const double p = ex[i] * ix, q = ey[i] * iy;
    const double m = 0.5 * (p + q);
    m_log_m += m * std::log(std::max(m, 1e-300));  // 0 · log 0 = 0
    mass_p[i] += p;
    mass_q[i] += q;
  }
  const double hp = std::log(sx.z) - sx.moment * ix;
  const double hq = std::log(sy.z) - sy.moment * iy;
  const double js_nats = -m_log_m - 0.5 * (hp + hq);
  return std::clamp(js_nats / 0.6931471805599453, 0.0, 1.0);
}

}  // namespace moeroute::detail
