// The exporter's fixtures (tests/data/torchscript: tiny random qwen3_moe and gpt_oss exports)
// loaded with load_model, configured from their sidecars, and the routing moeroute records
// compared with eager transformers' own on the same input (NAME.pt.routing.safetensors).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/safetensors.h"
#include "tensor_values.h"

using namespace moeroute;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(MOEROUTE_TEST_DATA_DIR) / "torchscript";

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

template <class T>
std::vector<T> tensor(const SafetensorsFile& f, const std::string& name, Dtype dtype, std::vector<int64_t> shape) {
  const TensorInfo& info = f.info(name);
  REQUIRE(info.dtype == dtype);
  REQUIRE(info.shape == shape);
  return test::tensor_values<T>(f, name);
}

// Largest differences seen against transformers, printed for the record.
struct Agreement {
  double router_logits = 0, gate_weights = 0, final_logits = 0;
  int order_differences = 0;  // positions whose id order differs on an exact tie
};

Agreement check_against_transformers(const std::string& name) {
  const fs::path pt = kDir / (name + ".pt");
  const auto side = read_json(kDir / (name + ".pt.json"));
  const SafetensorsFile ref(kDir / (name + ".pt.routing.safetensors"));
  auto model = load_model(pt.string());
  const ModelInfo& info = model->info();
  const int E = side["num_experts"].get<int>(), K = side["top_k"].get<int>();
  const int64_t V = side["vocab_size"].get<int64_t>();
  REQUIRE(info.num_experts == E);
  REQUIRE(info.routing.top_k == K);
  REQUIRE(info.vocab_size == V);

  const int64_t T = ref.info("input_ids").shape.at(1);
  const auto ids = tensor<int64_t>(ref, "input_ids", Dtype::I64, {1, T});
  const auto logits = tensor<float>(ref, "logits", Dtype::F32, {1, T, V});

  const Generation g = score(*model, ids, {});  // full F32 router logits by default
  const RouterTrace& tr = g.trace;
  REQUIRE(tr.num_positions == T);
  CHECK(tr.token_ids == ids);
  CHECK(tr.meta.routing_rule == info.routing.to_string());
  REQUIRE(tr.has_router_logits());
  REQUIRE(tr.num_layers() == static_cast<int>(side["moe_layers"].size()));

  // Our LibTorch runs the traced graph, transformers ran it eagerly (another torch, other kernels):
  // the fp32 reorder bound of tests/fp_tolerance.h over the export's layers, hidden size or row
  // length as the longest reduction. Softmax moves a weight by at most ½ of the largest logit
  // change (its Jacobian's rows sum to ≤ 2w(1 − w) in absolute value), plus its own rounding.
  std::vector<float> all_z;
  for (const auto& layer : side["moe_layers"]) {
    const auto z = tensor<float>(ref, fmt::format("router_logits.{}", layer.get<int>()), Dtype::F32, {T, E});
    all_z.insert(all_z.end(), z.begin(), z.end());
  }
  const int layers = side["num_layers"].get<int>();
  const int64_t n = std::max<int64_t>(side["hidden_size"].get<int64_t>(), T);
  const double tol = test::fp32_reorder_tolerance(test::max_abs(all_z), n, layers * test::kReductionsPerLayer);
  const double weight_tol = tol / 2 + test::fp32_tolerance(E + K + 4);
  const double logit_tol = test::fp32_reorder_tolerance(test::max_abs(logits), n, layers * test::kReductionsPerLayer + 1);

  Agreement a;
  for (int l = 0; l < tr.num_layers(); ++l) {
    const int layer = side["moe_layers"][l].get<int>();
    CHECK(tr.layers[l].index == layer);
    CHECK(tr.layers[l].name == side["gate_paths"][l].get<std::string>());
    const auto z = tensor<float>(ref, fmt::format("router_logits.{}", layer), Dtype::F32, {T, E});
    const auto ref_ids = tensor<int64_t>(ref, fmt::format("topk_ids.{}", layer), Dtype::I64, {T, K});
    const auto ref_w = tensor<float>(ref, fmt::format("topk_weights.{}", layer), Dtype::F32, {T, K});
    for (int64_t t = 0; t < T; ++t) {
      INFO(fmt::format("{} layer {} position {}", name, layer, t));
      const float* zt = z.data() + t * E;
      for (int e = 0; e < E; ++e)
        a.router_logits = std::max(a.router_logits, double(std::abs(tr.router_logits_at(l, t)[e] - zt[e])));
      const int32_t* got = tr.topk_ids_at(l, t);
      const int64_t* want = ref_ids.data() + t * K;
      // Another set or order only where the two logits it swaps tie within 2 · tol.
      bool same_order = true;
      for (int i = 0; i < K; ++i) {
        if (got[i] != want[i]) {
          same_order = false;
          CHECK(std::abs(double(zt[got[i]]) - zt[want[i]]) <= 2 * tol);
        }
        // Weights compared by expert id, so a tie-order difference does not matter.
        const auto j = std::find(want, want + K, int64_t{got[i]}) - want;
        if (j < K)
          a.gate_weights = std::max(a.gate_weights, double(std::abs(tr.gate_weights_at(l, t)[i] - ref_w[t * K + j])));
      }
      a.order_differences += !same_order;
      // The host reference rule on transformers' own logits gives transformers' choice too.
      const RoutedToken host = route(info.routing, zt, E);
      CHECK(std::set<int64_t>(host.ids.begin(), host.ids.end()) == std::set<int64_t>(want, want + K));
    }
  }
  CHECK(test::within(name + ": router logits vs transformers", a.router_logits, tol));
  CHECK(test::within(name + ": gate weights vs transformers", a.gate_weights, weight_tol));

  // Final logits: CausalLM::forward returns the next-token logits after a row's last token, so
  // position t is the last of the prefix ids[0..t] (causal attention: the same computation).
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<int64_t> prefix(ids.begin(), ids.begin() + t + 1);
    const auto out = model->forward({{prefix}, {0}, true, {}}, nullptr).logits;
    REQUIRE(static_cast<int64_t>(out[0].size()) == V);
    for (int64_t v = 0; v < V; ++v)
      a.final_logits = std::max(a.final_logits, double(std::abs(out[0][v] - logits[t * V + v])));
  }
  CHECK(test::within(name + ": final logits vs transformers", a.final_logits, logit_tol));
  fmt::print("{}: max |Δ| router logits {:.3g}, gate weights {:.3g}, final logits {:.3g}; tie-order differences {}\n",
             name, a.router_logits, a.gate_weights, a.final_logits, a.order_differences);
  return a;
}

