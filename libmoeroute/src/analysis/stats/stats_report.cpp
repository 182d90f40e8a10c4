// RoutingStats::report: every derived statistic, from the integer state (docs/metrics.md,
// "Routing statistics").
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "analysis/stats/stats_state.h"
#include "moeroute/divergence.h"

namespace moeroute {

namespace {

using detail::from_fixed;
using detail::Int128;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double a, double b) { return b != 0 ? a / b : kNaN; }

EntropySummary summarise(const detail::ValueAcc& a, double max_possible) {
  EntropySummary s;
  s.count = a.n;
  s.max_possible = max_possible;
  s.histogram = a.hist;
  if (a.n == 0) {
    s.mean = s.std = s.min = s.max = kNaN;
    return s;
  }
  const double n = static_cast<double>(a.n);
  s.mean = from_fixed(a.sum) / n;
  // Variance from the exact integer sums of x and x² (both in units of 2^-40): mean(x²) − mean(x)²,
  // in long double.
  const long double unit = std::ldexp(1.0L, -kStatsFixedPointBits);
  const long double mean = static_cast<long double>(a.sum) * unit / a.n;
  const long double mean_sq = static_cast<long double>(a.sumsq) * unit / a.n;
  s.std = static_cast<double>(std::sqrt(std::max(0.0L, mean_sq - mean * mean)));
  s.min = std::ldexp(static_cast<double>(a.min), -kStatsFixedPointBits);
  s.max = std::ldexp(static_cast<double>(a.max), -kStatsFixedPointBits);
  return s;
}

// Entropy (bits) of a count vector's distribution; 0 for an all-zero vector.
double entropy_of_counts(const int64_t* c, size_t n) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += static_cast<double>(c[i]);
  if (total <= 0) return 0;
  double h = 0;
  for (size_t i = 0; i < n; ++i)
    if (c[i] > 0) {
      const double p = static_cast<double>(c[i]) / total;
      h -= p * std::log2(p);
    }
  return h;
}

double gini(std::vector<int64_t> c) {
  std::sort(c.begin(), c.end());
  const double n = static_cast<double>(c.size());
  double total = 0, weighted = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    total += static_cast<double>(c[i]);
    weighted += (2.0 * static_cast<double>(i + 1) - n - 1.0) * static_cast<double>(c[i]);
  }
  return total > 0 ? weighted / (n * total) : 0.0;
}

// Ids 0…n−1 ordered by `key` descending (or ascending), ties by lower id; the first `k`.
std::vector<int> ranked(const std::vector<int64_t>& key, int k, bool descending) {
  std::vector<int> ids(key.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) {
    return descending ? key[static_cast<size_t>(a)] > key[static_cast<size_t>(b)]
                      : key[static_cast<size_t>(a)] < key[static_cast<size_t>(b)];
  });
  ids.resize(std::min(ids.size(), static_cast<size_t>(k)));
  return ids;
}

// One expert's (vocabulary row, count) list: a range of a shared array.
struct CellRange {
  const std::pair<size_t, int64_t>* first;
  size_t n;
  const std::pair<size_t, int64_t>* begin() const { return first; }
  const std::pair<size_t, int64_t>* end() const { return first + n; }
  size_t size() const { return n; }
  const std::pair<size_t, int64_t>& operator[](size_t i) const { return first[i]; }
};

// Indices 0…n−1 by key(i) descending, ties by lower index (what a stable sort by key gives): a
// counting sort when the keys are non-negative and at most 4n + 1024 (co-activation counts of
// tokens), else a comparison sort.
template <class Key>
std::vector<size_t> by_count_descending(size_t n, Key key) {
  std::vector<size_t> out(n);
  int64_t lo = 0, hi = 0;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min(lo, key(i));
    hi = std::max(hi, key(i));
  }
  if (lo >= 0 && hi <= static_cast<int64_t>(4 * n + 1024)) {
    std::vector<size_t> start(static_cast<size_t>(hi) + 2, 0);  // bucket of key k: hi − k
    for (size_t i = 0; i < n; ++i) ++start[static_cast<size_t>(hi - key(i)) + 1];
    for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
    for (size_t i = 0; i < n; ++i) out[start[static_cast<size_t>(hi - key(i))]++] = i;
    return out;
  }
  std::iota(out.begin(), out.end(), size_t{0});
  std::sort(out.begin(), out.end(), [&](size_t x, size_t y) { return key(x) != key(y) ? key(x) > key(y) : x < y; });
  return out;
}

