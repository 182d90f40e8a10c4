// P-values of every logit under its layer's KDE, grouped and summarised (docs/kde.md).
#include "moeroute/kde_pvalues.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "analysis/quantile.h"
#include "analysis/radix_sort.h"
#include "core/parallel.h"
#include "moeroute/error.h"
#include "moeroute/expert_usage.h"

namespace moeroute {

const std::vector<double>& pvalue_qq_levels() {
  static const std::vector<double> levels = [] {
    std::vector<double> v{0.001, 0.005};
    for (int i = 1; i < 100; ++i) v.push_back(i / 100.0);
    v.push_back(0.995);
    v.push_back(0.999);
    return v;
  }();
  return levels;
}

namespace {

// numpy.histogram's bin of x in `bins` equal bins of [0, 1]: x·bins truncated, then corrected
// against the edges i·(1/bins) that numpy.linspace makes, the last bin closed.
int histogram_bin(double x, int bins) {
  const double step = 1.0 / bins;
  int i = std::min(static_cast<int>(x * bins), bins - 1);
  if (x < i * step) --i;
  else if (i != bins - 1 && x >= (i + 1) * step) ++i;
  return i;
}

}  // namespace

PvalueStats pvalue_stats(std::vector<float>& p, int bins) {
  if (bins < 1) throw InputError(fmt::format("p-value histogram: bins must be ≥ 1, got {}", bins));
  PvalueStats s;
  s.histogram.assign(static_cast<size_t>(bins), 0);
  s.count = static_cast<int64_t>(p.size());
  if (p.empty()) return s;
  for (float v : p)
    if (!(v >= 0 && v <= 1)) throw InputError(fmt::format("p-value statistics: {} is not in [0, 1]", v));
  detail::sort_nonnegative_floats(p);
  const double n = static_cast<double>(p.size());
  double sum = 0, ks = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double v = p[i];
    sum += v;
    ks = std::max({ks, static_cast<double>(i + 1) / n - v, v - static_cast<double>(i) / n});
    ++s.histogram[static_cast<size_t>(histogram_bin(v, bins))];
  }
  s.mean = sum / n;
  s.ks = ks;
  const size_t mid = p.size() / 2;
  s.median = p.size() % 2 ? p[mid] : (static_cast<double>(p[mid - 1]) + p[mid]) / 2;
  auto below = [&](double a) {
    const auto it = std::lower_bound(p.begin(), p.end(), a, [](float v, double t) { return static_cast<double>(v) < t; });
    return static_cast<double>(it - p.begin()) / n;
  };
  s.below_0001 = below(0.001);
  s.below_001 = below(0.01);
  s.below_005 = below(0.05);
  for (double q : pvalue_qq_levels()) s.quantiles.push_back(detail::quantile_sorted(p, q));
  return s;
}

std::vector<std::string> pvalue_group_names(int top_k, int num_experts) {
  std::vector<std::string> g{"all"};
  for (int r = 1; r <= top_k; ++r) g.push_back(fmt::format("rank{}", r));
  if (top_k < num_experts) g.push_back("rest");
  for (int d = 1; d <= 10; ++d) g.push_back(fmt::format("popularity_d{}", d));
  return g;
}

void logit_ranks(const float* logits, int64_t count, int num_experts, uint16_t* out) {
  std::vector<int> order(static_cast<size_t>(num_experts));
  for (int64_t r = 0; r < count; ++r) {
    const float* x = logits + r * num_experts;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [x](int a, int b) { return x[a] > x[b]; });
    for (int k = 0; k < num_experts; ++k)
      out[r * num_experts + order[static_cast<size_t>(k)]] = static_cast<uint16_t>(k + 1);
  }
}

namespace {

// Group of each logit: 0 is "all"; rank groups 1 … k+1 (k+1 = rest); decile groups after them.
struct Grouping {
  int top_k = 0, num_experts = 0, decile_base = 0, count = 0;
  std::vector<std::vector<int>> deciles;  // [layer][expert] → 1 … 10
  int rank_group(uint16_t rank) const { return rank <= top_k ? rank : top_k + 1; }
  int decile_group(int layer, int expert) const {
    return decile_base + deciles[static_cast<size_t>(layer)][static_cast<size_t>(expert)] - 1;
  }
};

// Logits per group in one layer.
std::vector<size_t> group_sizes(const std::vector<uint16_t>& ranks, int layer, const Grouping& g) {
  const size_t E = static_cast<size_t>(g.num_experts);
  std::vector<size_t> size(static_cast<size_t>(g.count), 0);
  size[0] = ranks.size();
  for (size_t i = 0; i < ranks.size(); ++i) {
    ++size[static_cast<size_t>(g.rank_group(ranks[i]))];
    ++size[static_cast<size_t>(g.decile_group(layer, static_cast<int>(i % E)))];
  }
  return size;
}

// Appends one layer's p-values to the groups they belong to (`groups` reserved by the caller:
// these vectors hold millions of values).
void split(const std::vector<float>& pv, const std::vector<uint16_t>& ranks, int layer, const Grouping& g,
           std::vector<std::vector<float>>& groups) {
  const size_t E = static_cast<size_t>(g.num_experts);
  groups[0].insert(groups[0].end(), pv.begin(), pv.end());
  for (size_t i = 0; i < pv.size(); ++i) {
    groups[static_cast<size_t>(g.rank_group(ranks[i]))].push_back(pv[i]);
    groups[static_cast<size_t>(g.decile_group(layer, static_cast<int>(i % E)))].push_back(pv[i]);
  }
}

// Empty groups with room for the given layers' logits.
std::vector<std::vector<float>> reserved_groups(const std::vector<std::vector<uint16_t>>& ranks,
                                                const std::vector<int>& layers, const Grouping& g) {
  std::vector<size_t> total(static_cast<size_t>(g.count), 0);
  for (int l : layers) {
    const auto s = group_sizes(ranks[static_cast<size_t>(l)], l, g);
    for (size_t k = 0; k < s.size(); ++k) total[k] += s[k];
  }
  std::vector<std::vector<float>> groups(total.size());
  for (size_t k = 0; k < total.size(); ++k) groups[k].reserve(total[k]);
  return groups;
}

std::vector<PvalueStats> summarise(std::vector<std::vector<float>>& groups, int bins) {
  std::vector<PvalueStats> out;
  for (auto& g : groups) {
    out.push_back(pvalue_stats(g, bins));
    std::vector<float>().swap(g);
  }
  return out;
}

}  // namespace

