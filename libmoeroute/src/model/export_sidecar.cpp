// Reading and validating the exporter's FILE.pt.json (docs/export.md, "FILE.json").
#include "moeroute/export_sidecar.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "moeroute/error.h"
#include "io/json_input.h"
#include "io/text_file.h"

namespace moeroute {

namespace fs = std::filesystem;
using detail::JsonField;

namespace {

constexpr const char* kFormat = "moeroute-torchscript-export";
constexpr int64_t kFormatVersion = 1;

int bounded_int(const JsonField& f, int64_t lo, int64_t hi) { return static_cast<int>(f.integer(lo, hi)); }

// eos_token_id: null, an id or a list of ids, each < vocab_size.
std::vector<int64_t> token_ids(const JsonField& f, int64_t vocab) {
  std::vector<int64_t> out;
  if (f.is_null()) return out;
  if (f.is_array()) {
    for (const JsonField& e : f.elements()) out.push_back(bounded_int(e, 0, vocab - 1));
  } else {
    out.push_back(bounded_int(f, 0, vocab - 1));
  }
  return out;
}

// A path as written in the sidecar: absolute, or relative to the sidecar's directory.
fs::path resolve(const fs::path& sidecar, const std::string& written) {
  const fs::path p(written);
  return p.is_absolute() ? p : (sidecar.parent_path() / p).lexically_normal();
}

std::optional<ExportTokenizer> read_tokenizer(const JsonField& root, const fs::path& file) {
  if (!root.has("tokenizer")) return std::nullopt;
  const JsonField t = root.at("tokenizer");
  ExportTokenizer out;
  const JsonField dir = t.at("dir");
  out.dir = resolve(file, dir.string());
  const JsonField files = t.at("files");
  bool has_json = false;
  for (size_t i = 0; i < files.size(); ++i) {
    out.files.push_back(files.at(i).string());
    has_json |= out.files.back() == "tokenizer.json";
  }
  if (!has_json) files.fail("expected a list naming tokenizer.json");
  out.hub_id = t.string_or("hub_id", "");
  return out;
}

}  // namespace

fs::path export_sidecar_path(const fs::path& export_file) {
  fs::path p = export_file;
  p += ".json";
  return p;
}

ExportSidecar parse_export_sidecar(const std::string& text, const fs::path& file) {
  const JsonField root = detail::parse_json(text, file.string());
  root.expect_object("an export sidecar, docs/export.md");
  const JsonField format = root.at("format");
  if (format.string() != kFormat) format.fail(fmt::format("expected \"{}\", found \"{}\"", kFormat, format.string()));
  const JsonField version = root.at("format_version");
  if (version.integer() != kFormatVersion)
    version.unsupported(fmt::format("version {} is not supported (this moeroute reads version {})",
                                    version.integer(), kFormatVersion));

  ExportSidecar s;
  s.file = file;
  s.model_type = root.at("model_type").string();
  s.source = root.at("source").string();
  s.revision = root.string_or("revision", "");
  std::error_code ec;
  const fs::path local = resolve(file, s.source);
  s.model_id = fs::exists(local, ec) ? local.string() : s.source;

  const JsonField dtype = root.at("dtype");
  s.dtype = dtype.string();
  if (s.dtype != "float32" && s.dtype != "bfloat16" && s.dtype != "float16")
    dtype.fail(fmt::format("expected float32, bfloat16 or float16, found \"{}\"", s.dtype));
  const JsonField device = root.at("device");
  s.device = device.string();
  if (s.device != "cpu" && s.device.rfind("cuda", 0) != 0)
    device.fail(fmt::format("expected cpu or cuda[:N], found \"{}\"", s.device));

  s.vocab_size = bounded_int(root.at("vocab_size"), 1, int64_t{1} << 31);
  s.num_layers = bounded_int(root.at("num_layers"), 1, 100000);
  s.num_experts = bounded_int(root.at("num_experts"), 1, 1 << 20);
  const int top_k = bounded_int(root.at("top_k"), 1, s.num_experts);
  const bool norm = root.at("norm_topk_prob").boolean();
  const JsonField rule = root.at("routing_rule");
  if (rule.string() == "softmax_topk") {
    s.routing = qwen_moe_rule(top_k, norm);
  } else if (rule.string() == "topk_softmax") {
    // The softmax over the k chosen logits is already normalised; norm_topk_prob does not apply.
    s.routing = gpt_oss_rule(top_k);
  } else {
    rule.unsupported(fmt::format("expected softmax_topk or topk_softmax, found \"{}\"", rule.string()));
  }
  s.router_bias = root.bool_or("router_bias", false);

  const JsonField layers = root.at("moe_layers");
  const JsonField paths = root.at("gate_paths");
  if (layers.size() == 0) layers.fail("expected at least one MoE layer");
  if (paths.size() != layers.size())
    paths.fail(fmt::format("expected one path per moe_layers entry ({}), found {}", layers.size(),
                           paths.size()));
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerInfo l;
    l.index = bounded_int(layers.at(i), 0, s.num_layers - 1);
    l.name = paths.at(i).string();
    if (layer_index_from_name(l.name) != l.index)
      paths.at(i).fail(fmt::format("\"{}\" is not decoder layer {} (moe_layers[{}])", l.name, l.index, i));
    if (!s.moe_layers.empty() && s.moe_layers.back().index >= l.index)
      layers.at(i).fail("expected increasing layer indices");
    s.moe_layers.push_back(std::move(l));
  }

  if (root.has("eos_token_id")) s.eos_token_ids = token_ids(root.at("eos_token_id"), s.vocab_size);
  if (root.has("bos_token_id")) s.bos_token_id = bounded_int(root.at("bos_token_id"), 0, s.vocab_size - 1);
  s.tokenizer = read_tokenizer(root, file);
  return s;
}

ExportSidecar load_export_sidecar(const fs::path& file) {
  return parse_export_sidecar(detail::read_text_file(file), file);
}

}  // namespace moeroute
