// `kde pvalues`: score traces under a KDE model and stage the tables, the JSON, the plots and
// (optionally) every p-value in one OutputDir.
#include <algorithm>
#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "core/enum_names.h"
#include "moeroute/error.h"
#include "moeroute/expert_usage.h"
#include "moeroute/kde_pipeline.h"
#include "moeroute/kde_plots.h"
#include "moeroute/output_dir.h"
#include "pipeline/kde_pvalue_outputs.h"
#include "render/small_multiples.h"

namespace moeroute {

namespace {

constexpr detail::EnumNames<KdePlotStage, 4> kStages{"plot stage",
                                                     {{{KdePlotStage::Routing, "routing"},
                                                       {KdePlotStage::Experts, "experts"},
                                                       {KdePlotStage::Kde, "kde"},
                                                       {KdePlotStage::Pvalues, "pvalues"}}}};

}  // namespace

std::string to_string(KdePlotStage stage) { return kStages.name(stage); }

std::vector<KdePlotStage> parse_kde_plot_stages(const std::string& text) {
  std::vector<KdePlotStage> out;
  if (text == "none") return out;
  if (text == "all") {
    for (const auto& entry : kStages.table) out.push_back(entry.first);
    return out;
  }
  std::stringstream ss(text);
  std::string name;
  while (std::getline(ss, name, ',')) {
    const auto stage = kStages.find(name);
    if (!stage) throw InputError(fmt::format("plot stage '{}' is not one of: {} (or all, none)", name, kStages.list()));
    if (std::find(out.begin(), out.end(), *stage) == out.end()) out.push_back(*stage);
  }
  if (out.empty()) throw InputError("--plots: no stage named (use 'none' for no plots)");
  return out;
}

namespace {

bool wants(const KdePvaluesJobOptions& o, KdePlotStage s) {
  return std::find(o.plots.begin(), o.plots.end(), s) != o.plots.end();
}

// Every file-name-safe character of a layer name kept, the rest '_'.
std::string file_safe(const std::string& name) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return s;
}

void stage_plots(OutputDir& out, const KdeModel& model, const std::vector<NamedTrace>& traces,
                 const PvalueReport& report, const KdePvaluesJobOptions& o) {
  for (const auto& fmt_name : o.plot_formats)
    if (fmt_name != "png" && fmt_name != "svg")
      throw InputError(fmt::format("plot format '{}' is not one of: png, svg", fmt_name));
  auto save = [&](const plot::Figure& f, const std::string& stem) {
    for (const auto& ext : o.plot_formats) f.save(out.staged_path(stem + "." + ext));
  };
  if (wants(o, KdePlotStage::Routing)) {
    ExpertUsage usage = expert_usage(*traces.front().trace);
    for (size_t i = 1; i < traces.size(); ++i) add_usage(usage, expert_usage(*traces[i].trace));
    save(routing_usage_figure(usage, detail::layer_names(model.layers)), "routing_usage");
    save(logit_distributions_figure(traces), "logit_distributions");
  }
  if (wants(o, KdePlotStage::Experts))
    for (int l = 0; l < model.num_layers(); ++l)
      save(expert_distributions_figure(traces, l), "experts_" + file_safe(model.layers[static_cast<size_t>(l)].name));
  if (wants(o, KdePlotStage::Kde)) {
    save(kde_fit_figure(model, 0), "kde_fit");
    save(kde_curves_figure(model, 0), "kde_curves");
    if (model.variants.size() > 1) save(kde_variants_figure(model), "kde_variants");
  }
  if (wants(o, KdePlotStage::Pvalues)) {
    save(pvalue_histograms_figure(report), "pvalue_histograms");
    save(pvalue_qq_figure(report), "pvalue_qq");
    for (size_t v = 0; v < report.variants.size(); ++v)
      save(pvalue_groups_figure(report, v), "pvalue_groups_" + report.variants[v].variant);
  }
}

}  // namespace

KdePvaluesResult run_kde_pvalues(const std::filesystem::path& model_path,
                                 const std::vector<std::filesystem::path>& trace_paths, const std::filesystem::path& dir,
                                 const KdePvaluesJobOptions& options) {
  const KdeModel model = load_kde_model(model_path);
  const auto inputs = load_kde_inputs(trace_paths);
  const auto traces = named_traces(inputs);
  PvalueOptions po = options.pvalues;
  po.keep_pvalues = options.save_pvalues;
  KdePvaluesResult result{{}, kde_pvalues(model, traces, po)};
  const PvalueReport& report = result.report;

  OutputDir out(dir);
  out.write("pvalues.json", detail::pvalues_json(model, traces, report, po).dump(2) + "\n");
  out.write("pvalue_summary.csv", detail::pvalue_summary_csv(report));
  out.write("pvalue_qq.csv", detail::pvalue_qq_csv(report));
  out.write("pvalue_histogram.csv", detail::pvalue_histogram_csv(report));
  if (options.save_pvalues) out.write("pvalues.safetensors", detail::pvalues_safetensors(model, traces, report));
  stage_plots(out, model, traces, report, options);
  result.files = out.commit();
  return result;
}

}  // namespace moeroute
