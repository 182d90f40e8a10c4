// Loading checkpoint directories natively: the fused expert layout, builtin:tiny-qwen3-moe, and
// every kind of bad input (config/weight mismatches, damaged shards, unsupported types/options),
// each refused with an error naming the file, tensor or field.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/torch/torch_info.h"
#include "moeroute/safetensors.h"
#include "fp_tolerance.h"
#include "unit/temp_dir.h"

using namespace moeroute;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) { return fs::path(MOEROUTE_TEST_DATA_DIR) / "golden" / name; }

void copy_fixture(const std::string& name, const test::TempDir& dir) {
  for (const auto& e : fs::directory_iterator(fixture(name)))
    if (e.path().filename() != "golden.safetensors") fs::copy_file(e.path(), dir / e.path().filename().string());
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Replaces `from` (which must occur) in dir/config.json.
void edit_config(const test::TempDir& dir, const std::string& from, const std::string& to) {
  auto s = read_text(dir / "config.json");
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  write_text(dir / "config.json", s.replace(at, from.size(), to));
}

struct Stored {
  Dtype dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Every tensor of the sharded fixture in `dir`, to rewrite as one model.safetensors.
std::map<std::string, Stored> read_all(const test::TempDir& dir) {
  std::map<std::string, Stored> out;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().extension() != ".safetensors") continue;
    SafetensorsFile f(e.path());
    for (const auto& t : f.tensors()) out[t.name] = {t.dtype, t.shape, std::string(f.bytes(t.name))};
  }
  return out;
}

void write_single(const test::TempDir& dir, const std::map<std::string, Stored>& tensors) {
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().filename().string().rfind("model", 0) == 0) fs::remove(e.path());
  SafetensorsWriter w;
  for (const auto& [name, t] : tensors) w.add(name, t.dtype, t.shape, t.bytes);
  write_text(dir / "model.safetensors", w.serialize());
}

template <class E = InputError>
std::string load_error(const fs::path& dir, const ModelOptions& o = {}) {
  try {
    load_model(dir.string(), o);
  } catch (const E& e) {
    return e.what();
  }
  FAIL("loaded");
  return {};
}

std::vector<float> last_logits(CausalLM& m, const std::vector<int64_t>& row) {
  return m.forward({{row}, {0}, true, {}}, nullptr).logits[0];
}

}  // namespace

TEST_CASE("fused expert tensors load like per-expert ones", "[native]") {
  test::TempDir dir;
  copy_fixture("qwen3_moe", dir);
  auto tensors = read_all(dir);
  // transformers' in-memory layout: gate_up_proj [E, 2I, H] (gate rows first), down_proj [E, H, I].
  for (int layer : {0, 2, 3}) {
    const std::string p = "model.layers." + std::to_string(layer) + ".mlp.experts.";
    Stored gate_up{Dtype::BF16, {16, 32, 64}, {}}, down{Dtype::BF16, {16, 64, 16}, {}};
    for (int e = 0; e < 16; ++e) {
      const std::string q = p + std::to_string(e) + ".";
      gate_up.bytes += tensors.at(q + "gate_proj.weight").bytes + tensors.at(q + "up_proj.weight").bytes;
      down.bytes += tensors.at(q + "down_proj.weight").bytes;
      for (const char* n : {"gate_proj.weight", "up_proj.weight", "down_proj.weight"}) tensors.erase(q + n);
    }
    tensors[p + "gate_up_proj"] = gate_up;
    tensors[p + "down_proj"] = down;
  }
  write_single(dir, tensors);
  ModelOptions o;
  o.dtype = ModelDtype::Float32;
  auto fused = load_model(dir.path().string(), o);
  auto hub = load_model(fixture("qwen3_moe").string(), o);
  const std::vector<int64_t> row{3, 1, 4, 1, 5, 9, 2, 6};
  CHECK(last_logits(*fused, row) == last_logits(*hub, row));
}

