// Dataset input: JSONL (text, messages, labels), plain text (lines, paragraphs), CSV (RFC 4180),
// and the errors and warnings of bad input.
#include <catch2/catch.hpp>

#include <fstream>

#include "io/xxhash64.h"
#include "moeroute/dataset.h"
#include "moeroute/error.h"
#include "temp_dir.h"

using namespace moeroute;

namespace {

std::filesystem::path write(const test::TempDir& dir, const std::string& name, const std::string& bytes) {
  const auto p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::vector<DatasetSample> read_all(std::vector<DatasetFile> files, DatasetOptions o = {},
                                    std::vector<std::string>* warnings = nullptr) {
  DatasetReader r(std::move(files), std::move(o));
  std::vector<DatasetSample> out;
  DatasetSample s;
  while (r.next(s)) out.push_back(s);
  if (warnings) *warnings = r.warnings();
  return out;
}

std::string error_of(std::vector<DatasetFile> files, DatasetOptions o = {}) {
  try {
    read_all(std::move(files), std::move(o));
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("JSONL text samples carry the file's label, index and origin", "[dataset]") {
  test::TempDir dir;
  const auto a = write(dir, "code.jsonl", "{\"text\": \"def f(): pass\"}\n{\"text\": \"x = 1\", \"id\": 7}\n");
  const auto b = write(dir, "b.jsonl", "{\"text\": \"second file\"}\n");
  const auto s = read_all({{a, ""}, {b, "prose"}});
  REQUIRE(s.size() == 3);
  CHECK(s[0].text == "def f(): pass");
  CHECK(s[0].label == "code");
  CHECK(s[0].index == 0);
  CHECK(s[0].origin == a.string() + ":1");
  CHECK(s[1].index == 1);
  CHECK(s[2].label == "prose");
  CHECK(s[2].index == 2);
  CHECK(s[2].file == 1);
}

TEST_CASE("JSONL: dotted text fields, per-record labels and conversations", "[dataset]") {
  test::TempDir dir;
  const auto f = write(dir, "mixed.jsonl",
                       "{\"doc\": {\"body\": \"nested\"}, \"domain\": \"maths\"}\n"
                       "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", "
                       "\"content\": \"hello\"}], \"domain\": \"dialogue\"}\n");
  DatasetOptions o;
  o.text_field = "doc.body";
  o.label_field = "domain";
  const auto s = read_all({{f, ""}}, o);
  REQUIRE(s.size() == 2);
  CHECK(s[0].text == "nested");
  CHECK(s[0].label == "maths");
  CHECK(s[1].label == "dialogue");
  REQUIRE(s[1].messages.size() == 2);
  CHECK(s[1].messages[1].role == "assistant");
  CHECK(sample_text(s[1], ChatTemplate::builtin("chatml")) ==
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n");
  CHECK(sample_text(s[0], ChatTemplate::builtin("chatml")) == "nested");
}

TEST_CASE("JSONL: blank lines and empty texts are skipped with one warning per file", "[dataset]") {
  test::TempDir dir;
  const auto f = write(dir, "d.jsonl", "{\"text\": \"a\"}\n\n   \r\n{\"text\": \"  \"}\n{\"text\": \"b\"}\r\n");
  std::vector<std::string> warnings;
  const auto s = read_all({{f, ""}}, {}, &warnings);
  REQUIRE(s.size() == 2);
  CHECK(s[1].text == "b");
  CHECK(s[1].origin == f.string() + ":5");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == f.string() + ": skipped 2 blank lines (2, 3); 1 records with empty text (4)");
}

TEST_CASE("JSONL errors name the file, line and field", "[dataset]") {
  test::TempDir dir;
  const auto missing = write(dir, "m.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\", \"n\": 1}\n");
  CHECK(error_of({{missing, ""}}) == missing.string() +
                                         ":2: record has neither 'text' nor 'messages' (its fields: body, n; choose "
                                         "with --text-field or --messages-field)");
  const auto bad_json = write(dir, "j.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"x\" \"more\": 1}\n");
  CHECK_THAT(error_of({{bad_json, ""}}), Catch::StartsWith(bad_json.string() + ":2:14: invalid JSON"));
  const auto not_string = write(dir, "n.jsonl", "{\"text\": 5}\n");
  CHECK_THAT(error_of({{not_string, ""}}),
             Catch::StartsWith(not_string.string() + ":1:10: field 'text': expected a string, got integer 5"));
  const auto array = write(dir, "a.jsonl", "[1, 2]\n");
  CHECK_THAT(error_of({{array, ""}}), Catch::Contains("expected a JSON object (a JSON Lines record)"));
  const auto role = write(dir, "r.jsonl", "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}\n");
  CHECK_THAT(error_of({{role, ""}}), Catch::Contains("field 'messages[0].role': 'tool' is not one of: system, user, assistant"));
  const auto label = write(dir, "l.jsonl", "{\"text\": \"x\"}\n");
  DatasetOptions o;
  o.label_field = "domain";
  CHECK_THAT(error_of({{label, ""}}, o), Catch::Contains(":1:1: required field 'domain' is missing"));
}

TEST_CASE("Invalid UTF-8 is refused with line and column, in every format", "[dataset]") {
  test::TempDir dir;
  const auto txt = write(dir, "t.txt", "fine\nab\xff" "cd\n");
  CHECK(error_of({{txt, ""}}) == txt.string() + ":2:3: invalid UTF-8 (byte 0xff); datasets must be UTF-8 text");
  const auto jsonl = write(dir, "j.jsonl", "{\"text\": \"\xc3\x28\"}\n");
  CHECK_THAT(error_of({{jsonl, ""}}), Catch::StartsWith(jsonl.string() + ":1:11: invalid UTF-8 (byte 0xc3)"));
}

TEST_CASE("Plain text: a sample per line or per paragraph; BOM and CRLF stripped", "[dataset]") {
  test::TempDir dir;
  const auto f = write(dir, "p.txt", "\xEF\xBB\xBFone\r\ntwo\r\n\r\n\r\nthree\nfour\n");
  const auto lines = read_all({{f, "x"}});
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "one");
  CHECK(lines[2].origin == f.string() + ":5");
  DatasetOptions o;
  o.text_unit = TextUnit::Paragraph;
  const auto paras = read_all({{f, "x"}}, o);
  REQUIRE(paras.size() == 2);
  CHECK(paras[0].text == "one\ntwo");
  CHECK(paras[1].text == "three\nfour");
  CHECK(paras[1].origin == f.string() + ":5");
}

TEST_CASE("max_samples limits each file", "[dataset]") {
  test::TempDir dir;
  const auto a = write(dir, "a.txt", "1\n2\n3\n");
  const auto b = write(dir, "b.txt", "4\n5\n6\n");
  DatasetOptions o;
  o.max_samples = 2;
  const auto s = read_all({{a, ""}, {b, ""}}, o);
  REQUIRE(s.size() == 4);
  CHECK(s[2].text == "4");
  CHECK(s[3].index == 3);
}

TEST_CASE("CSV: RFC 4180 quoting, multi-line fields, a text and a label column", "[dataset]") {
  test::TempDir dir;
  const auto f = write(dir, "d.csv",
                       "id,text,domain\r\n1,plain,code\r\n2,\"with, comma and \"\"quotes\"\"\",maths\r\n"
                       "3,\"two\r\nlines\",prose\r\n\r\n4,,prose\r\n");
  DatasetOptions o;
  o.label_field = "domain";
  std::vector<std::string> warnings;
  const auto s = read_all({{f, ""}}, o, &warnings);
  REQUIRE(s.size() == 3);
  CHECK(s[0].text == "plain");
  CHECK(s[1].text == "with, comma and \"quotes\"");
  CHECK(s[1].label == "maths");
  CHECK(s[2].text == "two\nlines");
  CHECK(s[2].origin == f.string() + ":4");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == f.string() + ": skipped 1 blank lines (6); 1 records with empty text (7)");
}

TEST_CASE("CSV errors: missing column, ragged rows, stray and unclosed quotes", "[dataset]") {
  test::TempDir dir;
  const auto col = write(dir, "c.csv", "a,b\n1,2\n");
  CHECK(error_of({{col, ""}}) ==
        col.string() + ":1: the header has no column 'text' (columns: a, b; choose one with --csv-column)");
  const auto ragged = write(dir, "r.csv", "text,b\nx,1\ny\n");
  CHECK(error_of({{ragged, ""}}) == ragged.string() + ":3: row has 1 fields, the header has 2");
  const auto stray = write(dir, "s.csv", "text\nab\"c\n");
  CHECK_THAT(error_of({{stray, ""}}), Catch::StartsWith(stray.string() + ":2:3: '\"' inside an unquoted field"));
  const auto open = write(dir, "o.csv", "text\n\"never closed\n");
  CHECK(error_of({{open, ""}}) == open.string() + ":2:1: quoted field is never closed");
}

TEST_CASE("A file without samples, or missing, is an error", "[dataset]") {
  test::TempDir dir;
  const auto empty = write(dir, "e.jsonl", "\n\n");
  CHECK_THAT(error_of({{empty, ""}}), Catch::Contains("e.jsonl: no samples (read as jsonl"));
  CHECK_THAT(error_of({{dir / "nope.txt", ""}}), Catch::EndsWith("nope.txt: no such file"));
  CHECK_THROWS_AS(DatasetReader({}, {}), InputError);
}

TEST_CASE("scan_dataset counts per file and checksums the whole file", "[dataset]") {
  test::TempDir dir;
  const std::string bytes = "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n";
  const auto a = write(dir, "a.jsonl", bytes);
  const auto b = write(dir, "b.txt", "x\ny\n");
  DatasetOptions o;
  o.max_samples = 2;
  const DatasetSummary s = scan_dataset({{a, "A"}, {b, ""}}, o);
  CHECK(s.num_samples == 4);
  REQUIRE(s.files.size() == 2);
  CHECK(s.files[0].num_samples == 2);
  CHECK(s.files[0].format == DatasetFormat::Jsonl);
  CHECK(s.files[0].bytes == bytes.size());
  CHECK(s.files[0].xxh64 == detail::xxh64_hex(detail::xxh64(bytes)));  // the whole file, not only what was read
  CHECK(s.files[1].first_sample == 2);
  CHECK(s.files[1].format == DatasetFormat::Text);
  CHECK(s.labels == std::vector<std::string>{"A", "b"});
}

TEST_CASE("LABEL=PATH arguments", "[dataset]") {
  test::TempDir dir;
  const DatasetFile f = parse_dataset_file("code=data/x.jsonl");
  CHECK(f.label == "code");
  CHECK(f.path == "data/x.jsonl");
  CHECK(parse_dataset_file("plain.jsonl").label.empty());
  const auto odd = write(dir, "a=b.txt", "x\n");
  CHECK(parse_dataset_file(odd.string()).path == odd);  // an existing file wins
  CHECK_THROWS_AS(parse_dataset_format("parquet"), InputError);
}
