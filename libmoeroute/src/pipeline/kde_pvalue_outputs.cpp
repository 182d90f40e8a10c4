#include "pipeline/kde_pvalue_outputs.h"

#include <cmath>

#include <fmt/format.h>

#include "io/csv.h"
#include "moeroute/safetensors.h"
#include "moeroute/version.h"

namespace moeroute::detail {

namespace {

nlohmann::ordered_json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
}

// Calls fn(variant, layer, group name, stats) for every group that holds p-values.
template <typename Fn>
void for_each_group(const PvalueReport& r, Fn&& fn) {
  for (const VariantPvalues& v : r.variants)
    for (const LayerPvalueStats& l : v.layers)
      for (size_t g = 0; g < r.groups.size(); ++g)
        if (l.groups[g].count > 0) fn(v.variant, l.layer, r.groups[g], l.groups[g]);
}

}  // namespace

std::string pvalue_summary_csv(const PvalueReport& report) {
  std::string out = csv_row({"variant", "layer", "group", "count", "mean", "median", "below_0.001", "below_0.01",
                             "below_0.05", "ks_statistic"});
  for_each_group(report, [&](const std::string& v, const std::string& l, const std::string& g, const PvalueStats& s) {
    out += csv_row({v, l, g, std::to_string(s.count), format_number(s.mean), format_number(s.median),
                    format_number(s.below_0001), format_number(s.below_001), format_number(s.below_005),
                    format_number(s.ks)});
  });
  return out;
}

std::string pvalue_qq_csv(const PvalueReport& report) {
  std::string out = csv_row({"variant", "layer", "group", "level", "quantile"});
  const auto& levels = pvalue_qq_levels();
  for_each_group(report, [&](const std::string& v, const std::string& l, const std::string& g, const PvalueStats& s) {
    for (size_t i = 0; i < levels.size(); ++i)
      out += csv_row({v, l, g, format_number(levels[i]), format_number(s.quantiles[i])});
  });
  return out;
}

std::string pvalue_histogram_csv(const PvalueReport& report) {
  std::string out = csv_row({"variant", "layer", "group", "bin_lo", "bin_hi", "count"});
  for_each_group(report, [&](const std::string& v, const std::string& l, const std::string& g, const PvalueStats& s) {
    const size_t bins = s.histogram.size();
    for (size_t b = 0; b < bins; ++b)
      out += csv_row({v, l, g, format_number(static_cast<double>(b) / static_cast<double>(bins)),
                      format_number(static_cast<double>(b + 1) / static_cast<double>(bins)),
                      std::to_string(s.histogram[b])});
  });
  return out;
}

nlohmann::ordered_json pvalues_json(const KdeModel& model, const std::vector<NamedTrace>& traces,
                                    const PvalueReport& report, const PvalueOptions& options) {
  nlohmann::ordered_json j;
  j["moeroute_version"] = kVersion;
  j["model_file"] = model.source;
  j["model_id"] = model.model_id;
  j["training_traces"] = model.training_traces;
  j["traces"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < traces.size(); ++i)
    j["traces"].push_back({{"name", traces[i].name}, {"model_id", traces[i].trace->meta.model_id}, {"rows", report.rows[i]}});
  j["num_layers"] = model.num_layers();
  j["num_experts"] = model.num_experts;
  j["top_k"] = model.top_k;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : model.layers) j["layers"].push_back(l.name);
  j["pvalue"] = "upper tail P(X >= x) of the logit x under its layer's KDE";
  j["groups"] = report.groups;
  j["qq_levels"] = pvalue_qq_levels();
  j["histogram_bins"] = options.bins;
  j["tolerance"] = options.eval.tolerance;
  j["variants"] = nlohmann::ordered_json::array();
  for (size_t v = 0; v < report.variants.size(); ++v) {
    const VariantPvalues& vp = report.variants[v];
    const KdeVariant& kv = model.variants[v];
    nlohmann::ordered_json methods = nlohmann::ordered_json::array();
    for (KdeMethod m : vp.methods) methods.push_back(to_string(m));
    const PvalueStats& all = vp.layers.back().groups.front();
    j["variants"].push_back({{"name", vp.variant},
                             {"kernel", to_string(kv.kernel)},
                             {"bandwidth", to_string(kv.bandwidth)},
                             {"trim", kv.trim},
                             {"methods", methods},
                             {"error_bound", vp.error_bound},
                             {"count", all.count},
                             {"mean", number_or_null(all.mean)},
                             {"median", number_or_null(all.median)},
                             {"below_0.05", number_or_null(all.below_005)},
                             {"ks_statistic", number_or_null(all.ks)}});
  }
  return j;
}

std::string pvalues_safetensors(const KdeModel& model, const std::vector<NamedTrace>& traces,
                                const PvalueReport& report) {
  SafetensorsWriter w;
  const int64_t L = model.num_layers(), E = model.num_experts;
  int64_t rows = 0;
  nlohmann::ordered_json j;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : model.layers) j["layers"].push_back(l.name);
  j["traces"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < traces.size(); ++i) {
    j["traces"].push_back({{"name", traces[i].name}, {"first_row", rows}, {"rows", report.rows[i]}});
    rows += report.rows[i];
  }
  j["variants"] = nlohmann::ordered_json::array();
  for (const VariantPvalues& v : report.variants) {
    j["variants"].push_back(v.variant);
    std::string bytes;
    for (const auto& layer : v.pvalues) bytes.append(reinterpret_cast<const char*>(layer.data()), layer.size() * sizeof(float));
    w.add(v.variant, Dtype::F32, {L, rows, E}, bytes);
  }
  w.set_metadata({{"moeroute.format", "moeroute.pvalues"}, {"moeroute.format_version", "1"}, {"moeroute.pvalues", j.dump()}});
  return w.serialize();
}

}  // namespace moeroute::detail