TEST_CASE("builtin:tiny-qwen3-moe runs the native path", "[native][builtin]") {
  auto m = load_model("builtin:tiny-qwen3-moe");
  const auto& info = m->info();
  CHECK(info.source == "native");
  CHECK(info.model_id == "builtin:tiny-qwen3-moe");
  CHECK(info.moe_layers.size() == 4);
  CHECK(info.moe_layers[3].name == "model.layers.3.mlp.gate");
  CHECK(info.num_experts == 16);
  CHECK(info.routing.to_string() == "softmax_topk(k=4,norm_topk_prob=true)");
  CHECK(info.vocab_size == 259);
  CHECK(info.stop_token_ids == std::vector<int64_t>{256, 258});
  REQUIRE(m->tokenizer() != nullptr);
  GenerateOptions g;
  g.max_new_tokens = 6;
  g.model_stop_tokens = false;
  const auto a = generate(*m, {m->tokenizer()->encode("Hello experts")}, g);
  const auto b = generate(*load_model("builtin:tiny-qwen3-moe"), {m->tokenizer()->encode("Hello experts")}, g);
  CHECK(a[0].generated_ids == b[0].generated_ids);  // deterministic weights
  CHECK(a[0].trace.router_logits == b[0].trace.router_logits);
  // Routing depends on the prompt: a different prompt routes its first token differently somewhere.
  const auto c = generate(*m, {m->tokenizer()->encode("Zebra")}, g);
  CHECK(a[0].trace.topk_ids != c[0].trace.topk_ids);
}

TEST_CASE("config and weights that disagree are refused naming tensor and field", "[native][errors]") {
  SECTION("a size") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    edit_config(dir, R"("hidden_size": 64)", R"("hidden_size": 32)");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("model.embed_tokens.weight") && Catch::Contains("[256, 64]") &&
                                           Catch::Contains("[256, 32]") && Catch::Contains("hidden_size") &&
                                           Catch::Contains("model-0000"));
  }
  SECTION("the expert count") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    edit_config(dir, R"("num_local_experts": 16)", R"("num_local_experts": 17)");
    CHECK_THAT(load_error(dir.path()),
               Catch::Contains("model.layers.0.mlp.gate.weight") && Catch::Contains("num_experts"));
  }
  SECTION("a dense layer the config calls sparse") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    edit_config(dir, "\"mlp_only_layers\": [\n    1\n  ]", R"("mlp_only_layers": [])");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("'model.layers.1.mlp.gate.weight' is missing"));
  }
  SECTION("head_dim") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    edit_config(dir, R"("head_dim": 32)", R"("head_dim": 16)");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("self_attn.q_proj.weight") && Catch::Contains("head_dim"));
  }
  SECTION("a weight of an integer dtype") {
    test::TempDir dir;
    copy_fixture("qwen3_moe_variant", dir);
    auto tensors = read_all(dir);
    auto& t = tensors.at("model.norm.weight");
    t.dtype = Dtype::I16;  // same byte size as BF16
    write_single(dir, tensors);
    CHECK_THAT(load_error(dir.path()), Catch::Contains("model.safetensors") && Catch::Contains("model.norm.weight") &&
                                           Catch::Contains("I16"));
  }
  SECTION("an untied head without lm_head.weight") {
    test::TempDir dir;
    copy_fixture("qwen3_moe_variant", dir);
    edit_config(dir, R"("tie_word_embeddings": true)", R"("tie_word_embeddings": false)");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("'lm_head.weight' is missing") &&
                                           Catch::Contains("tie_word_embeddings"));
  }
}

TEST_CASE("damaged checkpoint directories are refused naming the file", "[native][errors]") {
  SECTION("missing shard") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    fs::remove(dir / "model-00002-of-00002.safetensors");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("model-00002-of-00002.safetensors") && Catch::Contains("missing"));
  }
  SECTION("truncated shard") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    const auto shard = dir / "model-00001-of-00002.safetensors";
    fs::resize_file(shard, fs::file_size(shard) - 100);
    CHECK_THAT(load_error(dir.path()), Catch::Contains("model-00001-of-00002.safetensors") && Catch::Contains("truncated"));
  }
  SECTION("no config.json") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    fs::remove(dir / "config.json");
    CHECK_THAT(load_error(dir.path()), Catch::Contains("config.json"));
  }
  SECTION("another model_type") {
    test::TempDir dir;
    copy_fixture("qwen3_moe", dir);
    edit_config(dir, R"("model_type": "qwen3_moe")", R"("model_type": "mixtral")");
    CHECK_THAT(load_error<UnsupportedError>(dir.path()),
               Catch::Contains("mixtral") && Catch::Contains("qwen3_moe") && Catch::Contains("docs/export.md"));
  }
}

