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
  Generation base;
  Generation var;
};

/// Runs the base and variant prompts. Free: both generate, as one batch of two when the model
/// allows it. TeacherForced: base generates, then var is scored on base's tokens (the variant's
/// input depends on base's output, so the two cannot share a batch).
PairResult run_pair(CausalLM& model, const std::vector<int64_t>& base_prompt, const std::vector<int64_t>& var_prompt,
                    PairAlignment alignment, const GenerateOptions& options, const RecorderOptions& recording = {});

}  // namespace moeroute
