// ChatTemplate::render_conversation: whole conversations as each model's template renders them
// without a generation prompt (docs/chat-templates.md, "Conversations"). Qwen3: against renderings
// of its own Jinja template (a committed golden file) and by hand; gpt-oss: strings written from
// its chat_template.jinja line by line (first system message → developer instructions, the last
// assistant turn ends <|return|>).
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "moeroute/chat_template.h"
#include "moeroute/error.h"

using namespace moeroute;

namespace {
const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "And 3+3?"}, {"assistant", "6"}};
}

TEST_CASE("ChatML and raw conversations", "[chat]") {
  CHECK(ChatTemplate::builtin("chatml").render_conversation(kChat) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
        "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n6<|im_end|>\n");
  CHECK(ChatTemplate::builtin("raw").render_conversation(kChat) == "Be brief.\n\n2+2?\n\n4\n\nAnd 3+3?\n\n6");
}

TEST_CASE("Qwen3 conversations: earlier answers bare, the last one with its think block", "[chat]") {
  const std::string want =
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
      "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n6<|im_end|>\n";
  CHECK(ChatTemplate::builtin("qwen3").render_conversation(kChat) == want);
  CHECK(ChatTemplate::builtin("qwen3-nothink").render_conversation(kChat) == want);
  // Reasoning inside the content is split off; in history it is dropped.
  const std::vector<ChatMessage> thought = {{"user", "Q"}, {"assistant", "<think>\nhmm\n</think>\n\nA1"}, {"user", "R"},
                                            {"assistant", "<think>\nso\n</think>\n\nA2"}};
  CHECK(ChatTemplate::builtin("qwen3").render_conversation(thought) ==
        "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nR<|im_end|>\n"
        "<|im_start|>assistant\n<think>\nso\n</think>\n\nA2<|im_end|>\n");
}

TEST_CASE("Qwen3 conversations equal Qwen3's own Jinja template (golden renderings)", "[chat]") {
  // tests/data/tokenizer/golden_qwen3_conversations.json, from tools/golden/make_conversation_golden.py.
  std::ifstream in(std::string(MOEROUTE_TEST_DATA_DIR) + "/tokenizer/golden_qwen3_conversations.json");
  REQUIRE(in);
  const nlohmann::json golden = nlohmann::json::parse(in);
  REQUIRE(golden.at("cases").size() >= 5);
  for (const auto& c : golden.at("cases")) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c.at("messages")) messages.push_back({m.at("role"), m.at("content")});
    CHECK(ChatTemplate::builtin("qwen3").render_conversation(messages) == c.at("text").get<std::string>());
  }
}

TEST_CASE("gpt-oss conversations in harmony", "[chat]") {
  ChatTemplateOptions o;
  o.current_date = "2025-01-02";
  const std::string sys =
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: "
      "2024-06\nCurrent date: 2025-01-02\n\nReasoning: medium\n\n# Valid channels: analysis, commentary, final. "
      "Channel must be included for every message.<|end|>";
  CHECK(ChatTemplate::builtin("gpt-oss").render_conversation(kChat, o) ==
        sys + "<|start|>developer<|message|># Instructions\n\nBe brief.\n\n<|end|><|start|>user<|message|>2+2?<|end|>"
              "<|start|>assistant<|channel|>final<|message|>4<|end|><|start|>user<|message|>And 3+3?<|end|>"
              "<|start|>assistant<|channel|>final<|message|>6<|return|>");
  const std::vector<ChatMessage> late_system = {{"user", "a"}, {"system", "b"}};
  CHECK_THROWS_AS(ChatTemplate::builtin("gpt-oss").render_conversation(late_system, o), UnsupportedError);
}

TEST_CASE("Template files render only a system and a user message; bad roles are refused", "[chat]") {
  const ChatTemplate t = ChatTemplate::from_text("S={system} U={user}", "t.txt");
  CHECK(t.render_conversation({{"system", "s"}, {"user", "u"}}) == "S=s U=u");
  CHECK(t.render_conversation({{"user", "u"}}) == "S= U=u");
  CHECK_THROWS_AS(t.render_conversation(kChat), UnsupportedError);
  CHECK_THROWS_WITH(ChatTemplate::builtin("chatml").render_conversation({{"tool", "x"}}, {}, "d.jsonl:3"),
                    "d.jsonl:3: message 0: role 'tool' is not one of: system, user, assistant");
  CHECK_THROWS_AS(ChatTemplate::builtin("chatml").render_conversation({}), InputError);
}
