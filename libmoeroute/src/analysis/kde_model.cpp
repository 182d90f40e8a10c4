// Fitting a KdeModel from traces, trimming, and the checks that a trace suits a model.
#include "moeroute/kde_model.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/parallel.h"
#include "moeroute/error.h"
#include "moeroute/expert_usage.h"

namespace moeroute {

std::string kde_variant_name(KdeKernel kernel, int trim) {
  return trim > 0 ? fmt::format("{}_trim{}", to_string(kernel), trim) : to_string(kernel);
}

void require_raw_logits(const RouterTrace& trace, const std::string& what) {
  if (!trace.has_router_logits())
    throw InputError(fmt::format(
        "{}: the trace has no router logits (only top-k ids{}): KDEs and p-values need the raw logits of all "
        "experts; record them with 'moeroute record' (it keeps them unless --no-logits)",
        what, trace.has_gate_weights() ? " and gate weights" : ""));
  if (trace.logits_kind != LogitsKind::Raw)
    throw InputError(fmt::format("{}: its router logits are {}, not raw logits: KDEs are fitted to the router's raw "
                                 "output (docs/trace-format.md, \"Meaning\"); record raw logits with 'moeroute record'",
                                 what, to_string(trace.logits_kind)));
  if (trace.id_space != ExpertIdSpace::Logical)
    throw UnsupportedError(fmt::format("{}: expert ids are physical slots; KDE analyses need logical expert ids", what));
}

void check_same_model(const KdeModel& model, const RouterTrace& trace, const std::string& what) {
  const std::string fitted = model.source.empty() ? "the KDE model" : "the KDE model " + model.source;
  if (trace.num_experts != model.num_experts)
    throw InputError(fmt::format("{}: {} experts per layer, but {} was fitted on {} (model '{}'): a KDE model scores "
                                 "traces of the model it was fitted on",
                                 what, trace.num_experts, fitted, model.num_experts, model.model_id));
  if (trace.num_layers() != model.num_layers())
    throw InputError(fmt::format("{}: {} router layers, but {} has {} (model '{}')", what, trace.num_layers(), fitted,
                                 model.num_layers(), model.model_id));
  for (int l = 0; l < model.num_layers(); ++l)
    if (trace.layers[static_cast<size_t>(l)].name != model.layers[static_cast<size_t>(l)].name)
      throw InputError(fmt::format("{}: router layer {} is '{}', but in {} it is '{}' (model '{}')", what, l,
                                   trace.layers[static_cast<size_t>(l)].name, fitted,
                                   model.layers[static_cast<size_t>(l)].name, model.model_id));
}

namespace {

void check_trim(int trim, int E) {
  if (trim < 0 || trim >= E)
    throw InputError(fmt::format("trim {} is outside 0 … {}: it must leave at least one of the {} logits per row",
                                 trim, E - 1, E));
}

}  // namespace

std::vector<float> trimmed_logits(const RouterTrace& trace, int layer, int trim) {
  const int E = trace.num_experts;
  check_trim(trim, E);
  const size_t keep = static_cast<size_t>(E - trim);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(trace.num_positions) * keep);
  std::vector<float> row(static_cast<size_t>(E));
  for (int64_t p = 0; p < trace.num_positions; ++p) {
    const float* x = trace.router_logits_at(layer, p);
    if (trim == 0) {
      out.insert(out.end(), x, x + E);
      continue;
    }
    std::copy(x, x + E, row.begin());
    std::nth_element(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep) - 1, row.end());
    out.insert(out.end(), row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  return out;
}

namespace {

// The traces must be of one model: the first one's experts, top-k and layer names.
void check_same_routers(const std::vector<NamedTrace>& traces) {
  const RouterTrace& first = *traces.front().trace;
  for (const NamedTrace& t : traces) {
    const RouterTrace& r = *t.trace;
    if (r.num_experts != first.num_experts || r.top_k != first.top_k || r.num_layers() != first.num_layers())
      throw InputError(fmt::format("{}: {} layers × {} experts, top-{}, but {} has {} × {}, top-{}: traces of one "
                                   "model are needed",
                                   t.name, r.num_layers(), r.num_experts, r.top_k, traces.front().name,
                                   first.num_layers(), first.num_experts, first.top_k));
    for (size_t l = 0; l < r.layers.size(); ++l)
      if (r.layers[l].name != first.layers[l].name)
        throw InputError(fmt::format("{}: router layer {} is '{}', but in {} it is '{}'", t.name, l, r.layers[l].name,
                                     traces.front().name, first.layers[l].name));
  }
}

template <typename T>
void check_unique(const std::vector<T>& values, const char* what) {
  if (values.empty()) throw InputError(fmt::format("no {} given", what));
  if (std::set<T>(values.begin(), values.end()).size() != values.size())
    throw InputError(fmt::format("a {} is given twice", what));
}

}  // namespace

KdeModel fit_kde_model(const std::vector<NamedTrace>& traces, const KdeFitOptions& options) {
  if (traces.empty()) throw InputError("kde fit: no traces given");
  for (const NamedTrace& t : traces) require_raw_logits(*t.trace, t.name);
  check_same_routers(traces);
  check_unique(options.kernels, "kernel");
  check_unique(options.trims, "trim");
  const RouterTrace& first = *traces.front().trace;
  for (int trim : options.trims) check_trim(trim, first.num_experts);

  KdeModel m;
  m.model_id = first.meta.model_id;
  m.num_experts = first.num_experts;
  m.top_k = first.top_k;
  m.layers = first.layers;
  ExpertUsage usage = expert_usage(first);
  for (size_t i = 0; i < traces.size(); ++i) {
    m.training_traces.push_back(traces[i].name);
    m.training_rows += traces[i].trace->num_positions;
    if (i > 0) add_usage(usage, expert_usage(*traces[i].trace));
  }
  m.choice_counts = usage.choice_counts;

  const int L = m.num_layers();
  for (int trim : options.trims) {
    // One fit per layer and trim; the other kernels reuse its sorted data.
    std::vector<std::optional<KernelDensity>> fitted(static_cast<size_t>(L));
    detail::parallel_for(L, options.threads, [&](int l) {
      std::vector<float> data;
      for (const NamedTrace& t : traces) {
        const auto part = trimmed_logits(*t.trace, l, trim);
        data.insert(data.end(), part.begin(), part.end());
      }
      const std::string what = fmt::format("layer '{}'{} of {}", m.layers[static_cast<size_t>(l)].name,
                                           trim > 0 ? fmt::format(" trimmed by {}", trim) : "",
                                           traces.size() == 1 ? traces.front().name : "the training traces");
      fitted[static_cast<size_t>(l)] = KernelDensity::fit(std::move(data), options.kernels.front(), options.bandwidth, what);
    });
    for (KdeKernel kernel : options.kernels) {
      KdeVariant v;
      v.name = kde_variant_name(kernel, trim);
      v.kernel = kernel;
      v.bandwidth = options.bandwidth;
      v.trim = trim;
      for (const auto& k : fitted) v.layers.push_back(k->refit(kernel, options.bandwidth));
      m.variants.push_back(std::move(v));
    }
  }
  // Kernels outer, trims inner: the primary variant is the first kernel, first trim.
  std::stable_sort(m.variants.begin(), m.variants.end(), [&](const KdeVariant& a, const KdeVariant& b) {
    const auto ka = std::find(options.kernels.begin(), options.kernels.end(), a.kernel);
    const auto kb = std::find(options.kernels.begin(), options.kernels.end(), b.kernel);
    return ka < kb;
  });
  return m;
}

}  // namespace moeroute
