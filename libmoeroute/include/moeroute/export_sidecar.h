// The sidecar `FILE.pt.json` that tools/export_torchscript.py writes next to a TorchScript export
// (format: docs/export.md): what load_model() needs to configure itself without flags — the
// routing rule, the gate modules, the stop tokens and where the tokenizer is. No LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/routing.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Where the exporter found the model's tokenizer files.
struct ExportTokenizer {
  std::filesystem::path dir;       ///< directory holding tokenizer.json, resolved against the sidecar's directory
  std::vector<std::string> files;  ///< files the exporter found there (tokenizer.json always among them)
  std::string hub_id;              ///< Hub id the files were cached from; "" for a local checkpoint
};

/// A validated export sidecar.
struct ExportSidecar {
  std::filesystem::path file;          ///< the sidecar that was read (names it in errors)
  std::string model_type;              ///< transformers config.model_type, e.g. "qwen3_moe"
  std::string source;                  ///< the checkpoint as the exporter wrote it (relative path or Hub id)
  std::string revision;                ///< Hub revision; "" when none was given
  std::string model_id;                ///< `source` resolved: a local checkpoint's path (relative to the sidecar's
                                       ///< directory when it was written relative), else the Hub id
  std::string dtype;                   ///< dtype of the export's weights: "float32", "bfloat16" or "float16"
  std::string device;                  ///< device the export was traced on and must run on: "cpu" or "cuda[:N]"
  int64_t vocab_size = 0;              ///< width of the export's logits
  int num_layers = 0;                  ///< decoder layers (dense ones included)
  int num_experts = 0;                 ///< experts per MoE layer
  RoutingRule routing;                 ///< routing_rule + top_k + norm_topk_prob as a RoutingRule
  bool router_bias = false;            ///< the gates add a bias (gpt-oss); the hooked logits include it
  std::vector<LayerInfo> moe_layers;   ///< gate_paths with their moe_layers indices, same order
  std::vector<int64_t> eos_token_ids;  ///< eos_token_id (an int or a list); empty when null
  std::optional<int64_t> bos_token_id; ///< bos_token_id; none when null
  std::optional<ExportTokenizer> tokenizer;  ///< none when the exporter found no tokenizer.json
};

/// The sidecar of an export: "<export_file>.json" (qwen3.pt → qwen3.pt.json).
std::filesystem::path export_sidecar_path(const std::filesystem::path& export_file);

/// Reads and validates a sidecar. A missing file throws IoError; invalid JSON, a wrong format or
/// version, a missing or mistyped field, or fields that contradict each other (top_k above
/// num_experts, a gate path whose layer number differs from moe_layers, …) throw InputError
/// "<file>: field '<name>': <what was expected>".
ExportSidecar load_export_sidecar(const std::filesystem::path& file);

/// The same from the JSON text; `file` names it in errors and resolves relative paths.
ExportSidecar parse_export_sidecar(const std::string& text, const std::filesystem::path& file);

}  // namespace moeroute
