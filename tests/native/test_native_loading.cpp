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
