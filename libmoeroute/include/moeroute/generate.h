// Generation with routing recording over any CausalLM (moeroute/causal_lm.h): free generation,
// teacher-forced scoring and the base/variant pair that `compare` runs. Torch-free: the loops are
// core code and run against the interface. Which trace position a generation step is:
// docs/recording.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moeroute/causal_lm.h"
#include "moeroute/sampling.h"
#include "moeroute/trace.h"

namespace moeroute {

struct GenerateOptions {
  int max_new_tokens = 64;              ///< tokens generated at most per sequence (≥ 1)
  SamplingOptions sampling;             ///< greedy unless temperature > 0
  std::vector<int64_t> stop_token_ids;  ///< extra tokens that end a sequence (kept in its output)
  bool model_stop_tokens = true;        ///< also stop on the model's own stop tokens

  /// Throws InputError for max_new_tokens ≤ 0 or invalid sampling options.
  void validate() const;
};

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

/// Teacher forcing: one forward over prompt + continuation recording every position.
Generation score(CausalLM& model, const std::vector<int64_t>& prompt, const std::vector<int64_t>& continuation,
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
