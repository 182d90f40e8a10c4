// Native gpt-oss beyond the goldens: builtin:tiny-gpt-oss (KV cache over many steps past the
// sliding window, padded batches, determinism), the float expert layouts, and bad checkpoints.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "fp_tolerance.h"
#include "generate_options.h"
#include "golden_util.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/generate.h"
#include "moeroute/model_registry.h"
#include "moeroute/safetensors.h"
#include "unit/temp_dir.h"

using namespace moeroute;

namespace {

CausalLM& tiny() {
  static auto model = load_model("builtin:tiny-gpt-oss");
  return *model;
}

using moeroute::test::greedy;

// Copies the dequant golden checkpoint into `dir`, passing every tensor through `edit`
// (return false to drop it).
using Edit = std::function<bool(std::string& name, Dtype& dtype, std::vector<int64_t>& shape, std::string& data)>;
void rewrite_checkpoint(const std::filesystem::path& dir, const Edit& edit) {
  const auto src = std::filesystem::path(moeroute::test::gpt_oss_golden_dir()) / "dequant";
  std::filesystem::copy_file(src / "config.json", dir / "config.json");
  const SafetensorsFile in(src / "model.safetensors");
  SafetensorsWriter out;
  for (const auto& t : in.tensors()) {
    std::string name = t.name, data(in.bytes(t.name));
    Dtype dtype = t.dtype;
    std::vector<int64_t> shape = t.shape;
    if (edit(name, dtype, shape, data)) out.add(name, dtype, shape, data);
  }
  std::ofstream(dir / "model.safetensors", std::ios::binary) << out.serialize();
}

}  // namespace

TEST_CASE("builtin:tiny-gpt-oss is a gpt-oss with MXFP4 experts", "[gpt_oss][builtin]") {
  const auto& info = tiny().info();
  CHECK(info.model_id == "builtin:tiny-gpt-oss");
  CHECK(info.source == "native");
  CHECK(info.routing.to_string() == "topk_softmax(k=4)");
  CHECK(info.num_experts == 16);
  CHECK(info.moe_layers.size() == 4);
  CHECK(info.vocab_size == 263);
  CHECK(info.dtype == "float32");
  CHECK(info.stop_token_ids == std::vector<int64_t>{256, 261, 262});
  const auto names = builtin_model_names();
  CHECK(std::find(names.begin(), names.end(), "tiny-gpt-oss") != names.end());
  // Harmony markers are single tokens of its byte tokenizer.
  const auto prompt = ChatTemplate::builtin("gpt-oss").render({"", "Hi"});
  const auto ids = tiny().tokenizer()->encode(prompt);
  CHECK(std::count(ids.begin(), ids.end(), 257) >= 2);  // <|start|>
}

TEST_CASE("builtin:tiny-gpt-oss is deterministic and routes by prompt", "[gpt_oss][builtin]") {
  auto other = load_model("builtin:tiny-gpt-oss");
  const std::vector<int64_t> a = tiny().tokenizer()->encode("The router picks four experts.");
  const std::vector<int64_t> b = tiny().tokenizer()->encode("Something else entirely, with digits 123.");
  const auto la = tiny().forward({{a}, {0}, true, {}}, nullptr).logits[0];
  CHECK(test::max_abs_diff(la, other->forward({{a}, {0}, true, {}}, nullptr).logits[0]) == 0);
  const auto ga = score(tiny(), a, {});
  const auto gb = score(tiny(), b, {});
  // Different prompts choose different experts somewhere, and choices vary across positions.
  std::set<int32_t> used;
  for (int32_t id : ga.trace.topk_ids) used.insert(id);
  CHECK(used.size() >= 12);
  CHECK(!std::equal(ga.trace.topk_ids.begin(), ga.trace.topk_ids.begin() + 4 * 4, gb.trace.topk_ids.begin()));
}

