#include "moeroute/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/agreement_outputs.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/output_dir.h"
#include "moeroute/trace_io.h"
#include "pipeline/compare_noise.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

struct RenderedPrompt {
  std::string system, user, text;
  std::vector<int64_t> ids;
};

RenderedPrompt render(const ChatTemplate& tpl, const ChatTemplateOptions& to, const Tokenizer& tok,
                      const std::string& system, const CompareInput& in) {
  RenderedPrompt p;
  p.system = system;
  p.user = add_language_instruction(in.question, in.language);
  p.text = tpl.render({p.system, p.user}, to);
  p.ids = tok.encode(p.text);
  if (p.ids.empty()) throw InputError("the rendered prompt encodes to no tokens");
  return p;
}

nlohmann::ordered_json run_json(const RenderedPrompt& p, const Generation& g, const Tokenizer& tok) {
  nlohmann::ordered_json j;
  j["system"] = p.system;
  j["user"] = p.user;
  j["prompt_text"] = p.text;
  j["prompt_ids"] = g.prompt_ids;
  j["generated_ids"] = g.generated_ids;
  j["generated_text"] = tok.decode(g.generated_ids);
  j["stop_reason"] = g.stop_reason;
  return j;
}

// The two runs differ only in their system prompts: a template that drops the system prompt
// would render both the same.
void check_places_system(const ChatTemplate& tpl, const CompareInput& in) {
  if (!tpl.places_system() && in.prompt_base != in.prompt_var)
    throw InputError(fmt::format("chat template '{}' has no {{system}} placeholder, so prompt_base and prompt_var would "
                                 "render the same prompt: compare needs a template that places the system prompt",
                                 tpl.name()));
}

}  // namespace

CompareResult run_compare(const CompareInput& in, const fs::path& out_dir, const CompareRunOptions& options) {
  const RunConfig& run = in.run;
  // Everything checkable without the model first: the options, a named template, the output
  // directory (created now, removed again if anything fails).
  run.generation.validate();
  check_prompt_size(in.prompt_base, "prompt_base");
  check_prompt_size(in.prompt_var, "prompt_var");
  check_prompt_size(in.question, "question");
  if (!run.chat_template.empty()) check_places_system(model_chat_template(ModelInfo{}, run.chat_template), in);
  OutputDir out(out_dir);
  DiffOptions diff;
  diff.routing.dist = in.dist;
  diff.routing.threads = run.model_options.threads;
  diff.top_n = in.topn_per_layer;
  diff.plots = options.plots;
  diff.plot_formats = options.plot_formats;
  diff.plot_vmax = options.plot_vmax;

  const std::string& model_spec = run.model;
  auto model = load_model(model_spec, run.model_options);
  const ModelInfo& info = model->info();
  if (run.recording.top_k > info.num_experts)
    throw InputError(fmt::format("topk = {} but model '{}' has only {} experts per layer", run.recording.top_k,
                                 model_spec, info.num_experts));
  const Tokenizer* tok = model->tokenizer();
  if (!tok) throw InputError(fmt::format("model '{}' has no tokenizer, so the prompts cannot be encoded", model_spec));

  const ChatTemplate tpl = model_chat_template(info, run.chat_template);
  check_places_system(tpl, in);
  ChatTemplateOptions to;
  to.current_date = run.date.empty() ? today_local_date() : run.date;  // one date for both runs
  const RenderedPrompt base_prompt = render(tpl, to, *tok, in.prompt_base, in);
  const RenderedPrompt var_prompt = render(tpl, to, *tok, in.prompt_var, in);

  PairResult pair = run_pair(*model, base_prompt.ids, var_prompt.ids, in.align, run.generation, run.recording);
  // Analyse what is saved: the logits as the trace files will hold them.
  for (RouterTrace* t : {&pair.base.trace, &pair.var.trace, &pair.base_decoded}) {
    round_logits(*t, run.recording.logits_dtype);
    t->meta.extra["chat_template"] = tpl.name();
    if (tpl.uses_date()) t->meta.extra["template_date"] = to.current_date;
  }

  CompareResult result;
  result.chat_template = tpl.name();
  result.base_text = tok->decode(pair.base.generated_ids);
  result.var_text = tok->decode(pair.var.generated_ids);
  result.noise_floor = measure_noise_floor(pair.base.trace, pair.base_decoded, info.routing, diff.routing);
  diff.plot_noise_floor = result.noise_floor.layer_mean;

  auto& meta = diff.extra_meta;
  meta["model"] = model_spec;
  meta["device"] = info.device;
  meta["dtype"] = info.dtype;
  if (!info.weight_dtype.empty()) meta["weight_dtype"] = info.weight_dtype;
  meta["device_map"] = run.model_options.device_map.to_string();
  meta["align"] = to_string(in.align);
  meta["chat_template"] = tpl.name();
  if (tpl.uses_date()) meta["template_date"] = to.current_date;
  meta["language"] = in.language;
  meta["max_new_tokens"] = run.generation.max_new_tokens;
  meta["temperature"] = run.generation.sampling.temperature;
  meta["top_p"] = run.generation.sampling.top_p;
  meta["seed"] = run.generation.sampling.seed;
  meta["stop_reason_base"] = pair.base.stop_reason;
  meta["stop_reason_var"] = pair.var.stop_reason;
  meta["logits_dtype"] = to_string(run.recording.logits_dtype);
  meta["routing_measured"] = "one forward over each run's prompt + continuation";
  meta["noise_floor_mean"] = result.noise_floor.mean;

  diff.routing.base_name = "base run";
  diff.routing.var_name = "variant run";
  result.diff = stage_diff_outputs(out, pair.base.trace, pair.var.trace, diff);
  const auto noise = detail::stage_noise_outputs(out, result.diff, result.noise_floor, pair.base.trace,
                                                 pair.var.trace, info.routing, in.topn_per_layer);
  result.floor_verdict = noise.at("verdict").get<std::string>();
  const RowPairs steps = generation_step_pairs(pair.base.trace, pair.var.trace);
  TopkAgreementOptions ao;
  ao.a_name = "base run";
  ao.b_name = "variant run";
  result.agreement = topk_agreement(pair.base.trace, pair.var.trace, steps, ao);
  AgreementOutputOptions a;
  a.plots = options.plots;
  a.plot_formats = options.plot_formats;
  stage_topk_agreement(out, result.agreement, pair.base.trace, pair.var.trace, steps, a);
  TraceSaveOptions save;
  save.logits_dtype = run.recording.logits_dtype;
  save_trace(pair.base.trace, out.staged_path("base.safetensors"), save);
  save_trace(pair.var.trace, out.staged_path("var.safetensors"), save);
  save_trace(pair.base_decoded, out.staged_path("base_stepwise.safetensors"), save);

  nlohmann::ordered_json g;
  g["model"] = model_spec;
  g["chat_template"] = tpl.name();
  if (tpl.uses_date()) g["template_date"] = to.current_date;
  g["align"] = to_string(in.align);
  g["base"] = run_json(base_prompt, pair.base, *tok);
  g["var"] = run_json(var_prompt, pair.var, *tok);
  g["var"]["teacher_forced"] = in.align == PairAlignment::TeacherForced;
  // Decoded text may hold invalid UTF-8 (a token that is part of a character): write U+FFFD.
  out.write("generations.json", g.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  result.files = out.commit();
  return result;
}

}  // namespace moeroute
