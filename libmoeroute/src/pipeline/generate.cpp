// Generation loops over a CausalLM with a Recorder. Position convention (docs/recording.md):
// the trace holds every token of prompt + generated ids; position p is routed while token p is
// the input; generation step t (generated token t) comes from position prompt_length − 1 + t.
#include "moeroute/generate.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute {

void GenerateOptions::validate() const {
  if (max_new_tokens <= 0 || max_new_tokens > kMaxNewTokensLimit)
    throw InputError(fmt::format("max_new_tokens must be in [1, {}], got {}", kMaxNewTokensLimit, max_new_tokens));
  sampling.validate();
}

void check_context(const CausalLM& model, int64_t positions, const GenerateOptions& options, const std::string& what) {
  const ModelInfo& info = model.info();
  if (info.max_positions <= 0 || positions <= info.max_positions) return;
  const std::string msg = fmt::format("{} needs up to {} positions, but model '{}' has a context of {} (max_positions)",
                                      what, positions, info.model_id, info.max_positions);
  if (options.strict_context)
    throw InputError(msg + ": refused (strict_context / --strict); shorten the prompt or lower max_new_tokens");
  if (options.warn) options.warn(msg + "; positions past it are outside what the model was trained for (--strict refuses)");
}

namespace {

// Trace of one sequence: routing from the recorder, tokens and bookkeeping from the run.
RouterTrace finish_trace(RoutingRecorder& rec, int row, const CausalLM& model, const Generation& g,
                         const std::string& mode) {
  RouterTrace t = rec.trace(row);
  const auto& info = model.info();
  t.meta.model_id = info.model_id;
  t.meta.source = info.source;
  t.meta.extra["device"] = info.device;
  t.meta.extra["dtype"] = info.dtype;
  if (!info.weight_dtype.empty()) t.meta.extra["weight_dtype"] = info.weight_dtype;
  t.meta.extra["mode"] = mode;
  t.meta.extra["stop_reason"] = g.stop_reason;
  t.meta.extra["step_position"] = "prompt_length - 1 + t";
  t.prompt_length = static_cast<int64_t>(g.prompt_ids.size());
  t.token_ids = g.prompt_ids;
  t.token_ids.insert(t.token_ids.end(), g.generated_ids.begin(), g.generated_ids.end());
  if (t.num_positions != static_cast<int64_t>(t.token_ids.size()))
    throw Error(fmt::format("recorded {} positions for {} tokens", t.num_positions, t.token_ids.size()));
  // token_text is each token's decoded text (docs/trace-format.md), readable without the tokenizer.
  if (const Tokenizer* tok = model.tokenizer())
    for (int64_t id : t.token_ids) t.token_text.push_back(tok->decode({id}));
  t.validate("recorded trace");
  return t;
}

void check_prompts(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts) {
  if (prompts.empty()) throw InputError("no prompt to run");
  const int64_t vocab = model.info().vocab_size;
  for (const auto& p : prompts) {
    if (p.empty()) throw InputError("a prompt has no tokens");
    for (int64_t id : p)
      if (id < 0 || id >= vocab)
        throw InputError(fmt::format("prompt token id {} is outside the model's vocabulary [0, {})", id, vocab));
  }
}

// Generates all prompts in one batch (the caller checked the model allows it).
std::vector<Generation> generate_batch(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                       const GenerateOptions& options, const RecorderOptions& recording) {
  const size_t n = prompts.size();
  const auto rec = model.make_recorder(recording, static_cast<int>(n));
  std::set<int64_t> stops(options.stop_token_ids.begin(), options.stop_token_ids.end());
  if (options.model_stop_tokens) stops.insert(model.info().stop_token_ids.begin(), model.info().stop_token_ids.end());

  std::vector<Generation> out(n);
  std::vector<Sampler> samplers;
  ForwardRequest req;
  for (size_t r = 0; r < n; ++r) {
    out[r].prompt_ids = prompts[r];
    samplers.emplace_back(options.sampling);
    req.rows.push_back(prompts[r]);
    req.record_last.push_back(static_cast<int64_t>(prompts[r].size()));
  }
  std::vector<bool> done(n, false);
  const auto vocab = model.info().vocab_size;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto next_report = start + std::chrono::seconds(1);
  int64_t generated = 0;
  while (true) {
    if (options.progress && Clock::now() >= next_report) {
      next_report = Clock::now() + std::chrono::seconds(1);
      options.progress({generated, static_cast<int64_t>(n) * options.max_new_tokens,
                        std::chrono::duration<double>(Clock::now() - start).count()});
    }
    const auto logits = model.forward(req, rec.get()).logits;
    bool all_done = true;
    for (size_t r = 0; r < n; ++r) {
      req.record_last[r] = 0;
      if (done[r]) continue;
      const int64_t tok = samplers[r].next(logits[r].data(), vocab);
      out[r].generated_ids.push_back(tok);
      ++generated;
      req.rows[r].push_back(tok);
      req.record_last[r] = 1;  // routed when it is the input of the next forward
      if (stops.count(tok)) {
        done[r] = true;
        out[r].stop_reason = "stop_token";
      } else if (static_cast<int>(out[r].generated_ids.size()) >= options.max_new_tokens) {
        done[r] = true;
        out[r].stop_reason = "max_new_tokens";
      }
      all_done = all_done && done[r];
    }
    if (all_done) break;
  }
  // Route the last generated tokens too, so every token in the trace has its routing.
  req.want_logits = false;
  model.forward(req, rec.get());
  for (size_t r = 0; r < n; ++r) {
    out[r].trace = finish_trace(*rec, static_cast<int>(r), model, out[r], "generate");
    auto& extra = out[r].trace.meta.extra;
    extra["temperature"] = fmt::format("{}", options.sampling.temperature);
    extra["top_p"] = fmt::format("{}", options.sampling.top_p);
    extra["seed"] = std::to_string(options.sampling.seed);
    extra["max_new_tokens"] = std::to_string(options.max_new_tokens);
  }
  return out;
}

}  // namespace

