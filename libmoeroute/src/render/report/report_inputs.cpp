#include "render/report/report_inputs.h"

#include <fmt/format.h>

#include "io/json_input.h"
#include "moeroute/error.h"
#include "moeroute/trace_io.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

fs::path required_file(const fs::path& dir, const char* name, const char* why) {
  const fs::path p = dir / name;
  if (!fs::is_regular_file(p))
    throw InputError(fmt::format("{}: no {} in this directory — {}", dir.string(), name, why));
  return p;
}

// generations.json as compare writes it (docs/compare.md); only the fields the report shows are checked.
nlohmann::json read_generations(const fs::path& path) {
  const JsonField root = read_json_file(path);
  root.expect_object("generations.json");
  for (const char* run : {"base", "var"}) {
    const auto r = root.get(run);
    if (!r) continue;
    r->expect_object("a run of generations.json");
    for (const char* key : {"system", "user", "generated_text", "stop_reason"})
      if (const auto v = r->get(key)) v->string();
  }
  return root.json();
}

}  // namespace

void require_rows(const RouterTrace& trace, const std::string& what) {
  if (trace.num_positions == 0)
    throw InputError(fmt::format("{} has no rows (an empty trace): there is no routing to show", what));
}

RoutingDiff diff_for_report(const RouterTrace& base, const RouterTrace& var, const RoutingDiffOptions& options) {
  require_rows(base, options.base_name);
  require_rows(var, options.var_name);
  RoutingDiff d = diff_routing(base, var, options);
  if (d.alignment.steps == 0)
    throw InputError(fmt::format("nothing to compare: {} has {} generated positions after a {}-token prompt, {} has {} "
                                 "after {} (docs/metrics.md, Alignment)",
                                 options.base_name, base.generated_length(), base.prompt_length, options.var_name,
                                 var.generated_length(), var.prompt_length));
  return d;
}

ComparisonInput load_comparison_dir(const fs::path& dir, int threads) {
  const char* why_traces =
      "a report of a directory needs the two traces `moeroute compare` writes there (a `moeroute diff` output "
      "directory has none: pass the two trace files to `moeroute report` instead)";
  const fs::path meta_path = required_file(dir, "meta.json", "is it a compare output directory?");
  const fs::path base_path = required_file(dir, "base.safetensors", why_traces);
  const fs::path var_path = required_file(dir, "var.safetensors", why_traces);

  const JsonField meta = read_json_file(meta_path);
  meta.expect_object("meta.json");
  RoutingDiffOptions o;
  o.dist = parse_dist_kind(meta.at("distribution").one_of({"full", "topk"}));
  o.metric = parse_divergence(meta.at("divergence").one_of({"jsd", "kl", "tv", "hellinger"}));
  o.threads = threads;
  o.base_name = base_path.string();
  o.var_name = var_path.string();

  ComparisonInput in;
  in.base = load_trace(base_path);
  in.var = load_trace(var_path);
  in.diff = diff_for_report(in.base, in.var, o);
  const fs::path gen_path = dir / "generations.json";
  in.generations = fs::exists(gen_path) ? read_generations(gen_path) : nlohmann::json(nullptr);
  return in;
}

}  // namespace moeroute::detail
