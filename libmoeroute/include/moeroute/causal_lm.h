// The model interface every job runs against: a causal language model whose MoE routing can be
// recorded, the options it is loaded with, and what it tells about itself. Torch-free: the
// LibTorch implementations (TorchScript exports, native Qwen3-MoE / gpt-oss, built-in demo models)
// live in the torch plugin and are reached through moeroute/model_registry.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "moeroute/routing.h"
#include "moeroute/tokenizer.h"
#include "moeroute/trace.h"
#include "moeroute/trace_io.h"

namespace moeroute {

/// Parameter dtype a model runs in.
enum class ModelDtype {
  Auto,      ///< TorchScript: as stored; native: float32 on the CPU, the checkpoint's dtype on CUDA
  Float32,
  BFloat16,
  Float16,
};
/// "auto", "float32", "bfloat16", "float16".
std::string to_string(ModelDtype d);
/// Accepts the names above and f32, bf16, f16; throws InputError naming `what` otherwise.
ModelDtype parse_model_dtype(std::string_view text, std::string_view what = "dtype");

/// How native models run their routed experts (docs/native-models.md, "Experts").
enum class ExpertsImpl {
  Auto,     ///< loop on the CPU; on CUDA gather for few tokens, grouped otherwise
  Loop,     ///< per active expert: gather its tokens, two matmuls
  Gather,   ///< gather each (token, expert) pair's weights and batch-multiply; no host sync
  Grouped,  ///< sort pairs by expert into a padded block, one batched matmul per projection
};
/// "auto", "loop", "gather", "grouped".
std::string to_string(ExpertsImpl e);
/// Inverse of to_string; throws InputError naming `what` otherwise.
ExpertsImpl parse_experts_impl(std::string_view text, std::string_view what = "experts");

/// Where a model runs: one device, every CUDA device ("auto"), or an explicit map of module
/// prefixes to devices (docs/native-models.md, "Placement").
struct DeviceMap {
  enum class Kind {
    Device,    ///< all on `device`
    Auto,      ///< native models: decoder layers spread over all CUDA devices by memory; without CUDA the CPU
    Explicit,  ///< native models: `entries` give each part's device by the longest matching module prefix
  };
  Kind kind = Kind::Device;  ///< which of the three
  std::string device = "cpu";  ///< Kind::Device: "cpu", "cuda" or "cuda:N"
  std::vector<std::pair<std::string, std::string>> entries;  ///< Kind::Explicit: module prefix → device

