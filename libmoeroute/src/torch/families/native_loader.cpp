#include "torch/families/native_loader.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "moeroute/checkpoint.h"
#include "moeroute/error.h"
#include "moeroute/hf_config.h"
#include "moeroute/hf_tokenizer.h"
#include "torch/families/gpt_oss.h"
#include "torch/own_chat_template.h"
#include "torch/families/qwen3_moe.h"
#include "torch/weights/weight_source.h"

namespace moeroute::detail {

namespace {

// generation_config.json's eos_token_id (Qwen3 lists <|im_end|> and <|endoftext|> there).
std::vector<int64_t> generation_eos(const std::filesystem::path& dir) {
  const auto path = dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const auto config = read_json_file(path).expect_object("a generation_config.json");
  return config.member("eos_token_id").integers();
}

}  // namespace

std::unique_ptr<CausalLM> load_native_checkpoint(const std::filesystem::path& dir, const std::string& model_id,
                                                 const ModelOptions& options) {
  const HfModelConfig config = load_hf_config(dir);
  const auto& base = decoder_config(config);
  NativeModelMeta meta;
  meta.model_id = model_id;
  meta.what = dir.string();
  meta.tokenizer = options.tokenizer;
  std::error_code ec;
  if (!meta.tokenizer && std::filesystem::is_regular_file(dir / "tokenizer.json", ec))
    meta.tokenizer = load_tokenizer(dir);
  // The checkpoint's own chat template (tokenizer_config.json), as compare and record use it.
  meta.chat_template_dir = dir.string();
  meta.chat_template = own_chat_template(dir);
  meta.stop_token_ids = base.eos_token_ids;
  for (int64_t id : generation_eos(dir))
    if (std::find(meta.stop_token_ids.begin(), meta.stop_token_ids.end(), id) == meta.stop_token_ids.end())
      meta.stop_token_ids.push_back(id);
  const CheckpointWeights weights(std::make_shared<const Checkpoint>(dir));
  if (const auto* q = std::get_if<Qwen3MoeConfig>(&config)) return make_qwen3_moe(*q, weights, std::move(meta), options);
  if (const auto* g = std::get_if<GptOssConfig>(&config)) return make_gpt_oss(*g, weights, std::move(meta), options);
  throw UnsupportedError(fmt::format("{}: model_type '{}' has no native forward in this build yet", meta.what,
                                     base.model_type));
}

}  // namespace moeroute::detail
