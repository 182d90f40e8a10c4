// download_snapshot and resolve_model_location against the test Hub on 127.0.0.1: what is
// selected, the cache layout huggingface_hub reads, revisions, datasets, redirects, tokens, and
// every injected fault ending in a correct cached file or a clear error with nothing corrupt.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/test_hub.h"
#include "moeroute/hub.h"
#include "unit/temp_dir.h"

using namespace moeroute;
using moeroute::test::Fault;
using moeroute::test::TestHub;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Deterministic bytes that do not compress or repeat.
std::string noise(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

const std::string kShard1 = noise(200'000, 1), kShard2 = noise(150'000, 2);
const std::string kIndex = R"({"metadata": {"total_size": 350000}, "weight_map": {
  "model.embed.weight": "model-00001-of-00002.safetensors",
  "model.layers.0.weight": "model-00002-of-00002.safetensors"}})";

std::map<std::string, std::string> model_files() {
  return {{"config.json", R"({"model_type": "qwen3_moe"})"},
          {"generation_config.json", R"({"eos_token_id": 2})"},
          {"tokenizer.json", R"({"model": {"type": "BPE"}})"},
          {"tokenizer_config.json", R"({"chat_template": "x"})"},
          {"chat_template.jinja", "{{ messages }}"},
          {"model.safetensors.index.json", kIndex},
          {"model-00001-of-00002.safetensors", kShard1},
          {"model-00002-of-00002.safetensors", kShard2},
          {"README.md", "# tiny"},
          {".gitattributes", "*.safetensors filter=lfs"},
          {"original/config.json", "{}"},
          {"original/model.safetensors", noise(90'000, 3)},
          {"metal/model.bin", noise(80'000, 4)},
          {"pytorch_model.bin", noise(70'000, 5)}};
}

const std::vector<std::string> kNeeded = {"chat_template.jinja",
                                          "config.json",
                                          "generation_config.json",
                                          "model-00001-of-00002.safetensors",
                                          "model-00002-of-00002.safetensors",
                                          "model.safetensors.index.json",
                                          "tokenizer.json",
                                          "tokenizer_config.json"};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

HubOptions options_for(const TestHub& hub, const fs::path& cache) {
  HubOptions o;
  o.endpoint = hub.endpoint();
  o.cache_dir = cache;
  o.token_file = cache / "token";
  o.progress = ProgressMode::none;
  o.retry_delay_s = 0.01;  // the backoff's shape matters, not its length
  o.max_retry_delay_s = 0.05;
  o.parallel_downloads = 4;
  return o;
}

DownloadOptions repo(const std::string& spec, RepoType type = RepoType::model) {
  DownloadOptions d;
  d.repo = parse_repo_spec(spec, type);
  return d;
}

std::vector<std::string> paths_of(const DownloadResult& r) {
  std::vector<std::string> out;
  for (const auto& f : r.files) out.push_back(f.path);
  return out;
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory()) out.push_back(e.path().lexically_relative(dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

// The blob directory holds only complete, verified blobs (and, after a failure, at most partials).
void check_no_corrupt_blob(const fs::path& repo_dir, const std::map<std::string, std::string>& files) {
  std::set<std::string> valid;
  for (const auto& [p, c] : files) {
    valid.insert(moeroute::test::sha256_hex(c));
    valid.insert(moeroute::test::git_blob_oid(c));
  }
  for (const std::string& b : files_under(repo_dir / "blobs")) {
    if (b.size() > 11 && b.substr(b.size() - 11) == ".incomplete") continue;
    INFO(b);
    CHECK(valid.count(b) == 1);
    const std::string content = read(repo_dir / "blobs" / b);
    CHECK((moeroute::test::sha256_hex(content) == b || moeroute::test::git_blob_oid(content) == b));
  }
}

int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("a model gets only what moeroute needs, in huggingface_hub's cache layout", "[hub_download]") {
  TestHub hub;
  const std::string commit = hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  const HubOptions o = options_for(hub, tmp.path());
  const DownloadResult r = download_snapshot(repo("org/tiny"), o);

  const fs::path repo_dir = tmp.path() / "models--org--tiny";
  CHECK(r.commit == commit);
  CHECK(r.snapshot_dir == repo_dir / "snapshots" / commit);
  CHECK(paths_of(r) == kNeeded);
  CHECK(files_under(r.snapshot_dir) == kNeeded);  // no original/, metal/, pytorch_model.bin, README
  const auto files = model_files();
  std::uint64_t total = 0;
  for (const auto& f : r.files) {
    INFO(f.path);
    CHECK(f.downloaded);
    CHECK(read(r.snapshot_dir / f.path) == files.at(f.path));
    total += f.size;
    // LFS files are named by sha256, the others by their git blob oid; links are relative.
    const bool lfs = f.path.find(".safetensors") != std::string::npos && f.path.find(".json") == std::string::npos;
    const std::string etag = lfs ? test::sha256_hex(files.at(f.path)) : test::git_blob_oid(files.at(f.path));
    CHECK(fs::read_symlink(r.snapshot_dir / f.path) == fs::path("../../blobs") / etag);
    CHECK(fs::exists(tmp.path() / ".locks" / "models--org--tiny" / (etag + ".lock")));
  }
  CHECK(r.bytes_downloaded == total);
  CHECK(read(repo_dir / "refs" / "main") == commit);  // no newline, as huggingface_hub writes it
  CHECK(fs::exists(tmp.path() / "CACHEDIR.TAG"));
  const auto tree = nlohmann::json::parse(read(repo_dir / "trees" / (commit + ".json")));
  CHECK(tree["format_version"] == 1);
  CHECK(tree["files"].size() == files.size());  // the whole listing, for offline completeness checks
  CHECK(tree["files"]["model-00001-of-00002.safetensors"]["lfs_sha256"] == test::sha256_hex(kShard1));
  CHECK(tree["files"]["config.json"]["blob_id"] == test::git_blob_oid(files.at("config.json")));
  CHECK(hub.count("cdn", "GET", "") == 2);  // the two shards, redirected to the CDN
  check_no_corrupt_blob(repo_dir, files);

  SECTION("a second run downloads nothing") {
    hub.clear_requests();
    const DownloadResult again = download_snapshot(repo("org/tiny"), o);
    CHECK(again.bytes_downloaded == 0);
    for (const auto& f : again.files) CHECK_FALSE(f.downloaded);
    CHECK(hub.count("", "GET", "/resolve/") == 0);
    CHECK(hub.count("cdn", "", "") == 0);
  }
  SECTION("--all fetches the rest, and only the rest") {
    hub.clear_requests();
    DownloadOptions all = repo("org/tiny");
    all.all = true;
    const DownloadResult every = download_snapshot(all, o);
    CHECK(every.files.size() == files.size());
    CHECK(files_under(every.snapshot_dir).size() == files.size());
    CHECK(hub.count("cdn", "GET", "") == 3);  // original/model.safetensors, metal/model.bin, pytorch_model.bin
    CHECK(read(every.snapshot_dir / "original/model.safetensors") == files.at("original/model.safetensors"));
    CHECK(fs::read_symlink(every.snapshot_dir / "original/config.json") ==
          fs::path("../../../blobs") / test::git_blob_oid("{}"));
  }
  SECTION("include and exclude globs") {
    DownloadOptions some = repo("org/tiny");
    some.include = {"original/", "*.md"};
    some.exclude = {"*.safetensors"};
    CHECK(paths_of(download_snapshot(some, o)) == std::vector<std::string>{"README.md", "original/config.json"});
  }
}

// org/tiny with two commits on main that differ in config.json only; c1 is also tagged `tag`.
struct TwoCommits {
  std::string c1, c2;
  std::map<std::string, std::string> files;  // of c2
};

TwoCommits add_two_commits(TestHub& hub, const std::string& tag) {
  TwoCommits t;
  t.files = model_files();
  t.c1 = hub.add_commit("model", "org/tiny", t.files);
  t.files["config.json"] = R"({"model_type": "qwen3_moe", "v": 2})";
  t.c2 = hub.add_commit("model", "org/tiny", t.files);
  hub.add_ref("model", "org/tiny", tag, t.c1);
  return t;
}

TEST_CASE("revisions: branches, tags, commit hashes and refs/pr/N", "[hub_download]") {
  TestHub hub;
  const auto [c1, c2, files] = add_two_commits(hub, "v1.0");
  hub.add_ref("model", "org/tiny", "refs/pr/1", c1);
  test::TempDir tmp;
  const HubOptions o = options_for(hub, tmp.path());
  const fs::path repo_dir = tmp.path() / "models--org--tiny";

  CHECK(download_snapshot(repo("org/tiny@v1.0"), o).commit == c1);
  CHECK(read(repo_dir / "refs" / "v1.0") == c1);
  CHECK(download_snapshot(repo("org/tiny"), o).commit == c2);
  CHECK(read(repo_dir / "refs" / "main") == c2);
  CHECK(download_snapshot(repo("org/tiny@refs/pr/1"), o).commit == c1);  // quoted as refs%2Fpr%2F1
  CHECK(read(repo_dir / "refs" / "refs" / "pr" / "1") == c1);
  hub.clear_requests();
  CHECK(download_snapshot(repo("org/tiny@" + c1), o).commit == c1);
  CHECK_FALSE(fs::exists(repo_dir / "refs" / c1));  // a commit hash is no ref
  CHECK(hub.count("cdn", "", "") == 0);
  // The shards did not change between the commits: one blob each, shared by both snapshots.
  CHECK(files_under(repo_dir / "blobs").size() == kNeeded.size() + 1);
  CHECK_THROWS_WITH(download_snapshot(repo("org/tiny@nope"), o),
             Contains("revision 'nope' not found in org/tiny"));
}

TEST_CASE("datasets live under datasets--org--name and come whole", "[hub_download]") {
  TestHub hub;
  const std::string commit =
      hub.add_commit("dataset", "org/data", {{"README.md", "# d"}, {"data/train.csv", "a,b\n1,2\n"}, {"x.npz", noise(5000, 9)}});
  test::TempDir tmp;
  const DownloadResult r = download_snapshot(repo("org/data", RepoType::dataset), options_for(hub, tmp.path()));
  CHECK(r.snapshot_dir == tmp.path() / "datasets--org--data" / "snapshots" / commit);
  CHECK(paths_of(r) == std::vector<std::string>{"README.md", "data/train.csv", "x.npz"});
  CHECK(read(r.snapshot_dir / "data/train.csv") == "a,b\n1,2\n");
  CHECK(hub.count("hub", "GET", "/api/datasets/org/data/revision/main") == 1);
  CHECK(hub.count("hub", "HEAD", "/datasets/org/data/resolve/") == 3);
  CHECK(hub.count("hub", "", "/api/models/") == 0);
}

TEST_CASE("a renamed repository is followed through relative redirects", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  hub.rename("model", "old/name", "org/tiny");
  test::TempDir tmp;
  const DownloadResult r = download_snapshot(repo("old/name"), options_for(hub, tmp.path()));
  CHECK(paths_of(r) == kNeeded);
  CHECK(r.snapshot_dir.parent_path().parent_path() == tmp.path() / "models--old--name");  // named as asked, like Python
  CHECK(hub.count("hub", "", "/old/name/") > 0);
  for (const auto& req : hub.requests())
    if (req.target.find("/old/name/") != std::string::npos) CHECK(req.status == 307);
}

TEST_CASE("tokens: gated and private repositories, and the token never reaches the CDN", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/gated", model_files());
  hub.add_commit("model", "org/private", model_files());
  hub.require_token("model", "org/gated", "hf_good", true);
  hub.require_token("model", "org/private", "hf_good", false);
  test::TempDir tmp;
  HubOptions o = options_for(hub, tmp.path());

  CHECK_THROWS_WITH(download_snapshot(repo("org/gated"), o), Contains("org/gated is gated") &&
                                                                Contains("no token was sent: set HF_TOKEN") &&
                                                                Contains("HTTP 401"));
  CHECK_THROWS_WITH(download_snapshot(repo("org/private"), o),
             Contains("repository org/private not found on " + hub.endpoint() + "; if it is private or gated"));
  o.token = "hf_wrong";
  CHECK_THROWS_WITH(download_snapshot(repo("org/gated"), o), Contains("does not give access") && Contains("HTTP 403"));
  CHECK_FALSE(fs::exists(tmp.path() / "models--org--gated" / "snapshots"));

  o.token = "hf_good";
  hub.clear_requests();
  CHECK(paths_of(download_snapshot(repo("org/gated"), o)) == kNeeded);
  for (const auto& req : hub.requests()) {
    INFO(req.server << " " << req.target);
    CHECK(req.authorization == (req.server == "hub" ? "Bearer hf_good" : ""));
  }
  CHECK(hub.count("cdn", "GET", "") == 2);
}

TEST_CASE("a repository that does not exist", "[hub_download]") {
  TestHub hub;
  test::TempDir tmp;
  CHECK_THROWS_WITH(download_snapshot(repo("org/none"), options_for(hub, tmp.path())),
             Contains("repository org/none not found"));
  CHECK_FALSE(fs::exists(tmp.path() / "models--org--none"));
}

// One injected fault on the first shard: how it is set, the Range headers the CDN then sees,
// and the error it must end in ("" = the download succeeds with the right content).
struct FaultCase {
  const char* name;
  std::function<void(Fault&)> set;
  std::vector<std::string> ranges;
  std::string error;
};

TEST_CASE("injected faults end in a correct file or a clear error, never a corrupt blob", "[hub_download]") {
  TestHub hub;
  const auto files = model_files();
  const std::string commit = hub.add_commit("model", "org/tiny", files);
  test::TempDir tmp;
  HubOptions o = options_for(hub, tmp.path());
  const std::string shard = "model-00001-of-00002.safetensors";
  const fs::path repo_dir = tmp.path() / "models--org--tiny";
  const fs::path pointer = repo_dir / "snapshots" / commit / shard;
  const fs::path partial = repo_dir / "blobs" / (test::sha256_hex(kShard1) + ".incomplete");
  const auto succeeds = [&] {
    const DownloadResult r = download_snapshot(repo("org/tiny"), o);
    CHECK(read(r.snapshot_dir / shard) == kShard1);
    check_no_corrupt_blob(repo_dir, files);
    return r;
  };
  const auto fails_with = [&](const std::string& fragment) {
    CHECK_THROWS_WITH(download_snapshot(repo("org/tiny"), o), Contains(fragment));
    CHECK_FALSE(fs::exists(pointer));
    CHECK_FALSE(fs::exists(repo_dir / "blobs" / test::sha256_hex(kShard1)));
    check_no_corrupt_blob(repo_dir, files);
  };
  const auto ranges_sent = [&] {
    std::vector<std::string> r;
    for (const auto& req : hub.requests())
      if (req.server == "cdn" && req.target.find(test::sha256_hex(kShard1)) != std::string::npos) r.push_back(req.range);
    return r;
  };
  const std::vector<std::string> six_times(static_cast<std::size_t>(o.max_retries + 1), "");
  const std::vector<FaultCase> cases = {
      {"500s are retried", [](Fault& f) { f.status_errors = 2; }, {"", "", ""}, ""},
      {"429 with Retry-After is retried",
       [](Fault& f) { f.status_errors = 1, f.status = 429, f.retry_after_s = 0; }, {"", ""}, ""},
      {"503 that never ends is a clear error", [](Fault& f) { f.status_errors = 1000, f.status = 503; }, six_times,
       "HTTP 503"},
      {"dropped connections are resumed with Range", [](Fault& f) { f.drops = 2, f.drop_after = 70'000; },
       {"", "bytes=70000-", "bytes=70000-"}, ""},
      {"a truncated body is resumed", [](Fault& f) { f.truncations = 1, f.truncate_to = 50'000; }, {"", "bytes=50000-"},
       ""},
      {"a server that ignores Range starts the file over",
       [](Fault& f) { f.drops = 1, f.drop_after = 70'000, f.ignore_range = true; }, {"", "bytes=70000-"}, ""},
      {"a size in the headers that contradicts the listing", [](Fault& f) { f.claimed_size = kShard1.size() + 1; },
       {}, "the Hub gives two sizes"},
      {"a body longer than announced", [](Fault& f) { f.served_size = kShard1.size() + 10; }, {""},
       "more than the 200000 bytes"},
      {"a body that stays shorter than announced", [](Fault& f) { f.served_size = 120'000; }, {"", "bytes=120000-"},
       "size mismatch: the Hub announced 200000 bytes but the server has only bytes */120000"},
      {"a sha256 mismatch", [](Fault& f) { f.corrupt = true; }, {""}, "checksum mismatch: the download's sha256 is"},
      {"a slow response within the timeout just takes longer", [](Fault& f) { f.slow_ms = 2, f.slow_chunk = 20'000; },
       {""}, ""},
      {"HEAD failures are retried", [](Fault& f) { f.head_errors = 2; }, {""}, ""},
  };
  for (const FaultCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Fault f;
      c.set(f);
      hub.set_fault("model", "org/tiny", shard, f);
      if (c.error.empty()) succeeds();
      else fails_with(c.error);
      CHECK(ranges_sent() == c.ranges);
      CHECK_FALSE((c.error.empty() && fs::exists(partial)));
    }
  }
  SECTION("resuming re-sends nothing") {
    Fault f;
    f.drops = 1;
    f.drop_after = 70'000;
    hub.set_fault("model", "org/tiny", shard, f);
    std::uint64_t needed = 0;
    for (const std::string& p : kNeeded) needed += files.at(p).size();
    CHECK(succeeds().bytes_downloaded == needed);
  }
  SECTION("a response slower than the read timeout is retried") {
    o.read_timeout_s = 0.2;
    Fault f;
    f.slow_ms = 600;
    f.slow_responses = 1;
    hub.set_fault("model", "org/tiny", shard, f);
    succeeds();
    CHECK(ranges_sent().size() == 2);
  }
  SECTION("a regular file whose content does not match its git oid") {
    Fault f;
    f.corrupt = true;
    hub.set_fault("model", "org/tiny", "tokenizer.json", f);
    CHECK_THROWS_WITH(download_snapshot(repo("org/tiny"), o), Contains("git blob sha1"));
    CHECK_FALSE(fs::exists(repo_dir / "blobs" / test::git_blob_oid(files.at("tokenizer.json"))));
  }
  SECTION("a dropped regular file from the Hub itself is resumed") {
    Fault f;
    f.drops = 1;
    f.drop_after = 10;
    hub.set_fault("model", "org/tiny", "model.safetensors.index.json", f);
    succeeds();
    CHECK(hub.count("hub", "GET", "model.safetensors.index.json") == 2);
  }
  SECTION("the first failure cancels the other downloads") {
    Fault missing;
    missing.status_errors = 1000;
    missing.status = 404;
    hub.set_fault("model", "org/tiny", shard, missing);
    Fault slow;
    slow.slow_ms = 50;
    hub.set_fault("model", "org/tiny", "model-00002-of-00002.safetensors", slow);  // 37 chunks: ~1.9 s
    const auto t0 = std::chrono::steady_clock::now();
    fails_with("not found");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  }
}

TEST_CASE("partial files from an earlier run are resumed, damaged ones replaced", "[hub_download]") {
  TestHub hub;
  const auto files = model_files();
  hub.add_commit("model", "org/tiny", files);
  test::TempDir tmp;
  const HubOptions o = options_for(hub, tmp.path());
  const std::string sha = test::sha256_hex(kShard1);
  const fs::path part = tmp.path() / "models--org--tiny" / "blobs" / (sha + ".incomplete");
  const auto cdn_ranges = [&] {
    std::vector<std::string> r;
    for (const auto& req : hub.requests())
      if (req.server == "cdn" && req.target.find(sha) != std::string::npos) r.push_back(req.range);
    return r;
  };
  SECTION("a good prefix is continued") {
    write(part, kShard1.substr(0, 120'000));
    const DownloadResult r = download_snapshot(repo("org/tiny"), o);
    CHECK(cdn_ranges() == std::vector<std::string>{"bytes=120000-"});
    CHECK(read(r.snapshot_dir / "model-00001-of-00002.safetensors") == kShard1);
    CHECK_FALSE(fs::exists(part));
  }
  SECTION("a damaged prefix is detected by the sha256 and downloaded again") {
    write(part, noise(120'000, 77));
    const DownloadResult r = download_snapshot(repo("org/tiny"), o);
    CHECK(cdn_ranges() == std::vector<std::string>{"bytes=120000-", ""});
    CHECK(read(r.snapshot_dir / "model-00001-of-00002.safetensors") == kShard1);
  }
  SECTION("a partial longer than the file starts over") {
    write(part, noise(250'000, 78));
    download_snapshot(repo("org/tiny"), o);
    CHECK(cdn_ranges() == std::vector<std::string>{""});
  }
}

TEST_CASE("offline mode serves the cache and refuses what is missing", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  HubOptions o = options_for(hub, tmp.path());
  const DownloadResult online = download_snapshot(repo("org/tiny"), o);
  o.offline = true;
  hub.clear_requests();
  const DownloadResult offline = download_snapshot(repo("org/tiny"), o);
  CHECK(offline.offline);
  CHECK(offline.snapshot_dir == online.snapshot_dir);
  CHECK(paths_of(offline) == kNeeded);
  CHECK(hub.requests().empty());
  DownloadOptions all = repo("org/tiny");
  all.all = true;
  // Judged by the cached listing.
  CHECK_THROWS_WITH(download_snapshot(all, o), Contains("lacks 6 of the 14 files wanted") && Contains("HF_HUB_OFFLINE"));
  CHECK_THROWS_WITH(download_snapshot(repo("org/other"), o), Contains("HF_HUB_OFFLINE is set"));
  CHECK_THROWS_WITH(download_snapshot(repo("org/tiny@v9"), o), Contains("no revision 'v9'"));
  CHECK(hub.requests().empty());
}

TEST_CASE("no network: a clear message naming HF_HUB_OFFLINE, and the cache when it suffices", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  HubOptions o = options_for(hub, tmp.path());
  HubOptions down = o;
  down.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  try {
    download_snapshot(repo("org/tiny"), down);
    FAIL("no error");
  } catch (const HubUnavailableError& e) {
    CHECK_THAT(e.what(), Contains("cannot reach the Hub at " + down.endpoint));
    CHECK_THAT(e.what(), Contains("HF_HUB_OFFLINE=1"));
  }
  const DownloadResult online = download_snapshot(repo("org/tiny"), o);
  const DownloadResult fallback = download_snapshot(repo("org/tiny"), down);
  CHECK(fallback.offline);
  CHECK(fallback.snapshot_dir == online.snapshot_dir);
}

TEST_CASE("a cache that cannot be written is an IoError and nothing is left behind", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  write(tmp.path() / "file", "not a directory");
  const HubOptions o = options_for(hub, tmp.path() / "file" / "hub");
  CHECK_THROWS_AS(download_snapshot(repo("org/tiny"), o), IoError);
  CHECK_THROWS_WITH(download_snapshot(repo("org/tiny"), o), Contains("cannot create directory"));
  CHECK(files_under(tmp.path()) == std::vector<std::string>{"file"});
}

TEST_CASE("HTTPS works with Debian's cpp-httplib when the certificate is trusted", "[hub_download]") {
  test::TempDir tmp;
  TestHub::Options t;
  t.tls = true;
  t.ca_file = tmp.path() / "ca.pem";
  TestHub hub(t);
  hub.add_commit("model", "org/tiny", model_files());
  const HubOptions o = options_for(hub, tmp.path() / "cache");
  REQUIRE(hub.endpoint().rfind("https://", 0) == 0);
  const char* old = std::getenv("SSL_CERT_FILE");
  const std::string saved = old ? old : "";
  ::unsetenv("SSL_CERT_FILE");
  CHECK_THROWS_WITH(download_snapshot(repo("org/tiny"), o), Contains("TLS certificate of"));
  ::setenv("SSL_CERT_FILE", t.ca_file.c_str(), 1);
  const DownloadResult r = download_snapshot(repo("org/tiny"), o);
  if (old) ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  else ::unsetenv("SSL_CERT_FILE");
  CHECK(read(r.snapshot_dir / "model-00002-of-00002.safetensors") == kShard2);
  CHECK(hub.count("cdn", "GET", "") == 2);
}

TEST_CASE("paginated listings are followed to the end", "[hub_download]") {
  TestHub::Options t;
  t.tree_page_size = 3;
  TestHub hub(t);
  hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  DownloadOptions all = repo("org/tiny");
  all.all = true;
  CHECK(download_snapshot(all, options_for(hub, tmp.path())).files.size() == model_files().size());
  CHECK(hub.count("hub", "GET", "/tree/") == 6);  // 14 files + 2 directories, 3 per page
}

TEST_CASE("two downloads of the same blob at once: one fetches, the other waits for its lock", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  Fault slow;
  slow.slow_ms = 5;
  slow.slow_chunk = 10'000;
  hub.set_fault("model", "org/tiny", "model-00001-of-00002.safetensors", slow);
  test::TempDir tmp;
  const HubOptions o = options_for(hub, tmp.path());
  DownloadResult a, b;
  std::string other_error;
  std::thread other([&] {
    try {
      a = download_snapshot(repo("org/tiny"), o);
    } catch (const std::exception& e) {
      other_error = e.what();
    }
  });
  b = download_snapshot(repo("org/tiny"), o);
  other.join();
  REQUIRE(other_error.empty());
  CHECK(a.snapshot_dir == b.snapshot_dir);
  CHECK(read(a.snapshot_dir / "model-00001-of-00002.safetensors") == kShard1);
  CHECK(hub.count("cdn", "GET", test::sha256_hex(kShard1)) == 1);
  CHECK(a.bytes_downloaded + b.bytes_downloaded <= kShard1.size() + kShard2.size() + 1000);
}

TEST_CASE("resolve_model_location: a local path wins, then the cache, then the Hub", "[hub_download]") {
  TestHub hub;
  hub.add_commit("model", "org/tiny", model_files());
  test::TempDir tmp;
  HubOptions o = options_for(hub, tmp.path() / "cache");
  fs::create_directories(tmp.path() / "local");
  CHECK(resolve_model_location((tmp.path() / "local").string(), o) == tmp.path() / "local");
  CHECK_THROWS_WITH(resolve_model_location((tmp.path() / "nope").string(), o),
             Contains("no such file or directory"));
  CHECK_THROWS_WITH(resolve_model_location("builtin:tiny-moe", o),
             Contains("neither an existing file or directory nor a Hub model id"));

  HubOptions offline = o;
  offline.offline = true;
  CHECK_THROWS_WITH(resolve_model_location("org/tiny", offline), Contains("HF_HUB_OFFLINE is set"));
  const fs::path dir = resolve_model_location("org/tiny", o);
  CHECK(files_under(dir) == kNeeded);
  hub.clear_requests();
  CHECK(resolve_model_location("org/tiny", o) == dir);
  CHECK(resolve_model_location("org/tiny", offline) == dir);
  CHECK(hub.requests().empty());  // a complete cached snapshot needs no network

  fs::remove(dir / "model-00002-of-00002.safetensors");  // incomplete: fetched again
  CHECK_THROWS_WITH(resolve_model_location("org/tiny", offline), Contains("model-00002-of-00002"));
  CHECK(resolve_model_location("org/tiny", o) == dir);
  CHECK(hub.count("cdn", "GET", "") == 0);  // its blob was still there: only the link was missing
  CHECK(fs::exists(dir / "model-00002-of-00002.safetensors"));
}

TEST_CASE("cache list and cache rm", "[hub_download]") {
  TestHub hub;
  const auto [c1, c2, files] = add_two_commits(hub, "v1");
  hub.add_commit("dataset", "org/data", {{"a.txt", "abc"}});
  test::TempDir tmp;
  const HubOptions o = options_for(hub, tmp.path());
  download_snapshot(repo("org/tiny@v1"), o);
  download_snapshot(repo("org/tiny"), o);
  download_snapshot(repo("org/data", RepoType::dataset), o);

  const CacheScan scan = scan_cache(tmp.path());
  REQUIRE(scan.repos.size() == 2);
  CHECK(scan.warnings.empty());
  const CachedRepo& m = scan.repos[0];
  CHECK(m.id == "org/tiny");
  CHECK(m.blobs == kNeeded.size() + 1);  // the two configs differ, everything else is shared
  std::uint64_t expected = files.at("config.json").size() + model_files().at("config.json").size();
  for (const std::string& p : kNeeded)
    if (p != "config.json") expected += files.at(p).size();
  CHECK(m.size_on_disk == expected);
  REQUIRE(m.revisions.size() == 2);
  for (const CachedRevision& r : m.revisions)
    CHECK(r.refs == std::vector<std::string>{r.commit == c1 ? "v1" : "main"});
  CHECK(scan.repos[1].type == RepoType::dataset);

  const std::string table = cache_list_report(tmp.path(), false);
  CHECK_THAT(table, Contains("org/tiny"));
  CHECK_THAT(table, Contains(c1.substr(0, 12) + " (v1)"));
  CHECK_THAT(table, Contains("2 repositories"));
  const auto json = nlohmann::json::parse(cache_list_report(tmp.path(), true));
  CHECK(json["repos"][0]["size_on_disk"] == expected);
  CHECK(json["repos"][1]["type"] == "dataset");

  const CacheRemoval one = remove_from_cache(parse_repo_spec("org/tiny@v1"), tmp.path());
  CHECK(one.bytes_freed == model_files().at("config.json").size());  // only the old config was its alone
  CHECK_FALSE(fs::exists(tmp.path() / "models--org--tiny" / "snapshots" / c1));
  CHECK_FALSE(fs::exists(tmp.path() / "models--org--tiny" / "refs" / "v1"));
  CHECK(read(tmp.path() / "models--org--tiny" / "snapshots" / c2 / "model-00001-of-00002.safetensors") == kShard1);
  CHECK(scan_cache(tmp.path()).warnings.empty());

  remove_from_cache(parse_repo_spec("org/tiny"), tmp.path());
  CHECK_FALSE(fs::exists(tmp.path() / "models--org--tiny"));
  CHECK_FALSE(fs::exists(tmp.path() / ".locks" / "models--org--tiny"));
  CHECK_THROWS_WITH(remove_from_cache(parse_repo_spec("org/tiny"), tmp.path()), Contains("is not in the cache"));
  CHECK_THROWS_WITH(remove_from_cache(parse_repo_spec("org/data@nope", RepoType::dataset), tmp.path()),
             Contains("no cached revision 'nope'"));
}