std::vector<Generation> generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerateOptions& options, const RecorderOptions& recording) {
  options.validate();
  check_prompts(model, prompts);
  for (size_t i = 0; i < prompts.size(); ++i)
    check_context(model, static_cast<int64_t>(prompts[i].size()) + options.max_new_tokens, options,
                  prompts.size() == 1 ? "the prompt + max_new_tokens" : fmt::format("prompt {} + max_new_tokens", i));
  if (prompts.size() == 1 || model.info().padded_batches) return generate_batch(model, prompts, options, recording);
  // Without an attention mask, sequences of different lengths cannot share a batch.
  std::vector<Generation> out;
  for (const auto& p : prompts) out.push_back(std::move(generate_batch(model, {p}, options, recording)[0]));
  return out;
}

namespace {

// One forward over `rows` (the caller checked that they may share it) recording every position;
// with `logprobs`, every next token is scored too.
std::vector<ScoredSequence> teacher_force(CausalLM& model, const std::vector<std::vector<int64_t>>& rows,
                                          const RecorderOptions& recording, bool logprobs) {
  const auto rec = model.make_recorder(recording, static_cast<int>(rows.size()));
  ForwardRequest req;
  req.rows = rows;
  req.want_logits = false;
  for (const auto& r : rows) {
    req.record_last.push_back(static_cast<int64_t>(r.size()));
    if (logprobs) req.score_last.push_back(static_cast<int64_t>(r.size()) - 1);
  }
  ForwardResult result = model.forward(req, rec.get());
  if (logprobs && result.next_token_logprobs.size() != rows.size())
    throw Error(fmt::format("{}: forward returned log-probabilities for {} of {} rows", model.info().model_id,
                            result.next_token_logprobs.size(), rows.size()));
  std::vector<ScoredSequence> out(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    Generation g;
    g.prompt_ids = rows[r];
    g.stop_reason = "teacher_forced";
    out[r].trace = finish_trace(*rec, static_cast<int>(r), model, g, "teacher_forced");
    if (!logprobs) continue;
    out[r].next_token_logprobs = std::move(result.next_token_logprobs[r]);
    if (out[r].next_token_logprobs.size() + 1 != rows[r].size())
      throw Error(fmt::format("{}: forward scored {} next tokens of a {}-token row", model.info().model_id,
                              out[r].next_token_logprobs.size(), rows[r].size()));
  }
  return out;
}

}  // namespace