TEST_CASE("tiny-gpt-oss: 40 cached decode steps past the sliding window equal full re-runs", "[gpt_oss][builtin]") {
  // Window 16: from step 16 on, the sliding layers drop keys; the cache must do the same.
  auto m = load_model("builtin:tiny-gpt-oss");
  const auto prompt = m->tokenizer()->encode("Sliding windows and sinks.");
  const auto gen = generate(*m, {prompt}, greedy(40))[0];
  REQUIRE(gen.generated_ids.size() == 40);
  auto fresh = load_model("builtin:tiny-gpt-oss");
  const auto forced = score(*fresh, prompt, gen.generated_ids);  // one forward over everything
  const auto& t = gen.trace;
  REQUIRE(forced.trace.router_logits.size() == t.router_logits.size());
  // Longest reduction: attention over the whole row (full-attention layers), else hidden size 64.
  const int64_t n = std::max<int64_t>(64, static_cast<int64_t>(prompt.size() + gen.generated_ids.size()));
  const int chained = 4 * test::kReductionsPerLayer;
  const double tol = test::fp32_reorder_tolerance(test::max_abs(forced.trace.router_logits), n, chained);
  CHECK(test::within("tiny-gpt-oss: cached decode vs one forward, router logits",
                     test::max_abs_diff(t.router_logits, forced.trace.router_logits), tol));
  CHECK(test::topk_agree_outside_ties(t.topk_ids, forced.trace.topk_ids, forced.trace.router_logits, t.top_k,
                                      t.num_experts, tol));
  // Every step's logits from the cache equal a full forward over the same row.
  std::vector<int64_t> row = prompt;
  for (size_t s = 0; s + 1 < gen.generated_ids.size(); s += 7) {
    std::vector<int64_t> r(prompt);
    r.insert(r.end(), gen.generated_ids.begin(), gen.generated_ids.begin() + static_cast<long>(s) + 1);
    const auto cached = m->forward({{r}, {0}, true, {}}, nullptr).logits[0];
    const auto full = fresh->forward({{r}, {static_cast<int64_t>(r.size())}, true, {}}, nullptr).logits[0];
    INFO("step " << s);
    // The final logits add one more reduction (lm_head over the hidden size).
    CHECK(test::within("tiny-gpt-oss: cached decode vs full re-run, logits", test::max_abs_diff(cached, full),
                       test::fp32_reorder_tolerance(test::max_abs(full), n, chained + 1)));
  }
}

TEST_CASE("tiny-gpt-oss: a padded batch of two equals each row alone", "[gpt_oss][builtin]") {
  auto m = load_model("builtin:tiny-gpt-oss");
  const auto p0 = m->tokenizer()->encode("short");
  const auto p1 = m->tokenizer()->encode("a much longer prompt than the other one, past the window");
  auto opts = greedy(12);
  const auto both = generate(*m, {p0, p1}, opts);
  const auto alone0 = generate(*m, {p0}, opts)[0];
  const auto alone1 = generate(*m, {p1}, opts)[0];
  CHECK(both[0].generated_ids == alone0.generated_ids);
  CHECK(both[1].generated_ids == alone1.generated_ids);
  // Padding changes GEMM shapes, hence summation order: the reorder bound over 4 layers, the longest
  // reduction being attention over the longer row (or hidden size 64).
  for (int r = 0; r < 2; ++r) {
    const auto& alone = r == 0 ? alone0 : alone1;
    const int64_t n = std::max<int64_t>(64, alone.trace.num_positions);
    const double tol =
        test::fp32_reorder_tolerance(test::max_abs(alone.trace.router_logits), n, 4 * test::kReductionsPerLayer);
    const auto& batched = both[static_cast<size_t>(r)].trace.router_logits;
    CHECK(test::within("tiny-gpt-oss: padded batch vs alone, router logits",
                       test::max_abs_diff(batched, alone.trace.router_logits), tol));
  }
  // Stop tokens end one row early while the other goes on.
  opts.stop_token_ids = {both[0].generated_ids[3]};
  const auto stopped = generate(*m, {p0, p1}, opts);
  CHECK(stopped[0].generated_ids.size() <= 4);
  CHECK(stopped[0].stop_reason == "stop_token");
}

