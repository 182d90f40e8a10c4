// One function per import format (each in its own file); import.cpp dispatches to them.
// Formats and their conventions: docs/import.md.
#pragma once

#include "io/import/chunk_builder.h"

namespace moeroute::detail {

/// A moeroute trace handed on in chunks (loaded whole: traces are not streamed).
ImportReport stream_moeroute_trace(const std::filesystem::path& path, const ImportOptions& options,
                                   const std::function<void(RouterTrace&&)>& on_chunk);
void import_llama_cpp_experts(ImportContext& ctx, ChunkBuilder& out);
void import_vllm_npy(ImportContext& ctx, ChunkBuilder& out);
void import_vllm_npz(ImportContext& ctx, ChunkBuilder& out);
void import_vllm_jsonl(ImportContext& ctx, ChunkBuilder& out);
void import_sglang_dump(ImportContext& ctx, ChunkBuilder& out);
void import_sglang_jsonl(ImportContext& ctx, ChunkBuilder& out);
void import_megatron_trace(ImportContext& ctx, ChunkBuilder& out);

}  // namespace moeroute::detail
