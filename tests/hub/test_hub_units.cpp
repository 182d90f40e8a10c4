// The hub module's pure parts against hand-worked values and huggingface_hub's documented
// behaviour: repository ids, the environment, URLs, globs, the "needed files" selection, digests,
// cache names and the progress arithmetic.
#include <catch2/catch.hpp>

#include <map>

#include "fp_tolerance.h"
#include "hub/cache_layout.h"
#include "hub/digest.h"
#include "hub/file_selection.h"
#include "hub/hub_env.h"
#include "hub/progress.h"
#include "hub/snapshot_selection.h"
#include "hub/url.h"
#include "moeroute/hub.h"

using namespace moeroute;
using namespace moeroute::detail;
using Catch::Matchers::Contains;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("repository specs follow the Hub's id rules", "[hub]") {
  const RepoRef r = parse_repo_spec("openai/gpt-oss-20b@v1.0");
  CHECK(r.id == "openai/gpt-oss-20b");
  CHECK(r.revision == "v1.0");
  CHECK(r.type == RepoType::model);
  CHECK(parse_repo_spec("gpt2").id == "gpt2");
  CHECK(to_string(parse_repo_spec("org/data", RepoType::dataset)) == "datasets/org/data");
  CHECK_THROWS_WITH(parse_repo_spec("a/b/c"), Contains("more than one '/'"));
  CHECK_THROWS_WITH(parse_repo_spec("org/na--me"), Contains("'--'"));
  CHECK_THROWS_WITH(parse_repo_spec("org/na..me"), Contains("'..'"));
  CHECK_THROWS_WITH(parse_repo_spec("org/-name"), Contains("not starting or ending"));
  CHECK_THROWS_WITH(parse_repo_spec("org/name.git"), Contains(".git"));
  CHECK_THROWS_WITH(parse_repo_spec("org/na me"), Contains("letters, digits"));
  CHECK_THROWS_WITH(parse_repo_spec("org/name@"), Contains("empty revision"));
  CHECK_THROWS_WITH(parse_repo_spec(std::string(97, 'a')), Contains("at most 96"));
}

TEST_CASE("the environment is read as huggingface_hub reads it", "[hub]") {
  SECTION("defaults under HOME") {
    const HubOptions o = hub_options_from(env_of({{"HOME", "/home/u"}}));
    CHECK(o.endpoint == "https://huggingface.co");
    CHECK(o.cache_dir == "/home/u/.cache/huggingface/hub");
    CHECK(o.token_file == "/home/u/.cache/huggingface/token");
    CHECK(o.token.empty());
    CHECK_FALSE(o.offline);
  }
  SECTION("XDG_CACHE_HOME, HF_HOME, HF_HUB_CACHE and the legacy name, in that order of strength") {
    CHECK(hub_options_from(env_of({{"XDG_CACHE_HOME", "/x"}})).cache_dir == "/x/huggingface/hub");
    CHECK(hub_options_from(env_of({{"XDG_CACHE_HOME", "/x"}, {"HF_HOME", "/h"}})).cache_dir == "/h/hub");
    CHECK(hub_options_from(env_of({{"HF_HOME", "/h"}, {"HUGGINGFACE_HUB_CACHE", "/legacy"}})).cache_dir == "/legacy");
    CHECK(hub_options_from(env_of({{"HUGGINGFACE_HUB_CACHE", "/legacy"}, {"HF_HUB_CACHE", "/new"}})).cache_dir == "/new");
    CHECK(hub_options_from(env_of({{"HOME", "/u"}, {"V", "v"}, {"HF_HUB_CACHE", "~/c/$V/${V}x/$NOPE"}})).cache_dir ==
          "/u/c/v/vx/$NOPE");
  }
  SECTION("endpoint, offline switches and timeouts") {
    const HubOptions o = hub_options_from(env_of({{"HF_ENDPOINT", "http://mirror:8080//"}, {"HF_HUB_OFFLINE", "yes"},
                                                 {"HF_HUB_ETAG_TIMEOUT", "3"}, {"HF_HUB_DOWNLOAD_TIMEOUT", "30"}}));
    CHECK(o.endpoint == "http://mirror:8080");
    CHECK(o.offline);
    CHECK(o.metadata_timeout_s == 3);
    CHECK(o.read_timeout_s == 30);
    CHECK(hub_options_from(env_of({{"TRANSFORMERS_OFFLINE", "1"}})).offline);
    CHECK_FALSE(hub_options_from(env_of({{"HF_HUB_OFFLINE", "0"}, {"TRANSFORMERS_OFFLINE", "1"}})).offline);
    CHECK_THROWS_WITH(hub_options_from(env_of({{"HF_HUB_DOWNLOAD_TIMEOUT", "soon"}})),
               Contains("HF_HUB_DOWNLOAD_TIMEOUT"));
  }
  SECTION("HF_TOKEN wins over the legacy variable, which wins over the token file") {
    CHECK(hub_options_from(env_of({{"HF_TOKEN", " hf_a\r\n"}, {"HUGGING_FACE_HUB_TOKEN", "hf_b"}})).token == "hf_a");
    CHECK(hub_options_from(env_of({{"HUGGING_FACE_HUB_TOKEN", "hf_b"}, {"HF_TOKEN_PATH", "/nonexistent"}})).token ==
          "hf_b");
  }
}

