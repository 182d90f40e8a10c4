// `moeroute tokenize` / `moeroute detokenize` end to end on the tiny byte-level tokenizer
// (tests/data/tokenizer/tiny_byte_level.json; ids derived in test_tokenizer_json.cpp).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "moeroute/atomic_file.h"
#include "tokenizer/tokenizer_test_util.h"

using moeroute::test::tokenizer_data;
using Catch::Matchers::Contains;

namespace {

struct Run {
  int status;
  std::string out;
};

// Runs the CLI with `args` (already shell-quoted); stderr is folded into the output.
Run run(const std::string& args) {
  const std::string command = std::string("'") + MOEROUTE_CLI + "' " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny() { return "--tokenizer '" + tokenizer_data("tiny_byte_level.json").string() + "'"; }

}  // namespace

TEST_CASE("tokenize prints ids, pieces and texts", "[cli]") {
  const Run r = run("tokenize " + tiny() + " 'hello world'");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("ids: [259, 260, 111, 114, 108, 100]"));
  CHECK_THAT(r.out, Contains("\"hello\""));
  CHECK_THAT(r.out, Contains("\" w\""));  // the text of token 260 (Ġw)
}

TEST_CASE("tokenize --json with a chat template", "[cli]") {
  const Run r = run("tokenize " + tiny() + " --chat-template raw --system 'hi' --json 'hello'");
  INFO(r.out);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["template"] == "raw");
  CHECK(j["text"] == "hi\n\nhello");
  // "hi" → h i; "\n\n" → two newline bytes (one pre-token); "hello" → 259.
  CHECK(j["ids"] == std::vector<int64_t>{'h', 'i', '\n', '\n', 259});
  CHECK(j["tokens"][4]["piece"] == "hello");
}

TEST_CASE("tokenize reads --file and keeps special tokens optional", "[cli]") {
  const auto file = std::filesystem::temp_directory_path() / ("moeroute_cli_text_" + std::to_string(::getpid()));
  moeroute::write_file_atomic(file, "hi<|end|>");
  const Run parsed = run("tokenize " + tiny() + " --file '" + file.string() + "'");
  CHECK_THAT(parsed.out, Contains("ids: [104, 105, 261]"));
  const Run plain = run("tokenize " + tiny() + " --no-parse-special --file '" + file.string() + "'");
  CHECK_THAT(plain.out, Contains("ids: [104, 105, 60, 124, 101, 110, 100, 124, 62]"));
  std::filesystem::remove(file);
}

TEST_CASE("detokenize turns ids back into text", "[cli]") {
  Run r = run("detokenize " + tiny() + " 259 260 111 114 108 100");
  CHECK(r.status == 0);
  CHECK(r.out == "hello world\n");
  r = run("detokenize " + tiny() + " '[104, 261, 105]' --skip-special");
  CHECK(r.out == "hi\n");
  r = run("detokenize " + tiny() + " --json 104,261,105");
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["text"] == "h<|end|>i");
}

TEST_CASE("tokenize and detokenize errors map to exit code 2", "[cli]") {
  Run r = run("tokenize --tokenizer /no/such/tokenizer.json hi");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("/no/such/tokenizer.json"));
  r = run("detokenize " + tiny() + " 104 x7");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("x7"));
  r = run("detokenize " + tiny() + " 99999");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("99999"));
  r = run("tokenize " + tiny() + " --template nope hi");
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("nope"));
  r = run("tokenize hi");
  CHECK(r.status == 2);
}
