// import_stream: format dispatch and the expert-count first pass.
#include "moeroute/import.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/trace_rows.h"
#include "io/import/importers.h"

namespace moeroute {

namespace {

struct FormatName {
  ImportFormat format;
  const char* name;
};
constexpr FormatName kFormats[] = {
    {ImportFormat::Auto, "auto"},
    {ImportFormat::MoerouteTrace, "trace"},
    {ImportFormat::LlamaCppExperts, "llama.cpp"},
    {ImportFormat::VllmNpy, "vllm-npy"},
    {ImportFormat::VllmNpz, "vllm-npz"},
    {ImportFormat::VllmJsonl, "vllm-jsonl"},
    {ImportFormat::SglangDump, "sglang-dump"},
    {ImportFormat::SglangJsonl, "sglang-jsonl"},
    {ImportFormat::MegatronTrace, "megatron"},
};

void dispatch(ImportFormat f, detail::ImportContext& ctx, detail::ChunkBuilder& out) {
  switch (f) {
    case ImportFormat::LlamaCppExperts: return detail::import_llama_cpp_experts(ctx, out);
    case ImportFormat::VllmNpy: return detail::import_vllm_npy(ctx, out);
    case ImportFormat::VllmNpz: return detail::import_vllm_npz(ctx, out);
    case ImportFormat::VllmJsonl: return detail::import_vllm_jsonl(ctx, out);
    case ImportFormat::SglangDump: return detail::import_sglang_dump(ctx, out);
    case ImportFormat::SglangJsonl: return detail::import_sglang_jsonl(ctx, out);
    case ImportFormat::MegatronTrace: return detail::import_megatron_trace(ctx, out);
    case ImportFormat::MoerouteTrace:
    case ImportFormat::Auto: break;
  }
  throw Error("import: unresolved format");
}

// One pass over the file. Returns the largest expert id seen.
int32_t run_pass(const std::filesystem::path& path, const ImportOptions& options, ImportReport& report,
                 int num_experts, bool scan_only, const std::function<void(RouterTrace&&)>& sink) {
  detail::ImportContext ctx{path, path == "-" ? "standard input" : path.string(), options, report, num_experts,
                            scan_only};
  detail::ChunkBuilder out(ctx, sink);
  dispatch(report.format, ctx, out);
  out.finish();
  if (!out.begun()) throw InputError(fmt::format("{}: no routed tokens found", ctx.name));
  report.num_experts = out.num_experts();
  return out.max_id();
}

}  // namespace

std::string to_string(ImportFormat f) {
  for (const auto& n : kFormats)
    if (n.format == f) return n.name;
  return "?";
}

std::vector<std::string> import_format_names() {
  std::vector<std::string> out;
  for (const auto& n : kFormats) out.emplace_back(n.name);
  return out;
}

ImportFormat parse_import_format(const std::string& name) {
  for (const auto& n : kFormats)
    if (name == n.name) return n.format;
  throw InputError(fmt::format("unknown import format '{}': expected one of {}", name,
                               fmt::join(import_format_names(), ", ")));
}

ImportReport import_stream(const std::filesystem::path& path, const ImportOptions& options,
                           const std::function<void(RouterTrace&&)>& on_chunk) {
  if (options.chunk_rows <= 0) throw InputError(fmt::format("chunk_rows must be > 0, got {}", options.chunk_rows));
  if (options.num_experts < 0) throw InputError(fmt::format("--num-experts must be > 0, got {}", options.num_experts));
  if (path == "-" && options.num_experts == 0)
    throw InputError("standard input: pass --num-experts (standard input cannot be read twice to find the largest "
                     "expert id)");
  ImportReport report;
  report.format = options.format == ImportFormat::Auto ? detect_import_format(path) : options.format;
  if (report.format == ImportFormat::MoerouteTrace) return detail::stream_moeroute_trace(path, options, on_chunk);
  try {
    run_pass(path, options, report, options.num_experts, false, on_chunk);
    return report;
  } catch (const detail::NeedExpertCount&) {
    // Nothing was handed over yet: the first rows could not be shaped.
  }
  ImportReport scan;
  scan.format = report.format;
  const int32_t max_id = run_pass(path, options, scan, 0, true, [](RouterTrace&&) {});
  report = ImportReport{};
  report.format = scan.format;
  run_pass(path, options, report, max_id + 1, false, on_chunk);
  report.num_experts_inferred = true;
  report.notes.insert(report.notes.begin(),
                      fmt::format("num_experts inferred as the largest expert id + 1 = {} (no --num-experts; an "
                                  "expert never chosen above it would be missed)",
                                  max_id + 1));
  return report;
}

void append_rows(RouterTrace& into, RouterTrace&& chunk) {
  if (into.layers.empty()) {
    into = std::move(chunk);
    return;
  }
  std::vector<RouterTrace> parts;
  parts.push_back(std::move(into));
  parts.push_back(std::move(chunk));
  into = detail::concat_rows(std::move(parts));
}

RouterTrace import_trace(const std::filesystem::path& path, const ImportOptions& options, ImportReport* report) {
  std::vector<RouterTrace> chunks;
  const ImportReport r = import_stream(path, options, [&](RouterTrace&& t) { chunks.push_back(std::move(t)); });
  if (chunks.empty()) throw InputError(fmt::format("{}: no routed tokens found", path.string()));
  RouterTrace all = detail::concat_rows(std::move(chunks));
  for (size_t i = 0; i < r.notes.size(); ++i) all.meta.extra[fmt::format("import.note.{}", i)] = r.notes[i];
  if (r.bad_records > 0) all.meta.extra["import.bad_records"] = std::to_string(r.bad_records);
  all.validate(path.string());
  if (report) *report = r;
  return all;
}

std::vector<int> parse_layer_map(const std::string& text) {
  std::vector<int> out;
  size_t i = 0;
  const auto fail = [&](const std::string& why) {
    throw InputError(fmt::format("--layer-map '{}': {} (expected e.g. 3-47 or 1,3,5-7)", text, why));
  };
  const auto number = [&]() {
    const size_t start = i;
    long v = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - start < 7) v = v * 10 + (text[i++] - '0');
    if (i == start) fail(fmt::format("expected a layer number at character {}", start + 1));
    return static_cast<int>(v);
  };
  while (i < text.size()) {
    const int a = number();
    int b = a;
    if (i < text.size() && text[i] == '-') {
      ++i;
      b = number();
      if (b < a) fail(fmt::format("range {}-{} runs backwards", a, b));
    }
    for (int v = a; v <= b; ++v) out.push_back(v);
    if (i < text.size()) {
      if (text[i] != ',') fail(fmt::format("unexpected '{}' at character {}", text[i], i + 1));
      ++i;
      if (i == text.size()) fail("ends with ','");
    }
  }
  if (out.empty()) fail("no layers");
  for (size_t j = 1; j < out.size(); ++j)
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(j), out[j]) != out.begin() + static_cast<std::ptrdiff_t>(j))
      fail(fmt::format("layer {} appears twice", out[j]));
  return out;
}

}  // namespace moeroute