// A copy of a fixture export with an edited sidecar, in a fresh directory.
struct EditedExport {
  fs::path dir;
  fs::path pt;
  EditedExport(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    dir = fs::temp_directory_path() / fmt::format("moeroute-test-export-{}", std::random_device{}());
    fs::create_directories(dir);
    pt = dir / (name + ".pt");
    fs::copy_file(kDir / (name + ".pt"), pt);
    auto j = read_json(kDir / (name + ".pt.json"));
    // Keep the checkpoint and tokenizer paths pointing at the fixtures.
    j["source"] = (kDir / j["source"].get<std::string>()).string();
    j["tokenizer"]["dir"] = (kDir / j["tokenizer"]["dir"].get<std::string>()).string();
    edit(j);
    std::ofstream(pt.string() + ".json") << j.dump(2);
  }
  ~EditedExport() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

TEST_CASE("qwen3_moe export: recorded routing equals transformers'", "[export][qwen3_moe]") {
  const auto a = check_against_transformers("qwen3_moe_tiny");
  CHECK(a.order_differences == 0);
}

TEST_CASE("gpt_oss export: recorded routing equals transformers' (router bias and top-k then softmax)",
          "[export][gpt_oss]") {
  const auto a = check_against_transformers("gpt_oss_tiny");
  CHECK(a.order_differences == 0);
}

TEST_CASE("load_model configures an export from its sidecar", "[export]") {
  for (const std::string name : {"qwen3_moe_tiny", "gpt_oss_tiny"}) {
    INFO(name);
    const auto side = read_json(kDir / (name + ".pt.json"));
    auto model = load_model((kDir / (name + ".pt")).string());
    const ModelInfo& info = model->info();
    const int k = side["top_k"].get<int>();
    const RoutingRule want = side["routing_rule"] == "softmax_topk"
                                 ? qwen_moe_rule(k, side["norm_topk_prob"].get<bool>())
                                 : gpt_oss_rule(k);
    CHECK(info.routing == want);
    std::vector<int64_t> eos;
    if (side["eos_token_id"].is_array()) eos = side["eos_token_id"].get<std::vector<int64_t>>();
    else eos = {side["eos_token_id"].get<int64_t>()};
    CHECK(info.stop_token_ids == eos);
    const fs::path checkpoint = kDir / side["source"].get<std::string>();
    CHECK(fs::path(info.model_id) == checkpoint);
    CHECK(fs::path(info.chat_template_dir) == kDir / side["tokenizer"]["dir"].get<std::string>());
    // The fixtures' byte-level BPE (tests/data/torchscript/README.md): specials 0, 1, 2.
    const Tokenizer* tok = model->tokenizer();
    REQUIRE(tok);
    CHECK(tok->vocab_size() <= info.vocab_size);
    CHECK(tok->encode("<|im_start|>user\nhi<|im_end|>").front() == 1);
    CHECK(tok->token_id("<|im_end|>") == 2);
    CHECK(tok->decode(tok->encode("Routing in a tiny MoE")) == "Routing in a tiny MoE");
    // Their tokenizer_config.json has no chat template: the model's own is raw.
    CHECK(info.chat_template == "raw");
    CHECK(model_chat_template(info).name() == "raw");
    CHECK(model_chat_template(info, "chatml").name() == "chatml");
    // Generation stops at the sidecar's EOS ids.
    GenerateOptions o;
    o.max_new_tokens = 3;
    const auto gen = generate(*model, {tok->encode("Hello")}, o)[0];
    CHECK(gen.trace.meta.model_id == info.model_id);
    CHECK(gen.trace.num_positions == static_cast<int64_t>(gen.prompt_ids.size() + gen.generated_ids.size()));
  }
  CHECK(model_chat_template(load_model("builtin:tiny-moe")->info()).name() == "chatml");
}

TEST_CASE("an export whose tokenizer has an unrecognised chat template still loads", "[export][errors]") {
  const auto dir = fs::temp_directory_path() / fmt::format("moeroute-test-tok-{}", std::random_device{}());
  fs::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(kDir / "hf" / "qwen3_moe_tiny" / f, dir / f);
  std::ofstream(dir / "chat_template.jinja") << "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}";
  EditedExport e("qwen3_moe_tiny", [&](auto& j) { j["tokenizer"]["dir"] = dir.string(); });
  auto model = load_model(e.pt.string());
  CHECK(model->info().chat_template.empty());
  CHECK_THROWS_AS(model_chat_template(model->info()), UnsupportedError);
  CHECK_THROWS_WITH(model_chat_template(model->info()), Catch::Contains((dir / "chat_template.jinja").string()));
  CHECK(model_chat_template(model->info(), "qwen3").name() == "qwen3");
  fs::remove_all(dir);
}

TEST_CASE("options override the sidecar and a sidecar that contradicts the export is refused", "[export][errors]") {
  const std::string qwen = (kDir / "qwen3_moe_tiny.pt").string();
  ModelOptions o;
  o.routing_rule = parse_routing_rule("qwen3_moe(k=2,norm_topk_prob=false)");
  CHECK(load_model(qwen, o)->info().routing == qwen_moe_rule(2, false));

  {  // The sidecar's rule, not a guess from the module names, drives the recording.
    EditedExport e("qwen3_moe_tiny", [](auto& j) {
      j["routing_rule"] = "topk_softmax";
      j["top_k"] = 2;
    });
    CHECK(load_model(e.pt.string())->info().routing == gpt_oss_rule(2));
  }
  {
    EditedExport e("qwen3_moe_tiny", [](auto& j) { j["num_experts"] = 8; });
    CHECK_THROWS_WITH(load_model(e.pt.string()),
                      Catch::Contains(e.pt.string() + ".json: field 'num_experts'") && Catch::Contains("have 16"));
  }
  {
    EditedExport e("qwen3_moe_tiny", [](auto& j) { j["vocab_size"] = 321; });
    CHECK_THROWS_WITH(load_model(e.pt.string()), Catch::Contains("field 'vocab_size'") && Catch::Contains("320 logits"));
  }
  {  // A gate the export does not have.
    EditedExport e("qwen3_moe_tiny", [](auto& j) {
      j["moe_layers"] = {0, 1, 2, 3};
      j["gate_paths"] = {"model.layers.0.mlp.gate", "model.layers.1.mlp.gate", "model.layers.2.mlp.gate",
                         "model.layers.3.mlp.gate"};
    });
    CHECK_THROWS_WITH(load_model(e.pt.string()),
                      Catch::Contains("field 'gate_paths'") && Catch::Contains("model.layers.1.mlp.gate"));
  }
  {
    EditedExport e("gpt_oss_tiny", [](auto& j) { j["device"] = "cuda"; });
    CHECK_THROWS_WITH(load_model(e.pt.string()),
                      Catch::Contains("field 'device'") && Catch::Contains("traced on cuda"));
  }
  {
    EditedExport e("gpt_oss_tiny", [](auto& j) { j["tokenizer"]["dir"] = "/nonexistent/tokenizer"; });
    CHECK_THROWS_WITH(load_model(e.pt.string()), Catch::Contains("field 'tokenizer.dir'"));
  }
  {
    EditedExport e("gpt_oss_tiny", [](auto& j) { j.erase("top_k"); });
    CHECK_THROWS_AS(load_model(e.pt.string()), InputError);
    CHECK_THROWS_WITH(load_model(e.pt.string()), Catch::Contains("required field 'top_k' is missing"));
  }
}
