// input.json parsing: the seed's fields, our fields, and precise errors.
#include <catch2/catch.hpp>

#include "moeroute/compare_input.h"
#include "moeroute/error.h"

using namespace moeroute;

TEST_CASE("the seed example parses once its missing comma is added", "[compare_input]") {
  const std::string text = R"({
  "prompt_base": "You are a 50-year-old man living in New York who has no interest in anime and loves watching basketball.",
  "prompt_var":  "You are a 17-year-old high school student living in Tokyo who is an anime and manga expert.",
  "question":    "What is the name of the devil fruit that Luffy ate in One Piece?",
  "language":    "en",
  "max_new_tokens": 128,
  "temperature": 0.2,
  "topk": 4,
  "model_id": "openai/gpt-oss-20b",
  "device_map": "auto",
  "topn_per_layer": 10
})";
  const CompareInput in = parse_compare_input(text);
  CHECK(in.question.rfind("What is the name", 0) == 0);
  CHECK(in.language == "en");
  CHECK(in.run.generation.max_new_tokens == 128);
  CHECK(in.run.generation.sampling.temperature == 0.2);
  CHECK(in.run.recording.top_k == 4);
  CHECK(in.run.model == "openai/gpt-oss-20b");
  CHECK(in.run.model_options.device_map.kind == DeviceMap::Kind::Auto);
  CHECK(in.topn_per_layer == 10);
  CHECK(in.align == PairAlignment::TeacherForced);
  CHECK(in.warnings.empty());
}

TEST_CASE("the seed example as published reports line and column", "[compare_input]") {
  const std::string text = "{\n  \"question\": \"q\",\n  \"device_map\": \"auto\"\n  \"topn_per_layer\": 10\n}";
  CHECK_THROWS_WITH(parse_compare_input(text, "input.json"), Catch::StartsWith("input.json:4:3: invalid JSON"));
}

TEST_CASE("wrong types and values name the field and what was expected", "[compare_input]") {
  const std::string head = R"({"prompt_base":"a","prompt_var":"b","question":"q","model_id":"builtin:tiny-moe",)";
  CHECK_THROWS_WITH(parse_compare_input(head + R"("max_new_tokens":"12"})"),
                    Catch::Contains("field 'max_new_tokens': expected an integer in [1, 1000000], got string \"12\""));
  CHECK_THROWS_WITH(parse_compare_input(head + R"("max_new_tokens":0})"),
                    Catch::Contains("field 'max_new_tokens': expected an integer in [1, 1000000], got 0"));
  CHECK_THROWS_WITH(parse_compare_input(head + R"("temperature":-1})"), Catch::Contains("'temperature'"));
  CHECK_THROWS_WITH(parse_compare_input(head + R"("align":"greedy"})"),
                    Catch::Contains("'greedy' is not one of: teacher-forced, free"));
  CHECK_THROWS_WITH(parse_compare_input(head + R"("device_map":"tpu"})"), Catch::Contains("device_map"));
  CHECK_THROWS_WITH(parse_compare_input(R"({"prompt_base":"a","question":"q","model_id":"m"})"),
                    Catch::Contains("required field 'prompt_var'"));
  CHECK_THROWS_WITH(parse_compare_input(R"({"prompt_base":"a","prompt_var":"b","question":"q"})"),
                    Catch::Contains("model_id"));
  CHECK_THROWS_WITH(parse_compare_input("[1,2]"), Catch::Contains("expected a JSON object"));
}

TEST_CASE("unknown fields are warnings and overrides apply with validation", "[compare_input]") {
  CompareInput in = parse_compare_input(
      R"({"prompt_base":"a","prompt_var":"b","question":"q","model_id":"m","colour":"red"})", "in.json");
  REQUIRE(in.warnings.size() == 1);
  CHECK(in.warnings[0] == "in.json:1:76: unknown field 'colour' ignored");
  apply_compare_overrides(in, {{"max_new_tokens", 7}, {"align", "free"}}, "command line");
  CHECK(in.run.generation.max_new_tokens == 7);
  CHECK(in.align == PairAlignment::Free);
  CHECK_THROWS_WITH(apply_compare_overrides(in, {{"topk", -2}}, "command line"),
                    Catch::StartsWith("command line: field 'topk'"));
}

TEST_CASE("run fields are typed once: dtype, experts, device maps, seeds, model_path", "[compare_input]") {
  const std::string head = R"({"prompt_base":"a","prompt_var":"b","question":"q",)";
  const CompareInput in = parse_compare_input(
      head + R"("model_id":"hub/id","model_path":"/models/x","dtype":"bf16","experts":"grouped","threads":3,
               "seed":18446744073709551615,"device_map":{"model.layers.0":0,"model.layers.1":"cuda:1","lm_head":"cpu"},
               "logits_dtype":"f16","layers":[0,2],"keep_logits":false,"gate_patterns":["**.gate"]})");
  CHECK(in.run.model == "/models/x");  // model_path wins
  CHECK(in.run.model_options.dtype == ModelDtype::BFloat16);
  CHECK(in.run.model_options.experts == ExpertsImpl::Grouped);
  CHECK(in.run.model_options.threads == 3);
  CHECK(in.run.generation.sampling.seed == UINT64_MAX);
  const DeviceMap& m = in.run.model_options.device_map;
  REQUIRE(m.kind == DeviceMap::Kind::Explicit);
  CHECK(m.entries == std::vector<std::pair<std::string, std::string>>{
                         {"lm_head", "cpu"}, {"model.layers.0", "cuda:0"}, {"model.layers.1", "cuda:1"}});
  CHECK(in.run.recording.logits_dtype == LogitsDtype::F16);
  CHECK(in.run.recording.layers == std::vector<int>{0, 2});
  CHECK_FALSE(in.run.recording.keep_logits);
  CHECK(in.run.model_options.gate_patterns == std::vector<std::string>{"**.gate"});
  const std::string m2 = head + R"("model_id":"m",)";
  CHECK_THROWS_WITH(parse_compare_input(m2 + R"("dtype":"int8"})"), Catch::Contains("field 'dtype'") &&
                                                                     Catch::Contains("'int8' is not one of auto"));
  CHECK_THROWS_WITH(parse_compare_input(m2 + R"("experts":"fast"})"), Catch::Contains("field 'experts'"));
  CHECK_THROWS_WITH(parse_compare_input(m2 + R"("seed":-1})"), Catch::Contains("field 'seed': expected an integer in [0, "));
  CHECK_THROWS_WITH(parse_compare_input(m2 + R"("device_map":{"lm_head":"tpu"}})"),
                    Catch::Contains("field 'device_map.lm_head'") && Catch::Contains("'tpu' is not a device"));
  CHECK_THROWS_WITH(parse_compare_input(m2 + R"("routing_rule":"nonsense"})"), Catch::Contains("field 'routing_rule'"));
}
