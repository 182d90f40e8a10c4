// tokenizer.json features on small files of our own whose expected ids were computed by hand
// (tests/data/tokenizer/tiny_*.json; the comments show the derivation).
#include <catch2/catch.hpp>

#include <random>

#include "moeroute/error.h"
#include "moeroute/hf_tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"

using moeroute::load_tokenizer;
using moeroute::parse_tokenizer_json;
using moeroute::test::tokenizer_data;
using Ids = std::vector<int64_t>;

namespace {

// Vocab a=0 b=1 c=2 ab=3 bc=4 abc=5 <unk>=6 aa=7; merges by rank: a b, ab c, a a, b c;
// words split on whitespace.
void check_tiny_merges(const moeroute::Tokenizer& t, bool fuse_unk) {
  // "abc": (a,b) rank 0 → ab; (ab,c) rank 1 → abc.
  CHECK(t.encode("abc") == Ids{5});
  // "aab": (a,b) rank 0 beats (a,a) rank 2 although it is further right → a ab.
  CHECK(t.encode("aab") == Ids{0, 3});
  // "bcab": (a,b) rank 0 first, then (b,c) rank 3 → bc ab.
  CHECK(t.encode("bcab") == Ids{4, 3});
  // "aaa": two (a,a) candidates of equal rank: the leftmost wins → aa a.
  CHECK(t.encode("aaa") == Ids{7, 0});
  CHECK(t.encode("abc aab  bcab\n aaa") == Ids{5, 0, 3, 4, 3, 7, 0});
  // 'd' is not in the vocabulary: <unk>; consecutive unknowns fuse only with fuse_unk.
  CHECK(t.encode("abd") == Ids{3, 6});
  CHECK(t.encode("ddab") == (fuse_unk ? Ids{6, 3} : Ids{6, 6, 3}));
  CHECK(t.encode("") == Ids{});
  CHECK(t.encode("   ") == Ids{});
  // No decoder: tokens joined with spaces, as the tokenizers library does.
  CHECK(t.decode({5, 0, 3}) == "abc a ab");
  CHECK(t.vocab_size() == 8);
  CHECK(t.token_id("abc") == 5);
  CHECK(!t.token_id("zz").has_value());
  CHECK(t.token_piece(7) == "aa");
}

}  // namespace

TEST_CASE("merges written as \"a b\" strings", "[tokenizer]") {
  check_tiny_merges(*load_tokenizer(tokenizer_data("tiny_legacy_merges.json")), false);
}

TEST_CASE("merges written as [\"a\", \"b\"] pairs", "[tokenizer]") {
  // Same vocabulary and merges as tiny_legacy_merges.json, plus fuse_unk.
  check_tiny_merges(*load_tokenizer(tokenizer_data("tiny_pair_merges.json")), true);
}

// tiny_byte_level.json: ids 0–255 are the bytes (GPT-2 characters), then he=256 ll=257
// hell=258 hello=259 Ġw=260; added <|end|>=261 (special), [X]=262 (lstrip, rstrip),
// word=263 (single_word), "e\u0301!"=264 (normalized); NFC normalizer; GPT-2 regex.
TEST_CASE("byte-level BPE with GPT-2 pre-tokenization", "[tokenizer]") {
  const auto t = load_tokenizer(tokenizer_data("tiny_byte_level.json"));
  // "hello" merges completely; " world" → Ġw o r l d.
  CHECK(t->encode("hello world") == Ids{259, 260, 'o', 'r', 'l', 'd'});
  // "日" is E6 97 A5: three byte tokens, no merges.
  CHECK(t->encode("\xE6\x97\xA5") == Ids{0xE6, 0x97, 0xA5});
  CHECK(t->decode(Ids{259, 260, 'o', 'r', 'l', 'd'}) == "hello world");
  CHECK(t->token_piece(260) == "\xC4\xA0w");  // "Ġw"
  CHECK(t->token_piece(32) == "\xC4\xA0");    // byte 0x20 is spelled Ġ
  CHECK(t->vocab_size() == 265);
}

