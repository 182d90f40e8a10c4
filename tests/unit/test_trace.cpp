#include <catch2/catch.hpp>

#include "moeroute/error.h"
#include "moeroute/trace.h"

using namespace moeroute;

TEST_CASE("layer_index_from_name takes the last numeric component", "[trace]") {
  CHECK(layer_index_from_name("model.layers.10.mlp.gate") == 10);
  CHECK(layer_index_from_name("blk.3") == 3);
  CHECK(layer_index_from_name("model.layers.2.block_sparse_moe.gate") == 2);
  CHECK(layer_index_from_name("router") == -1);
  CHECK(layer_index_from_name("layer3x.gate") == -1);
}

TEST_CASE("natural_less compares digit runs as numbers", "[trace]") {
  CHECK(natural_less("layers.2", "layers.10"));
  CHECK_FALSE(natural_less("layers.10", "layers.2"));
  CHECK(natural_less("a", "b"));
  CHECK(natural_less("layers.2", "layers.2.x"));
  CHECK_FALSE(natural_less("layers.2", "layers.2"));
  CHECK(natural_less("layers.02", "layers.3"));
}

namespace {
RouterTrace small_trace() {
  RouterTrace t;
  t.layers = {{"model.layers.10.mlp.gate", 10}, {"model.layers.2.mlp.gate", 2}};
  t.num_experts = 4;
  t.top_k = 2;
  t.num_positions = 3;
  t.prompt_length = 1;
  t.allocate(true, true);
  for (size_t i = 0; i < t.topk_ids.size(); ++i) t.topk_ids[i] = static_cast<int32_t>(i % 4);
  for (size_t i = 0; i < t.router_logits.size(); ++i) t.router_logits[i] = static_cast<float>(i);
  return t;
}
}  // namespace

TEST_CASE("sort_layers permutes every per-layer array", "[trace]") {
  RouterTrace t = small_trace();
  const float first_logit_of_layer10 = t.router_logits_at(0, 0)[0];
  const float first_logit_of_layer2 = t.router_logits_at(1, 0)[0];
  t.sort_layers();
  REQUIRE(t.layers[0].index == 2);
  REQUIRE(t.layers[1].index == 10);
  CHECK(t.router_logits_at(0, 0)[0] == first_logit_of_layer2);
  CHECK(t.router_logits_at(1, 0)[0] == first_logit_of_layer10);
  t.validate();
}

TEST_CASE("validate names the problem", "[trace]") {
  RouterTrace t = small_trace();
  t.topk_ids[5] = 7;
  CHECK_THROWS_WITH(t.validate("x.safetensors"), Catch::Contains("x.safetensors") && Catch::Contains("not an expert id"));
  t = small_trace();
  t.gate_weights.pop_back();
  CHECK_THROWS_AS(t.validate(), InputError);
  t = small_trace();
  t.prompt_length = 4;
  CHECK_THROWS_WITH(t.validate(), Catch::Contains("prompt_length"));
  t = small_trace();
  t.layers[1].name = t.layers[0].name;
  CHECK_THROWS_WITH(t.validate(), Catch::Contains("appears twice"));
}
