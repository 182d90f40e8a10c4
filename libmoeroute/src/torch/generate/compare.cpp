#include "moeroute/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model.h"
#include "moeroute/output_dir.h"
#include "moeroute/torch_info.h"

namespace moeroute {

namespace fs = std::filesystem;

std::string device_from_device_map(const std::string& device_map) {
  if (device_map == "auto") return cuda_available() ? "cuda" : "cpu";
  return device_map;
}

namespace {

struct RenderedPrompt {
  std::string system, user, text;
  std::vector<int64_t> ids;
};

RenderedPrompt render(const ChatTemplate& tpl, const Tokenizer& tok, const std::string& system,
                      const CompareInput& in) {
  RenderedPrompt p;
  p.system = system;
  p.user = add_language_instruction(in.question, in.language);
  p.text = tpl.render({p.system, p.user});
  p.ids = tok.encode(p.text);
  if (p.ids.empty()) throw InputError("the rendered prompt encodes to no tokens");
  return p;
}

// Decoded text of every position, so traces are readable without the tokenizer.
void fill_token_text(RouterTrace& t, const Tokenizer& tok) {
  t.token_text.clear();
  for (int64_t id : t.token_ids) t.token_text.push_back(tok.decode({id}));
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

}  // namespace

CompareResult run_compare(const CompareInput& in, const fs::path& out_dir, const CompareRunOptions& options) {
  // Everything checkable without the model first.
  GenerateOptions gen;
  gen.max_new_tokens = in.max_new_tokens;
  gen.sampling.temperature = in.temperature;
  gen.sampling.top_p = in.top_p;
  gen.sampling.seed = in.seed;
  gen.validate();
  const PairAlignment align = parse_pair_alignment(in.align);
  DiffOptions diff;
  diff.routing.dist = parse_dist_kind(in.dist);
  diff.routing.threads = options.threads;
  diff.top_n = in.topn_per_layer;
  diff.plots = options.plots;
  diff.plot_formats = options.plot_formats;
  diff.plot_vmax = options.plot_vmax;

  const std::string model_spec = in.model_path.empty() ? in.model_id : in.model_path;
  ModelOptions mo;
  mo.device = device_from_device_map(in.device_map);
  auto model = load_model(model_spec, mo);
  const ModelInfo& info = model->info();
  if (in.topk && *in.topk > info.num_experts)
    throw InputError(fmt::format("topk = {} but model '{}' has only {} experts per layer", *in.topk, model_spec,
                                 info.num_experts));
  const Tokenizer* tok = model->tokenizer();
  if (!tok) throw InputError(fmt::format("model '{}' has no tokenizer, so the prompts cannot be encoded", model_spec));

  const ChatTemplate tpl = model_chat_template(info, in.chat_template);
  const RenderedPrompt base_prompt = render(tpl, *tok, in.prompt_base, in);
  const RenderedPrompt var_prompt = render(tpl, *tok, in.prompt_var, in);

  RecorderOptions rec;
  rec.keep_logits = true;
  rec.top_k = in.topk.value_or(0);
  PairResult pair = run_pair(*model, base_prompt.ids, var_prompt.ids, align, gen, rec);
  fill_token_text(pair.base.trace, *tok);
  fill_token_text(pair.var.trace, *tok);

  CompareResult result;
  result.chat_template = tpl.name();
  result.base_text = tok->decode(pair.base.generated_ids);
  result.var_text = tok->decode(pair.var.generated_ids);

  auto& meta = diff.extra_meta;
  meta["model"] = model_spec;
  meta["device"] = info.device;
  meta["dtype"] = info.dtype;
  meta["align"] = to_string(align);
  meta["chat_template"] = tpl.name();
  meta["language"] = in.language;
  meta["max_new_tokens"] = in.max_new_tokens;
  meta["temperature"] = in.temperature;
  meta["top_p"] = in.top_p;
  meta["seed"] = in.seed;
  meta["stop_reason_base"] = pair.base.stop_reason;
  meta["stop_reason_var"] = pair.var.stop_reason;

  OutputDir out(out_dir);
  diff.routing.base_name = "base run";
  diff.routing.var_name = "variant run";
  result.diff = stage_diff_outputs(out, pair.base.trace, pair.var.trace, diff);
  TraceSaveOptions save;
  save.logits_dtype = options.logits_dtype;
  save_trace(pair.base.trace, out.staged_path("base.safetensors"), save);
  save_trace(pair.var.trace, out.staged_path("var.safetensors"), save);

  nlohmann::ordered_json g;
  g["model"] = model_spec;
  g["chat_template"] = tpl.name();
  g["align"] = to_string(align);
  g["base"] = run_json(base_prompt, pair.base, *tok);
  g["var"] = run_json(var_prompt, pair.var, *tok);
  g["var"]["teacher_forced"] = align == PairAlignment::TeacherForced;
  // Decoded text may hold invalid UTF-8 (a token that is part of a character): write U+FFFD.
  out.write("generations.json", g.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  result.files = out.commit();
  return result;
}

}  // namespace moeroute