TEST_CASE("added tokens: special, lstrip/rstrip, single_word, normalized", "[tokenizer]") {
  const auto t = load_tokenizer(tokenizer_data("tiny_byte_level.json"));
  CHECK(t->encode("hi<|end|>") == Ids{'h', 'i', 261});
  // Not parsed: "<|end|>" is text, pre-tokenized by the GPT-2 regex as "<|", "end", "|>".
  CHECK(t->encode("hi<|end|>", false) == Ids{'h', 'i', '<', '|', 'e', 'n', 'd', '|', '>'});
  // [X] swallows the whitespace on both sides.
  CHECK(t->encode("a  [X]  b") == Ids{'a', 262, 'b'});
  // "word" only where no word character touches it: not in "words" nor "aword".
  CHECK(t->encode("word words aword word.") ==
        Ids{263, 260, 'o', 'r', 'd', 's', ' ', 'a', 'w', 'o', 'r', 'd', ' ', 263, '.'});
  // The normalized token "e\u0301!" is matched after NFC, in either spelling.
  CHECK(t->encode("xe\xCC\x81!y") == Ids{'x', 264, 'y'});
  CHECK(t->encode("x\xC3\xA9!y") == Ids{'x', 264, 'y'});
  // NFC composes e + U+0301 into é (C3 A9).
  CHECK(t->encode("xe\xCC\x81y") == Ids{'x', 0xC3, 0xA9, 'y'});
  CHECK(t->token_id("<|end|>") == 261);
  CHECK(t->token_piece(261) == "<|end|>");
  // A token decodes to its spelling in the file, not the normalized one (as tokenizers 0.22).
  CHECK(t->decode({264}) == "e\xCC\x81!");
}

TEST_CASE("decoding bytes of a character split across tokens", "[tokenizer]") {
  const auto t = load_tokenizer(tokenizer_data("tiny_byte_level.json"));
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(t->decode({0xE6, 0x97, 0xA5}) == "\xE6\x97\xA5");
  // E6 97 is one truncated sequence: one U+FFFD. A lone continuation byte: one U+FFFD.
  CHECK(t->decode({0xE6, 0x97}) == fffd);
  CHECK(t->decode({0x97}) == fffd);
  // A special token between the bytes splits the character: E6 | <|end|> | 97 | A5.
  CHECK(t->decode({0xE6, 261, 0x97, 0xA5}) == fffd + "<|end|>" + fffd + fffd);
  // Skipping the special token first joins the bytes again.
  CHECK(t->decode({0xE6, 261, 0x97, 0xA5}, true) == "\xE6\x97\xA5");
  CHECK(t->decode({'h', 261, 'i'}, true) == "hi");
  CHECK_THROWS_AS(t->decode({265}), moeroute::InputError);
  CHECK_THROWS_AS(t->decode({-1}), moeroute::InputError);
}

