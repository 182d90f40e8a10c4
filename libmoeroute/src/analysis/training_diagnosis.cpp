// The diagnosis of a training log (docs/training.md, "Diagnosis"): collapse, under-used experts
// and the trend of each series.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/training.h"

namespace moeroute {

namespace {

Trend fit(const TrainingLog& log, double TrainingRecord::*field, const char* name, const char* expected,
          double tolerance) {
  Trend t;
  t.series = name;
  t.expected = expected;
  std::vector<double> x, y;
  for (const auto& r : log.records)
    if (!std::isnan(r.*field)) {
      x.push_back(r.epoch);
      y.push_back(r.*field);
    }
  t.points = static_cast<int64_t>(x.size());
  if (x.empty()) {
    t.direction = "unknown";
    return t;
  }
  t.first = y.front();
  t.last = y.back();
  if (x.size() < 2) {
    t.direction = "unknown";
    return t;
  }
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0, mabs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i] / n;
    my += y[i] / n;
    mabs += std::abs(y[i]) / n;
  }
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  t.slope = sxy / sxx;
  const double span = x.back() - x.front();
  t.relative_change = mabs > 0 ? t.slope * span / mabs : 0.0;
  t.direction = std::abs(t.relative_change) < tolerance ? "flat" : t.relative_change < 0 ? "decreasing" : "increasing";
  return t;
}

std::string pct(double share) { return fmt::format("{:.1f} %", 100.0 * share); }

}  // namespace

Diagnosis diagnose_training(const TrainingLog& log, const DiagnosisOptions& o) {
  Diagnosis d;
  d.num_experts = log.num_experts;
  if (log.num_experts > 0) {
    d.uniform_share = 1.0 / log.num_experts;
    d.underused_below = o.underused_fraction_of_uniform * d.uniform_share;
    std::vector<bool> always(static_cast<size_t>(log.num_experts), true);
    bool any = false;
    for (const auto& r : log.records) {
      if (r.utilization.empty()) continue;
      any = true;
      const auto top = std::max_element(r.utilization.begin(), r.utilization.end());
      if (*top >= o.collapse_share) {
        d.collapse_epochs.push_back(r.epoch);
        d.collapse_experts.push_back(static_cast<int>(top - r.utilization.begin()));
        d.collapse_shares.push_back(*top);
      }
      for (size_t e = 0; e < r.utilization.size(); ++e) always[e] = always[e] && r.utilization[e] < d.underused_below;
      d.final_epoch = r.epoch;
      d.final_utilization = r.utilization;
    }
    if (any) {
      d.final_top_expert = static_cast<int>(std::max_element(d.final_utilization.begin(), d.final_utilization.end()) -
                                            d.final_utilization.begin());
      for (int e = 0; e < log.num_experts; ++e) {
        if (d.final_utilization[static_cast<size_t>(e)] < d.underused_below) d.underused_final.push_back(e);
        if (always[static_cast<size_t>(e)]) d.underused_always.push_back(e);
      }
    }
  }
  d.trends.push_back(fit(log, &TrainingRecord::entropy, "entropy", "decreasing", o.trend_tolerance));
  d.trends.push_back(fit(log, &TrainingRecord::routing_acc, "routing_acc", "increasing", o.trend_tolerance));
  d.trends.push_back(fit(log, &TrainingRecord::loss, "loss", "decreasing", o.trend_tolerance));
  d.trends.push_back(fit(log, &TrainingRecord::accuracy, "accuracy", "increasing", o.trend_tolerance));

  // Findings, worst first.
  if (!d.collapse_epochs.empty())
    d.findings.push_back(fmt::format("routing collapse: expert {} receives {} of inputs at epoch {} ({} of {} epochs "
                                     "have one expert at or above {})",
                                     d.collapse_experts.back(), pct(d.collapse_shares.back()),
                                     d.collapse_epochs.back(), d.collapse_epochs.size(), log.records.size(),
                                     pct(o.collapse_share)));
  else if (log.num_experts > 0)
    d.findings.push_back(fmt::format("no collapse: the busiest expert (expert {}) receives {} at the final epoch "
                                     "(threshold {})",
                                     d.final_top_expert, pct(d.final_utilization.empty() ? 0 : d.final_utilization[static_cast<size_t>(d.final_top_expert)]),
                                     pct(o.collapse_share)));
  if (log.num_experts > 0) {
    if (!d.underused_final.empty())
      d.findings.push_back(fmt::format("{} of {} experts under-used at the final epoch (below {}, {} of the uniform "
                                       "{}): {}",
                                       d.underused_final.size(), log.num_experts, pct(d.underused_below),
                                       pct(o.underused_fraction_of_uniform), pct(d.uniform_share),
                                       fmt::join(d.underused_final, ", ")));
    else
      d.findings.push_back(fmt::format("every expert receives at least {} at the final epoch (uniform {})",
                                       pct(d.underused_below), pct(d.uniform_share)));
    if (!d.underused_always.empty())
      d.findings.push_back(fmt::format("experts never used above {} in any epoch: {}", pct(d.underused_below),
                                       fmt::join(d.underused_always, ", ")));
  } else {
    d.findings.push_back("no utilization in the log: collapse and under-use not assessed");
  }
  for (const Trend& t : d.trends) {
    if (t.points == 0) continue;
    if (t.direction == "unknown") {
      d.findings.push_back(fmt::format("{}: one epoch only, no trend", t.series));
      continue;
    }
    d.findings.push_back(fmt::format("{} {} ({:.4g} → {:.4g}, fitted change {:+.1f} % of its mean){}", t.series,
                                     t.direction, t.first, t.last, 100.0 * t.relative_change,
                                     t.direction == t.expected ? "" : fmt::format(": expected {}", t.expected)));
  }
  return d;
}

nlohmann::ordered_json diagnosis_json(const Diagnosis& d, const DiagnosisOptions& o) {
  const auto num = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  nlohmann::ordered_json j;
  j["thresholds"] = {{"collapse_share", o.collapse_share},
                     {"underused_fraction_of_uniform", o.underused_fraction_of_uniform},
                     {"trend_tolerance", o.trend_tolerance}};
  j["num_experts"] = d.num_experts;
  j["uniform_share"] = d.num_experts ? nlohmann::ordered_json(d.uniform_share) : nlohmann::ordered_json(nullptr);
  j["underused_below"] = d.num_experts ? nlohmann::ordered_json(d.underused_below) : nlohmann::ordered_json(nullptr);
  j["collapse"] = {{"detected", !d.collapse_epochs.empty()},
                   {"epochs", d.collapse_epochs},
                   {"experts", d.collapse_experts},
                   {"shares", d.collapse_shares}};
  j["final_epoch"] = num(d.final_epoch);
  j["final_utilization"] = d.final_utilization;
  j["final_top_expert"] = d.final_top_expert < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d.final_top_expert);
  j["underused_final"] = d.underused_final;
  j["underused_every_epoch"] = d.underused_always;
  auto& trends = j["trends"] = nlohmann::ordered_json::object();
  for (const Trend& t : d.trends)
    trends[t.series] = {{"points", t.points},           {"first", num(t.first)},
                        {"last", num(t.last)},          {"slope_per_epoch", num(t.slope)},
                        {"relative_change", num(t.relative_change)}, {"direction", t.direction},
                        {"expected", t.expected}};
  j["findings"] = d.findings;
  return j;
}

}  // namespace moeroute
