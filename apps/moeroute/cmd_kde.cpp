// `moeroute kde fit` and `moeroute kde pvalues` (docs/kde.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "cli_checks.h"
#include "commands.h"
#include "moeroute/kde_pipeline.h"

namespace moeroute::cli {

namespace {

struct FitArgs {
  std::vector<std::string> traces;
  std::string out;
  std::string bandwidth = "scott";
  std::vector<std::string> kernels{"gaussian"};
  std::vector<int> trims{0};
  int threads = 0;
};

struct PvaluesArgs {
  std::string model, out;
  std::vector<std::string> traces;
  std::string method = "auto", plots = "routing,kde,pvalues";
  std::vector<std::string> formats{"png"};
  double tolerance = 1e-10;
  int bins = 20, threads = 0;
  bool save_pvalues = false;
};

std::vector<std::filesystem::path> paths(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

void add_fit(CLI::App* kde) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = kde->add_subcommand("fit", "Fit per-layer KDEs of the raw router logits of traces into one model file");
  cmd->add_option("traces", a->traces, "Trace files (.safetensors) with router logits; their rows are pooled")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", a->out, "Model file to write (safetensors; docs/kde.md)")->required();
  cmd->add_option("--bandwidth", a->bandwidth,
                  "scott, silverman, or a number: the factor × the logits' standard deviation (SciPy's bw_method)")
      ->capture_default_str();
  cmd->add_option("--kernel", a->kernels, "Kernels, one variant each: gaussian, epanechnikov, tophat")
      ->delimiter(',')->check(CLI::IsMember({"gaussian", "epanechnikov", "tophat"}))->capture_default_str();
  cmd->add_option("--trim", a->trims, "Drop each row's K largest logits before fitting (one variant per K; 0 = none)")
      ->delimiter(',')->check(non_negative_number())->capture_default_str();
  cmd->add_option("--threads", a->threads, "Layers fitted in parallel (0 = all cores)")->capture_default_str();
  cmd->callback([a] {
    KdeFitOptions o;
    o.kernels.clear();
    for (const auto& k : a->kernels) o.kernels.push_back(parse_kde_kernel(k));
    o.bandwidth = parse_bandwidth_rule(a->bandwidth);
    o.trims = a->trims;
    o.threads = a->threads;
    const KdeModel m = run_kde_fit(paths(a->traces), a->out, o);
    std::vector<std::string> names;
    for (const auto& v : m.variants) names.push_back(v.name);
    fmt::print("wrote {}: {} layers × {} variant{} ({}), fitted on {} rows of {} trace{}\n", a->out, m.num_layers(),
               m.variants.size(), m.variants.size() == 1 ? "" : "s", fmt::join(names, ", "), m.training_rows,
               m.training_traces.size(), m.training_traces.size() == 1 ? "" : "s");
  });
}

void add_pvalues(CLI::App* kde) {
  auto a = std::make_shared<PvaluesArgs>();
  auto* cmd = kde->add_subcommand("pvalues", "P-values of every router logit under a KDE model, their distributions and plots");
  cmd->add_option("model", a->model, "KDE model file (from 'moeroute kde fit')")->required()->check(CLI::ExistingFile);
  cmd->add_option("traces", a->traces, "Trace files to score (.safetensors), of the model the KDEs were fitted on")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", a->out, "Output directory (created; files appear only when all succeeded)")->required();
  cmd->add_option("--method", a->method,
                  "exact: direct sums; fast: binned with a bounded error; auto: exact when data × queries ≤ 1e6")
      ->check(CLI::IsMember({"auto", "exact", "fast"}))->capture_default_str();
  cmd->add_option("--tolerance", a->tolerance, "fast, Gaussian: bound on each p-value's absolute error")
      ->check(number_in(1e-14, 0.1))->capture_default_str();
  cmd->add_option("--bins", a->bins, "P-value histogram bins over [0, 1]")->check(number_in(1, 10000))->capture_default_str();
  cmd->add_option("--plots", a->plots, "Plot stages: routing, experts, kde, pvalues (comma-separated), all or none")
      ->capture_default_str();
  cmd->add_option("--format", a->formats, "Plot formats")->check(CLI::IsMember({"png", "svg"}))->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--save-pvalues", a->save_pvalues, "Also write every p-value (pvalues.safetensors)");
  cmd->add_option("--threads", a->threads, "Layers scored in parallel (0 = all cores)")->capture_default_str();
  cmd->callback([a] {
    KdePvaluesJobOptions o;
    o.pvalues.eval.method = parse_kde_method(a->method);
    o.pvalues.eval.tolerance = a->tolerance;
    o.pvalues.bins = a->bins;
    o.pvalues.threads = a->threads;
    o.plots = parse_kde_plot_stages(a->plots);
    o.plot_formats = a->formats;
    o.save_pvalues = a->save_pvalues;
    const KdePvaluesResult r = run_kde_pvalues(a->model, paths(a->traces), a->out, o);
    fmt::print("wrote {} files to {}: {}\n", r.files.size(), a->out, fmt::join(r.files, ", "));
    for (const VariantPvalues& v : r.report.variants) {
      const PvalueStats& s = v.layers.back().groups.front();
      fmt::print("  {}: {} p-values, median {:.4g}, {:.4g} below 0.05, KS {:.4g} against uniform (error ≤ {:.2g})\n",
                 v.variant, s.count, s.median, s.below_005, s.ks, v.error_bound);
    }
  });
}

}  // namespace

void add_kde_command(CLI::App& app) {
  auto* kde = app.add_subcommand("kde", "Kernel density estimates of router logits and p-values of routing decisions");
  kde->require_subcommand(1);
  add_fit(kde);
  add_pvalues(kde);
}

}  // namespace moeroute::cli