TEST_CASE("URLs: parsing, origins, relative redirects and quoting", "[hub]") {
  const Url u = parse_url("HTTPS://Hub.Example:8443/api/x?y=1#frag");
  CHECK(u.scheme == "https");
  CHECK(u.host == "hub.example");
  CHECK(u.port == 8443);
  CHECK(u.target == "/api/x?y=1");
  CHECK(u.origin() == "https://hub.example:8443");
  CHECK(parse_url("https://huggingface.co").origin() == "https://huggingface.co:443");
  CHECK(parse_url("http://127.0.0.1:5000").str() == "http://127.0.0.1:5000/");
  CHECK(parse_url("http://[::1]:8080/x").origin() == "http://[::1]:8080");
  CHECK(parse_url("http://[::1]:80/x").str() == "http://[::1]/x");
  CHECK_THROWS_WITH(parse_url("ftp://x", "HF_ENDPOINT"), Contains("HF_ENDPOINT"));
  CHECK_THROWS_WITH(parse_url("huggingface.co"), Contains("scheme"));

  const std::string base = "https://hub.example/org/name/resolve/main/a/b.json?x=1";
  CHECK(resolve_reference(base, "https://cdn.example/blob?sig=2") == "https://cdn.example/blob?sig=2");
  CHECK(resolve_reference(base, "//cdn.example/blob") == "https://cdn.example/blob");
  CHECK(resolve_reference(base, "/new/name/resolve/main/a/b.json") == "https://hub.example/new/name/resolve/main/a/b.json");
  CHECK(resolve_reference(base, "c.json") == "https://hub.example/org/name/resolve/main/a/c.json");
  CHECK(resolve_reference(base, "../../v2/a/b.json") == "https://hub.example/org/name/resolve/v2/a/b.json");
  CHECK(resolve_reference(base, "./c/../d?q") == "https://hub.example/org/name/resolve/main/a/d?q");
  CHECK(resolve_reference("http://h:81/a/b", "?p=1") == "http://h:81/a/b?p=1");

  // Python's quote(revision, safe="") and quote(filename) (safe="/").
  CHECK(percent_encode("refs/pr/1", "") == "refs%2Fpr%2F1");
  CHECK(percent_encode("dir/a b+c,é.json") == "dir/a%20b%2Bc%2C%C3%A9.json");
}

