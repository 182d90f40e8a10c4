#include "moeroute/divergence.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

namespace {
// x · log2(x / y) with the convention 0 · log(0 / y) = 0.
double xlog2_ratio(double x, double y) { return x > 0.0 ? x * std::log2(x / y) : 0.0; }
}  // namespace

double jsd(const double* p, const double* q, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double m = 0.5 * (p[i] + q[i]);
    s += xlog2_ratio(p[i], m) + xlog2_ratio(q[i], m);
  }
  return std::clamp(0.5 * s, 0.0, 1.0);
}

double kl_divergence(const double* p, const double* q, size_t n) {
  const double norm = 1.0 + static_cast<double>(n) * kKlEpsilon;
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += xlog2_ratio(p[i], (q[i] + kKlEpsilon) / norm);
  return std::max(0.0, s);
}

double total_variation(const double* p, const double* q, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::abs(p[i] - q[i]);
  return std::clamp(0.5 * s, 0.0, 1.0);
}

double hellinger(const double* p, const double* q, size_t n) {
  double bc = 0.0;  // Bhattacharyya coefficient
  for (size_t i = 0; i < n; ++i) bc += std::sqrt(p[i] * q[i]);
  return std::sqrt(std::clamp(1.0 - bc, 0.0, 1.0));
}

double divergence(Divergence d, const double* p, const double* q, size_t n) {
  switch (d) {
    case Divergence::JSD: return jsd(p, q, n);
    case Divergence::KL: return kl_divergence(p, q, n);
    case Divergence::TotalVariation: return total_variation(p, q, n);
    case Divergence::Hellinger: return hellinger(p, q, n);
  }
  return 0.0;
}

std::string to_string(Divergence d) {
  switch (d) {
    case Divergence::JSD: return "jsd";
    case Divergence::KL: return "kl";
    case Divergence::TotalVariation: return "tv";
    case Divergence::Hellinger: return "hellinger";
  }
  return "?";
}

std::string divergence_label(Divergence d) {
  switch (d) {
    case Divergence::JSD: return "JSD (bits)";
    case Divergence::KL: return "KL (bits)";
    case Divergence::TotalVariation: return "total variation";
    case Divergence::Hellinger: return "Hellinger distance";
  }
  return "";
}

Divergence parse_divergence(const std::string& name) {
  for (Divergence d : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger})
    if (to_string(d) == name) return d;
  throw InputError(fmt::format("unknown divergence '{}': expected one of jsd, kl, tv, hellinger", name));
}

}  // namespace moeroute
