// The `moeroute training` job: the seed's four plots, loss/accuracy, diagnosis.json
// (docs/training.md).
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/output_dir.h"
#include "moeroute/plot.h"
#include "moeroute/training.h"

namespace moeroute {

namespace {

std::vector<double> epochs_of(const TrainingLog& log) {
  std::vector<double> x;
  for (const auto& r : log.records) x.push_back(r.epoch);
  return x;
}

void series_plot(const TrainingLog& log, double TrainingRecord::*field, const std::string& title, const std::string& ylabel,
                 const std::filesystem::path& path) {
  plot::Figure fig(720, 440);
  plot::LineSpec line;
  line.x = epochs_of(log);
  for (const auto& r : log.records) line.y.push_back(r.*field);
  line.markers = log.records.size() <= 60;
  fig.axes().set_title(title).set_xlabel("epoch").set_ylabel(ylabel).line(std::move(line));
  fig.save(path);
}

void utilization_plot(const TrainingLog& log, const Diagnosis& d, const std::filesystem::path& path) {
  plot::Figure fig(820, 480);
  auto& ax = fig.axes();
  ax.set_title("Expert utilization").set_xlabel("epoch").set_ylabel("share of inputs (%)");
  const auto x = epochs_of(log);
  for (int e = 0; e < log.num_experts; ++e) {
    plot::LineSpec line;
    line.x = x;
    for (const auto& r : log.records)
      line.y.push_back(r.utilization.empty() ? std::nan("") : 100.0 * r.utilization[static_cast<size_t>(e)]);
    line.label = log.num_experts <= 12 ? fmt::format("expert {}", e) : "";
    line.markers = log.records.size() <= 40;
    ax.line(std::move(line));
  }
  plot::LineSpec uniform;
  uniform.x = {x.front(), x.back()};
  uniform.y = {100.0 * d.uniform_share, 100.0 * d.uniform_share};
  uniform.label = "uniform";
  uniform.color = plot::Color{0.55, 0.55, 0.55};
  uniform.width = 1.0;
  ax.line(std::move(uniform));
  fig.save(path);
}

void metrics_plot(const TrainingLog& log, const std::filesystem::path& path) {
  plot::Figure fig(1100, 440, 1, 2);
  const auto x = epochs_of(log);
  const std::pair<double TrainingRecord::*, const char*> panels[] = {{&TrainingRecord::loss, "Loss"},
                                                                     {&TrainingRecord::accuracy, "Accuracy"}};
  for (size_t i = 0; i < 2; ++i) {
    plot::LineSpec line;
    line.x = x;
    for (const auto& r : log.records) line.y.push_back(r.*panels[i].first);
    line.markers = log.records.size() <= 60;
    line.color = plot::series_color(i);
    fig.axes(0, i).set_title(panels[i].second).set_xlabel("epoch").line(std::move(line));
  }
  fig.save(path);
}

void affinity_plot(const AffinityMatrix& m, const std::filesystem::path& path) {
  const double cell_w = std::clamp(700.0 / static_cast<double>(m.cols), 6.0, 48.0);
  const double cell_h = std::clamp(520.0 / static_cast<double>(m.rows), 2.0, 36.0);
  plot::Figure fig(std::max(480.0, cell_w * static_cast<double>(m.cols) + 260),
                   std::max(360.0, cell_h * static_cast<double>(m.rows) + 160));
  plot::HeatmapSpec h;
  h.values = m.values;
  h.rows = m.rows;
  h.cols = m.cols;
  h.colorbar_label = "affinity";
  fig.axes()
      .set_title("Router affinity matrix")
      .set_xlabel("expert")
      .set_ylabel("input")
      .set_xcategories(m.col_labels)
      .set_ycategories(m.row_labels)
      .heatmap(std::move(h));
  fig.save(path);
}

}  // namespace

TrainingReport run_training_report(const std::filesystem::path& log_path, const std::filesystem::path& dir,
                                   const TrainingReportOptions& o) {
  for (const auto& f : o.plot_formats)
    if (f != "png" && f != "svg") throw InputError(fmt::format("plot format '{}' is not one of: png, svg", f));
  if (!(o.diagnosis.collapse_share > 0 && o.diagnosis.collapse_share <= 1))
    throw InputError(fmt::format("--collapse-share must be in (0, 1], got {}", o.diagnosis.collapse_share));
  if (!(o.diagnosis.underused_fraction_of_uniform >= 0 && o.diagnosis.underused_fraction_of_uniform <= 1))
    throw InputError(fmt::format("--underused-fraction must be in [0, 1], got {}", o.diagnosis.underused_fraction_of_uniform));
  if (!(o.diagnosis.trend_tolerance >= 0)) throw InputError("--trend-tolerance must be ≥ 0");
  TrainingReport r;
  r.log = read_training_log(log_path, o.read);
  r.diagnosis = diagnose_training(r.log, o.diagnosis);
  std::optional<AffinityMatrix> affinity;
  if (!o.affinity_csv.empty()) affinity = read_affinity_csv(o.affinity_csv);

  OutputDir out(dir);
  for (const auto& f : o.plot_formats) {
    const auto name = [&](const char* stem) { return out.staged_path(std::string(stem) + "." + f); };
    if (affinity) affinity_plot(*affinity, name("router_affinity_matrix_heatmap"));
    if (r.log.num_experts > 0) utilization_plot(r.log, r.diagnosis, name("expert_utilization"));
    if (r.log.has(&TrainingRecord::entropy))
      series_plot(r.log, &TrainingRecord::entropy, "Router entropy", "entropy", name("router_entropy"));
    if (r.log.has(&TrainingRecord::routing_acc))
      series_plot(r.log, &TrainingRecord::routing_acc, "Routing accuracy", "routing accuracy", name("routing_accuracy"));
    if (r.log.has(&TrainingRecord::loss) || r.log.has(&TrainingRecord::accuracy)) metrics_plot(r.log, name("loss_accuracy"));
  }
  nlohmann::ordered_json j = diagnosis_json(r.diagnosis, o.diagnosis);
  j["log"] = {{"file", log_path.string()},
              {"records", r.log.records.size()},
              {"bad_lines_skipped", r.log.bad_lines},
              {"first_epoch", r.log.records.front().epoch},
              {"last_epoch", r.log.records.back().epoch}};
  if (affinity) j["affinity_matrix"] = {{"file", o.affinity_csv.string()}, {"rows", affinity->rows}, {"cols", affinity->cols}};
  out.write("diagnosis.json", j.dump(2) + "\n");
  r.files = out.commit();
  return r;
}

}  // namespace moeroute