PvalueReport kde_pvalues(const KdeModel& model, const std::vector<NamedTrace>& traces, const PvalueOptions& options) {
  if (traces.empty()) throw InputError("kde pvalues: no traces given");
  if (options.bins < 1 || options.bins > 10000)
    throw InputError(fmt::format("p-value histogram bins {} are outside 1 … 10000", options.bins));
  for (const NamedTrace& t : traces) {
    require_raw_logits(*t.trace, t.name);
    check_same_model(model, *t.trace, t.name);
  }
  const int L = model.num_layers(), E = model.num_experts;
  if (E > 65535) throw UnsupportedError(fmt::format("kde pvalues: {} experts per layer; ranks are kept for up to 65535", E));
  PvalueReport report;
  report.groups = pvalue_group_names(model.top_k, E);
  int64_t rows = 0;
  for (const NamedTrace& t : traces) {
    report.rows.push_back(t.trace->num_positions);
    rows += t.trace->num_positions;
  }
  if (rows == 0) throw InputError(fmt::format("kde pvalues: the traces hold no rows ({} …)", traces.front().name));
  const size_t per_layer = static_cast<size_t>(rows) * static_cast<size_t>(E);

  Grouping g;
  g.top_k = model.top_k;
  g.num_experts = E;
  g.decile_base = model.top_k + (model.top_k < E ? 2 : 1);
  g.count = static_cast<int>(report.groups.size());
  for (int l = 0; l < L; ++l)
    g.deciles.push_back(popularity_deciles(&model.choice_counts[static_cast<size_t>(l) * static_cast<size_t>(E)], E));

  // Ranks once per layer; they serve every variant.
  std::vector<std::vector<uint16_t>> ranks(static_cast<size_t>(L));
  detail::parallel_for(L, options.threads, [&](int l) {
    auto& r = ranks[static_cast<size_t>(l)];
    r.resize(per_layer);
    size_t at = 0;
    for (const NamedTrace& t : traces) {
      logit_ranks(t.trace->router_logits_at(l, 0), t.trace->num_positions, E, r.data() + at);
      at += static_cast<size_t>(t.trace->num_positions) * static_cast<size_t>(E);
    }
  });

  for (const KdeVariant& variant : model.variants) {
    VariantPvalues vp;
    vp.variant = variant.name;
    vp.methods.resize(static_cast<size_t>(L));
    vp.layers.resize(static_cast<size_t>(L) + 1);
    std::vector<std::vector<float>> pv(static_cast<size_t>(L));
    std::vector<double> bounds(static_cast<size_t>(L), 0.0);
    detail::parallel_for(L, options.threads, [&](int l) {
      const size_t li = static_cast<size_t>(l);
      const KdeEvaluator eval(variant.layers[li], options.eval, static_cast<int64_t>(per_layer));
      vp.methods[li] = eval.method();
      bounds[li] = eval.tail_error_bound();
      auto& p = pv[li];
      p.resize(per_layer);
      size_t at = 0;
      for (const NamedTrace& t : traces) {
        const size_t n = static_cast<size_t>(t.trace->num_positions) * static_cast<size_t>(E);
        eval.upper_tail(t.trace->router_logits_at(l, 0), n, p.data() + at);
        at += n;
      }
      auto groups = reserved_groups(ranks, {l}, g);
      split(p, ranks[li], l, g, groups);
      vp.layers[li] = {model.layers[li].name, summarise(groups, options.bins)};
    });
    vp.error_bound = *std::max_element(bounds.begin(), bounds.end());
    std::vector<int> every(static_cast<size_t>(L));
    std::iota(every.begin(), every.end(), 0);
    auto pooled = reserved_groups(ranks, every, g);
    for (int l = 0; l < L; ++l) split(pv[static_cast<size_t>(l)], ranks[static_cast<size_t>(l)], l, g, pooled);
    vp.layers.back() = {"all", summarise(pooled, options.bins)};
    if (options.keep_pvalues) vp.pvalues = std::move(pv);
    report.variants.push_back(std::move(vp));
  }
  return report;
}

}  // namespace moeroute