TEST_CASE("tiny-gpt-oss runs in bfloat16; float16 needs CUDA", "[gpt_oss][builtin]") {
  const auto prompt = tiny().tokenizer()->encode("Precision check: bfloat16 against float32.");
  const auto ref = score(tiny(), prompt, {}).trace;
  ModelOptions o;
  o.dtype = ModelDtype::BFloat16;
  auto m = load_model("builtin:tiny-gpt-oss", o);
  CHECK(m->info().dtype == "bfloat16");
  const auto t = score(*m, prompt, {}).trace;
  // bf16 noise flips a near-tied expert now and then; the choices still mostly agree.
  int64_t same = 0;
  for (size_t i = 0; i < t.topk_ids.size(); i += 4) same += t.topk_ids[i] == ref.topk_ids[i];
  CHECK(same * 10 >= static_cast<int64_t>(t.topk_ids.size() / 4) * 9);
  o.dtype = ModelDtype::Float16;
  CHECK_THROWS_AS(load_model("builtin:tiny-gpt-oss", o), UnsupportedError);
}

TEST_CASE("gpt-oss float experts under the parameter names load like transformers' *_blocks save",
          "[gpt_oss][checkpoint]") {
  // transformers 5.23 writes dequantised experts as `gate_up_proj_blocks` (float, parameter
  // layout); other tools use `gate_up_proj`. Both must give the same model.
  moeroute::test::TempDir dir;
  rewrite_checkpoint(dir.path(), [](std::string& name, Dtype&, std::vector<int64_t>&, std::string&) {
    const auto at = name.find("_blocks");
    if (at != std::string::npos) name.erase(at);
    return true;
  });
  const moeroute::test::Golden g("dequant");
  ModelOptions o;
  o.dtype = ModelDtype::Float32;
  auto renamed = load_model(dir.path().string(), o);
  auto original = load_model(moeroute::test::gpt_oss_golden_dir() + "/dequant", o);
  const auto a = score(*renamed, g.prompt(0), g.generated(0)).trace;
  const auto b = score(*original, g.prompt(0), g.generated(0)).trace;
  CHECK(a.router_logits == b.router_logits);
}

TEST_CASE("gpt-oss: bad checkpoints are InputErrors naming the tensor", "[gpt_oss][checkpoint]") {
  auto fails_with = [](const Edit& edit, const std::vector<std::string>& words) {
    moeroute::test::TempDir dir;
    rewrite_checkpoint(dir.path(), edit);
    try {
      load_model(dir.path().string());
      FAIL("loaded");
    } catch (const InputError& e) {
      const std::string msg = e.what();
      for (const auto& w : words) {
        INFO(msg);
        CHECK(msg.find(w) != std::string::npos);
      }
    }
  };
  // A missing tensor.
  fails_with([](std::string& n, Dtype&, std::vector<int64_t>&, std::string&) {
    return n != "model.layers.1.self_attn.sinks";
  }, {"model.layers.1.self_attn.sinks", "missing"});
  // A shape that disagrees with config.json (router of 7 experts instead of 8).
  fails_with([](std::string& n, Dtype&, std::vector<int64_t>& s, std::string& d) {
    if (n == "model.layers.2.mlp.router.bias") {
      s = {7};
      d.resize(7 * 2);
    }
    return true;
  }, {"model.layers.2.mlp.router.bias", "[7]", "[8]", "num_local_experts", "model.safetensors"});
  // An integer tensor where floats belong.
  fails_with([](std::string& n, Dtype& t, std::vector<int64_t>&, std::string&) {
    if (n == "model.norm.weight") t = Dtype::I16;
    return true;
  }, {"model.norm.weight", "floating"});
  // MXFP4 blocks without their scales.
  fails_with([](std::string& n, Dtype& t, std::vector<int64_t>& s, std::string& d) {
    if (n == "model.layers.0.mlp.experts.down_proj_blocks") {
      t = Dtype::U8;
      s = {8, 64, 1, 16};
      d.assign(8 * 64 * 16, '\0');
    }
    return true;
  }, {"model.layers.0.mlp.experts.down_proj_scales", "missing"});
  // Not a gpt-oss config at all.
  moeroute::test::TempDir other;
  std::ofstream(other / "config.json") << R"({"model_type": "mixtral"})";
  CHECK_THROWS_AS(load_model(other.path().string()), UnsupportedError);
}