TEST_CASE("bad options are refused before loading weights", "[native][errors]") {
  // Option values are parsed where the user writes them (moeroute/run_config.h).
  CHECK_THROWS_WITH(parse_experts_impl("fast"), Catch::Contains("'fast' is not one of auto, loop, gather, grouped"));
  CHECK_THROWS_WITH(DeviceMap::parse("balanced"), Catch::Contains("'balanced' is not one of auto, cpu"));
  CHECK_THROWS_WITH(parse_model_dtype("int8"), Catch::Contains("'int8'"));
  // device_map auto without CUDA is the CPU; an explicit map must place every part.
  ModelOptions o;
  o.device_map = DeviceMap::parse("auto");
  if (!cuda_available()) CHECK(load_model(fixture("qwen3_moe").string(), o)->info().device == "cpu");
  o.device_map.kind = DeviceMap::Kind::Explicit;
  o.device_map.entries = {{"model.embed_tokens", "cpu"}, {"model.layers", "cpu"}};
  CHECK_THAT(load_error(fixture("qwen3_moe"), o), Catch::Contains("no entry places 'lm_head'"));
  o.device_map.entries.push_back({"lm_head", "cpu"});
  CHECK(load_model(fixture("qwen3_moe").string(), o)->info().device == "cpu");
  auto m = load_model(fixture("qwen3_moe").string());
  CHECK(m->info().dtype == "float32");  // auto on the CPU
  CHECK_THROWS_WITH(m->forward({{{5, 999}}, {0}, true, {}}, nullptr), Catch::Contains("999"));
}

namespace {

// The fixture (stored in bfloat16) rewritten with float32 weight matrices: each value widened and
// nudged up by 2⁻¹⁶ of a bfloat16 ulp, which rounding to nearest bfloat16 removes again. Norms and
// routers, which stay in the run dtype, are widened exactly.
void write_nudged_float32(const test::TempDir& dir) {
  auto tensors = read_all(dir);
  for (auto& [name, t] : tensors) {
    REQUIRE(t.dtype == Dtype::BF16);
    const bool matrix = t.shape.size() >= 2 && name.find("mlp.gate.weight") == std::string::npos;
    std::string wide(t.bytes.size() * 2, '\0');
    for (size_t i = 0; i < t.bytes.size() / 2; ++i) {
      uint16_t h;
      std::memcpy(&h, t.bytes.data() + 2 * i, 2);
      const uint32_t w = (uint32_t{h} << 16) | (matrix ? 0x0100u : 0u);
      std::memcpy(wide.data() + 4 * i, &w, 4);
    }
    t = {Dtype::F32, t.shape, wide};
  }
  write_single(dir, tensors);
}

struct Run {
  std::vector<int64_t> ids;
  std::vector<float> router_logits;
  std::vector<float> logits;  // next-token logits after the prompt
};

Run run(CausalLM& m, const std::vector<int64_t>& prompt) {
  GenerateOptions g;
  g.max_new_tokens = 8;
  g.model_stop_tokens = false;
  const auto r = generate(m, {prompt}, g);
  return {r[0].generated_ids, r[0].trace.router_logits, last_logits(m, prompt)};
}

}  // namespace

