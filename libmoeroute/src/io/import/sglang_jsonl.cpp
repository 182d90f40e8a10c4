// JSON Lines of SGLang responses with per-request routing (docs/import.md, "SGLang"):
// /generate bodies `{"text", "output_ids", "meta_info": {"id", "prompt_tokens",
// "completion_tokens", "routed_experts"}}` (a line may hold a JSON array of them: batch requests),
// or OpenAI-compatible bodies with `choices[i].sglext.routed_experts`. routed_experts is base64
// of the raw int32 bytes of a [tokens, num_hidden_layers, top_k] array covering every token but
// the last (scheduler: `seqlen - 1 - start_len` rows); the shape is not stored, so it follows from
// the token counts and --top-k or --num-layers. Optional `input_ids` (added by the user from the
// request) give the prompt's token ids.
#include <cstring>

#include <fmt/format.h>

#include "io/base64.h"
#include "io/import/importers.h"
#include "io/import/json_records.h"
#include "io/import/routed_requests.h"

namespace moeroute::detail {

namespace {

// The [rows, layers, top_k] shape of `ints` int32 values for a request of P + G tokens.
void shape_of(int64_t ints, int64_t prompt, int64_t output, const ImportOptions& o, const JsonField& f, RoutedArray& a) {
  const int64_t rows_if_all = prompt + output - 1;
  int layers = o.num_layers, k = o.top_k;
  if (layers > 0 && k > 0) {
    if (ints % (int64_t{layers} * k) != 0)
      f.fail(fmt::format("{} ids are not a whole number of rows of {} layers × top-{} (--num-layers, --top-k)", ints,
                         layers, k));
  } else if (layers > 0 || k > 0) {
    const int64_t known = layers > 0 ? layers : k;
    if (rows_if_all <= 0 || ints % (rows_if_all * known) != 0)
      f.fail(fmt::format("{} ids do not split into {} rows × {} {} (prompt_tokens + completion_tokens − 1 rows); pass "
                         "both --num-layers and --top-k",
                         ints, rows_if_all, known, layers > 0 ? "layers" : "experts per token"));
    const int64_t other = ints / (rows_if_all * known);
    (layers > 0 ? k : layers) = static_cast<int>(other);
  } else {
    f.fail("SGLang stores routed_experts without a shape: pass --top-k or --num-layers (the model's "
           "num_experts_per_tok or num_hidden_layers)");
  }
  a.layers = layers;
  a.top_k = k;
  a.rows = ints / (int64_t{layers} * k);
}

void read_response(const JsonField& resp, const std::string& where, ImportContext& ctx, RoutedRequestWriter& writer) {
  resp.expect_object("an SGLang response");
  // Native /generate: meta_info; OpenAI-compatible: choices[i].sglext (token counts in usage).
  std::vector<std::pair<JsonField, JsonField>> items;  // (routing holder, meta)
  if (resp.has("meta_info")) {
    items.emplace_back(resp.at("meta_info"), resp.at("meta_info"));
  } else if (resp.has("choices")) {
    const auto choices = resp.at("choices").elements();
    if (choices.size() != 1)
      resp.at("choices").fail(fmt::format("{} choices share one usage count, so their lengths are unknown: record with "
                                          "n = 1 or the native /generate endpoint",
                                          choices.size()));
    items.emplace_back(choices[0].member("sglext"), resp.at("usage"));
  } else {
    resp.fail("no meta_info or choices");
  }
  for (auto& [holder, meta] : items) {
    RoutedRequest r;
    r.where = where;
    r.label = meta.has("id") && meta.at("id").is_string() ? meta.at("id").string()
              : resp.has("id") && resp.at("id").is_string() ? resp.at("id").string()
                                                            : where;
    const int64_t P = meta.at("prompt_tokens").integer(0, int64_t{1} << 40);
    const int64_t G = meta.at("completion_tokens").integer(0, int64_t{1} << 40);
    if (resp.has("input_ids")) {
      r.prompt_ids = json_int64_list(resp.at("input_ids"));
      if (static_cast<int64_t>(r.prompt_ids->size()) != P)
        resp.at("input_ids").fail(fmt::format("has {} ids but meta_info.prompt_tokens is {}", r.prompt_ids->size(), P));
    }
    if (resp.has("output_ids")) {
      r.output_ids = json_int64_list(resp.at("output_ids"));
      if (static_cast<int64_t>(r.output_ids->size()) != G)
        resp.at("output_ids").fail(fmt::format("has {} ids but completion_tokens is {}", r.output_ids->size(), G));
    }
    r.prompt_len = P;
    r.output_len = G;
    r.layout = RowLayout::RightAligned;
    if (!holder.has("routed_experts")) {
      writer.skip_empty(where);
      continue;
    }
    const JsonField f = holder.at("routed_experts");
    const std::string bytes = base64_decode(f.string(), f.where());
    if (bytes.size() % 4 != 0) f.fail(fmt::format("{} bytes are not a whole number of int32 ids", bytes.size()));
    const auto ints = static_cast<int64_t>(bytes.size() / 4);
    shape_of(ints, P, G, ctx.options, f, r.routed);
    r.routed.ids.resize(static_cast<size_t>(ints));
    std::memcpy(r.routed.ids.data(), bytes.data(), bytes.size());  // little-endian int32, as numpy().tobytes() wrote it
    // Unused slots (fused shared experts are cut off by SGLang; padding would be -1) are refused
    // by the id check with the request's location.
    writer.write(std::move(r));
  }
}

}  // namespace

void import_sglang_jsonl(ImportContext& ctx, ChunkBuilder& out) {
  // SGLang's capturer spans num_hidden_layers: dense layers stay zero and are dropped.
  RoutedRequestWriter writer(ctx, out, true);
  for_each_json_record(ctx, [&](const JsonField& rec, int64_t line) {
    const std::string where = fmt::format("{}:{}", ctx.name, line);
    if (rec.is_array()) {
      for (const JsonField& e : rec.elements()) read_response(e, where, ctx, writer);
    } else {
      read_response(rec, where, ctx, writer);
    }
  });
}

}  // namespace moeroute::detail
