#include "render/report/sections.h"

#include <fmt/format.h>

#include "render/expert_colors.h"
#include "moeroute/error.h"
#include "moeroute/plot.h"
#include "moeroute/simulator.h"
#include "render/report/encode.h"

namespace moeroute::detail {

namespace {

using ojson = nlohmann::ordered_json;

// Copies the string members of generations.json's run object that the report shows.
ojson prompt_fields(const nlohmann::json& run) {
  if (!run.is_object()) return nullptr;
  ojson out = ojson::object();
  for (const char* key : {"system", "user", "generated_text", "stop_reason"})
    if (run.contains(key) && run[key].is_string()) out[key] = run[key].get<std::string>();
  return out;
}

ojson utilisation_json(const RouterTrace& t, int64_t begin, int64_t end, const char* rows) {
  ojson u;
  u["rows"] = rows;
  u["row_count"] = end - begin;
  u["counts"] = encode_u32(expert_slot_counts(t, begin, end), {t.num_layers(), t.num_experts});
  return u;
}

}  // namespace

ojson run_json(const std::string& label, const RouterTrace& t, const nlohmann::json& prompt) {
  const int64_t L = t.num_layers(), T = t.num_positions, K = t.top_k;
  ojson r;
  r["label"] = label;
  r["model_id"] = t.meta.model_id;
  r["source"] = t.meta.source;
  r["routing_rule"] = t.meta.routing_rule;
  r["rows"] = T;
  r["prompt_length"] = t.prompt_length;
  r["top_k"] = K;
  r["id_space"] = to_string(t.id_space);
  r["tokens"] = t.has_token_text() ? ojson(t.token_text) : ojson(nullptr);
  r["token_ids"] = t.has_token_ids() ? encode_i32(t.token_ids, {T}) : ojson(nullptr);
  std::vector<int32_t> segments(static_cast<size_t>(T));
  for (int64_t row = 0; row < T; ++row) segments[static_cast<size_t>(row)] = t.is_prompt(row) ? 0 : 1;
  r["segments"] = encode_u8(segments, {T});
  r["sequence_ids"] = t.has_sequences() ? encode_i32(t.sequence_ids, {T}) : ojson(nullptr);
  r["positions"] = t.positions.empty() ? ojson(nullptr) : encode_i32(t.positions, {T});
  ojson seqs = ojson::array();
  for (const auto& s : t.sequences) seqs.push_back({{"id", s.id}, {"label", s.label}, {"num_tokens", s.num_tokens}});
  r["sequences"] = seqs;
  r["topk_ids"] = encode_ids(t.topk_ids, {L, T, K});
  if (t.has_gate_weights()) {
    r["gate_weights"] = encode_q16(std::vector<double>(t.gate_weights.begin(), t.gate_weights.end()), {L, T, K});
  } else {
    r["gate_weights"] = nullptr;
  }
  r["prompt"] = prompt_fields(prompt);
  return r;
}

std::vector<int64_t> expert_slot_counts(const RouterTrace& t, int64_t begin, int64_t end) {
  const int L = t.num_layers(), E = t.num_experts, K = t.top_k;
  std::vector<int64_t> counts(static_cast<size_t>(L) * static_cast<size_t>(E), 0);
  for (int l = 0; l < L; ++l)
    for (int64_t row = begin; row < end; ++row) {
      const int32_t* ids = t.topk_ids_at(l, row);
      for (int k = 0; k < K; ++k) ++counts[static_cast<size_t>(l) * static_cast<size_t>(E) + static_cast<size_t>(ids[k])];
    }
  return counts;
}

ojson comparison_section(const std::string& title, int base_run, int var_run, const RouterTrace& base,
                         const RouterTrace& var, const RoutingDiff& d, const nlohmann::json& generations) {
  const int64_t L = static_cast<int64_t>(d.layers.size()), S = d.alignment.steps, E = d.num_experts;
  if (static_cast<int64_t>(d.divergence.size()) != L * S || static_cast<int64_t>(d.base_mass.size()) != L * E)
    throw InputError(fmt::format("report '{}': the diff does not match its own shape", title));
  ojson s;
  s["kind"] = "comparison";
  s["title"] = title;
  s["views"] = {"summary", "divergence", "tokens", "shifts", "utilisation"};
  s["base_run"] = base_run;
  s["var_run"] = var_run;
  s["distribution"] = to_string(d.dist);
  s["metric"] = to_string(d.metric);
  s["metric_label"] = divergence_label(d.metric);
  s["log_base"] = d.metric == Divergence::JSD || d.metric == Divergence::KL ? ojson(2) : ojson(nullptr);
  s["metric_max"] = d.metric == Divergence::KL ? ojson(nullptr) : ojson(1);
  s["steps"] = S;
  s["base_start"] = d.alignment.base_start;
  s["var_start"] = d.alignment.var_start;
  s["divergence"] = encode_q16(d.divergence, {L, S});
  s["layer_mean"] = d.layer_mean;  // NaN → null
  double total = 0;
  for (double v : d.divergence) total += v;
  s["mean"] = d.divergence.empty() ? ojson(nullptr) : ojson(total / static_cast<double>(d.divergence.size()));
  s["base_mass"] = encode_f32(d.base_mass, {L, E});
  s["var_mass"] = encode_f32(d.var_mass, {L, E});
  s["utilisation"] = {{"base", utilisation_json(base, d.alignment.base_start, d.alignment.base_start + S, "aligned steps")},
                      {"var", utilisation_json(var, d.alignment.var_start, d.alignment.var_start + S, "aligned steps")}};
  ojson g = ojson::object();
  if (generations.is_object()) {
    for (const char* key : {"model", "chat_template", "align"})
      if (generations.contains(key) && generations[key].is_string()) g[key] = generations[key].get<std::string>();
    if (generations.contains("var") && generations["var"].is_object() && generations["var"].contains("teacher_forced") &&
        generations["var"]["teacher_forced"].is_boolean())
      g["teacher_forced"] = generations["var"]["teacher_forced"].get<bool>();
  }
  s["generation"] = g;
  return s;
}

ojson trace_section(const std::string& title, int run, const RouterTrace& t) {
  ojson s;
  s["kind"] = "trace";
  s["title"] = title;
  s["views"] = {"summary", "tokens", "utilisation"};
  s["run"] = run;
  s["utilisation"] = {{"run", utilisation_json(t, 0, t.num_positions, "all rows")}};
  return s;
}

ojson simulator_section(const std::vector<int>& replay_runs) {
  const SimulatorConfig c;
  ojson s;
  s["kind"] = "simulator";
  s["title"] = "Simulator";
  s["views"] = {"simulator", "replay"};
  s["defaults"] = {{"local_experts", c.local_experts}, {"shared_experts", c.shared_experts},
                   {"micro_experts", c.micro_experts}, {"top_k", c.top_k},
                   {"embedding_dim", c.embedding_dim}, {"noise", c.noise},
                   {"drift", c.drift},                 {"seed", c.seed}};
  s["replay_runs"] = replay_runs;
  return s;
}

ojson palette_json(int experts) {
  ojson viridis = ojson::array();
  for (int i = 0; i < 256; ++i) viridis.push_back(plot::to_hex(plot::colormap_color(plot::Colormap::Viridis, (i + 0.5) / 256)));
  ojson ex = ojson::array();
  for (const auto& c : plot::detail::expert_colors(static_cast<size_t>(experts))) ex.push_back(plot::to_hex(c));
  ojson coolwarm = ojson::array();
  for (int i = 0; i < 256; ++i) coolwarm.push_back(plot::to_hex(plot::colormap_color(plot::Colormap::Coolwarm, (i + 0.5) / 256)));
  return {{"viridis", viridis}, {"coolwarm", coolwarm}, {"experts", ex}};
}

}  // namespace moeroute::detail
