#include "jsd_kernel.h"

#include <algorithm>
#include <cmath>

namespace moeroute::detail {

namespace {

// exp(v − max) into e[], returns (Σe, Σ e·(v − max)): the softmax's normaliser and the moment
// its entropy needs, H = log Z − (Σ e·(v − max)) / Z, so no per-element log of p is taken.
struct Softmax {
  double z = 0, moment = 0;
};

Softmax exp_shifted(const float* v, int n, double* e) {
  float mx = v[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, v[i]);
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

// Two clones: the baseline ISA for any x86-64 and AVX2 with glibc's 4-wide vector exp/log.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
double jsd_from_logits(const float* x, const float* y, int n, double* mass_p, double* mass_q, double* scratch) {
  double* ex = scratch;
  double* ey = scratch + n;
  const Softmax sx = exp_shifted(x, n, ex);
  const Softmax sy = exp_shifted(y, n, ey);
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
