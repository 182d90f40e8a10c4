// Importing routing recorded by other systems — llama.cpp logs, vLLM, SGLang, Megatron-Core —
// into RouterTrace. Importers stream: they hand over chunks of at most `chunk_rows` rows, so a
// file of any size is read in constant memory. Every format, what it holds and how to record
// it: docs/import.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "moeroute/trace.h"
#include "moeroute/trace_io.h"

namespace moeroute {

/// The formats import_stream reads.
enum class ImportFormat {
  Auto,            ///< detect_import_format decides
  MoerouteTrace,   ///< a moeroute trace (.safetensors), handed on in chunks
  LlamaCppExperts, ///< llama.cpp expert-selection log: "layer_id,expert_ids" lines
  VllmNpy,         ///< a vLLM routed_experts array saved with numpy.save: [tokens, layers, top_k]
  VllmNpz,         ///< numpy.savez of one request's routed_experts (+ prompt_routed_experts, token ids)
  VllmJsonl,       ///< JSON Lines of vLLM completions (OpenAI responses or RequestOutput dumps)
  SglangDump,      ///< SGLang ExpertDistributionRecorder per_token dump (torch.save)
  SglangJsonl,     ///< JSON Lines of SGLang /generate responses with meta_info.routed_experts
  MegatronTrace,   ///< Megatron-Core router_trace_rank{r}.jsonl (+ logits_rank{r}.bin)
};

/// "auto", "trace", "llama.cpp", "vllm-npy", "vllm-npz", "vllm-jsonl", "sglang-dump",
/// "sglang-jsonl", "megatron".
std::string to_string(ImportFormat f);
/// Inverse of to_string; throws InputError listing the names otherwise.
ImportFormat parse_import_format(const std::string& name);
/// Every name parse_import_format accepts, "auto" first.
std::vector<std::string> import_format_names();

struct ImportOptions {
  ImportFormat format = ImportFormat::Auto;  ///< Auto = detect_import_format(path)
  int num_experts = 0;         ///< experts per layer; 0 = from the source, else inferred as max id + 1 (reported)
  bool skip_bad_lines = false; ///< skip and count malformed lines/records instead of stopping at the first
  std::vector<int> layer_map;  ///< model layer index of the source's i-th layer (sources numbering MoE layers or
                               ///< pipeline-local layers); empty = the source's own numbers
  int top_k = 0;               ///< experts per token for sources that store no shape (SGLang base64); 0 = infer
  int num_layers = 0;          ///< layers for sources that store no shape (SGLang base64); 0 = infer
  int64_t chunk_rows = 65536;  ///< most rows per chunk handed to on_chunk (fewer when rows are wide: ≤ 4 MiB of ids and logits a chunk)
  std::string model_id;        ///< stored as meta.model_id ("" = the file name)
};

/// What an import found and did, for the user (moeroute import prints it).
struct ImportReport {
  ImportFormat format = ImportFormat::Auto;  ///< the format read (Auto resolved)
  int64_t rows = 0;            ///< routed tokens imported
  int64_t sequences = 0;       ///< distinct sequences (requests, passes, steps) among them
  int64_t chunks = 0;          ///< chunks handed to on_chunk
  int64_t bad_records = 0;     ///< lines/records skipped with skip_bad_lines
  std::string first_bad;       ///< the first skipped line's error message ("" = none)
  int num_layers = 0;          ///< router layers per row
  int num_experts = 0;         ///< experts per layer
  int top_k = 0;               ///< experts per token
  bool num_experts_inferred = false;  ///< num_experts is max id + 1 (no option, the source does not say)
  std::vector<std::string> notes;     ///< what the source lacks, layers dropped, conventions applied
};

/// The format of `path` from its first bytes (and, for zip archives, its member names).
/// Cheap: reads at most a few MiB. Throws UnsupportedError naming what was seen when no
/// importable format matches; InputError for files that are another moeroute input
/// (a training log, a gate-input log) with the command that reads them.
ImportFormat detect_import_format(const std::filesystem::path& path);

/// Streams `path` as RouterTrace chunks of at most options.chunk_rows rows into `on_chunk`.
/// Every chunk is a valid trace with the same layers, num_experts and top_k; rows carry
/// sequence_ids/positions/segments where the source knows them (docs/import.md per format), and
/// meta.extra says what the source lacks. When num_experts is neither given nor recorded, the
/// file is read twice (the first pass finds the largest id). Throws InputError with the file and
/// line (or record) of the first bad input unless skip_bad_lines; IoError on read failures.
ImportReport import_stream(const std::filesystem::path& path, const ImportOptions& options,
                           const std::function<void(RouterTrace&&)>& on_chunk);

/// import_stream, with the chunks concatenated into one trace. `report` (optional) receives
/// what import_stream returned.
RouterTrace import_trace(const std::filesystem::path& path, const ImportOptions& options = {},
                         ImportReport* report = nullptr);

/// A moeroute trace as stored (load_trace), any other importable file through import_trace:
/// what commands that take "a trace" (diff) accept.
RouterTrace read_trace(const std::filesystem::path& path, const ImportOptions& options = {});

/// The `moeroute import` job: imports `in` and writes `out` atomically — a trace (.safetensors,
/// save_trace with `save`), or for sources that hold expert counts only (SGLang stat/per_pass
/// dumps) the counts as CSV (`out` must end in .csv). Returns what the import found.
ImportReport import_to_file(const std::filesystem::path& in, const std::filesystem::path& out,
                            const ImportOptions& options = {}, const TraceSaveOptions& save = {});

/// The report as the CLI prints it: one summary line, then bad records and notes.
std::string format_import_report(const ImportReport& report);

/// Appends `chunk`'s rows to `into` (empty `into`: takes the chunk). Both must have the same
/// layers, num_experts, top_k, optional fields and id space; sequences are merged by id.
void append_rows(RouterTrace& into, RouterTrace&& chunk);

/// "3-5,7" → {3, 4, 5, 7}: a layer map as the CLI takes it. Throws InputError otherwise.
std::vector<int> parse_layer_map(const std::string& text);

/// Per-layer expert counts of sources that record no per-token routing (SGLang `stat` and
/// `per_pass` dumps): counts[pass, layer, expert].
struct ExpertCounts {
  std::vector<LayerInfo> layers;  ///< layer order of counts
  int num_experts = 0;            ///< logical experts
  std::vector<int64_t> passes;    ///< one id per count slab (forward_pass_id, or the buffered step index)
  std::vector<int64_t> counts;    ///< [passes, layers, num_experts]
  std::string source;             ///< "sglang-stat", "sglang-per-pass"
  std::vector<std::string> notes; ///< conventions applied
};

/// Reads the expert counts of an SGLang stat or per_pass dump (torch.save), physical slots
/// mapped to logical experts with the dump's last_physical_to_logical_map. Throws InputError for
/// other files (a per_token dump: use import_stream).
ExpertCounts import_expert_counts(const std::filesystem::path& path, const ImportOptions& options = {});

/// Whether `path` is an SGLang dump that holds counts only (stat / per_pass).
bool is_expert_counts_dump(const std::filesystem::path& path);

/// CSV "pass,layer,expert,count" of `counts` (docs/import.md).
std::string expert_counts_csv(const ExpertCounts& counts);

}  // namespace moeroute
