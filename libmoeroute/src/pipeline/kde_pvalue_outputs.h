// The data files of `kde pvalues` (docs/kde.md, "Outputs of kde pvalues").
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "moeroute/kde_model.h"
#include "moeroute/kde_pvalues.h"

namespace moeroute::detail {

/// pvalue_summary.csv: one row per variant × layer × non-empty group.
std::string pvalue_summary_csv(const PvalueReport& report);
/// pvalue_qq.csv: one row per variant × layer × non-empty group × QQ level.
std::string pvalue_qq_csv(const PvalueReport& report);
/// pvalue_histogram.csv: one row per variant × layer × non-empty group × bin.
std::string pvalue_histogram_csv(const PvalueReport& report);
/// pvalues.json: provenance, definitions and the pooled statistics per variant.
nlohmann::ordered_json pvalues_json(const KdeModel& model, const std::vector<NamedTrace>& traces,
                                    const PvalueReport& report, const PvalueOptions& options);
/// pvalues.safetensors: every p-value, one F32 tensor [layers, rows, experts] per variant.
std::string pvalues_safetensors(const KdeModel& model, const std::vector<NamedTrace>& traces,
                                const PvalueReport& report);

}  // namespace moeroute::detail
