// The figures of `kde pvalues --plots` (the seed pipeline's stages 3–6, as few dense figures):
// routing usage and logit distributions of the scored traces, per-expert distributions, the
// KDE fits and variants, and the p-value distributions. What each shows: docs/plots.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "moeroute/expert_usage.h"
#include "moeroute/kde_model.h"
#include "moeroute/kde_pvalues.h"
#include "moeroute/plot.h"

namespace moeroute {

/// Stage "routing": two heatmaps (layers × experts) of how often each expert was chosen and the
/// sum of its gate weights (the second only when the traces have gate weights).
plot::Figure routing_usage_figure(const ExpertUsage& usage, const std::vector<std::string>& layer_names);

/// Stage "routing": per layer, the density of all raw logits and of the softmax probabilities
/// (log₁₀), one line per layer coloured by depth; and, pooled over layers, the chosen (top-k)
/// experts' raw logits and probabilities against the others'.
plot::Figure logit_distributions_figure(const std::vector<NamedTrace>& traces);

/// Stage "experts": one layer's small multiples, one histogram of raw logits per expert on a
/// shared range, titled with the expert id and its share of the layer's choices.
plot::Figure expert_distributions_figure(const std::vector<NamedTrace>& traces, int layer);

/// Stage "kde": per layer, the training logits' histogram (density) with the KDE's density of
/// model.variants[variant] over it.
plot::Figure kde_fit_figure(const KdeModel& model, std::size_t variant);

/// Stage "kde": every layer's KDE density and cumulative distribution F(x) = 1 − P(X ≥ x), one
/// line per layer coloured by depth, for model.variants[variant].
plot::Figure kde_curves_figure(const KdeModel& model, std::size_t variant);

/// Stage "kde": per layer, the density of every variant (trimmed, other kernels) on one axes.
plot::Figure kde_variants_figure(const KdeModel& model);

/// Stage "pvalues": per layer (all layers pooled first), the histogram of every variant's
/// p-values as a density, with the uniform density 1 for reference.
plot::Figure pvalue_histograms_figure(const PvalueReport& report);

/// Stage "pvalues": per layer (pooled first), QQ plots of every variant's p-values against the
/// uniform distribution (empirical quantile over level; the diagonal is uniform).
plot::Figure pvalue_qq_figure(const PvalueReport& report);

/// Stage "pvalues": one variant by group: QQ curves pooled over layers by logit rank and by
/// expert popularity decile, and heatmaps of the median p-value per layer × group.
plot::Figure pvalue_groups_figure(const PvalueReport& report, std::size_t variant);

}  // namespace moeroute
