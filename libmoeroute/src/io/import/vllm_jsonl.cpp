// JSON Lines of vLLM completions (docs/import.md, "vLLM"): one request per line, either an
// OpenAI-compatible response body (`choices[i].routed_experts`, response-level
// `prompt_routed_experts` and `prompt_token_ids`, `choices[i].token_ids`) or a dump of
// RequestOutput (`outputs[i]` with the same fields, `request_id`), or one completion's fields at
// the top level. routed_experts is a nested [tokens, layers, top_k] list (vLLM ≤ 0.2x) or a
// base64 .npy string (numpy2base64, vLLM 0.3x).
#include <fmt/format.h>

#include "io/base64.h"
#include "io/import/importers.h"
#include "io/import/json_records.h"
#include "io/import/routed_requests.h"
#include "io/npy.h"

namespace moeroute::detail {

namespace {

RoutedArray routed_array(const JsonField& f) {
  RoutedArray a;
  if (f.is_null()) return a;
  if (f.is_string()) {
    const std::string bytes = base64_decode(f.string(), f.where());
    if (!looks_like_npy(bytes))
      f.fail("expected base64 of a .npy array (vLLM's numpy2base64); raw int32 bytes are SGLang's: use --format "
             "sglang-jsonl");
    const NpyArray h = parse_npy_header(bytes, f.where());
    if (h.shape.size() != 3) f.fail(fmt::format("expected a [tokens, layers, top_k] array, got {} dimensions", h.shape.size()));
    if (h.count() == UINT64_MAX || h.data_offset + h.count() * static_cast<uint64_t>(h.itemsize) > bytes.size())
      f.fail("the .npy data is shorter than its shape");
    a.rows = h.shape[0];
    a.layers = static_cast<int>(h.shape[1]);
    a.top_k = static_cast<int>(h.shape[2]);
    a.ids = npy_integers(h, bytes.data() + h.data_offset, h.count(), f.where());
  } else {
    std::vector<int64_t> shape;
    a.ids = json_int_array(f, 3, shape);
    a.rows = shape[0];
    a.layers = static_cast<int>(shape[1]);
    a.top_k = static_cast<int>(shape[2]);
  }
  if (a.rows > 0 && (a.layers == 0 || a.top_k == 0)) f.fail("routing rows without layers or experts");
  return a;
}

std::string label_of(const JsonField& record, int64_t line) {
  for (const char* key : {"request_id", "id"})
    if (record.has(key) && record.at(key).is_string()) return record.at(key).string();
  return fmt::format("line {}", line);
}

}  // namespace

void import_vllm_jsonl(ImportContext& ctx, ChunkBuilder& out) {
  std::optional<RoutedRequestWriter> writer;
  for_each_json_record(ctx, [&](const JsonField& rec, int64_t line) {
    rec.expect_object("a vLLM completion");
    const bool split = rec.contains("prompt_routed_experts");
    if (!writer) writer.emplace(ctx, out, !split);
    const std::string where = fmt::format("{}:{}", ctx.name, line);
    std::optional<std::vector<int64_t>> prompt_ids;
    if (rec.has("prompt_token_ids")) prompt_ids = json_int64_list(rec.at("prompt_token_ids"));
    RoutedArray prompt;
    if (split) prompt = routed_array(rec.at("prompt_routed_experts"));
    // The completions: choices (OpenAI), outputs (RequestOutput), or the record itself.
    std::vector<JsonField> completions;
    if (rec.has("choices")) completions = rec.at("choices").elements();
    else if (rec.has("outputs")) completions = rec.at("outputs").elements();
    else if (rec.contains("routed_experts")) completions = {rec};
    else rec.fail("no choices, outputs or routed_experts");
    const std::string label = label_of(rec, line);
    for (const JsonField& c : completions) {
      c.expect_object("a completion");
      RoutedRequest r;
      r.label = completions.size() > 1 || c.has("index") ? fmt::format("{}#{}", label, c.integer_or("index", 0)) : label;
      r.where = where;
      r.prompt = prompt;
      if (!c.contains("routed_experts")) c.fail("no routed_experts (was vLLM started with --enable-return-routed-experts?)");
      r.routed = routed_array(c.at("routed_experts"));
      r.prompt_ids = prompt_ids;
      if (c.has("token_ids")) r.output_ids = json_int64_list(c.at("token_ids"));
      if (split) r.layout = RowLayout::Split;
      else if (r.prompt_ids && r.output_ids) r.layout = RowLayout::RightAligned;
      else r.layout = RowLayout::FromZero;
      writer->write(std::move(r));
    }
  });
}

}  // namespace moeroute::detail
