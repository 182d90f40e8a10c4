// A KDE model of a MoE model's routing: per router layer a KernelDensity of the raw router logits
// of all experts, in one or more variants (kernel × bandwidth rule × trim), with the expert
// choice counts of the training traces. Saved as one safetensors file: docs/kde.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/kde.h"
#include "moeroute/trace.h"

namespace moeroute {

/// One way of fitting every layer.
struct KdeVariant {
  std::string name;                        ///< kde_variant_name(kernel, trim), unique in a model
  KdeKernel kernel = KdeKernel::Gaussian;  ///< kernel shape
  BandwidthRule bandwidth;                 ///< bandwidth rule
  int trim = 0;                            ///< each row's `trim` largest logits were left out of the fit
  std::vector<KernelDensity> layers;       ///< one per KdeModel::layers entry, same order
};

/// Per-layer KDEs and what they were fitted on.
struct KdeModel {
  std::string model_id;                      ///< the training traces' TraceMeta::model_id
  int num_experts = 0;                       ///< experts per router layer
  int top_k = 0;                             ///< experts chosen per token
  std::vector<LayerInfo> layers;             ///< router layers, in the traces' order
  std::vector<std::string> training_traces;  ///< the traces' names, as given to fit_kde_model
  int64_t training_rows = 0;                 ///< routed tokens per layer, all training traces together
  std::vector<int64_t> choice_counts;        ///< [layers, experts]: rows whose top-k held the expert
  std::vector<KdeVariant> variants;          ///< the first is the primary one
  std::string source;                        ///< file it was loaded from; "" when fitted in memory

  int num_layers() const { return static_cast<int>(layers.size()); }
};

/// "gaussian", "epanechnikov_trim2": the kernel, and "_trim<K>" when K > 0.
std::string kde_variant_name(KdeKernel kernel, int trim);

struct KdeFitOptions {
  std::vector<KdeKernel> kernels{KdeKernel::Gaussian};  ///< one variant per kernel × trim, kernels outer
  BandwidthRule bandwidth;                              ///< Scott's rule, as gaussian_kde's default
  std::vector<int> trims{0};                            ///< largest logits dropped per row; 0 = every logit
  int threads = 0;                                      ///< layers fitted in parallel; 0 = all cores
};

/// A trace and the name errors and provenance use for it (its file name, usually).
struct NamedTrace {
  std::string name;                     ///< file name or other label
  const RouterTrace* trace = nullptr;   ///< not owned
};

/// Fits every variant to the raw router logits of all `traces`, their rows pooled per layer.
/// Throws InputError when a trace lacks raw logits (require_raw_logits), when the traces are of
/// different models (check_same_routers), when a trim leaves no logit, when options repeat a
/// kernel or trim, or when a layer's logits are degenerate (KernelDensity::fit).
KdeModel fit_kde_model(const std::vector<NamedTrace>& traces, const KdeFitOptions& options);

/// Throws InputError naming `what` unless `trace` holds router logits of kind Raw and logical
/// expert ids; the message says how to record them.
void require_raw_logits(const RouterTrace& trace, const std::string& what);
/// Throws InputError unless `trace` has the model's expert count and layer names, in order.
void check_same_model(const KdeModel& model, const RouterTrace& trace, const std::string& what);

/// The logits of `layer`, row by row, each row without its `trim` largest (ties: any of the equal
/// values goes). Requires 0 ≤ trim < num_experts.
std::vector<float> trimmed_logits(const RouterTrace& trace, int layer, int trim);

/// Newest model file version ("moeroute.format_version" in the file's metadata).
inline constexpr int kKdeFormatVersion = 1;

/// Writes `model` as one safetensors file, atomically (docs/kde.md, "Model file").
void save_kde_model(const KdeModel& model, const std::filesystem::path& path);
/// Reads and validates a model file; every KDE is checked against its stored numbers. Throws
/// InputError naming the file and the field or tensor at fault (UnsupportedError for a newer
/// version).
KdeModel load_kde_model(const std::filesystem::path& path);

}  // namespace moeroute