Generation score(CausalLM& model, const std::vector<int64_t>& prompt, const std::vector<int64_t>& continuation,
                 const RecorderOptions& recording) {
  std::vector<int64_t> all = prompt;
  all.insert(all.end(), continuation.begin(), continuation.end());
  check_prompts(model, {prompt, all});
  Generation g;
  g.prompt_ids = prompt;
  g.generated_ids = continuation;
  g.stop_reason = "teacher_forced";
  g.trace = std::move(teacher_force(model, {all}, recording, false)[0].trace);
  g.trace.prompt_length = static_cast<int64_t>(prompt.size());
  return g;
}

std::vector<ScoredSequence> score_batch(CausalLM& model, const std::vector<std::vector<int64_t>>& rows,
                                        const RecorderOptions& recording) {
  check_prompts(model, rows);
  if (rows.size() == 1 || model.info().padded_batches) return teacher_force(model, rows, recording, true);
  std::vector<ScoredSequence> out;
  for (const auto& r : rows) out.push_back(std::move(teacher_force(model, {r}, recording, true)[0]));
  return out;
}

std::string to_string(PairAlignment a) { return a == PairAlignment::Free ? "free" : "teacher-forced"; }

PairAlignment parse_pair_alignment(const std::string& text) {
  if (text == "free") return PairAlignment::Free;
  if (text == "teacher-forced" || text == "teacher_forced") return PairAlignment::TeacherForced;
  throw InputError(fmt::format("alignment '{}' is not 'teacher-forced' or 'free'", text));
}

namespace {

// `generated`'s tokens rescored: routing from one forward over prompt + continuation, the
// generation's stop reason and settings kept.
Generation rescore(CausalLM& model, const Generation& generated, const RecorderOptions& recording) {
  Generation g = score(model, generated.prompt_ids, generated.generated_ids, recording);
  g.stop_reason = generated.stop_reason;
  for (const auto& [key, value] : generated.trace.meta.extra) g.trace.meta.extra.emplace(key, value);
  g.trace.meta.extra["mode"] = generated.trace.meta.extra.at("mode");
  g.trace.meta.extra["stop_reason"] = g.stop_reason;
  g.trace.meta.extra["routing_measured"] = "one forward over prompt + continuation";
  return g;
}

}  // namespace

PairResult run_pair(CausalLM& model, const std::vector<int64_t>& base_prompt, const std::vector<int64_t>& var_prompt,
                    PairAlignment alignment, const GenerateOptions& options, const RecorderOptions& recording) {
  PairResult r;
  Generation base;
  // Both runs' lengths are checked before either generates (teacher-forced: var's prompt + base's tokens).
  options.validate();
  check_context(model, static_cast<int64_t>(base_prompt.size()) + options.max_new_tokens, options,
                "the base prompt + max_new_tokens");
  check_context(model, static_cast<int64_t>(var_prompt.size()) + options.max_new_tokens, options,
                "the variant prompt + max_new_tokens");
  GenerateOptions quiet = options;
  quiet.warn = nullptr;  // said once above
  if (alignment == PairAlignment::Free) {
    auto g = generate(model, {base_prompt, var_prompt}, quiet, recording);
    base = std::move(g[0]);
    r.var = rescore(model, g[1], recording);
  } else {
    base = std::move(generate(model, {base_prompt}, quiet, recording)[0]);
    r.var = score(model, var_prompt, base.generated_ids, recording);
    r.var.trace.meta.extra["routing_measured"] = "one forward over prompt + continuation";
  }
  r.base = rescore(model, base, recording);
  r.base_decoded = std::move(base.trace);
  for (RouterTrace* t : {&r.base.trace, &r.var.trace, &r.base_decoded}) t->meta.extra["alignment"] = to_string(alignment);
  return r;
}

}  // namespace moeroute
