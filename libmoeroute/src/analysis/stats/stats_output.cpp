// stats.json, the CSV files and the terminal table of `moeroute stats` (docs/stats.md).
#include "moeroute/stats_output.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "analysis/stats/stats_state.h"
#include "io/csv.h"
#include "moeroute/version.h"

namespace moeroute {

namespace {

using nlohmann::ordered_json;
using detail::csv_row;

ordered_json num(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }
std::string cell(double v) { return detail::format_number(v); }
std::string cell(int64_t v) { return std::to_string(v); }
std::string cell(int v) { return std::to_string(v); }
std::string factor_name(double f) { return detail::format_number(f); }
std::string ids(const std::vector<int>& v) { return fmt::format("{}", fmt::join(v, " ")); }

ordered_json entropy_json(const EntropySummary& e) {
  return {{"count", e.count},
          {"mean", num(e.mean)},
          {"std", num(e.std)},
          {"min", num(e.min)},
          {"max", num(e.max)},
          {"max_possible", num(e.max_possible)},
          {"normalised_mean", num(e.max_possible > 0 ? e.mean / e.max_possible : NAN)},
          {"histogram", e.histogram}};
}

ordered_json token_json(const TokenShare& t) {
  return {{"token_id", t.token_id},
          {"text", t.text},
          {"count", t.count},
          {"occurrences", t.occurrences},
          {"share_of_expert", num(t.share_of_expert)},
          {"share_of_token", num(t.share_of_token)}};
}

std::string layer_label(const StatsReport& r, int position) { return r.layers[static_cast<size_t>(position)].name; }

ordered_json against_json(const AgainstStats& a) {
  const TopkAgreement& g = a.agreement;
  ordered_json layers = ordered_json::array();
  for (size_t l = 0; l < g.layers.size(); ++l)
    layers.push_back({{"layer", g.layers[l]},
                      {"index", g.layer_index[l]},
                      {"mean_jaccard", num(g.layer_mean_jaccard[l])},
                      {"flip_rate", num(g.layer_flip_rate[l])},
                      {"flips", g.layer_flips[l]},
                      {"jsd", num(a.jsd[l])}});
  return {{"other", a.other},
          {"steps", g.steps},
          {"top_k", g.top_k_a},
          {"top_k_other", g.top_k_b},
          {"tokens_checked", a.tokens_checked},
          {"sequences_paired", a.sequences_paired},
          {"sequences_only_inputs", a.sequences_only_inputs},
          {"sequences_only_other", a.sequences_only_other},
          {"unmatched_inputs", a.unmatched_inputs},
          {"unmatched_other", a.unmatched_other},
          {"layers_only_inputs", g.layers_only_a},
          {"layers_only_other", g.layers_only_b},
          {"mean_jaccard", num(g.mean_jaccard)},
          {"flip_rate", num(g.flip_rate)},
          {"steps_with_flip", g.steps_with_flip},
          {"any_layer_flip_fraction", num(g.any_layer_flip_fraction)},
          {"order_only_changes", g.order_only},
          {"mean_jsd", num(a.mean_jsd)},
          {"layers", layers}};
}

std::string against_table(const AgainstStats& a) {
  const TopkAgreement& g = a.agreement;
  std::string out = fmt::format("\nagainst {}: {} tokens paired ({} sequences{}), mean Jaccard {:.4f}, flip rate {:.4f}, "
                                "tokens with any layer flipped {:.4f}, mean JSD {:.4f} bits\n",
                                a.other, g.steps, a.sequences_paired, a.tokens_checked ? ", token ids checked" : "",
                                g.mean_jaccard, g.flip_rate, g.any_layer_flip_fraction, a.mean_jsd);
  out += fmt::format("{:<28} {:>8} {:>9} {:>9}\n", "layer", "Jaccard", "flip rate", "JSD");
  for (size_t l = 0; l < g.layers.size(); ++l)
    out += fmt::format("{:<28} {:>8.4f} {:>9.4f} {:>9.4f}\n", g.layers[l], g.layer_mean_jaccard[l],
                       g.layer_flip_rate[l], a.jsd[l]);
  if (a.unmatched_inputs > 0 || a.unmatched_other > 0)
    out += fmt::format("unpaired rows: {} of the inputs, {} of {}\n", a.unmatched_inputs, a.unmatched_other, a.other);
  return out;
}

}  // namespace

std::string stats_json(const StatsReport& r) {
  ordered_json j;
  j["moeroute_version"] = kVersion;
  j["model_id"] = r.model_id;
  j["routing_rule"] = r.routing_rule;
  j["num_experts"] = r.num_experts;
  j["top_k"] = r.top_k;
  j["num_layers"] = r.layers.size();
  j["tokens"] = r.tokens;
  j["num_samples"] = r.samples;
  j["sources"] = r.sources;
  j["log_base"] = 2;
  j["fixed_point_bits"] = kStatsFixedPointBits;
  j["fields"] = {{"router_logits", r.has_logits}, {"gate_weights", r.has_weights}, {"token_ids", r.has_tokens}};
  const StatsOptions& o = r.options;
  j["options"] = detail::options_json(o);
  j["notes"] = r.notes;
  ordered_json layers = ordered_json::array();
  for (const LayerStats& l : r.layer_stats) {
    ordered_json x;
    x["name"] = l.layer.name;
    x["index"] = l.layer.index;
    x["tokens"] = l.tokens;
    x["used_experts"] = l.used_experts;
    x["load_balance"] = {{"cv", num(l.cv)}, {"max_over_mean", num(l.max_over_mean)},
                         {"min_over_mean", num(l.min_over_mean)}, {"gini", num(l.gini)}};
    x["dead"] = l.dead;
    x["rare"] = l.rare;
    x["dominant"] = l.dominant;
    ordered_json cap = ordered_json::array();
    for (const CapacityStats& c : l.capacity)
      cap.push_back({{"factor", c.factor}, {"dropped", c.dropped}, {"assigned", c.assigned},
                     {"overflow_fraction", num(c.overflow_fraction)}});
    x["capacity"] = cap;
    x["entropy_full"] = l.has_entropy_full ? entropy_json(l.entropy_full) : ordered_json(nullptr);
    x["entropy_topk"] = l.has_entropy_topk ? entropy_json(l.entropy_topk) : ordered_json(nullptr);
    const double assignments = static_cast<double>(l.tokens) * r.top_k;
    auto ranked = [&](const std::vector<int>& v) {
      ordered_json a = ordered_json::array();
      for (int e : v) {
        const int64_t c = l.experts[static_cast<size_t>(e)].count;
        a.push_back({{"expert", e}, {"count", c}, {"percent", num(100.0 * static_cast<double>(c) / assignments)}});
      }
      return a;
    };
    x["top_experts"] = ranked(l.top_experts);
    x["bottom_experts"] = ranked(l.bottom_experts);
    ordered_json pairs = ordered_json::array();
    for (size_t i = 0; i < l.pairs.size() && i < static_cast<size_t>(o.top_n); ++i)
      pairs.push_back({{"a", l.pairs[i].a}, {"b", l.pairs[i].b}, {"count", l.pairs[i].count}, {"lift", num(l.pairs[i].lift)}});
    x["top_pairs"] = pairs;
    ordered_json experts = ordered_json::array();
    for (const ExpertStats& e : l.experts)
      experts.push_back({{"expert", e.expert},
                         {"count", e.count},
                         {"top1_count", e.top1_count},
                         {"weight_sum", num(e.weight_sum)},
                         {"mean_weight", num(e.mean_weight)},
                         {"utilisation", num(e.utilisation)},
                         {"token_fraction", num(e.token_fraction)},
                         {"status", e.status}});
    x["experts"] = experts;
    layers.push_back(std::move(x));
  }
  j["layers"] = layers;
  const GlobalFrequency& g = r.global;
  auto pairs_json = [](const std::vector<std::pair<int, int64_t>>& v) {
    ordered_json a = ordered_json::array();
    for (const auto& [e, c] : v) a.push_back({{"expert", e}, {"count", c}});
    return a;
  };
  j["global_frequency"] = {{"selections", g.selections},
                           {"uniform_percent", num(g.uniform_percent)},
                           {"mean_percent", num(g.mean_percent)},
                           {"std_percent", num(g.std_percent)},
                           {"min_percent", num(g.min_percent)},
                           {"max_percent", num(g.max_percent)},
                           {"top_experts", pairs_json(g.top_experts)},
                           {"bottom_experts", pairs_json(g.bottom_experts)}};
  ordered_json cross = ordered_json::array();
  for (const CrossLayerStats& c : r.cross_layer)
    cross.push_back({{"from", layer_label(r, c.from)},
                     {"to", layer_label(r, c.to)},
                     {"tokens", c.tokens},
                     {"entropy_next", num(c.entropy_next)},
                     {"conditional_entropy", num(c.conditional_entropy)},
                     {"mutual_information", num(c.mutual_information)},
                     {"normalised_mi", num(c.normalised_mi)},
                     {"accuracy", num(c.accuracy)},
                     {"baseline_accuracy", num(c.baseline_accuracy)}});
  j["cross_layer"] = cross;
  ordered_json tokens = ordered_json::array();
  for (const TokenExpertStats& t : r.token_experts) {
    ordered_json top = ordered_json::array(), spec = ordered_json::array();
    for (const TokenShare& s : t.top_tokens) top.push_back(token_json(s));
    for (const TokenShare& s : t.specialised_tokens) spec.push_back(token_json(s));
    tokens.push_back({{"layer", layer_label(r, t.layer)},
                      {"expert", t.expert},
                      {"assignments", t.assignments},
                      {"distinct_tokens", t.distinct_tokens},
                      {"vocab_entropy", num(t.vocab_entropy)},
                      {"top_tokens", top},
                      {"specialised_tokens", spec}});
  }
  j["token_experts"] = tokens;
  ordered_json datasets = ordered_json::array();
  for (const DatasetStats& d : r.datasets) {
    ordered_json of = ordered_json::array();
    for (double v : d.overflow_fraction) of.push_back(num(v));
    datasets.push_back({{"label", d.label},
                        {"samples", d.samples},
                        {"tokens", d.tokens},
                        {"samples_with_loss", d.samples_with_loss},
                        {"mean_loss", num(d.mean_loss)},
                        {"token_weighted_loss", num(d.token_weighted_loss)},
                        {"entropy_full_mean", num(d.entropy_full_mean)},
                        {"entropy_topk_mean", num(d.entropy_topk_mean)},
                        {"overflow_fraction", of}});
  }
  j["datasets"] = datasets;
  ordered_json div = ordered_json::array();
  for (const DatasetDivergence& d : r.dataset_divergence) {
    ordered_json per = ordered_json::array();
    for (double v : d.jsd) per.push_back(num(v));
    div.push_back({{"a", d.a}, {"b", d.b}, {"mean_jsd", num(d.mean_jsd)}, {"jsd", per}});
  }
  j["dataset_divergence"] = div;
  ordered_json windows = ordered_json::array();
  for (const WindowStats& w : r.windows) {
    ordered_json ent = ordered_json::array();
    for (double v : w.entropy) ent.push_back(num(v));
    windows.push_back({{"begin", w.begin}, {"end", w.end}, {"tokens", w.tokens}, {"entropy", ent}});
  }
  j["windows"] = windows;
  ordered_json samples = ordered_json::array();
  for (const SampleStats& s : r.sample_stats) {
    ordered_json of = ordered_json::array();
    for (double v : s.overflow_fraction) of.push_back(num(v));
    samples.push_back({{"source", s.source},
                       {"id", s.id},
                       {"label", s.label},
                       {"tokens", s.tokens},
                       {"loss", num(s.loss)},
                       {"entropy_full_mean", num(s.entropy_full_mean)},
                       {"entropy_topk_mean", num(s.entropy_topk_mean)},
                       {"overflow_fraction", of}});
  }
  j["samples"] = samples;
  if (r.against) j["against"] = against_json(*r.against);
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string expert_frequency_text(const StatsReport& r) {
  std::string out;
  for (const LayerStats& l : r.layer_stats) {
    const double total = static_cast<double>(l.tokens) * r.top_k;
    out += fmt::format("Layer {} ({}): {} selections, {} of {} experts used\n", l.layer.index, l.layer.name,
                       static_cast<int64_t>(total), l.used_experts, r.num_experts);
    auto list = [&](const char* title, const std::vector<int>& v) {
      out += fmt::format("  {}:", title);
      for (int e : v) {
        const int64_t c = l.experts[static_cast<size_t>(e)].count;
        out += fmt::format(" {}:{}({:.2f}%)", e, c, total > 0 ? 100.0 * static_cast<double>(c) / total : 0.0);
      }
      out += "\n";
    };
    list("top", l.top_experts);
    list("bottom", l.bottom_experts);
  }
  const GlobalFrequency& g = r.global;
  out += fmt::format("Global: {} selections over {} layers × {} experts; uniform {:.3f}% per expert; per-layer share "
                     "mean {:.3f}%, std {:.3f}%, min {:.3f}%, max {:.3f}%\n",
                     g.selections, r.layers.size(), r.num_experts, g.uniform_percent, g.mean_percent, g.std_percent,
                     g.min_percent, g.max_percent);
  auto global_list = [&](const char* title, const std::vector<std::pair<int, int64_t>>& v) {
    out += fmt::format("  {} over all layers:", title);
    for (const auto& [e, c] : v)
      out += fmt::format(" {}:{}({:.2f}%)", e, c, g.selections > 0 ? 100.0 * static_cast<double>(c) / static_cast<double>(g.selections) : 0.0);
    out += "\n";
  };
  global_list("top", g.top_experts);
  global_list("bottom", g.bottom_experts);
  return out;
}

std::string stats_table(const StatsReport& r) {
  std::string out = fmt::format("{}: {} tokens, {} samples, {} layers × {} experts, top-{} ({} source{})\n",
                                r.model_id.empty() ? "(model unknown)" : r.model_id, r.tokens, r.samples,
                                r.layers.size(), r.num_experts, r.top_k, r.sources.size(),
                                r.sources.size() == 1 ? "" : "s");
  if (r.tokens == 0) return out + "no tokens\n";
  std::string caps;
  for (double f : r.options.capacity_factors) caps += fmt::format(" {:>9}", fmt::format("ovf@{}", factor_name(f)));
  out += fmt::format("\n{:<28} {:>6} {:>6} {:>7} {:>6}{} {:>8} {:>8} {:>5} {:>5}\n", "layer", "used", "CV", "max/mean",
                     "gini", caps, "H_full", "H_topk", "dead", "dom");
  for (const LayerStats& l : r.layer_stats) {
    std::string c;
    for (const CapacityStats& x : l.capacity) c += fmt::format(" {:>9.4f}", x.overflow_fraction);
    out += fmt::format("{:<28} {:>6} {:>6.3f} {:>7.3f} {:>6.3f}{} {:>8} {:>8} {:>5} {:>5}\n",
                       l.layer.name.size() > 28 ? "…" + l.layer.name.substr(l.layer.name.size() - 27) : l.layer.name,
                       l.used_experts, l.cv, l.max_over_mean, l.gini, c,
                       l.has_entropy_full ? fmt::format("{:.3f}", l.entropy_full.mean) : "-",
                       l.has_entropy_topk ? fmt::format("{:.3f}", l.entropy_topk.mean) : "-", l.dead.size(),
                       l.dominant.size());
  }
  out += "(H in bits: full = softmax of all logits, topk = renormalised gate weights; ovf = share of assignments over "
         "capacity)\n";
  if (!r.cross_layer.empty()) {
    out += fmt::format("\n{:<40} {:>8} {:>8} {:>8} {:>8}\n", "cross-layer (first choice)", "H(B)", "H(B|A)", "NMI", "acc");
    for (const CrossLayerStats& c : r.cross_layer)
      out += fmt::format("{:<40} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f}\n",
                         fmt::format("{} → {}", r.layers[static_cast<size_t>(c.from)].index, r.layers[static_cast<size_t>(c.to)].index),
                         c.entropy_next, c.conditional_entropy, c.normalised_mi, c.accuracy);
  }
  if (!r.datasets.empty()) {
    out += fmt::format("\n{:<24} {:>8} {:>9} {:>9} {:>8} {:>8}\n", "dataset", "samples", "tokens", "loss", "H_full", "H_topk");
    for (const DatasetStats& d : r.datasets)
      out += fmt::format("{:<24} {:>8} {:>9} {:>9.4f} {:>8.3f} {:>8.3f}\n", d.label.empty() ? "(no label)" : d.label,
                         d.samples, d.tokens, d.token_weighted_loss, d.entropy_full_mean, d.entropy_topk_mean);
  }
  if (!r.dataset_divergence.empty()) {
    out += "\ndataset divergence (JSD of expert utilisation, bits, mean over layers)\n";
    for (const DatasetDivergence& d : r.dataset_divergence)
      out += fmt::format("  {} ↔ {}: {:.4f}\n", d.a, d.b, d.mean_jsd);
  }
  if (r.against) out += against_table(*r.against);
  out += "\nexpert frequency\n" + expert_frequency_text(r);
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  return out;
}

std::vector<std::string> write_stats_files(const StatsReport& r, OutputDir& out) {
  out.write("stats.json", stats_json(r));
  std::vector<std::string> factor_cols;
  for (double f : r.options.capacity_factors) factor_cols.push_back("overflow_cf" + factor_name(f));

  {
    std::vector<std::string> head{"layer", "layer_index", "tokens", "used_experts", "cv", "max_over_mean",
                                  "min_over_mean", "gini", "dead", "rare", "dominant"};
    head.insert(head.end(), factor_cols.begin(), factor_cols.end());
    for (const char* k : {"entropy_full", "entropy_topk"})
      for (const char* s : {"_mean", "_std", "_min", "_max"}) head.push_back(std::string(k) + s);
    std::string csv = csv_row(head), experts = csv_row({"layer", "layer_index", "expert", "count", "top1_count",
                                                        "weight_sum", "mean_weight", "utilisation", "token_fraction",
                                                        "status"});
    std::string hist = csv_row({"layer", "kind", "bin", "lower", "upper", "count"});
    std::string pairs = csv_row({"layer", "expert_a", "expert_b", "count", "lift"});
    for (const LayerStats& l : r.layer_stats) {
      std::vector<std::string> row{l.layer.name, cell(l.layer.index), cell(l.tokens), cell(l.used_experts), cell(l.cv),
                                   cell(l.max_over_mean), cell(l.min_over_mean), cell(l.gini), ids(l.dead),
                                   ids(l.rare), ids(l.dominant)};
      for (const CapacityStats& c : l.capacity) row.push_back(cell(c.overflow_fraction));
      for (const EntropySummary* e : {&l.entropy_full, &l.entropy_topk}) {
        const bool has = e == &l.entropy_full ? l.has_entropy_full : l.has_entropy_topk;
        for (double v : {e->mean, e->std, e->min, e->max}) row.push_back(has ? cell(v) : "nan");
        if (!has) continue;
        const size_t B = e->histogram.size();
        for (size_t b = 0; b < B; ++b)
          hist += csv_row({l.layer.name, e == &l.entropy_full ? "full" : "topk", std::to_string(b),
                           cell(e->max_possible * static_cast<double>(b) / static_cast<double>(B)),
                           cell(e->max_possible * static_cast<double>(b + 1) / static_cast<double>(B)), cell(e->histogram[b])});
      }
      csv += csv_row(row);
      for (const ExpertStats& e : l.experts)
        experts += csv_row({l.layer.name, cell(l.layer.index), cell(e.expert), cell(e.count), cell(e.top1_count),
                            cell(e.weight_sum), cell(e.mean_weight), cell(e.utilisation), cell(e.token_fraction), e.status});
      for (const CoactivationPair& p : l.pairs)
        pairs += csv_row({l.layer.name, cell(p.a), cell(p.b), cell(p.count), cell(p.lift)});
    }
    out.write("layers.csv", csv);
    out.write("experts.csv", experts);
    out.write("entropy_histogram.csv", hist);
    out.write("coactivation.csv", pairs);
  }
  {
    std::string csv = csv_row({"from", "to", "tokens", "entropy_next", "conditional_entropy", "mutual_information",
                               "normalised_mi", "accuracy", "baseline_accuracy"});
    for (const CrossLayerStats& c : r.cross_layer)
      csv += csv_row({layer_label(r, c.from), layer_label(r, c.to), cell(c.tokens), cell(c.entropy_next),
                      cell(c.conditional_entropy), cell(c.mutual_information), cell(c.normalised_mi), cell(c.accuracy),
                      cell(c.baseline_accuracy)});
    out.write("cross_layer.csv", csv);
  }
  {
    std::string experts = csv_row({"layer", "expert", "assignments", "distinct_tokens", "vocab_entropy"});
    std::string tokens = csv_row({"layer", "expert", "ranking", "rank", "token_id", "text", "count", "occurrences",
                                  "share_of_expert", "share_of_token"});
    for (const TokenExpertStats& t : r.token_experts) {
      experts += csv_row({layer_label(r, t.layer), cell(t.expert), cell(t.assignments), cell(t.distinct_tokens),
                          cell(t.vocab_entropy)});
      for (const auto* list : {&t.top_tokens, &t.specialised_tokens})
        for (size_t i = 0; i < list->size(); ++i) {
          const TokenShare& s = (*list)[i];
          tokens += csv_row({layer_label(r, t.layer), cell(t.expert), list == &t.top_tokens ? "count" : "share",
                             std::to_string(i + 1), cell(s.token_id), s.text, cell(s.count), cell(s.occurrences),
                             cell(s.share_of_expert), cell(s.share_of_token)});
        }
    }
    out.write("token_experts.csv", experts);
    out.write("tokens.csv", tokens);
  }
  {
    std::vector<std::string> head{"label", "samples", "tokens", "samples_with_loss", "mean_loss",
                                  "token_weighted_loss", "entropy_full_mean", "entropy_topk_mean"};
    head.insert(head.end(), factor_cols.begin(), factor_cols.end());
    std::string csv = csv_row(head);
    std::string experts = csv_row({"label", "layer", "expert", "count", "utilisation", "utilisation_all", "lift"});
    for (const DatasetStats& d : r.datasets) {
      std::vector<std::string> row{d.label, cell(d.samples), cell(d.tokens), cell(d.samples_with_loss),
                                   cell(d.mean_loss), cell(d.token_weighted_loss), cell(d.entropy_full_mean),
                                   cell(d.entropy_topk_mean)};
      for (double v : d.overflow_fraction) row.push_back(cell(v));
      csv += csv_row(row);
      for (size_t l = 0; l < d.utilisation.size(); ++l)
        for (size_t e = 0; e < d.utilisation[l].size(); ++e) {
          const double all = r.layer_stats[l].experts[e].utilisation;
          experts += csv_row({d.label, r.layers[l].name, cell(static_cast<int64_t>(e)), cell(d.counts[l][e]),
                              cell(d.utilisation[l][e]), cell(all), cell(all > 0 ? d.utilisation[l][e] / all : NAN)});
        }
    }
    out.write("datasets.csv", csv);
    out.write("dataset_experts.csv", experts);
    std::string div = csv_row({"a", "b", "layer", "jsd"});
    for (const DatasetDivergence& d : r.dataset_divergence) {
      for (size_t l = 0; l < d.jsd.size(); ++l) div += csv_row({d.a, d.b, r.layers[l].name, cell(d.jsd[l])});
      div += csv_row({d.a, d.b, "mean", cell(d.mean_jsd)});
    }
    out.write("dataset_divergence.csv", div);
  }
  {
    std::vector<std::string> head{"source", "id", "label", "tokens", "loss", "entropy_full_mean", "entropy_topk_mean"};
    head.insert(head.end(), factor_cols.begin(), factor_cols.end());
    std::string csv = csv_row(head);
    for (const SampleStats& s : r.sample_stats) {
      std::vector<std::string> row{s.source, cell(s.id), s.label, cell(s.tokens), cell(s.loss),
                                   cell(s.entropy_full_mean), cell(s.entropy_topk_mean)};
      for (double v : s.overflow_fraction) row.push_back(cell(v));
      csv += csv_row(row);
    }
    out.write("samples.csv", csv);
  }
  {
    std::string csv = csv_row({"begin", "end", "layer", "tokens", "entropy"});
    std::string experts = csv_row({"begin", "end", "layer", "expert", "count", "share"});
    for (const WindowStats& w : r.windows)
      for (size_t l = 0; l < w.entropy.size(); ++l) {
        csv += csv_row({cell(w.begin), cell(w.end), r.layers[l].name, cell(w.tokens), cell(w.entropy[l])});
        for (size_t e = 0; e < w.counts[l].size(); ++e)
          experts += csv_row({cell(w.begin), cell(w.end), r.layers[l].name, cell(static_cast<int64_t>(e)),
                              cell(w.counts[l][e]),
                              cell(w.tokens > 0 ? static_cast<double>(w.counts[l][e]) / (static_cast<double>(w.tokens) * r.top_k) : NAN)});
      }
    out.write("windows.csv", csv);
    out.write("window_experts.csv", experts);
  }
  out.write("expert_frequency.txt", expert_frequency_text(r));
  std::vector<std::string> files{"stats.json",      "layers.csv",        "experts.csv",     "entropy_histogram.csv",
                                 "coactivation.csv", "cross_layer.csv",   "token_experts.csv", "tokens.csv",
                                 "datasets.csv",    "dataset_experts.csv", "dataset_divergence.csv", "samples.csv",
                                 "windows.csv",     "window_experts.csv", "expert_frequency.txt"};
  if (r.against) {
    const TopkAgreement& g = r.against->agreement;
    std::string csv = csv_row({"layer", "layer_index", "steps", "mean_jaccard", "flip_rate", "flips", "jsd"});
    for (size_t l = 0; l < g.layers.size(); ++l)
      csv += csv_row({g.layers[l], cell(g.layer_index[l]), cell(g.steps), cell(g.layer_mean_jaccard[l]),
                      cell(g.layer_flip_rate[l]), cell(g.layer_flips[l]), cell(r.against->jsd[l])});
    out.write("against_layers.csv", csv);
    files.push_back("against_layers.csv");
  }
  return files;
}

}  // namespace moeroute