TEST_CASE("globs behave like huggingface_hub's filter_repo_objects", "[hub]") {
  CHECK(glob_match("*.json", "config.json"));
  CHECK(glob_match("*.json", "original/config.json"));  // '*' crosses '/' (fnmatch, no FNM_PATHNAME)
  CHECK(glob_match("original/", "original/model.safetensors"));  // a trailing '/' means the whole directory
  CHECK_FALSE(glob_match("original/", "originals.txt"));
  CHECK_FALSE(glob_match("*.JSON", "config.json"));  // case-sensitive
  CHECK(glob_match("model-0000[12]-*", "model-00002-of-00002.safetensors"));
  CHECK(glob_match("a\\b", "a/b"));  // backslashes are separators, not escapes
  const std::vector<std::string> files = {".gitattributes", "README.md", "config.json", "original/config.json"};
  CHECK(filter_paths(files, {"*.json"}, {"original/*"}) == std::vector<std::string>{"config.json"});
  CHECK(filter_paths(files, {}, {".*"}).size() == 3);
}

TEST_CASE("a model gets its metadata and the weights its index names, nothing else", "[hub]") {
  const std::vector<std::string> files = {
      ".gitattributes", "README.md", "chat_template.jinja", "config.json", "generation_config.json",
      "metal/model.bin", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
      "model.safetensors.index.json", "original/config.json", "original/model.safetensors", "pytorch_model.bin",
      "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"};
  const std::string index = R"({"metadata": {"total_size": 8}, "weight_map": {
      "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
      "c": "model-00001-of-00002.safetensors"}})";
  DownloadOptions o;
  o.repo = parse_repo_spec("org/m");
  const Selection s = select_files(files, o, "org/m", [&] { return index; });
  CHECK(s.paths == std::vector<std::string>{"chat_template.jinja", "config.json", "generation_config.json",
                                            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                            "model.safetensors.index.json", "special_tokens_map.json",
                                            "tokenizer.json", "tokenizer_config.json"});
  CHECK(s.missing_shards.empty());

  o.exclude = {"chat_template.*"};
  CHECK(select_files(files, o, "org/m", [&] { return index; }).paths.size() == 8);
  o.exclude.clear();
  o.all = true;
  CHECK(select_files(files, o, "org/m", [&] { return index; }).paths.size() == files.size());
  o.all = false;
  o.include = {"original/"};
  CHECK(select_files(files, o, "org/m", [&] { return index; }).paths ==
        std::vector<std::string>{"original/config.json", "original/model.safetensors"});
  o.include = {"*.gguf"};
  CHECK_THROWS_WITH(select_files(files, o, "org/m", [&] { return index; }),
             Contains("no file of org/m matches --include *.gguf"));

  o.include.clear();
  CHECK(select_files({"config.json", "model.safetensors", "original/model.safetensors"}, o, "org/m", {}).paths ==
        std::vector<std::string>{"config.json", "model.safetensors"});
  CHECK_THROWS_WITH(select_files({"config.json", "pytorch_model.bin"}, o, "org/m", {}),
             Contains("no safetensors weights"));
  CHECK_THROWS_WITH(select_files({"model.safetensors"}, o, "org/m", {}), Contains("no config.json"));
  const Selection missing = select_files({"config.json", "model.safetensors.index.json"}, o, "org/m", [&] { return index; });
  CHECK(missing.missing_shards.size() == 2);

  o.repo.type = RepoType::dataset;  // datasets get every file
  CHECK(select_files(files, o, "d", {}).paths.size() == files.size());

  CHECK_THROWS_WITH(index_shards(R"({"weight_map": {"a": "../x.safetensors"}})", "idx"),
             Contains("weight_map.a"));
  CHECK_THROWS_WITH(index_shards(R"({"weight_map": {"a": 3}})", "idx"), Contains("expected a string"));
}