// The first k of `items` under the strict total order `before`, in that order.
template <class Before>
std::vector<size_t> first_n(std::vector<size_t> items, int k, Before before) {
  const auto mid = items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), static_cast<size_t>(k)));
  std::partial_sort(items.begin(), mid, items.end(), before);
  items.erase(mid, items.end());
  return items;
}

std::vector<double> overflow(const std::vector<int64_t>& dropped, int64_t assigned) {
  std::vector<double> out;
  for (int64_t d : dropped) out.push_back(ratio(static_cast<double>(d), static_cast<double>(assigned)));
  return out;
}

double mean_fixed(Int128 sum, int64_t n) { return n > 0 ? from_fixed(sum) / static_cast<double>(n) : kNaN; }

}  // namespace

StatsReport RoutingStats::report() {
  finish();
  State& d = *s_;
  d.canonicalize();
  StatsReport r;
  r.options = d.options;
  r.model_id = d.model_id;
  r.routing_rule = d.routing_rule;
  r.num_experts = d.E;
  r.top_k = d.K;
  r.layers = d.layers;
  r.tokens = d.rows;
  r.samples = static_cast<int64_t>(d.samples.size());
  r.sources = d.sources;
  r.has_logits = d.logits_rows > 0;
  r.has_weights = d.weight_rows > 0;
  r.has_tokens = d.token_rows > 0;
  if (!d.initialised) return r;
  const size_t L = d.layers.size(), E = static_cast<size_t>(d.E), F = d.F();
  const int K = d.K, top_n = d.options.top_n;
  const double N = static_cast<double>(d.rows);

  if (!r.has_logits)
    r.notes.push_back("router entropy over all experts: the traces carry no router logits (record with logits)");
  else if (d.logits_rows < d.rows)
    r.notes.push_back(fmt::format("router entropy over all experts: measured on the {} of {} tokens that carry logits",
                                  d.logits_rows, d.rows));
  if (!r.has_weights)
    r.notes.push_back("top-k entropy and weight sums: the traces carry no gate weights");
  else if (d.weight_rows < d.rows)
    r.notes.push_back(fmt::format("top-k entropy and weight sums: measured on the {} of {} tokens that carry gate weights",
                                  d.weight_rows, d.rows));
  if (!d.token_table) r.notes.push_back("token → expert: " + d.token_note);
  else if (!r.has_tokens) r.notes.push_back("token → expert: the traces carry no token ids");
  else if (d.token_rows < d.rows)
    r.notes.push_back(fmt::format("token → expert: measured on the {} of {} tokens that carry token ids", d.token_rows, d.rows));

  // Per layer.
  std::vector<int64_t> per_expert_total(E, 0);
  std::vector<double> percents;
  for (size_t l = 0; l < L; ++l) {
    LayerStats ls;
    ls.layer = d.layers[l];
    ls.tokens = d.rows;
    const int64_t* c = d.count.data() + l * E;
    std::vector<int64_t> counts(c, c + E);
    const double assignments = N * K, mean = assignments / static_cast<double>(E);
    double var = 0;
    for (size_t e = 0; e < E; ++e) {
      ExpertStats x;
      x.expert = static_cast<int>(e);
      x.count = c[e];
      x.top1_count = d.top1[l * E + e];
      x.weight_sum = r.has_weights ? from_fixed(d.wsum[l * E + e]) : kNaN;
      x.mean_weight = r.has_weights && x.count > 0 ? x.weight_sum / static_cast<double>(x.count) : kNaN;
      x.utilisation = ratio(static_cast<double>(x.count), assignments);
      x.token_fraction = ratio(static_cast<double>(x.count), N);
      const double uniform = 1.0 / static_cast<double>(E);
      if (x.count == 0) x.status = "dead";
      else if (x.utilisation < d.options.rare_ratio * uniform) x.status = "rare";
      else if (x.utilisation > d.options.dominant_ratio * uniform) x.status = "dominant";
      if (x.status == "dead") ls.dead.push_back(x.expert);
      if (x.status == "rare") ls.rare.push_back(x.expert);
      if (x.status == "dominant") ls.dominant.push_back(x.expert);
      ls.used_experts += x.count > 0 ? 1 : 0;
      var += (static_cast<double>(x.count) - mean) * (static_cast<double>(x.count) - mean);
      per_expert_total[e] += x.count;
      percents.push_back(assignments > 0 ? 100.0 * static_cast<double>(x.count) / assignments : kNaN);
      ls.experts.push_back(std::move(x));
    }
    var /= static_cast<double>(E);
    ls.cv = ratio(std::sqrt(var), mean);
    ls.max_over_mean = ratio(static_cast<double>(*std::max_element(counts.begin(), counts.end())), mean);
    ls.min_over_mean = ratio(static_cast<double>(*std::min_element(counts.begin(), counts.end())), mean);
    ls.gini = gini(counts);
    for (size_t f = 0; f < F; ++f) {
      CapacityStats cs;
      cs.factor = d.options.capacity_factors[f];
      cs.dropped = d.dropped[l * F + f];
      cs.assigned = d.assigned[l];
      cs.overflow_fraction = ratio(static_cast<double>(cs.dropped), static_cast<double>(cs.assigned));
      ls.capacity.push_back(cs);
    }
    ls.has_entropy_full = d.ent_full[l].n > 0;
    ls.has_entropy_topk = d.ent_topk[l].n > 0;
    ls.entropy_full = summarise(d.ent_full[l], std::log2(static_cast<double>(E)));
    ls.entropy_topk = summarise(d.ent_topk[l], std::log2(static_cast<double>(K)));
    ls.top_experts = ranked(counts, top_n, true);
    ls.bottom_experts = ranked(counts, top_n, false);
    // Co-activation: every pair a < b, by count.
    const int64_t* co = d.coact.data() + l * E * E;
    std::vector<CoactivationPair> pairs;
    for (size_t a = 0; a < E; ++a)
      for (size_t b = a + 1; b < E; ++b)
        if (co[a * E + b] > 0)
          pairs.push_back({static_cast<int>(a), static_cast<int>(b), co[a * E + b],
                           static_cast<double>(co[a * E + b]) * N / (static_cast<double>(c[a]) * static_cast<double>(c[b]))});
    // By count, ties in (a, b) order (the order they were made in).
    std::vector<CoactivationPair> sorted;
    sorted.reserve(pairs.size());
    for (size_t i : by_count_descending(pairs.size(), [&](size_t i) { return pairs[i].count; })) sorted.push_back(pairs[i]);
    ls.pairs = std::move(sorted);
    r.layer_stats.push_back(std::move(ls));
  }

  // The seed's global frequency statistics.
  {
    GlobalFrequency& g = r.global;
    g.uniform_percent = 100.0 / static_cast<double>(E);
    for (int64_t v : per_expert_total) g.selections += v;
    double sum = 0, sq = 0;
    g.min_percent = std::numeric_limits<double>::infinity();
    g.max_percent = -g.min_percent;
    for (double p : percents) {
      sum += p;
      sq += p * p;
      g.min_percent = std::min(g.min_percent, p);
      g.max_percent = std::max(g.max_percent, p);
    }
    const double n = static_cast<double>(percents.size());
    g.mean_percent = sum / n;
    g.std_percent = std::sqrt(std::max(0.0, sq / n - g.mean_percent * g.mean_percent));
    for (int e : ranked(per_expert_total, top_n, true)) g.top_experts.push_back({e, per_expert_total[static_cast<size_t>(e)]});
    for (int e : ranked(per_expert_total, top_n, false)) g.bottom_experts.push_back({e, per_expert_total[static_cast<size_t>(e)]});
  }

  // Cross-layer consistency of the first choice.
  for (size_t l = 0; l + 1 < L; ++l) {
    CrossLayerStats x;
    x.from = static_cast<int>(l);
    x.to = static_cast<int>(l + 1);
    const int64_t* cr = d.cross.data() + l * E * E;
    std::vector<int64_t> marginal_a(E, 0), marginal_b(E, 0);
    int64_t total = 0, best = 0;
    for (size_t a = 0; a < E; ++a) {
      int64_t row_best = 0;
      for (size_t b = 0; b < E; ++b) {
        marginal_a[a] += cr[a * E + b];
        marginal_b[b] += cr[a * E + b];
        row_best = std::max(row_best, cr[a * E + b]);
      }
      total += marginal_a[a];
      best += row_best;
    }
    x.tokens = total;
    x.entropy_next = entropy_of_counts(marginal_b.data(), E);
    const double h_joint = entropy_of_counts(cr, E * E), h_a = entropy_of_counts(marginal_a.data(), E);
    x.conditional_entropy = std::max(0.0, h_joint - h_a);
    x.mutual_information = std::max(0.0, x.entropy_next - x.conditional_entropy);
    x.normalised_mi = x.entropy_next > 0 ? x.mutual_information / x.entropy_next : 0.0;
    x.accuracy = ratio(static_cast<double>(best), static_cast<double>(total));
    x.baseline_accuracy =
        ratio(static_cast<double>(*std::max_element(marginal_b.begin(), marginal_b.end())), static_cast<double>(total));
    r.cross_layer.push_back(x);
  }

  // Token → expert. One pass over each layer's table, in token-id order, collects every expert's
  // (token, count) list; ties in the rankings below then fall to the lower token id.
  if (d.token_table && r.has_tokens) {
    const std::vector<size_t> order = d.vocab_order();
    for (size_t tl = 0; tl < d.token_layers.size(); ++tl) {
      const std::vector<uint32_t>& table = d.token_counts[tl];
      // Per expert: (vocabulary row, count) of its tokens, all experts' lists in one array (the
      // nonzero cells are counted first; the fill has no data-dependent branch).
      std::vector<uint32_t> nonzero(E, 0);  // < 2^32: at most one per vocabulary row
      for (size_t v = 0; v < d.vocab_ids.size(); ++v) {
        const uint32_t* row = table.data() + v * E;
        for (size_t e = 0; e < E; ++e) nonzero[e] += row[e] != 0 ? 1U : 0U;
      }
      std::vector<size_t> start(E + 1, 0);
      for (size_t e = 0; e < E; ++e) start[e + 1] = start[e] + nonzero[e];
      std::vector<std::pair<size_t, int64_t>> cells(start[E] + 1);  // + a slot for the zeros
      std::vector<size_t> end(start.begin(), start.end() - 1);
      std::pair<size_t, int64_t>* const spare = &cells[start[E]];
      for (size_t v : order)
        for (size_t e = 0; e < E; ++e) {
          const uint32_t c = table[v * E + e];
          *(c ? &cells[end[e]] : spare) = {v, c};
          end[e] += c != 0;
        }
      for (size_t e = 0; e < E; ++e) {
        const CellRange list{cells.data() + start[e], start[e + 1] - start[e]};
        TokenExpertStats t;
        t.layer = d.token_layers[tl];
        t.expert = static_cast<int>(e);
        for (const auto& [v, c] : list) t.assignments += c;
        t.distinct_tokens = static_cast<int64_t>(list.size());
        double h = 0;
        for (const auto& [v, c] : list) {
          const double p = static_cast<double>(c) / static_cast<double>(t.assignments);
          h -= p * std::log2(p);
        }
        t.vocab_entropy = h;
        auto share = [&](const std::pair<size_t, int64_t>& x) {
          TokenShare s;
          s.token_id = d.vocab_ids[x.first];
          s.text = d.vocab_text[x.first];
          s.count = x.second;
          s.occurrences = d.occurrences[x.first];
          s.share_of_expert = ratio(static_cast<double>(s.count), static_cast<double>(t.assignments));
          s.share_of_token = ratio(static_cast<double>(s.count), static_cast<double>(s.occurrences));
          return s;
        };
        // The first top_n by count and by share, ties to the earlier entry of the list (lower
        // token id): a partial sort under a total order is the stable sort's prefix.
        std::vector<size_t> by_count(list.size());
        std::iota(by_count.begin(), by_count.end(), size_t{0});
        for (size_t i : first_n(by_count, top_n, [&](size_t x, size_t y) {
               return list[x].second != list[y].second ? list[x].second > list[y].second : x < y;
             }))
          t.top_tokens.push_back(share(list[i]));
        std::vector<size_t> by_share;
        for (size_t i = 0; i < list.size(); ++i)
          if (d.occurrences[list[i].first] >= d.options.min_token_count) by_share.push_back(i);
        // share = count / occurrences, compared exactly by cross-multiplication.
        for (size_t i : first_n(by_share, top_n, [&](size_t x, size_t y) {
               const Int128 lx = static_cast<Int128>(list[x].second) * d.occurrences[list[y].first],
                            ly = static_cast<Int128>(list[y].second) * d.occurrences[list[x].first];
               return lx != ly ? lx > ly : x < y;
             }))
          t.specialised_tokens.push_back(share(list[i]));
        r.token_experts.push_back(std::move(t));
      }
    }
  }

  // Per dataset label.
  for (size_t i = 0; i < d.labels.size(); ++i) {
    const detail::LabelAcc& a = d.label_acc[i];
    DatasetStats ds;
    ds.label = d.labels[i];
    ds.samples = a.samples;
    ds.tokens = a.tokens;
    ds.samples_with_loss = a.samples_with_loss;
    ds.mean_loss = mean_fixed(a.loss_sum, a.samples_with_loss);
    ds.token_weighted_loss = mean_fixed(a.loss_weighted_sum, a.loss_weight);
    ds.entropy_full_mean = mean_fixed(a.ef_sum, a.ef_n);
    ds.entropy_topk_mean = mean_fixed(a.et_sum, a.et_n);
    ds.overflow_fraction = overflow(a.dropped, a.assigned);
    for (size_t l = 0; l < L; ++l) {
      const int64_t* c = a.counts.data() + l * E;
      ds.counts.emplace_back(c, c + E);
      std::vector<double> u(E);
      for (size_t e = 0; e < E; ++e) u[e] = ratio(static_cast<double>(c[e]), static_cast<double>(a.tokens) * K);
      ds.utilisation.push_back(std::move(u));
    }
    r.datasets.push_back(std::move(ds));
  }
  for (size_t i = 0; i < r.datasets.size(); ++i)
    for (size_t j = i + 1; j < r.datasets.size(); ++j) {
      DatasetDivergence dv;
      dv.a = r.datasets[i].label;
      dv.b = r.datasets[j].label;
      double sum = 0;
      for (size_t l = 0; l < L; ++l) {
        const double v = jsd(r.datasets[i].utilisation[l].data(), r.datasets[j].utilisation[l].data(), E);
        dv.jsd.push_back(v);
        sum += v;
      }
      dv.mean_jsd = L > 0 ? sum / static_cast<double>(L) : kNaN;
      r.dataset_divergence.push_back(std::move(dv));
    }

  for (const detail::SampleAcc& s : d.samples) {
    SampleStats x;
    x.source = d.sources[static_cast<size_t>(s.source)];
    x.id = s.id;
    x.label = d.labels[static_cast<size_t>(s.label)];
    x.tokens = s.tokens;
    x.loss = s.loss;
    x.entropy_full_mean = mean_fixed(s.ef_sum, s.ef_n);
    x.entropy_topk_mean = mean_fixed(s.et_sum, s.et_n);
    x.overflow_fraction = overflow(s.dropped, s.assigned);
    r.sample_stats.push_back(std::move(x));
  }

  for (size_t w = 0; w < d.window_rows.size(); ++w) {
    WindowStats ws;
    ws.begin = static_cast<int64_t>(w) * d.options.position_window;
    ws.end = ws.begin + d.options.position_window;
    ws.tokens = d.window_rows[w];
    for (size_t l = 0; l < L; ++l) {
      const int64_t* c = d.window_counts.data() + (w * L + l) * E;
      ws.counts.emplace_back(c, c + E);
      ws.entropy.push_back(ws.tokens > 0 ? entropy_of_counts(c, E) : kNaN);
    }
    r.windows.push_back(std::move(ws));
  }
  return r;
}

}  // namespace moeroute