  /// "cpu", "cuda:1", "auto", or "{prefix: device, …}" for an explicit map.
  std::string to_string() const;
  /// A device name ("cpu", "cuda", "cuda:N") checked for syntax only; throws InputError naming `what`.
  static std::string check_device(std::string_view text, std::string_view what = "device");
  /// "auto" or a device name.
  static DeviceMap parse(std::string_view text, std::string_view what = "device_map");
};

/// How a model is loaded. Every enum is parsed once where the user wrote it (input.json, the CLI:
/// moeroute/run_config.h); backends receive typed values.
struct ModelOptions {
  DeviceMap device_map;                    ///< where it runs (default: the CPU)
  ModelDtype dtype = ModelDtype::Auto;     ///< parameter and activation dtype
  ModelDtype weight_dtype = ModelDtype::Auto;  ///< native models on the CPU in float32: storage of the weight matrices
                                           ///< (bfloat16/float16 widen exactly in the products); auto = 16-bit
                                           ///< checkpoints (and MXFP4, as bfloat16) stay as stored (docs/native-models.md)
  std::vector<int64_t> gpu_memory;         ///< device_map auto: usable bytes per GPU; empty = free memory − 10 %
  ExpertsImpl experts = ExpertsImpl::Auto; ///< native models: experts implementation
  bool cuda_graphs = true;                 ///< native models on one CUDA device: decode steps replayed from CUDA graphs
                                           ///< (docs/gpu.md); false runs every step op by op
  int threads = 0;                         ///< CPU threads of the model's math, process-wide (0 = LibTorch's default)
  std::vector<std::string> gate_patterns;  ///< TorchScript: router module-path globs; empty = the defaults
  std::optional<RoutingRule> routing_rule; ///< TorchScript: overrides the rule from the sidecar or config.json
  std::shared_ptr<const Tokenizer> tokenizer;  ///< tokenizer to use; null = the model's own
  bool install_hooks = true;               ///< false runs the model unhooked (benchmarks; records nothing)
};

/// What a loaded model is, as far as recording needs to know.
struct ModelInfo {
  std::string model_id;                 ///< "builtin:tiny-moe", the checkpoint directory or the export's path
  std::string source;                   ///< producer written to traces: "torchscript", "native"
  std::vector<LayerInfo> moe_layers;    ///< router layers in slot order (sorted numerically)
  int num_experts = 0;                  ///< experts per MoE layer
  RoutingRule routing;                  ///< the routers' rule (top_k = the model's k)
  int64_t vocab_size = 0;               ///< width of the next-token logits
  int64_t max_positions = 0;            ///< context length the model was trained for (0 = unknown)
  std::vector<int64_t> stop_token_ids;  ///< tokens that end generation by default (EOS, end of turn)
  bool padded_batches = false;          ///< forward() takes rows of different lengths (left padding + mask)
  std::string device;                   ///< where it runs: "cpu", "cuda:0", "cuda:0,cuda:1"
  std::string dtype;                    ///< parameter dtype: "float32", "bfloat16", "float16"
  std::string weight_dtype;             ///< how the weight matrices are stored, when not in `dtype` ("bfloat16";
                                        ///< "bfloat16+float32" when mixed); "" = in `dtype`
  std::string chat_template = "raw";    ///< the model's default chat template (built-in name or file, chat_template.h);
                                        ///< "" = it has one no built-in reproduces. Use model_chat_template()
  std::string chat_template_dir;        ///< the model's tokenizer directory (chat_template.jinja, tokenizer_config.json);
                                        ///< "" = none, e.g. built-in models
};

/// What is recorded and how (the recorder's options).
struct RecorderOptions {
  std::vector<int> layers;                      ///< numeric layer indices to record; empty = every MoE layer
  bool keep_logits = true;                      ///< keep full router logits; false = top-k ids and weights only
  LogitsDtype logits_dtype = LogitsDtype::F32;  ///< precision logits are kept in (F16/BF16 halve the copies)
  int top_k = 0;                                ///< experts recorded per token; 0 = the routing rule's k
};

/// Where a model's forward passes deliver routing: one per generation, made by
/// CausalLM::make_recorder for that model.
class RoutingRecorder {
 public:
  virtual ~RoutingRecorder() = default;
  /// Waits for outstanding copies and returns sequence `row`'s routing so far: layers sorted by
  /// numeric index, positions in recording order, prompt_length 0 and no tokens (callers fill
  /// meta, tokens and prompt_length).
  virtual RouterTrace trace(int row) = 0;
  /// The recorded layers, sorted by numeric index.
  virtual const std::vector<LayerInfo>& layers() const = 0;
  /// The effective rule (top_k applied).
  virtual const RoutingRule& rule() const = 0;
};

/// One forward pass over several sequences.
struct ForwardRequest {
  std::vector<std::vector<int64_t>> rows;  ///< token ids per sequence (≥ 1 token each)
  std::vector<int64_t> record_last;        ///< per row: trailing positions whose routing is recorded (0 = none)
  bool want_logits = true;                 ///< return next-token logits after each row's last token
  std::vector<int64_t> score_last;         ///< per row: trailing positions p whose log p(row[p+1]) is returned
                                           ///< (p < the row's last position); empty = none

  /// Throws Error for a malformed request (no rows, an empty row, record_last/score_last of the
  /// wrong size or outside the row) and InputError for a token id outside [0, vocab_size)
  /// (vocab_size 0: unchecked). `what` names the model.
  void validate(int64_t vocab_size, const std::string& what) const;
};

struct ForwardResult {
  std::vector<std::vector<float>> logits;  ///< per row: float next-token logits [vocab_size] (empty unless want_logits)
  std::vector<std::vector<double>> next_token_logprobs;  ///< per row: natural-log probability of each scored
                                                         ///< position's next token, in position order
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
  /// A recorder for `rows` sequences side by side. Throws InputError for a layer in
  /// options.layers the model does not have or a top_k its experts cannot give.
  virtual std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions& options, int rows) const = 0;
  /// Runs `request` (rows of different lengths only when info().padded_batches). When `recorder`
  /// (made by this model's make_recorder with rows = request.rows.size()) is set, it receives the
  /// routing of the last record_last[r] positions of row r.
  virtual ForwardResult forward(const ForwardRequest& request, RoutingRecorder* recorder) = 0;
};

}  // namespace moeroute
