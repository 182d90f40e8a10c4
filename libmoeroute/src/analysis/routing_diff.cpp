#include "moeroute/routing_diff.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "core/parallel.h"
#include "jsd_kernel.h"
#include "moeroute/error.h"

namespace moeroute {

std::string to_string(DistKind d) {
  switch (d) {
    case DistKind::Auto: return "auto";
    case DistKind::Full: return "full";
    case DistKind::TopK: return "topk";
  }
  return "?";
}

DistKind parse_dist_kind(const std::string& name) {
  for (DistKind d : {DistKind::Auto, DistKind::Full, DistKind::TopK})
    if (to_string(d) == name) return d;
  throw InputError(fmt::format("unknown distribution '{}': expected one of auto, full, topk", name));
}

void routing_distribution(const RouterTrace& t, DistKind kind, int layer, int64_t pos, double* out, const std::string& what) {
  const int n = t.num_experts;
  if (kind == DistKind::Full) {
    if (!t.has_router_logits())
      throw InputError(fmt::format("{}: the 'full' distribution needs router_logits, which this trace does not carry "
                                   "(use 'topk')",
                                   what));
    const float* x = t.router_logits_at(layer, pos);
    const double mx = *std::max_element(x, x + n);
    double z = 0.0;
    for (int i = 0; i < n; ++i) z += out[i] = std::exp(static_cast<double>(x[i]) - mx);
    for (int i = 0; i < n; ++i) out[i] /= z;
    return;
  }
  if (!t.has_gate_weights())
    throw InputError(fmt::format("{}: the 'topk' distribution needs gate_weights, which this trace does not carry", what));
  std::fill(out, out + n, 0.0);
  const int32_t* ids = t.topk_ids_at(layer, pos);
  const float* w = t.gate_weights_at(layer, pos);
  double sum = 0.0;
  for (int k = 0; k < t.top_k; ++k) {
    out[ids[k]] += static_cast<double>(w[k]);
    sum += static_cast<double>(w[k]);
  }
  if (!(sum > 0.0))
    throw InputError(fmt::format("{}: gate weights of layer '{}' at position {} sum to {}, cannot renormalise", what,
                                 t.layers[static_cast<size_t>(layer)].name, pos, sum));
  for (int i = 0; i < n; ++i) out[i] /= sum;
}

Alignment align_generation(const RouterTrace& base, const RouterTrace& var) {
  Alignment a;
  // A trace without a prompt has no position that produced its first generated token.
  if (base.prompt_length == 0 || var.prompt_length == 0) return a;
  a.base_start = base.prompt_length - 1;
  a.var_start = var.prompt_length - 1;
  a.steps = std::max<int64_t>(0, std::min(base.generated_length(), var.generated_length()));
  return a;
}

namespace {

void check_comparable(const RouterTrace& b, const RouterTrace& v, const RoutingDiffOptions& o) {
  const auto& bn = o.base_name;
  const auto& vn = o.var_name;
  if (b.num_layers() != v.num_layers())
    throw InputError(fmt::format("{} has {} router layers but {} has {}: traces of different models?", bn,
                                 b.num_layers(), vn, v.num_layers()));
  if (b.num_experts != v.num_experts)
    throw InputError(fmt::format("{} has {} experts per layer but {} has {}: traces of different models?", bn,
                                 b.num_experts, vn, v.num_experts));
  if (b.top_k != v.top_k)
    throw InputError(fmt::format("{} has top_k {} but {} has {}", bn, b.top_k, vn, v.top_k));
  for (size_t l = 0; l < b.layers.size(); ++l)
    if (b.layers[l].name != v.layers[l].name)
      throw InputError(fmt::format("layer {} is '{}' in {} but '{}' in {}", l, b.layers[l].name, bn,
                                   v.layers[l].name, vn));
}

[[noreturn]] void throw_nonfinite(const RouterTrace& b, const RouterTrace& v, int layer, int64_t pb, int64_t pv,
                                  const RoutingDiffOptions& o) {
  for (const auto& [t, pos, name] : {std::tuple{&b, pb, &o.base_name}, std::tuple{&v, pv, &o.var_name}}) {
    const float* x = t->router_logits_at(layer, pos);
    for (int e = 0; e < t->num_experts; ++e)
      if (!std::isfinite(x[e]))
        throw InputError(fmt::format("{}: router logit of layer '{}', position {}, expert {} is {}", *name,
                                     t->layers[static_cast<size_t>(layer)].name, pos, e, x[e]));
  }
  throw Error("non-finite logit reported but not found");
}

}  // namespace

RoutingDiff diff_routing(const RouterTrace& base, const RouterTrace& var, const RoutingDiffOptions& options) {
  check_comparable(base, var, options);
  RoutingDiff r;
  r.dist = options.dist;
  if (r.dist == DistKind::Auto)
    r.dist = base.has_router_logits() && var.has_router_logits() ? DistKind::Full : DistKind::TopK;
  const auto require = [&](bool has, const std::string& name, const char* field) {
    if (!has)
      throw InputError(fmt::format("{}: the '{}' distribution needs {}, which this trace does not carry", name,
                                   to_string(r.dist), field));
  };
  for (const auto* t : {&base, &var}) {
    const auto& name = t == &base ? options.base_name : options.var_name;
    if (r.dist == DistKind::Full) require(t->has_router_logits(), name, "router_logits (record with logits, or use topk)");
    if (r.dist == DistKind::TopK) require(t->has_gate_weights(), name, "gate_weights");
  }
  r.metric = options.metric;
  r.alignment = options.alignment ? *options.alignment : align_generation(base, var);
  if ((!r.alignment.base_rows.empty() && static_cast<int64_t>(r.alignment.base_rows.size()) != r.alignment.steps) ||
      (!r.alignment.var_rows.empty() && static_cast<int64_t>(r.alignment.var_rows.size()) != r.alignment.steps))
    throw Error("diff_routing: explicit alignment rows do not match the step count");
  r.num_experts = base.num_experts;
  for (const auto& l : base.layers) r.layers.push_back(l.name);

  const int L = base.num_layers();
  const int E = base.num_experts;
  const int64_t S = r.alignment.steps;
  const bool fast = r.dist == DistKind::Full && r.metric == Divergence::JSD;
  r.divergence.assign(static_cast<size_t>(L) * static_cast<size_t>(S), 0.0);
  r.layer_mean.assign(static_cast<size_t>(L), std::numeric_limits<double>::quiet_NaN());
  r.base_mass.assign(static_cast<size_t>(L) * static_cast<size_t>(E), 0.0);
  r.var_mass.assign(static_cast<size_t>(L) * static_cast<size_t>(E), 0.0);

  detail::parallel_for(L, options.threads, [&](int l) {
    std::vector<double> p(static_cast<size_t>(E)), q(static_cast<size_t>(E)), scratch(2 * static_cast<size_t>(E));
    double* mp = r.base_mass.data() + static_cast<size_t>(l) * static_cast<size_t>(E);
    double* mq = r.var_mass.data() + static_cast<size_t>(l) * static_cast<size_t>(E);
    double* row = r.divergence.data() + static_cast<size_t>(l) * static_cast<size_t>(S);
    for (int64_t s = 0; s < S; ++s) {
      const int64_t pb = r.alignment.base_row(s), pv = r.alignment.var_row(s);
      if (fast) {
        const float* x = base.router_logits_at(l, pb);
        const float* y = var.router_logits_at(l, pv);
        row[s] = detail::jsd_from_logits(x, y, E, mp, mq, scratch.data());
        if (row[s] < 0.0) throw_nonfinite(base, var, l, pb, pv, options);
        // Bitwise-equal logits are the same distribution: report exactly 0, not rounding noise.
        if (std::memcmp(x, y, sizeof(float) * static_cast<size_t>(E)) == 0) row[s] = 0.0;
      } else {
        routing_distribution(base, r.dist, l, pb, p.data(), options.base_name);
        routing_distribution(var, r.dist, l, pv, q.data(), options.var_name);
        row[s] = divergence(r.metric, p.data(), q.data(), static_cast<size_t>(E));
        // Identical distributions: exactly 0 in every metric (KL's ε and Hellinger's 1 − Σ√(pq)
        // would otherwise leave rounding residue of order 1e-10 and 1e-8).
        if (std::memcmp(p.data(), q.data(), sizeof(double) * static_cast<size_t>(E)) == 0) row[s] = 0.0;
        for (int e = 0; e < E; ++e) {
          mp[e] += p[static_cast<size_t>(e)];
          mq[e] += q[static_cast<size_t>(e)];
        }
      }
    }
    r.layer_mean[static_cast<size_t>(l)] = summarize_divergence(row, static_cast<size_t>(S)).mean;
  });
  return r;
}

DivergenceSummary summarize_divergence(const double* values, size_t n) {
  DivergenceSummary s;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double v = values[i];
    if (std::isnan(v)) {
      ++s.nan_count;
      continue;
    }
    sum += v;
    s.max = s.count == 0 ? v : std::max(s.max, v);
    ++s.count;
  }
  if (s.count > 0) s.mean = sum / static_cast<double>(s.count);
  return s;
}

