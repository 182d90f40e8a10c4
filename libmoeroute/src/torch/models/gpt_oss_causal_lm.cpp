// CausalLM over GptOssModel with a KV cache: a forward whose rows extend the rows of the previous
// forward runs only the new tokens (right-aligned in a chunk, earlier columns padding); anything
// else (another batch, a changed prefix, recording positions already cached) starts over.
#include "torch/models/gpt_oss_causal_lm.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/checkpoint_tensor.h"
#include "moeroute/error.h"
#include "moeroute/hf_tokenizer.h"
#include "torch/torchscript/torchscript_model.h"

namespace moeroute::detail {

namespace {

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return c10::toString(t);
  }
}

at::ScalarType parse_dtype(const std::string& s, at::ScalarType stored) {
  if (s == "auto") return stored == at::kDouble ? at::kFloat : stored;
  if (s == "float32" || s == "fp32" || s == "f32") return at::kFloat;
  if (s == "bfloat16" || s == "bf16") return at::kBFloat16;
  if (s == "float16" || s == "fp16" || s == "f16" || s == "half") return at::kHalf;
  throw InputError(fmt::format("dtype '{}' is not one of auto, float32, bfloat16, float16", s));
}

class GptOssLM final : public CausalLM {
 public:
  GptOssLM(std::unique_ptr<GptOssModel> model, GptOssMeta meta) : model_(std::move(model)), meta_(std::move(meta)) {
    const auto& c = model_->config();
    info_.model_id = meta_.model_id;
    info_.source = "native";
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
      info_.moe_layers.push_back({fmt::format("model.layers.{}.mlp.router", i), static_cast<int>(i)});
    info_.num_experts = static_cast<int>(c.num_experts);
    info_.routing = gpt_oss_rule(static_cast<int>(c.num_experts_per_tok));
    info_.vocab_size = c.vocab_size;
    info_.stop_token_ids = meta_.stop_token_ids;
    info_.padded_batches = true;
    info_.device = model_->device().str();
    info_.dtype = dtype_name(model_->dtype());
    pad_id_ = c.pad_token_id.value_or(0);
    if (meta_.tokenizer && meta_.tokenizer->vocab_size() > info_.vocab_size)
      throw InputError(fmt::format("{}: the tokenizer has {} ids but the model only {} logits", meta_.model_id,
                                   meta_.tokenizer->vocab_size(), info_.vocab_size));
  }

  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return meta_.tokenizer.get(); }

  std::vector<std::vector<float>> forward(const ForwardRequest& request, Recorder* recorder) override {
    const auto& rows = request.rows;
    const auto B = static_cast<int64_t>(rows.size());
    if (B == 0) throw Error("forward: no rows");
    if (request.record_last.size() != rows.size()) throw Error("forward: record_last needs one entry per row");
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].empty()) throw Error("forward: empty row");
      if (request.record_last[r] < 0 || request.record_last[r] > static_cast<int64_t>(rows[r].size()))
        throw Error("forward: record_last outside the row");
    }
    // Reuse the cache when every row extends its cached tokens by at least what is recorded.
    bool reuse = static_cast<int64_t>(cached_.size()) == B;
    for (size_t r = 0; reuse && r < rows.size(); ++r) {
      const auto& c = cached_[r];
      const auto& row = rows[r];
      const auto fresh = static_cast<int64_t>(row.size() - std::min(c.size(), row.size()));
      reuse = c.size() <= row.size() && std::equal(c.begin(), c.end(), row.begin()) &&
              fresh >= request.record_last[r] && (fresh > 0 || last_logits_[r].size() > 0 || !request.want_logits);
    }
    if (!reuse) {
      cache_.clear();
      cached_.assign(rows.size(), {});
      last_logits_.assign(rows.size(), {});
    }
    int64_t T = 0;
    for (size_t r = 0; r < rows.size(); ++r)
      T = std::max(T, static_cast<int64_t>(rows[r].size()) - static_cast<int64_t>(cached_[r].size()));
    if (T > 0) run(request, T, recorder);
    std::vector<std::vector<float>> out(rows.size());
    if (request.want_logits)
      for (size_t r = 0; r < rows.size(); ++r) out[r] = last_logits_[r];
    return out;
  }

 private:
  // Runs the uncached suffix of every row as one [B, T] chunk, right-aligned.
  void run(const ForwardRequest& request, int64_t T, Recorder* recorder) {
    const auto& rows = request.rows;
    const auto B = static_cast<int64_t>(rows.size());
    auto ids = at::full({B, T}, pad_id_, at::kLong);
    auto pos = at::full({B, T}, -1, at::kLong);
    std::vector<RowWindow> windows;
    for (int64_t b = 0; b < B; ++b) {
      const auto& row = rows[static_cast<size_t>(b)];
      const auto done = static_cast<int64_t>(cached_[static_cast<size_t>(b)].size());
      const int64_t n = static_cast<int64_t>(row.size()) - done;
      int64_t* pid = ids.data_ptr<int64_t>() + b * T + (T - n);
      int64_t* ppos = pos.data_ptr<int64_t>() + b * T + (T - n);
      for (int64_t t = 0; t < n; ++t) {
        pid[t] = row[static_cast<size_t>(done + t)];
        ppos[t] = done + t;
      }
      const int64_t rec = request.record_last[static_cast<size_t>(b)];
      windows.push_back({T - rec, rec});
    }
    c10::InferenceMode guard;
    const auto& dev = model_->device();
    if (recorder) recorder->begin_forward(B, T, std::move(windows));
    at::Tensor hidden;
    try {
      hidden = model_->forward(ids.to(dev), pos.to(dev), &cache_, recorder);
    } catch (const c10::Error& e) {
      cache_.clear();
      cached_.clear();
      throw Error(fmt::format("{}: forward failed: {}", meta_.model_id, e.what_without_backtrace()));
    }
    if (recorder) recorder->end_forward();
    if (request.want_logits) {
      const auto last = model_->logits(hidden.select(1, T - 1)).to(at::kFloat).to(at::kCPU).contiguous();
      const int64_t V = last.size(1);
      for (int64_t b = 0; b < B; ++b)
        if (rows[static_cast<size_t>(b)].size() > cached_[static_cast<size_t>(b)].size())
          last_logits_[static_cast<size_t>(b)].assign(last.data_ptr<float>() + b * V,
                                                      last.data_ptr<float>() + (b + 1) * V);
    } else {
      for (size_t r = 0; r < rows.size(); ++r)
        if (rows[r].size() > cached_[r].size()) last_logits_[r].clear();  // stale now
    }
    cached_ = rows;
  }

  std::unique_ptr<GptOssModel> model_;
  GptOssMeta meta_;
  ModelInfo info_;
  int64_t pad_id_ = 0;
  GptOssCache cache_;
  std::vector<std::vector<int64_t>> cached_;     // per row: the tokens whose keys/values are cached
  std::vector<std::vector<float>> last_logits_;  // per row: next-token logits after cached_[r]
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Stop tokens: config eos plus generation_config.json's eos_token_id (gpt-oss lists <|return|>,
// <|endoftext|> and <|call|> there).
std::vector<int64_t> stop_tokens(const std::filesystem::path& dir, const GptOssConfig& config) {
  std::vector<int64_t> ids = config.eos_token_ids;
  const auto gen = dir / "generation_config.json";
  if (std::filesystem::is_regular_file(gen)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text(gen));
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(fmt::format("{}: not valid JSON: {}", gen.string(), e.what()));
    }
    if (j.is_object() && j.contains("eos_token_id")) {
      const auto& v = j["eos_token_id"];
      if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
      else if (v.is_array())
        for (const auto& x : v)
          if (x.is_number_integer()) ids.push_back(x.get<int64_t>());
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

std::unique_ptr<CausalLM> make_gpt_oss_lm(const GptOssConfig& config, const WeightSource& source, GptOssMeta meta,
                                          const ModelOptions& options) {
  const auto device = parse_device(options.device);
  if (!source.contains("model.embed_tokens.weight"))
    throw InputError(fmt::format("{}: tensor 'model.embed_tokens.weight' is missing", source.what));
  const auto stored = source.load("model.embed_tokens.weight").scalar_type();
  const auto dtype = parse_dtype(options.dtype, stored);
  if (dtype == at::kHalf && device.is_cpu())
    throw UnsupportedError(fmt::format("{}: float16 needs a CUDA device (LibTorch's CPU matmul has no float16 kernel); "
                                       "use bfloat16 or float32 on the CPU",
                                       meta.model_id));
  auto weights = load_gpt_oss_weights(source, config, device, dtype);
  auto model = std::make_unique<GptOssModel>(config, std::move(weights), device, dtype);
  return std::make_unique<GptOssLM>(std::move(model), std::move(meta));
}

std::unique_ptr<CausalLM> load_gpt_oss_dir(const std::string& dir, const GptOssConfig& config,
                                           const ModelOptions& options) {
  const std::filesystem::path path(dir);
  auto checkpoint = std::make_shared<const Checkpoint>(path);
  WeightSource source;
  source.what = path.string();
  source.contains = [checkpoint](const std::string& n) { return checkpoint->contains(n); };
  source.shape = [checkpoint](const std::string& n) { return checkpoint->info(n).shape; };
  source.where = [checkpoint](const std::string& n) { return checkpoint->file_of(n).path().string(); };
  source.load = [checkpoint](const std::string& n) {
    return load_checkpoint_tensor(checkpoint, n, c10::Device(c10::kCPU), std::nullopt);
  };
  GptOssMeta meta;
  meta.model_id = dir;
  meta.stop_token_ids = stop_tokens(path, config);
  if (options.tokenizer) meta.tokenizer = options.tokenizer;
  else if (std::filesystem::is_regular_file(path / "tokenizer.json")) meta.tokenizer = load_tokenizer(path);
  return make_gpt_oss_lm(config, source, std::move(meta), options);
}

}  // namespace moeroute::detail
