// Stages "routing" and "experts" of the KDE figures: what the scored traces route and how
// their logits are distributed (docs/plots.md, "KDE and p-value figures").
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "analysis/quantile.h"
#include "moeroute/compare_plots.h"
#include "moeroute/error.h"
#include "moeroute/kde_plots.h"
#include "render/small_multiples.h"

namespace moeroute {

using detail::FloatSpan;

namespace {

constexpr int kBins = 60;
constexpr std::size_t kSample = 400000;  // values that set a display range

std::string layer_axis_label(const LayerLabels& labels) {
  return labels.pattern.empty() ? "Layer" : "Layer (" + labels.pattern + ")";
}

std::vector<FloatSpan> layer_spans(const std::vector<NamedTrace>& traces, int layer) {
  std::vector<FloatSpan> spans;
  for (const NamedTrace& t : traces)
    spans.push_back({t.trace->router_logits_at(layer, 0),
                     static_cast<std::size_t>(t.trace->num_positions) * static_cast<std::size_t>(t.trace->num_experts)});
  return spans;
}

const RouterTrace& first_trace(const std::vector<NamedTrace>& traces) {
  if (traces.empty()) throw InputError("KDE plots: no traces");
  int64_t rows = 0;
  for (const NamedTrace& t : traces) {
    if (!t.trace->has_router_logits()) throw InputError(fmt::format("{}: no router logits to plot", t.name));
    rows += t.trace->num_positions;
  }
  if (rows == 0) throw InputError(fmt::format("KDE plots: {} holds no rows", traces.front().name));
  return *traces.front().trace;
}

// Adds `src` (counts) to `dst` (counts).
void add_counts(plot::Histogram& dst, const plot::Histogram& src) {
  if (dst.heights.empty()) dst = src;
  else
    for (std::size_t i = 0; i < dst.heights.size(); ++i) dst.heights[i] += src.heights[i];
}

// Counts → density over `total` values (values outside the range included in total).
plot::Histogram as_density(plot::Histogram h, double total) {
  const double width = (h.edges.back() - h.edges.front()) / static_cast<double>(h.heights.size());
  for (double& v : h.heights) v = total > 0 ? v / (total * width) : 0.0;
  return h;
}

// log₁₀ softmax of one row of logits into out.
void log10_softmax(const float* x, int n, double* out) {
  const double mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int e = 0; e < n; ++e) sum += std::exp(x[e] - mx);
  const double log_sum = std::log(sum);
  for (int e = 0; e < n; ++e) out[e] = (x[e] - mx - log_sum) / std::log(10.0);
}

// Labels for the few layers a depth-coloured legend names: the first, middle and last.
std::string depth_label(std::size_t l, std::size_t n, const std::vector<std::string>& titles) {
  return l == 0 || l + 1 == n || l == n / 2 ? titles[l] : "";
}

}  // namespace

plot::Figure routing_usage_figure(const ExpertUsage& usage, const std::vector<std::string>& layer_names) {
  if (usage.num_layers == 0 || usage.num_experts == 0 || layer_names.size() != static_cast<std::size_t>(usage.num_layers))
    throw InputError(fmt::format("routing usage plot: {} layer names for {} layers × {} experts", layer_names.size(),
                                 usage.num_layers, usage.num_experts));
  const bool weights = !usage.weight_sums.empty();
  const double w = std::clamp(230.0 + 7.0 * usage.num_experts, 480.0, 1400.0);
  const double h = std::clamp(150.0 + 14.0 * usage.num_layers, 320.0, 1400.0);
  plot::Figure f(weights ? 2 * w : w, h + 34, 1, weights ? 2 : 1);
  f.set_title("Expert usage per layer (scored traces)");
  const LayerLabels labels = shorten_layer_names(layer_names);
  auto panel = [&](std::size_t col, std::vector<double> values, const char* title, const char* bar) {
    plot::HeatmapSpec hm;
    hm.values = std::move(values);
    hm.rows = static_cast<std::size_t>(usage.num_layers);
    hm.cols = static_cast<std::size_t>(usage.num_experts);
    hm.colorbar_label = bar;
    f.axes(0, col).heatmap(std::move(hm)).set_title(title).set_xlabel("Expert").set_ylabel(layer_axis_label(labels))
        .set_ycategories(labels.labels);
  };
  panel(0, std::vector<double>(usage.choice_counts.begin(), usage.choice_counts.end()), "Choice counts", "times in top-k");
  if (weights) panel(1, usage.weight_sums, "Gate-weight sums", "sum of gate weights");
  return f;
}