std::vector<ExpertShift> top_expert_shifts(const RoutingDiff& diff, int top_n) {
  if (top_n <= 0) throw InputError(fmt::format("topn must be > 0, got {}", top_n));
  const int E = diff.num_experts;
  std::vector<ExpertShift> out;
  std::vector<ExpertShift> layer(static_cast<size_t>(E));
  for (size_t l = 0; l < diff.layers.size(); ++l) {
    for (int e = 0; e < E; ++e) {
      const size_t i = l * static_cast<size_t>(E) + static_cast<size_t>(e);
      auto& s = layer[static_cast<size_t>(e)];
      s = {diff.layers[l], e, diff.base_mass[i], diff.var_mass[i], diff.var_mass[i] - diff.base_mass[i], 0.0};
      s.abs_delta = std::abs(s.delta);
    }
    const size_t n = std::min(static_cast<size_t>(top_n), layer.size());
    std::partial_sort(layer.begin(), layer.begin() + static_cast<std::ptrdiff_t>(n), layer.end(),
                      [](const ExpertShift& a, const ExpertShift& b) {
                        return a.abs_delta != b.abs_delta ? a.abs_delta > b.abs_delta : a.expert < b.expert;
                      });
    out.insert(out.end(), layer.begin(), layer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

}  // namespace moeroute