TEST_CASE("digests: SHA-256 and the git blob oid", "[hub]") {
  Digest sha(Digest::Kind::sha256);
  sha.update("ab", 2);
  sha.update("c", 1);
  CHECK(sha.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 "abc"
  Digest git(Digest::Kind::git_blob_sha1, 6);
  git.update("hello\n", 6);
  CHECK(git.hex() == "ce013625030ba8dba906f756967f9e9ca394464a");  // git hash-object of "hello\n"
  CHECK(Digest(Digest::Kind::git_blob_sha1, 0).hex() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");  // the empty blob
}

TEST_CASE("cache names and paths match huggingface_hub's", "[hub]") {
  CHECK(repo_folder_name(RepoType::model, "openai/gpt-oss-20b") == "models--openai--gpt-oss-20b");
  CHECK(repo_folder_name(RepoType::dataset, "squad") == "datasets--squad");
  const RepoCache c("/c", RepoType::model, "org/m");
  CHECK(c.blob("e1") == "/c/models--org--m/blobs/e1");
  CHECK(c.incomplete("e1") == "/c/models--org--m/blobs/e1.incomplete");
  CHECK(c.lock("e1") == "/c/.locks/models--org--m/e1.lock");
  CHECK(c.pointer("abc", "a/b.json") == "/c/models--org--m/snapshots/abc/a/b.json");
  CHECK(c.ref("refs/pr/1") == "/c/models--org--m/refs/refs/pr/1");
  CHECK(c.tree_cache("abc") == "/c/models--org--m/trees/abc.json");
  CHECK(is_commit_hash(std::string(40, 'a')));
  CHECK_FALSE(is_commit_hash(std::string(40, 'A')));
  CHECK_FALSE(is_commit_hash("main"));
  for (const char* bad : {"../x", "/etc/passwd", "a//b", "a/./b", "a\\b", ""})
    CHECK_THROWS_WITH(check_repo_path(bad, "listing"), Contains("refusing"));
  check_repo_path("original/model.safetensors", "listing");
}

TEST_CASE("progress: sizes, durations, rate over a window and ETA", "[hub]") {
  CHECK(format_bytes(999) == "999 B");
  CHECK(format_bytes(1000) == "1.00 kB");
  CHECK(format_bytes(1'234'567) == "1.23 MB");
  CHECK(format_bytes(123'456'789) == "123.5 MB");
  CHECK(format_bytes(999'999'999) == "1.00 GB");
  CHECK(format_bytes(40'100'000'000) == "40.10 GB");
  CHECK(format_duration(8.4) == "8s");
  CHECK(format_duration(332) == "5m32s");
  CHECK(format_duration(7500) == "2h05m");

  ProgressMeter m(1'000'000);
  m.already_present(100'000);  // resumed bytes count as done but not as speed
  CHECK(m.rate(0) == 0);
  CHECK_FALSE(m.eta(0));
  m.received(0, 0);
  m.received(2, 200'000);  // 100 kB/s
  // The first sample sits 1e-9 s before the first call (progress.cpp), so the rate is
  // 200 kB / (2 s + 1e-9 s); a rate and an ETA are then a few correctly rounded operations.
  const double rate = 200'000 / (2 + 1e-9);
  CHECK(m.rate(2) == Approx(rate).epsilon(0).margin(moeroute::test::fp64_tolerance(4, 100'000)));
  CHECK(*m.eta(2) == Approx(700'000 / rate).epsilon(0).margin(moeroute::test::fp64_tolerance(6, 7)));  // 700 kB left
  CHECK(m.line(2, 1, 3, 0) == " 30% 300.0 kB / 1.00 MB  100.0 kB/s  ETA 7s  1/3 files");
  CHECK(m.line(2, 1, 3, 10).rfind("[###.......]  30%", 0) == 0);
  // Only the last 10 s count: a stall lowers the rate, then a burst raises it.
  m.received(30, 0);
  CHECK(m.rate(30) < 10'000);
  m.received(31, 500'000);
  CHECK(m.rate(31) > 40'000);
  m.discarded(800'000);
  CHECK(m.done() == 0);
}