plot::Figure logit_distributions_figure(const std::vector<NamedTrace>& traces) {
  const RouterTrace& first = first_trace(traces);
  const int L = first.num_layers(), E = first.num_experts, K = first.top_k;
  // Display ranges from a sample: raw logits of all layers; log₁₀ p of a sample of rows.
  std::vector<FloatSpan> all;
  for (int l = 0; l < L; ++l)
    for (const FloatSpan& s : layer_spans(traces, l)) all.push_back(s);
  const auto [raw_lo, raw_hi] = detail::display_range(detail::sorted_sample(all, kSample), 0.0);
  std::vector<float> logp_sample;
  {
    std::vector<double> row(static_cast<std::size_t>(E));
    for (const FloatSpan& s : all)
      for (std::size_t r = 0; r * static_cast<std::size_t>(E) < s.size; r += 97) {
        log10_softmax(s.data + r * static_cast<std::size_t>(E), E, row.data());
        for (double v : row) logp_sample.push_back(static_cast<float>(v));
      }
    std::sort(logp_sample.begin(), logp_sample.end());
  }
  const double logp_lo = std::max(-15.0, std::floor(detail::quantile_sorted(logp_sample, 0.001))), logp_hi = 0.0;

  std::vector<plot::Histogram> raw_layer(static_cast<std::size_t>(L)), logp_layer(static_cast<std::size_t>(L));
  plot::Histogram raw_chosen, raw_other, logp_chosen, logp_other;
  double n_chosen = 0, n_other = 0, n_layer = 0;  // values per pooled histogram and per layer
  for (const NamedTrace& t : traces) n_layer += static_cast<double>(t.trace->num_positions) * E;
  std::vector<double> logp(static_cast<std::size_t>(E));
  std::vector<float> chosen_raw, other_raw, chosen_logp, other_logp, layer_logp;
  for (int l = 0; l < L; ++l) {
    layer_logp.clear();
    for (const NamedTrace& t : traces) {
      const RouterTrace& tr = *t.trace;
      for (int64_t p = 0; p < tr.num_positions; ++p) {
        const float* x = tr.router_logits_at(l, p);
        const int32_t* ids = tr.topk_ids_at(l, p);
        log10_softmax(x, E, logp.data());
        for (int e = 0; e < E; ++e) {
          const bool chosen = std::find(ids, ids + K, e) != ids + K;
          (chosen ? chosen_raw : other_raw).push_back(x[e]);
          (chosen ? chosen_logp : other_logp).push_back(static_cast<float>(logp[static_cast<std::size_t>(e)]));
          layer_logp.push_back(static_cast<float>(logp[static_cast<std::size_t>(e)]));
        }
      }
      add_counts(raw_layer[static_cast<std::size_t>(l)],
                 detail::bin_values(tr.router_logits_at(l, 0), static_cast<std::size_t>(tr.num_positions * E), raw_lo,
                                    raw_hi, kBins, false));
    }
    logp_layer[static_cast<std::size_t>(l)] =
        detail::bin_values(layer_logp.data(), layer_logp.size(), logp_lo, logp_hi, kBins, false);
    // Pooled chosen/other histograms, accumulated layer by layer to bound memory.
    add_counts(raw_chosen, detail::bin_values(chosen_raw.data(), chosen_raw.size(), raw_lo, raw_hi, kBins, false));
    add_counts(raw_other, detail::bin_values(other_raw.data(), other_raw.size(), raw_lo, raw_hi, kBins, false));
    add_counts(logp_chosen, detail::bin_values(chosen_logp.data(), chosen_logp.size(), logp_lo, logp_hi, kBins, false));
    add_counts(logp_other, detail::bin_values(other_logp.data(), other_logp.size(), logp_lo, logp_hi, kBins, false));
    n_chosen += static_cast<double>(chosen_raw.size());
    n_other += static_cast<double>(other_raw.size());
    chosen_raw.clear(), other_raw.clear(), chosen_logp.clear(), other_logp.clear();
  }

  plot::Figure f(1200, 860, 2, 2);
  f.set_title("Router logits and softmax probabilities (scored traces)");
  const auto names = detail::layer_titles(detail::layer_names(first.layers));
  auto& a = f.axes(0, 0), &b = f.axes(0, 1);
  for (int l = 0; l < L; ++l) {
    const std::size_t li = static_cast<std::size_t>(l), nl = static_cast<std::size_t>(L);
    a.line(detail::histogram_line(as_density(raw_layer[li], n_layer), detail::depth_color(li, nl), false,
                                  depth_label(li, nl, names)));
    b.line(detail::histogram_line(as_density(logp_layer[li], n_layer), detail::depth_color(li, nl), false,
                                  depth_label(li, nl, names)));
  }
  a.set_title("Raw logits per layer").set_xlabel("raw router logit").set_ylabel("density");
  b.set_title("Softmax probabilities per layer").set_xlabel("log10 probability").set_ylabel("density");
  f.axes(1, 0).histogram(as_density(raw_other, n_other), fmt::format("other {} experts", E - K))
      .histogram(as_density(raw_chosen, n_chosen), fmt::format("top-{} (chosen)", K))
      .set_title("Raw logits, all layers").set_xlabel("raw router logit").set_ylabel("density");
  f.axes(1, 1).histogram(as_density(logp_other, n_other), fmt::format("other {} experts", E - K))
      .histogram(as_density(logp_chosen, n_chosen), fmt::format("top-{} (chosen)", K))
      .set_title("Softmax probabilities, all layers").set_xlabel("log10 probability").set_ylabel("density");
  return f;
}

