#include "moeroute/report.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/atomic_file.h"
#include "moeroute/compare_plots.h"
#include "moeroute/error.h"
#include "moeroute/trace_io.h"
#include "moeroute/version.h"
#include "render/report/page.h"
#include "render/report/report_inputs.h"
#include "render/report/sections.h"

namespace moeroute {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {
// The simulator's controls go up to 64 local + 16 shared experts: colours for all of them.
constexpr int kSimulatorColors = 80;
}  // namespace

struct Report::Impl {
  ReportOptions options;
  ojson runs = ojson::array();
  ojson sections = ojson::array();
  std::vector<int> replay;

  // The model every run must share, set by the first run.
  bool have_model = false;
  std::string model_what, model_id;
  std::vector<std::string> layer_names;
  std::vector<int> layer_indices;
  int num_experts = 0;

  void check_model(const RouterTrace& t, const std::string& what) {
    detail::require_rows(t, what);
    if (t.num_positions > options.max_rows)
      throw UnsupportedError(fmt::format("{} has {} rows; a report embeds at most {} rows per run (ReportOptions::max_rows)",
                                         what, t.num_positions, options.max_rows));
    std::vector<std::string> names;
    for (const auto& l : t.layers) names.push_back(l.name);
    if (!have_model) {
      have_model = true;
      model_what = what;
      model_id = t.meta.model_id;
      layer_names = names;
      for (const auto& l : t.layers) layer_indices.push_back(l.index);
      num_experts = t.num_experts;
      return;
    }
    const std::string why = "the pages of one report share one model's layers and experts";
    if (!model_id.empty() && !t.meta.model_id.empty() && model_id != t.meta.model_id)
      throw InputError(fmt::format("{} is from model '{}' but {} is from model '{}': {}", what, t.meta.model_id,
                                   model_what, model_id, why));
    if (t.num_experts != num_experts)
      throw InputError(fmt::format("{} has {} experts per layer but {} has {}: traces of different models? ({})", what,
                                   t.num_experts, model_what, num_experts, why));
    if (names != layer_names)
      throw InputError(fmt::format("{} has router layers [{}] but {} has [{}]: traces of different models? ({})", what,
                                   fmt::join(names, ", "), model_what, fmt::join(layer_names, ", "), why));
    if (model_id.empty()) model_id = t.meta.model_id;
  }

