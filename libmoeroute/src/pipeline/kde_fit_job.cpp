// `kde fit`: the KDE jobs' input handling and the fit job.
#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/kde_pipeline.h"
#include "moeroute/trace_io.h"

namespace moeroute {

std::vector<InputTrace> load_kde_inputs(const std::vector<std::filesystem::path>& paths) {
  if (paths.empty()) throw InputError("no trace files given");
  std::vector<InputTrace> out;
  for (const auto& p : paths) out.push_back({p.string(), load_trace(p)});
  return out;
}

std::vector<NamedTrace> named_traces(const std::vector<InputTrace>& inputs) {
  std::vector<NamedTrace> out;
  for (const InputTrace& t : inputs) out.push_back({t.name, &t.trace});
  return out;
}

KdeModel run_kde_fit(const std::vector<std::filesystem::path>& traces, const std::filesystem::path& out,
                     const KdeFitOptions& options) {
  const auto inputs = load_kde_inputs(traces);
  KdeModel model = fit_kde_model(named_traces(inputs), options);
  save_kde_model(model, out);
  model.source = out.string();
  return model;
}

}  // namespace moeroute