// tiny_byte_fallback.json (Llama-2 style): <unk>=0, <0x00>…<0xFF>=1…256, ▁=257 ▁h=258 i=259
// h=260; normalizer Prepend("▁") + Replace(" " → "▁"); decoder Replace, ByteFallback, Fuse,
// Strip(1 leading space).
TEST_CASE("byte-fallback BPE with Prepend/Replace normalizers", "[tokenizer]") {
  const auto t = load_tokenizer(tokenizer_data("tiny_byte_fallback.json"));
  // "hi 日" → "▁hi▁日": ▁h i ▁, and 日 (not in the vocabulary) as its bytes E6 97 A5.
  const Ids ids{258, 259, 257, 1 + 0xE6, 1 + 0x97, 1 + 0xA5};
  CHECK(t->encode("hi 日") == ids);
  CHECK(t->decode(ids) == "hi 日");
  // ByteFallback replaces each byte of an invalid run by U+FFFD.
  CHECK(t->decode({258, 259, 257, 1 + 0xE6, 1 + 0x97}) == "hi \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(t->encode(" h") == Ids{257, 258});
}

TEST_CASE("bad tokenizer.json files are refused naming file and field", "[tokenizer]") {
  using Catch::Matchers::Contains;
  const std::string minimal_model = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  CHECK_THROWS_WITH(parse_tokenizer_json("{\"model\": ", "broken.json"),
                    Contains("broken.json:1:11: invalid JSON"));
  CHECK_THROWS_AS(parse_tokenizer_json(R"({"model": {"type": "Unigram", "vocab": []}})", "uni.json"),
                  moeroute::UnsupportedError);
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"model": {"type": "Unigram", "vocab": []}})", "uni.json"),
                    Contains("uni.json") && Contains("model.type") && Contains("Unigram"));
  CHECK_THROWS_WITH(
      parse_tokenizer_json(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}, )" +
                               minimal_model + "}",
                           "re.json"),
      Contains("re.json") && Contains("pre_tokenizer.pattern") && Contains("PCRE2"));
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"model": {"vocab": {"a": 0}, "merges": ["a b c"]}})", "m.json"),
                    Contains("m.json") && Contains("model.merges[0]"));
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"model": {"vocab": {"a": 0}, "merges": [["a", "z"]]}})", "m.json"),
                    Contains("model.merges[0]") && Contains("\"z\""));
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"model": {"vocab": {"a": 0}}})", "m.json"),
                    Contains("model.merges") && Contains("missing"));
  CHECK_THROWS_AS(parse_tokenizer_json(R"({"normalizer": {"type": "NFKC"}, )" + minimal_model + "}", "n.json"),
                  moeroute::UnsupportedError);
  CHECK_THROWS_WITH(parse_tokenizer_json(R"({"added_tokens": [{"id": "x", "content": "<s>"}], )" + minimal_model + "}",
                                         "a.json"),
                    Contains("added_tokens[0].id"));
  CHECK_THROWS_AS(load_tokenizer(tokenizer_data("no_such_tokenizer.json")), moeroute::InputError);
}

TEST_CASE("random bytes encode without crashing and decode back", "[tokenizer][fuzz]") {
  const auto byte_level = load_tokenizer(tokenizer_data("tiny_byte_level.json"));
  const auto fallback = load_tokenizer(tokenizer_data("tiny_byte_fallback.json"));
  std::mt19937 rng(1234);
  // Bytes biased towards UTF-8 lead/continuation bytes, whitespace and token fragments.
  const std::vector<std::string> fragments{"<|end|>", "[X]", "word", " ", "\n", "e\xCC\x81", "!", "\xE6\x97\xA5",
                                           "\xF0\x9F\x98\x80", "\xCC\x81", "<|", "|>", "\t \t"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int parts = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int p = 0; p < parts; ++p) {
      const int kind = std::uniform_int_distribution<int>(0, 3)(rng);
      if (kind == 0) text += fragments[std::uniform_int_distribution<std::size_t>(0, fragments.size() - 1)(rng)];
      else if (kind == 1) text.push_back(static_cast<char>(std::uniform_int_distribution<int>(0x80, 0xFF)(rng)));
      else text.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 0xFF)(rng)));
    }
    INFO("round " << round);
    const Ids ids = byte_level->encode(text);
    for (const int64_t id : ids) REQUIRE((id >= 0 && id < byte_level->vocab_size()));
    const std::string once = byte_level->decode(ids);
    // Decoding repairs the input to valid UTF-8 once; a second round trip changes nothing
    // except NFC, which the first round already applied.
    REQUIRE(byte_level->decode(byte_level->encode(once)) == once);
    (void)byte_level->encode(text, false);
    (void)fallback->decode(fallback->encode(text));
  }
}
