// Generation with routing recording: the CausalLM interface (implemented by TorchScript exports
// and, later, native models), free generation, teacher-forced scoring and the base/variant pair
// that `compare` runs. Which trace position a generation step is: docs/recording.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moeroute/recorder.h"
#include "moeroute/routing.h"
#include "moeroute/sampling.h"
#include "moeroute/tokenizer.h"
#include "moeroute/trace.h"

namespace moeroute {

/// What a loaded model is, as far as recording needs to know.
struct ModelInfo {
  std::string model_id;                 ///< "builtin:tiny-moe" or the export's path
  std::string source;                   ///< producer written to traces: "torchscript"
  std::vector<LayerInfo> moe_layers;    ///< router layers in hook-slot order (sorted numerically)
  int num_experts = 0;                  ///< experts per MoE layer
  RoutingRule routing;                  ///< the routers' rule (top_k = the model's k)
  int64_t vocab_size = 0;               ///< width of the next-token logits
  std::vector<int64_t> stop_token_ids;  ///< tokens that end generation by default (EOS, end of turn)
  bool padded_batches = false;          ///< forward() takes rows of different lengths (left padding + mask)
  std::string device;                   ///< where it runs: "cpu", "cuda:0"
  std::string dtype;                    ///< parameter dtype: "float32", "bfloat16", "float16"
};

/// One forward pass over several sequences.
struct ForwardRequest {
  std::vector<std::vector<int64_t>> rows;  ///< token ids per sequence (≥ 1 token each)
  std::vector<int64_t> record_last;        ///< per row: trailing positions whose routing is recorded (0 = none)
  bool want_logits = true;                 ///< return next-token logits (false: routing only)
};

/// A causal language model whose MoE routing can be recorded. forward() takes whole sequences:
/// TorchScript exports carry no KV cache, so each generation step costs a full pass over the
/// sequence so far (docs/recording.md); native models reuse the cached prefix a row shares with
/// the previous call's row and compute only the rest (docs/native-models.md).
class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelInfo& info() const = 0;
  /// The model's tokenizer, or nullptr when it has none (callers then pass token ids).
  virtual const Tokenizer* tokenizer() const = 0;
  /// Runs `request` (rows of different lengths only when info().padded_batches) and returns, per
  /// row, the float next-token logits after its last token ([vocab_size]; empty when
  /// !want_logits). When `recorder` is set (built with rows = request.rows.size()), it receives
  /// the routing of the last record_last[r] positions of row r.
  virtual std::vector<std::vector<float>> forward(const ForwardRequest& request, Recorder* recorder) = 0;
};

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
  Generation base;
  Generation var;
};

/// Runs the base and variant prompts. Free: both generate, as one batch of two when the model
/// allows it. TeacherForced: base generates, then var is scored on base's tokens (the variant's
/// input depends on base's output, so the two cannot share a batch).
PairResult run_pair(CausalLM& model, const std::vector<int64_t>& base_prompt, const std::vector<int64_t>& var_prompt,
                    PairAlignment alignment, const GenerateOptions& options, const RecorderOptions& recording = {});

}  // namespace moeroute