TEST_CASE("16-bit weight storage computes the float32 forward of the stored values", "[native][weights]") {
  const std::vector<int64_t> short_prompt{3, 1, 4, 1, 5, 9, 2, 6};  // ≤ 16 rows: every product in the row kernels
  ModelOptions f32;
  f32.weight_dtype = ModelDtype::Float32;
  auto stored = load_model(fixture("qwen3_moe").string());  // auto: the bfloat16 checkpoint stays bfloat16
  auto widened = load_model(fixture("qwen3_moe").string(), f32);
  CHECK(stored->info().dtype == "float32");
  CHECK(stored->info().weight_dtype == "bfloat16");
  CHECK(widened->info().weight_dtype.empty());
  // Widening is exact and the kernels' arithmetic is the same: bit for bit.
  const Run a = run(*stored, short_prompt), b = run(*widened, short_prompt);
  CHECK(a.ids == b.ids);
  CHECK(a.router_logits == b.router_logits);
  CHECK(a.logits == b.logits);

  // A prompt of more than 16 rows: prefill products widen slices of the matrix for LibTorch's GEMM
  // instead of the whole matrix at load, which may reorder sums — fp32 rounding only.
  std::vector<int64_t> long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt.push_back((i * 37 + 11) % 200);
  const Run c = run(*stored, long_prompt), d = run(*widened, long_prompt);
  REQUIRE(c.router_logits.size() == d.router_logits.size());
  // Per layer ≤ kReductionsPerLayer chained fp32 reductions of length ≤ the widest (moe
  // intermediate × 2 = 64 here; hidden 32), over the fixture's 4 layers (tests/fp_tolerance.h).
  const double tol = test::fp32_reorder_tolerance(test::max_abs(c.router_logits), 64, 4 * test::kReductionsPerLayer);
  CHECK(test::within("bf16 storage vs float32, 40-token prefill: router logits",
                     test::max_abs_diff(c.router_logits, d.router_logits), tol));

  // An explicit bfloat16 rounds a float32 checkpoint to nearest at load: the nudged copy's matrices
  // come back to the stored values exactly.
  test::TempDir dir;
  copy_fixture("qwen3_moe", dir);
  write_nudged_float32(dir);
  ModelOptions bf16;
  bf16.weight_dtype = ModelDtype::BFloat16;
  auto rounded = load_model(dir.path().string(), bf16);
  auto nudged = load_model(dir.path().string());  // auto: float32 stays float32
  CHECK(rounded->info().weight_dtype == "bfloat16");
  CHECK(nudged->info().weight_dtype.empty());
  const Run e = run(*rounded, short_prompt), f = run(*nudged, short_prompt);
  CHECK(e.router_logits == a.router_logits);
  CHECK(e.logits == a.logits);
  CHECK(f.logits != a.logits);  // the nudge is visible in float32

  // float16 storage (11 significant bits; the fixture's values are in its range): runs, close.
  ModelOptions f16;
  f16.weight_dtype = ModelDtype::Float16;
  auto half = load_model(dir.path().string(), f16);
  CHECK(half->info().weight_dtype == "float16");
  const Run h = run(*half, short_prompt);
  // Every bf16 value with |x| ≥ 2⁻¹⁴ is a float16 value too (8 ≤ 11 bits): only the nudge and
  // values below float16's normal range round, so the result stays within a low-precision bound.
  const double low = test::low_precision_tolerance(test::max_abs(a.router_logits), 4 * test::kReductionsPerLayer, 11);
  CHECK(test::within("f16 storage vs bf16 storage: router logits", test::max_abs_diff(h.router_logits, a.router_logits),
                     low));
}

TEST_CASE("weight_dtype is refused where it cannot apply", "[native][weights][errors]") {
  ModelOptions o;
  o.dtype = ModelDtype::BFloat16;
  o.weight_dtype = ModelDtype::Float16;
  CHECK_THAT(load_error(fixture("qwen3_moe"), o), Catch::Contains("weight_dtype float16") && Catch::Contains("float32 runs on the CPU"));
  o.dtype = ModelDtype::Float32;
  o.weight_dtype = ModelDtype::BFloat16;
  CHECK_THAT(load_error<UnsupportedError>("builtin:tiny-moe", o), Catch::Contains("weight_dtype bfloat16") &&
                                                                   Catch::Contains("TorchScript"));
  o.dtype = ModelDtype::BFloat16;  // the same dtype for both: nothing to refuse
  CHECK(load_model(fixture("qwen3_moe").string(), o)->info().weight_dtype.empty());
}
