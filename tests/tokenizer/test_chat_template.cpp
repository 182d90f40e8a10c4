// Built-in chat templates against the renderings of the models' own Jinja templates recorded
// by tools/golden/make_tokenizer_golden.py (no vocabulary needed), user template files, the
// default-template choice and the language instruction.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <regex>

#include "moeroute/atomic_file.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "tokenizer/tokenizer_test_util.h"

using moeroute::ChatPrompt;
using moeroute::ChatTemplate;
using moeroute::ChatTemplateOptions;
using moeroute::test::read_json;
using moeroute::test::tokenizer_data;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

void check_renderings(const std::string& golden_file) {
  const auto golden = read_json(tokenizer_data(golden_file));
  REQUIRE(golden["templates"].size() >= 8);
  for (const auto& c : golden["templates"]) {
    ChatTemplateOptions options;
    if (c["options"].contains("reasoning_effort")) options.reasoning_effort = c["options"]["reasoning_effort"];
    if (c["options"].contains("current_date")) options.current_date = c["options"]["current_date"];
    const ChatPrompt prompt{c["system"], c["user"]};
    INFO(c["builtin"].get<std::string>() << " / " << prompt.system << " / " << prompt.user);
    CHECK(ChatTemplate::builtin(c["builtin"].get<std::string>()).render(prompt, options) ==
          c["text"].get<std::string>());
  }
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("moeroute_test_" + name + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("qwen3 templates render like Qwen3's Jinja template", "[chat_template]") {
  check_renderings("golden_qwen3.json");
}

TEST_CASE("gpt-oss template renders like gpt-oss's Jinja template", "[chat_template]") {
  check_renderings("golden_gptoss.json");
}

TEST_CASE("chatml is qwen3 with thinking on; raw is plain text", "[chat_template]") {
  const ChatPrompt p{"Be brief.", "Hi?"};
  CHECK(ChatTemplate::builtin("chatml").render(p) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n");
  CHECK(ChatTemplate::builtin("qwen3").render(p) == ChatTemplate::builtin("chatml").render(p));
  CHECK(ChatTemplate::builtin("raw").render(p) == "Be brief.\n\nHi?");
  CHECK(ChatTemplate::builtin("raw").render({"", "Hi?"}) == "Hi?");
  CHECK_THROWS_WITH(ChatTemplate::builtin("llama"), Contains("llama") && Contains("qwen3-nothink"));
}

TEST_CASE("gpt-oss uses today's date unless one is given", "[chat_template]") {
  const std::string text = ChatTemplate::builtin("gpt-oss").render({"", "x"});
  CHECK(std::regex_search(text, std::regex("Current date: 20[0-9]{2}-[01][0-9]-[0-3][0-9]\n")));
}

TEST_CASE("user template files substitute {system} and {user}", "[chat_template]") {
  const auto t = ChatTemplate::from_text("<s>[{system}]\n{user} {{literal}}</s>\n", "t.txt");
  CHECK(t.render({"S", "U"}) == "<s>[S]\nU {literal}</s>\n");
  CHECK(t.render({"", "U"}) == "<s>[]\nU {literal}</s>\n");
  CHECK(t.name() == "file:t.txt");

  CHECK_THROWS_AS(ChatTemplate::from_text("{system}\n  {assistant}", "bad.txt"), moeroute::InputError);
  CHECK_THROWS_WITH(ChatTemplate::from_text("{system}\n  {assistant}", "bad.txt"),
                    Contains("bad.txt:2:3") && Contains("{assistant}"));
  CHECK_THROWS_WITH(ChatTemplate::from_text("ab {user", "bad.txt"), Contains("bad.txt:1:4") && Contains("unclosed"));
  CHECK_THROWS_WITH(ChatTemplate::from_text("a } b", "bad.txt"), Contains("bad.txt:1:3") && Contains("'}'"));

  const fs::path dir = temp_dir("tpl");
  moeroute::write_file_atomic(dir / "my.txt", "### {system}\n### {user}\n");
  CHECK(ChatTemplate::from_file(dir / "my.txt").render({"a", "b"}) == "### a\n### b\n");
  CHECK(moeroute::resolve_chat_template((dir / "my.txt").string(), dir).render({"a", "b"}) == "### a\n### b\n");
  moeroute::write_file_atomic(dir / "bad.txt", "{sys}");
  CHECK_THROWS_WITH(ChatTemplate::from_file(dir / "bad.txt"), Contains((dir / "bad.txt").string()) && Contains("{sys}"));
  CHECK_THROWS_AS(moeroute::resolve_chat_template("no-such-template", dir), moeroute::InputError);
  fs::remove_all(dir);
}

TEST_CASE("the model's tokenizer_config.json picks the default template", "[chat_template]") {
  const fs::path dir = temp_dir("cfg");
  CHECK(moeroute::default_chat_template_name(dir) == "raw");
  moeroute::write_file_atomic(dir / "tokenizer_config.json",
                              R"({"chat_template": "{{ '<|im_start|>' }}{% if enable_thinking %}{% endif %}"})");
  CHECK(moeroute::default_chat_template_name(dir) == "qwen3");
  moeroute::write_file_atomic(dir / "tokenizer_config.json", R"({"chat_template": "{{ '<|im_start|>' }}"})");
  CHECK(moeroute::default_chat_template_name(dir) == "chatml");
  CHECK(moeroute::resolve_chat_template("auto", dir).name() == "chatml");
  moeroute::write_file_atomic(dir / "tokenizer_config.json",
                              R"({"added_tokens_decoder": {"1": {"content": "<|start|>"}, "2": {"content": "<|message|>"}}})");
  CHECK(moeroute::default_chat_template_name(dir) == "gpt-oss");
  moeroute::write_file_atomic(dir / "chat_template.jinja", "{{ '[INST]' }}");
  CHECK_THROWS_AS(moeroute::default_chat_template_name(dir), moeroute::UnsupportedError);
  CHECK_THROWS_WITH(moeroute::default_chat_template_name(dir), Contains("chat_template.jinja"));
  fs::remove_all(dir);
}

TEST_CASE("language adds an answer-language instruction to the user message", "[chat_template]") {
  using moeroute::add_language_instruction;
  CHECK(add_language_instruction("Who?", "") == "Who?");
  CHECK(add_language_instruction("Who?", "en") == "Who?\n\nAnswer in English.");
  CHECK(add_language_instruction("Who?", "ja") == "Who?\n\nAnswer in Japanese.");
  CHECK(add_language_instruction("Who?", "JA") == "Who?\n\nAnswer in Japanese.");
  CHECK(add_language_instruction("Who?", "en-US") == "Who?\n\nAnswer in English.");
  CHECK(add_language_instruction("Who?", "pt_BR") == "Who?\n\nAnswer in Brazilian Portuguese.");
  CHECK(add_language_instruction("Who?", "zh-TW") == "Who?\n\nAnswer in Traditional Chinese.");
  CHECK(add_language_instruction("Who?", "Klingon") == "Who?\n\nAnswer in Klingon.");
  CHECK_THROWS_WITH(add_language_instruction("Who?", "xx"), Contains("'xx'"));
}
