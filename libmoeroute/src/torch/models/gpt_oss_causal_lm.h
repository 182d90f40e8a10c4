// gpt-oss as a CausalLM: a checkpoint directory (or the built-in model's tensors) → GptOssModel,
// driven with a KV cache over batches of rows (docs/models.md, "gpt-oss").
#pragma once

#include <memory>
#include <string>

#include "moeroute/generate.h"
#include "moeroute/hf_config.h"
#include "moeroute/model.h"
#include "torch/models/gpt_oss_model.h"
#include "torch/models/weight_source.h"

namespace moeroute::detail {

/// What the caller knows beyond config and weights.
struct GptOssMeta {
  std::string model_id;                        ///< name written to traces
  std::shared_ptr<const Tokenizer> tokenizer;  ///< may be null (callers pass token ids)
  std::vector<int64_t> stop_token_ids;         ///< default stop tokens (config eos + generation_config)
};

/// Loads weights from `source` (dtype/device from `options`; dtype "auto" = the stored float
/// dtype of the embeddings) and wraps the model as a CausalLM.
std::unique_ptr<CausalLM> make_gpt_oss_lm(const GptOssConfig& config, const WeightSource& source, GptOssMeta meta,
                                          const ModelOptions& options);

/// A Hugging Face gpt-oss checkpoint directory (config.json, safetensors, optional tokenizer.json
/// and generation_config.json).
std::unique_ptr<CausalLM> load_gpt_oss_dir(const std::string& dir, const GptOssConfig& config,
                                           const ModelOptions& options);

}  // namespace moeroute::detail
