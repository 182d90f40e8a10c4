// The exporter's sidecar (FILE.pt.json): the committed fixtures read as the exporter wrote them,
// and every kind of bad field refused with the file and the field named.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "moeroute/error.h"
#include "moeroute/export_sidecar.h"

using namespace moeroute;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(MOEROUTE_TEST_DATA_DIR) / "torchscript";

nlohmann::json fixture_json(const std::string& name) {
  std::ifstream in(kDir / (name + ".pt.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Parses a modified fixture sidecar as if it sat next to the fixture.
ExportSidecar parse_edited(const nlohmann::json& j) { return parse_export_sidecar(j.dump(), kDir / "edited.pt.json"); }

}  // namespace

TEST_CASE("the committed sidecars read as written", "[sidecar]") {
  CHECK(export_sidecar_path("a/b/qwen3.pt") == fs::path("a/b/qwen3.pt.json"));
  for (const std::string name : {"qwen3_moe_tiny", "gpt_oss_tiny"}) {
    INFO(name);
    const auto j = fixture_json(name);
    const auto s = load_export_sidecar(kDir / (name + ".pt.json"));
    CHECK(s.model_type == j["model_type"].get<std::string>());
    CHECK(s.num_experts == j["num_experts"].get<int>());
    CHECK(s.routing.top_k == j["top_k"].get<int>());
    CHECK(s.vocab_size == j["vocab_size"].get<int64_t>());
    CHECK(s.router_bias == j["router_bias"].get<bool>());
    REQUIRE(s.moe_layers.size() == j["moe_layers"].size());
    for (size_t i = 0; i < s.moe_layers.size(); ++i) {
      CHECK(s.moe_layers[i].index == j["moe_layers"][i].get<int>());
      CHECK(s.moe_layers[i].name == j["gate_paths"][i].get<std::string>());
    }
    // Local checkpoint and tokenizer dirs are relative to the sidecar's directory.
    CHECK(fs::path(s.model_id) == kDir / j["source"].get<std::string>());
    REQUIRE(s.tokenizer);
    CHECK(s.tokenizer->dir == kDir / j["tokenizer"]["dir"].get<std::string>());
    CHECK(fs::exists(s.tokenizer->dir / "tokenizer.json"));
    CHECK(s.tokenizer->hub_id.empty());
  }
  const auto q = load_export_sidecar(kDir / "qwen3_moe_tiny.pt.json");
  CHECK(q.routing == qwen_moe_rule(4, true));  // softmax_topk, top_k 4, norm_topk_prob true
  CHECK(q.eos_token_ids == std::vector<int64_t>{2, 0});
  CHECK(q.moe_layers.size() == 3);  // layer 1 is dense
  const auto g = load_export_sidecar(kDir / "gpt_oss_tiny.pt.json");
  CHECK(g.routing == gpt_oss_rule(4));
  CHECK(g.eos_token_ids == std::vector<int64_t>{2});
  CHECK(g.bos_token_id == 0);
}

TEST_CASE("sidecar variants the exporter writes", "[sidecar]") {
  auto j = fixture_json("qwen3_moe_tiny");
  j["source"] = "Qwen/Qwen3-30B-A3B";  // a Hub id: no such local path
  j["revision"] = "main";
  j["tokenizer"] = nullptr;
  j["eos_token_id"] = nullptr;
  j["norm_topk_prob"] = false;
  auto s = parse_edited(j);
  CHECK(s.model_id == "Qwen/Qwen3-30B-A3B");
  CHECK(s.revision == "main");
  CHECK(!s.tokenizer);
  CHECK(s.eos_token_ids.empty());
  CHECK(s.routing == qwen_moe_rule(4, false));
  j["tokenizer"] = {{"dir", "/abs/cache/snapshots/x"}, {"files", {"tokenizer.json"}}, {"hub_id", "Qwen/Qwen3-30B-A3B"}};
  s = parse_edited(j);
  CHECK(s.tokenizer->dir == fs::path("/abs/cache/snapshots/x"));
  CHECK(s.tokenizer->hub_id == "Qwen/Qwen3-30B-A3B");
}

TEST_CASE("bad sidecars name the file and the field", "[sidecar][errors]") {
  const auto base = fixture_json("qwen3_moe_tiny");
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"format", [](auto& j) { j["format"] = "something-else"; }, "field 'format'"},
      {"missing top_k", [](auto& j) { j.erase("top_k"); }, "required field 'top_k' is missing"},
      {"top_k > E", [](auto& j) { j["top_k"] = 17; }, "field 'top_k': expected an integer in [1, 16], got 17"},
      {"top_k type", [](auto& j) { j["top_k"] = "4"; }, "field 'top_k': expected an integer"},
      {"norm type", [](auto& j) { j["norm_topk_prob"] = 1; }, "field 'norm_topk_prob': expected true or false"},
      {"layers/paths", [](auto& j) { j["gate_paths"].erase(1); }, "field 'gate_paths': expected one path per"},
      {"path index", [](auto& j) { j["gate_paths"][1] = "model.layers.1.mlp.gate"; },
       "field 'gate_paths[1]': \"model.layers.1.mlp.gate\" is not decoder layer 2"},
      {"layer range", [](auto& j) { j["moe_layers"][2] = 4; }, "field 'moe_layers[2]': expected an integer in [0, 3]"},
      {"layer order", [](auto& j) {
         j["moe_layers"] = {2, 0, 3};
         j["gate_paths"] = {"model.layers.2.mlp.gate", "model.layers.0.mlp.gate", "model.layers.3.mlp.gate"};
       },
       "field 'moe_layers[1]': expected increasing"},
      {"no layers", [](auto& j) { j["moe_layers"] = nlohmann::json::array(); }, "field 'moe_layers': expected at least"},
      {"eos range", [](auto& j) { j["eos_token_id"] = {2, 320}; }, "field 'eos_token_id[1]': expected an integer in [0, 319]"},
      {"eos type", [](auto& j) { j["eos_token_id"] = "2"; }, "field 'eos_token_id': expected an integer"},
      {"dtype", [](auto& j) { j["dtype"] = "int8"; }, "field 'dtype': expected float32, bfloat16 or float16"},
      {"device", [](auto& j) { j["device"] = "mps"; }, "field 'device': expected cpu or cuda"},
      {"tokenizer files", [](auto& j) { j["tokenizer"]["files"] = {"vocab.json"}; },
       "field 'tokenizer.files': expected a list naming tokenizer.json"},
      {"tokenizer dir", [](auto& j) { j["tokenizer"].erase("dir"); }, "required field 'tokenizer.dir' is missing"},
      {"not an object", [](auto& j) { j = nlohmann::json::array(); }, "expected a JSON object"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto j = base;
    c.edit(j);
    CHECK_THROWS_AS(parse_edited(j), InputError);
    CHECK_THROWS_WITH(parse_edited(j), Catch::StartsWith((kDir / "edited.pt.json").string()) && Catch::Contains(c.message));
  }
  auto j = base;
  j["routing_rule"] = "sigmoid_topk";
  CHECK_THROWS_AS(parse_edited(j), UnsupportedError);
  CHECK_THROWS_WITH(parse_edited(j), Catch::Contains("field 'routing_rule'") && Catch::Contains("sigmoid_topk"));
  j = base;
  j["format_version"] = 2;
  CHECK_THROWS_AS(parse_edited(j), UnsupportedError);
  CHECK_THROWS_WITH(parse_edited(j), Catch::Contains("field 'format_version': version 2 is not supported"));
  CHECK_THROWS_WITH(parse_export_sidecar("{\"format\": ", "x.pt.json"), Catch::StartsWith("x.pt.json:1:12: invalid JSON"));
  CHECK_THROWS_WITH(load_export_sidecar(kDir / "missing.pt.json"), Catch::EndsWith("missing.pt.json: no such file"));
}