plot::Figure expert_distributions_figure(const std::vector<NamedTrace>& traces, int layer) {
  const RouterTrace& first = first_trace(traces);
  if (layer < 0 || layer >= first.num_layers())
    throw InputError(fmt::format("expert plot: layer {} is outside 0 … {}", layer, first.num_layers() - 1));
  const int E = first.num_experts, K = first.top_k;
  const auto [lo, hi] = detail::display_range(detail::sorted_sample(layer_spans(traces, layer), kSample), 0.0);
  std::vector<std::vector<float>> column(static_cast<std::size_t>(E));
  std::vector<int64_t> chosen(static_cast<std::size_t>(E), 0);
  int64_t rows = 0;
  for (const NamedTrace& t : traces) {
    const RouterTrace& tr = *t.trace;
    rows += tr.num_positions;
    for (int64_t p = 0; p < tr.num_positions; ++p) {
      const float* x = tr.router_logits_at(layer, p);
      for (int e = 0; e < E; ++e) column[static_cast<std::size_t>(e)].push_back(x[e]);
      for (int k = 0; k < K; ++k) ++chosen[static_cast<std::size_t>(tr.topk_ids_at(layer, p)[k])];
    }
  }
  detail::Grid g = detail::make_grid(static_cast<std::size_t>(E), 165, 105,
                                     fmt::format("Raw logits per expert, {} (titles: share of the top-{} choices)",
                                                 first.layers[static_cast<std::size_t>(layer)].name, K));
  for (int e = 0; e < E; ++e) {
    const auto& c = column[static_cast<std::size_t>(e)];
    const double share = rows > 0 ? 100.0 * static_cast<double>(chosen[static_cast<std::size_t>(e)]) /
                                        static_cast<double>(rows * K)
                                  : 0.0;
    g.panel(static_cast<std::size_t>(e))
        .histogram(detail::bin_values(c.data(), c.size(), lo, hi, 30, true), "", detail::depth_color(3, 10))
        .set_xlim(lo, hi)
        .set_title(fmt::format("e{} · {:.1f}%", e, share));
  }
  return std::move(g.figure);
}

}  // namespace moeroute
