// Generation with routing recording over any CausalLM (moeroute/causal_lm.h): free generation,
// teacher-forced scoring and the base/variant pair that `compare` runs. Torch-free: the loops are
// core code and run against the interface. Which trace position a generation step is:
// docs/recording.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "moeroute/causal_lm.h"
#include "moeroute/sampling.h"
#include "moeroute/trace.h"

namespace moeroute {

/// The most tokens one generation may ask for (max_new_tokens): the cap of every job.
inline constexpr int kMaxNewTokensLimit = 1'000'000;

/// Where a running generation stands (GenerateOptions::progress).
struct GenerateProgress {
  int64_t generated = 0;  ///< tokens generated so far, all sequences together
  int64_t limit = 0;      ///< at most this many: sequences × max_new_tokens
  double seconds = 0;     ///< since the generation started
};

struct GenerateOptions {
  int max_new_tokens = 64;              ///< tokens generated at most per sequence (1 … kMaxNewTokensLimit)
  SamplingOptions sampling;             ///< greedy unless temperature > 0
  std::vector<int64_t> stop_token_ids;  ///< extra tokens that end a sequence (kept in its output)
  bool model_stop_tokens = true;        ///< also stop on the model's own stop tokens
  bool strict_context = false;          ///< prompt + max_new_tokens beyond the model's context: InputError (false: a warning)
  std::function<void(const std::string&)> warn;           ///< receives warnings (context exceeded); empty = dropped
  std::function<void(const GenerateProgress&)> progress;  ///< called about once a second while generating; empty = none

  /// Throws InputError for max_new_tokens outside [1, kMaxNewTokensLimit] or invalid sampling options.
  void validate() const;
};

/// Checks that `positions` (a prompt + what will be generated or scored after it) fit the model's
/// context (ModelInfo::max_positions; 0 = unknown, unchecked). Beyond it: InputError with
/// options.strict_context, else a warning through options.warn. `what` names the sequence.
void check_context(const CausalLM& model, int64_t positions, const GenerateOptions& options, const std::string& what);

/// One recorded sequence.
struct Generation {
  std::vector<int64_t> prompt_ids;     ///< the prompt as run
  std::vector<int64_t> generated_ids;  ///< generated (or teacher-forced) tokens, a stop token included
  std::string stop_reason;             ///< "stop_token", "max_new_tokens" or "teacher_forced"
  RouterTrace trace;                   ///< routing of every position of prompt_ids + generated_ids
};

/// Generates a continuation of each prompt and records every position (prompt, each generated
/// token, and the last generated token as input). Prompts run as one padded batch when the model
/// allows it, else one after another; each sequence samples from its own stream seeded with
/// options.sampling.seed, so batching does not change what is drawn.
std::vector<Generation> generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerateOptions& options, const RecorderOptions& recording = {});

/// Teacher forcing: one forward over prompt + continuation recording every position (the caller
/// checks the context: check_context).
Generation score(CausalLM& model, const std::vector<int64_t>& prompt, const std::vector<int64_t>& continuation,
                 const RecorderOptions& recording = {});

/// One teacher-forced sequence and the model's log-probabilities of its tokens.
struct ScoredSequence {
  RouterTrace trace;                        ///< routing of every token (prompt_length = all of them)
  std::vector<double> next_token_logprobs;  ///< [tokens − 1]: ln p(token p+1 | tokens 0…p), p = 0 … T−2
};

/// Teacher forcing of several token sequences (no generation): every position recorded and every
/// next token scored, in one padded forward when the model takes padded batches, else one forward
/// per sequence. What `trace` runs per batch (docs/dataset-trace.md).
std::vector<ScoredSequence> score_batch(CausalLM& model, const std::vector<std::vector<int64_t>>& rows,
                                        const RecorderOptions& recording = {});

/// How the variant run is aligned with the base run in `compare`.
enum class PairAlignment {
  TeacherForced,  ///< var is scored on base's generated tokens (same tokens compared; the default)
  Free,           ///< each prompt generates its own continuation; steps compared by index
};
std::string to_string(PairAlignment a);
/// "teacher-forced" or "free"; throws InputError otherwise.
PairAlignment parse_pair_alignment(const std::string& text);

struct PairResult {
  Generation base;          ///< base's tokens; its routing from one forward over prompt + generated tokens
  Generation var;           ///< var's tokens; its routing from one forward the same way
  RouterTrace base_decoded; ///< base's routing as recorded while it generated (step by step): the same
                            ///< tokens by a second computation path, for the noise floor (docs/metrics.md)
};

/// Runs the base and variant prompts. Free: both generate, as one batch of two when the model
/// allows it. TeacherForced: base generates, then var takes base's generated tokens. Either way
/// both runs' routing is then measured by the same computation — one forward over each run's
/// prompt + continuation, one row, every position recorded (docs/metrics.md, "Same arithmetic on
/// both sides") — so identical prompts give identical routing bit for bit. The generated traces
/// and stop reasons are kept: base's as base_decoded, both runs' sampling settings in meta.
PairResult run_pair(CausalLM& model, const std::vector<int64_t>& base_prompt, const std::vector<int64_t>& var_prompt,
                    PairAlignment alignment, const GenerateOptions& options, const RecorderOptions& recording = {});

}  // namespace moeroute