  int add_run(const std::string& label, const RouterTrace& t, const nlohmann::json& prompt) {
    runs.push_back(detail::run_json(label, t, prompt));
    const int index = static_cast<int>(runs.size()) - 1;
    replay.push_back(index);
    return index;
  }
};

Report::Report(ReportOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }
Report::~Report() = default;
Report::Report(Report&&) noexcept = default;
Report& Report::operator=(Report&&) noexcept = default;

void Report::add_comparison(const std::string& title, const RouterTrace& base, const RouterTrace& var,
                            const RoutingDiff& diff, const nlohmann::json& generations) {
  impl_->check_model(base, title + " (base)");
  impl_->check_model(var, title + " (variant)");
  const auto run_of = [&](const char* key) {
    return generations.is_object() && generations.contains(key) ? generations[key] : nlohmann::json(nullptr);
  };
  const int b = impl_->add_run(title + " · base", base, run_of("base"));
  const int v = impl_->add_run(title + " · variant", var, run_of("var"));
  impl_->sections.push_back(detail::comparison_section(title, b, v, base, var, diff, generations));
}

void Report::add_trace(const std::string& title, const RouterTrace& trace) {
  impl_->check_model(trace, title);
  const int r = impl_->add_run(title, trace, nullptr);
  impl_->sections.push_back(detail::trace_section(title, r, trace));
}

void Report::add_replay(const std::string& label, const RouterTrace& trace) {
  impl_->check_model(trace, label);
  impl_->add_run(label, trace, nullptr);
}

void Report::add_input(const fs::path& path) {
  if (fs::is_directory(path)) {
    detail::ComparisonInput in = detail::load_comparison_dir(path, impl_->options.routing.threads);
    const std::string name = path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
    add_comparison(name, in.base, in.var, in.diff, in.generations);
  } else if (fs::exists(path)) {
    add_trace(path.filename().string(), load_trace(path));
  } else {
    throw InputError(fmt::format("{}: no such file or directory", path.string()));
  }
}

std::size_t Report::size() const { return impl_->sections.size(); }

std::string Report::html() const {
  const Impl& m = *impl_;
  if (m.sections.empty() && !(m.options.simulator))
    throw InputError("the report has no pages: give a compare directory or a trace, or keep the simulator");
  ojson doc;
  doc["format"] = "moeroute.report";
  doc["version"] = 1;
  doc["generator"] = std::string("moeroute ") + kVersion;
  std::string title = m.options.title;
  if (title.empty())
    title = m.sections.empty() ? "MoE routing simulator"
                               : "moeroute report · " + (m.model_id.empty() ? std::string("unnamed model") : m.model_id);
  doc["title"] = title;
  if (m.have_model) {
    // Short labels as the PNG plots use them: "7" for model.layers.7.mlp.gate, pattern in the axis title.
    const LayerLabels short_names = shorten_layer_names(m.layer_names);
    ojson layers = ojson::array();
    for (size_t i = 0; i < m.layer_names.size(); ++i)
      layers.push_back({{"name", m.layer_names[i]}, {"index", m.layer_indices[i]}, {"label", short_names.labels[i]}});
    doc["model"] = {{"id", m.model_id}, {"layers", layers}, {"layer_pattern", short_names.pattern}, {"num_experts", m.num_experts}};
  } else {
    doc["model"] = nullptr;
  }
  doc["palette"] = detail::palette_json(std::max(m.num_experts, kSimulatorColors));
  doc["runs"] = m.runs;
  ojson sections = m.sections;
  if (m.options.simulator) sections.push_back(detail::simulator_section(m.replay));
  doc["sections"] = sections;

  detail::PageMeta meta;
  meta.title = title;
  meta.description = m.sections.empty()
                         ? "Interactive Mixture-of-Experts routing simulator: noisy top-k gating over fine-grained "
                           "micro-experts, always-on shared experts, arcs weighted by gate weight, moving packets."
                         : fmt::format("How {} routes tokens to experts: divergence heatmap, tokens coloured by expert, "
                                       "expert shifts and utilisation ({} pages).",
                                       m.model_id.empty() ? "an MoE model" : m.model_id, m.sections.size());
  meta.og_image = m.options.og_image;
  return detail::report_page(doc, meta);
}

void write_report(const std::vector<fs::path>& inputs, const fs::path& out, const ReportOptions& options) {
  if (inputs.empty()) throw InputError("report: no inputs (give compare directories or trace files)");
  Report report(options);
  const bool pair = inputs.size() == 2 && !fs::is_directory(inputs[0]) && !fs::is_directory(inputs[1]);
  if (pair) {
    for (const auto& p : inputs)
      if (!fs::exists(p)) throw InputError(fmt::format("{}: no such file or directory", p.string()));
    const RouterTrace base = load_trace(inputs[0]);
    const RouterTrace var = load_trace(inputs[1]);
    RoutingDiffOptions o = options.routing;
    o.base_name = inputs[0].string();
    o.var_name = inputs[1].string();
    const RoutingDiff diff = detail::diff_for_report(base, var, o);
    report.add_comparison(inputs[0].filename().string() + " vs " + inputs[1].filename().string(), base, var, diff);
  } else {
    for (const auto& p : inputs) report.add_input(p);
  }
  write_file_atomic(out, report.html());
}

std::string simulator_html(const std::vector<fs::path>& replay_traces, const ReportOptions& options) {
  ReportOptions o = options;
  o.simulator = true;
  Report report(o);
  for (const auto& p : replay_traces) report.add_replay(p.filename().string(), load_trace(p));
  return report.html();
}

std::string comparison_report_html(const RouterTrace& base, const RouterTrace& var, const RoutingDiff& diff,
                                   const nlohmann::json& generations, const ReportOptions& options) {
  Report report(options);
  report.add_comparison("base vs variant", base, var, diff, generations);
  return report.html();
}

}  // namespace moeroute
