#include "hub/test_hub.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace moeroute::test {

namespace {

// A one-shot digest of `data`, lower-case hex.
std::string digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  std::string s(2 * n, '\0');
  for (unsigned int i = 0; i < n; ++i) std::snprintf(&s[2 * i], 3, "%02x", out[i]);
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool stored_as_lfs(const std::string& path, std::size_t size) {
  for (const char* ext : {".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack", ".npz"})
    if (ends_with(path, ext)) return true;
  return size > 10'000'000;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split_path(const std::string& target) {
  std::vector<std::string> parts;
  const std::string path = target.substr(0, target.find('?'));
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    parts.push_back(percent_decode(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start)));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

struct Blob {
  std::shared_ptr<const std::string> content;
  bool lfs = false;
  std::string sha256, oid;
};

struct Commit {
  std::map<std::string, Blob> files;
};

struct Repo {
  std::map<std::string, std::string> refs;  // branch or tag → commit
  std::map<std::string, Commit> commits;
  std::string token;
  bool gated = false;
  std::string renamed_to;
  std::string last_commit;
};

// A self-signed certificate for 127.0.0.1 (what a CA-issued one would say, minus the CA).
struct Certificate {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  Certificate() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (const char* ext : {"subjectAltName=IP:127.0.0.1", "basicConstraints=critical,CA:TRUE"}) {
      const std::string s(ext);
      const auto eq = s.find('=');
      X509_EXTENSION* e = X509V3_EXT_conf(nullptr, &ctx, s.substr(0, eq).c_str(), s.substr(eq + 1).c_str());
      X509_add_ext(cert, e, -1);
      X509_EXTENSION_free(e);
    }
    X509_sign(cert, key, EVP_sha256());
  }
  ~Certificate() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  void write_pem(const std::filesystem::path& path) const {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + path.string());
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
};

}  // namespace

struct TestHub::State {
  Options options;
  mutable std::mutex mutex;
  std::map<std::string, Repo> repos;     // "model:org/name"
  std::map<std::string, Fault> faults;   // by content hash (sha256 of LFS files, oid of others)
  std::map<std::string, Blob> by_hash;   // content hash → blob, for the CDN
  std::vector<HubRequest> log;
  std::unique_ptr<Certificate> cert;
  std::unique_ptr<httplib::Server> hub, cdn;
  std::thread hub_thread, cdn_thread;
  int hub_port = 0, cdn_port = 0;
  std::uint64_t commit_counter = 0;

  std::string scheme() const { return options.tls ? "https" : "http"; }
  std::string hub_origin() const { return scheme() + "://127.0.0.1:" + std::to_string(hub_port); }
  std::string cdn_origin() const { return scheme() + "://127.0.0.1:" + std::to_string(cdn_port); }

  void record(const std::string& server, const httplib::Request& req, int status) {
    std::lock_guard<std::mutex> lock(mutex);
    log.push_back({server, req.method, req.target, req.get_header_value("Range"), req.get_header_value("Authorization"),
                   req.get_header_value("User-Agent"), status});
  }

  static void error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    res.status = status;
    if (!code.empty()) res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", message);
    res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
  }

  // A file body with Range support and the faults registered for `hash`.
  void serve_body(const httplib::Request& req, httplib::Response& res, const Blob& blob, const std::string& hash) {
    const_cast<httplib::Request&>(req).ranges.clear();  // we answer Range requests ourselves
    Fault f;
    bool drop = false, truncate = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      Fault& stored = faults[hash];
      if (req.method == "GET") {
        if (stored.status_errors > 0) {
          --stored.status_errors;
          res.status = stored.status;
          if (stored.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(stored.retry_after_s));
          res.set_content("injected failure", "text/plain");
          return;
        }
        if (stored.drops > 0) drop = (--stored.drops, true);
        else if (stored.truncations > 0) truncate = (--stored.truncations, true);
      }
      f = stored;
      if (req.method == "GET" && stored.slow_responses > 0) --stored.slow_responses;
      else if (stored.slow_responses == 0) f.slow_ms = 0;
    }
    auto content = blob.content;
    if (f.served_size) {
      auto changed = std::make_shared<std::string>(*content);
      changed->resize(*f.served_size, '\0');
      content = changed;
    }
    if (f.corrupt && !content->empty()) {
      auto changed = std::make_shared<std::string>(*content);
      (*changed)[changed->size() / 2] = static_cast<char>((*changed)[changed->size() / 2] ^ 0x5a);
      content = changed;
    }
    const std::uint64_t size = content->size();
    std::uint64_t offset = 0;
    const std::string range = req.get_header_value("Range");
    if (!range.empty() && !f.ignore_range && range.rfind("bytes=", 0) == 0 && ends_with(range, "-"))
      offset = std::stoull(range.substr(6, range.size() - 7));
    if (offset > size || (offset == size && size > 0)) {
      res.status = 416;
      res.set_header("Content-Range", "bytes */" + std::to_string(size));
      return;
    }
    const std::uint64_t end = truncate ? std::max(offset, std::min(size, f.truncate_to)) : size;
    res.status = offset > 0 ? 206 : 200;
    if (offset > 0)
      res.set_header("Content-Range", "bytes " + std::to_string(offset) + "-" + std::to_string(end - 1) + "/" +
                                          std::to_string(size));
    res.set_header("Accept-Ranges", "bytes");
    const std::uint64_t drop_at = drop ? f.drop_after : UINT64_MAX;
    const int slow_ms = f.slow_ms;
    const std::uint64_t chunk = slow_ms > 0 ? std::max<std::uint64_t>(1, f.slow_chunk) : 65536;
    res.set_content_provider(
        static_cast<std::size_t>(end - offset), "application/octet-stream",
        [content, offset, drop_at, slow_ms, chunk](std::size_t off, std::size_t len, httplib::DataSink& sink) {
          const std::uint64_t at = offset + off;
          if (at >= drop_at) return false;  // the connection is closed mid-body
          std::uint64_t n = std::min<std::uint64_t>(len, chunk);
          if (drop_at != UINT64_MAX) n = std::min(n, drop_at - at);
          if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
          return sink.write(content->data() + at, static_cast<std::size_t>(n));
        });
  }

  void handle_hub(const httplib::Request& req, httplib::Response& res) {
    handle_hub_route(req, res);
    if (req.target != "/_test/requests") record("hub", req, res.status);
  }

  std::string log_json() const {
    std::lock_guard<std::mutex> lock(mutex);
    nlohmann::json out = nlohmann::json::array();
    for (const HubRequest& r : log)
      out.push_back({{"server", r.server}, {"method", r.method}, {"target", r.target}, {"range", r.range},
                     {"authorization", r.authorization}, {"user_agent", r.user_agent}, {"status", r.status}});
    return out.dump();
  }

  void handle_hub_route(const httplib::Request& req, httplib::Response& res) {
    res.status = 200;
    const std::vector<std::string> seg = split_path(req.target);
    if (seg.size() == 2 && seg[0] == "_test" && seg[1] == "requests") {
      res.set_content(log_json(), "application/json");  // the request log, for tests in other processes
      return;
    }
    std::size_t i = 0;
    const bool api = !seg.empty() && seg[0] == "api";
    std::string type = "model";
    if (api) {
      if (seg.size() < 4 || (seg[1] != "models" && seg[1] != "datasets")) return error(res, 404, "", "Not found");
      type = seg[1] == "datasets" ? "dataset" : "model";
      i = 2;
    } else if (!seg.empty() && seg[0] == "datasets") {
      type = "dataset";
      i = 1;
    }
    // The id is "name" or "ns/name": two parts unless the second is already the action.
    const auto is_action = [&](const std::string& s) { return api ? (s == "revision" || s == "tree") : s == "resolve"; };
    if (i >= seg.size()) return error(res, 404, "", "Not found");
    std::string id = seg[i++];
    if (i < seg.size() && !is_action(seg[i])) id += "/" + seg[i++];
    if (i >= seg.size() || !is_action(seg[i])) return error(res, 404, "", "Not found");
    const std::string action = seg[i++];

    std::unique_lock<std::mutex> lock(mutex);
    const auto it = repos.find(type + ":" + id);
    const std::string auth = req.get_header_value("Authorization");
    if (it == repos.end())
      return error(res, auth.empty() ? 401 : 404, "RepoNotFound", "Repository not found");
    Repo& repo = it->second;
    if (!repo.renamed_to.empty()) {
      std::string target = req.target;
      target.replace(target.find(id), id.size(), repo.renamed_to);
      res.status = 307;
      res.set_header("Location", target);  // relative, as the Hub sends it
      return;
    }
    if (!repo.token.empty() && auth != "Bearer " + repo.token) {
      if (repo.gated)
        return error(res, auth.empty() ? 401 : 403, "GatedRepo",
                     "Access to model " + id + " is restricted. You must have access to it and be authenticated to "
                     "access it. Please log in.");
      return error(res, auth.empty() ? 401 : 404, "RepoNotFound", "Repository not found");
    }
    if (i >= seg.size()) return error(res, 404, "", "Not found");
    const std::string rev = seg[i++];
    std::string commit = repo.refs.count(rev) ? repo.refs[rev] : rev;
    if (!repo.commits.count(commit)) return error(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    const Commit& c = repo.commits.at(commit);
    std::string path;
    for (; i < seg.size(); ++i) path += (path.empty() ? "" : "/") + seg[i];

    if (action == "revision") {
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& [p, b] : c.files) siblings.push_back({{"rfilename", p}});
      res.set_content(nlohmann::json{{"_id", id},
                                     {"id", id},
                                     {"sha", commit},
                                     {"private", !repo.token.empty() && !repo.gated},
                                     {"gated", repo.gated ? nlohmann::json("auto") : nlohmann::json(false)},
                                     {"disabled", false},
                                     {"lastModified", "2026-01-01T00:00:00.000Z"},
                                     {"tags", nlohmann::json::array()},
                                     {"siblings", siblings}}
                          .dump(),
                      "application/json");
      return;
    }
    if (action == "tree") {
      const bool recursive = req.get_param_value("recursive") == "true" || req.get_param_value("recursive") == "True";
      nlohmann::json entries = nlohmann::json::array();
      std::map<std::string, bool> dirs;
      const std::string prefix = path.empty() ? "" : path + "/";
      for (const auto& [p, b] : c.files) {
        if (p.rfind(prefix, 0) != 0) continue;
        const std::string rest = p.substr(prefix.size());
        for (auto slash = rest.find('/'); slash != std::string::npos; slash = rest.find('/', slash + 1)) {
          dirs[prefix + rest.substr(0, slash)] = true;
          if (!recursive) break;
        }
        if (!recursive && rest.find('/') != std::string::npos) continue;
        nlohmann::json e = {{"type", "file"}, {"oid", b.oid}, {"size", b.content->size()}, {"path", p}};
        if (b.lfs) e["lfs"] = {{"oid", b.sha256}, {"size", b.content->size()}, {"pointerSize", 134}};
        entries.push_back(e);
      }
      for (const auto& [d, unused] : dirs)
        entries.push_back({{"type", "directory"}, {"oid", std::string(40, '0')}, {"size", 0}, {"path", d}});
      const std::size_t page = options.tree_page_size;
      const std::size_t from = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t k = from; k < entries.size() && k < from + page; ++k) out.push_back(entries[k]);
      if (from + page < entries.size()) {
        const std::string base = req.target.substr(0, req.target.find('?'));
        res.set_header("Link", "<" + hub_origin() + base + "?recursive=" + (recursive ? "true" : "false") +
                                   "&expand=false&cursor=" + std::to_string(from + page) + ">; rel=\"next\"");
      }
      res.set_content(out.dump(), "application/json");
      return;
    }
    // resolve
    const auto f = c.files.find(path);
    res.set_header("X-Repo-Commit", commit);
    if (f == c.files.end()) return error(res, 404, "EntryNotFound", path + " does not exist on \"" + rev + "\"");
    const Blob& blob = f->second;
    const std::string hash = blob.lfs ? blob.sha256 : blob.oid;
    Fault& fault = faults[hash];
    if (req.method == "HEAD" && fault.head_errors > 0) {
      --fault.head_errors;
      return error(res, 500, "", "injected failure");
    }
    const std::string size = std::to_string(fault.claimed_size.value_or(blob.content->size()));
    if (blob.lfs) {
      res.status = 302;
      res.set_header("ETag", "\"" + blob.sha256 + "\"");
      res.set_header("X-Linked-Etag", "\"" + blob.sha256 + "\"");
      res.set_header("X-Linked-Size", size);
      res.set_header("Location", cdn_origin() + "/blobs/" + blob.sha256 + "?expires=4102444800&signature=test");
      return;
    }
    res.set_header("ETag", "\"" + blob.oid + "\"");
    if (fault.claimed_size) res.set_header("X-Linked-Size", size);
    lock.unlock();
    serve_body(req, res, blob, hash);
  }

  void handle_cdn(const httplib::Request& req, httplib::Response& res) {
    res.status = 200;
    const std::vector<std::string> seg = split_path(req.target);
    if (!req.get_header_value("Authorization").empty()) {
      error(res, 400, "", "the CDN must not receive the Hub token");  // a leak fails the download loudly
    } else if (seg.size() != 2 || seg[0] != "blobs") {
      error(res, 404, "", "Not found");
    } else {
      std::unique_lock<std::mutex> lock(mutex);
      const auto b = by_hash.find(seg[1]);
      if (b == by_hash.end()) {
        error(res, 404, "", "Not found");
      } else {
        const Blob blob = b->second;
        lock.unlock();
        serve_body(req, res, blob, seg[1]);
      }
    }
    record("cdn", req, res.status);
  }

  void start(httplib::Server& server, int& port, std::thread& thread) {
    server.new_task_queue = [] { return new httplib::ThreadPool(24); };
    server.set_keep_alive_timeout(2);
    port = server.bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("test hub: cannot bind 127.0.0.1");
    thread = std::thread([&server] { server.listen_after_bind(); });
  }
};

TestHub::TestHub() : TestHub(Options{}) {}

TestHub::TestHub(const Options& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = options;
  if (options.tls) {
    s.cert = std::make_unique<Certificate>();
    if (!options.ca_file.empty()) s.cert->write_pem(options.ca_file);
    s.hub = std::make_unique<httplib::SSLServer>(s.cert->cert, s.cert->key);
    s.cdn = std::make_unique<httplib::SSLServer>(s.cert->cert, s.cert->key);
  } else {
    s.hub = std::make_unique<httplib::Server>();
    s.cdn = std::make_unique<httplib::Server>();
  }
  s.hub->Get(".*", [&s](const httplib::Request& req, httplib::Response& res) { s.handle_hub(req, res); });
  s.cdn->Get(".*", [&s](const httplib::Request& req, httplib::Response& res) { s.handle_cdn(req, res); });
  s.start(*s.hub, s.hub_port, s.hub_thread);
  s.start(*s.cdn, s.cdn_port, s.cdn_thread);
}

TestHub::~TestHub() {
  state_->hub->stop();
  state_->cdn->stop();
  state_->hub_thread.join();
  state_->cdn_thread.join();
}

std::string TestHub::endpoint() const { return state_->hub_origin(); }
std::string TestHub::cdn() const { return state_->cdn_origin(); }

std::string TestHub::add_commit(const std::string& type, const std::string& id,
                                const std::map<std::string, std::string>& files, const std::string& branch) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  Repo& repo = state_->repos[type + ":" + id];
  Commit c;
  std::string manifest = repo.last_commit + "\n" + std::to_string(++state_->commit_counter) + "\n";
  for (const auto& [path, content] : files) {
    Blob b;
    b.content = std::make_shared<const std::string>(content);
    b.lfs = stored_as_lfs(path, content.size());
    b.oid = git_blob_oid(content);
    if (b.lfs) b.sha256 = sha256_hex(content);
    state_->by_hash[b.lfs ? b.sha256 : b.oid] = b;
    manifest += path + '\0' + b.oid + "\n";
    c.files[path] = std::move(b);
  }
  const std::string commit = digest(EVP_sha1(), manifest);
  repo.commits[commit] = std::move(c);
  repo.refs[branch] = commit;
  repo.last_commit = commit;
  return commit;
}

std::string TestHub::add_directory(const std::string& type, const std::string& id, const std::filesystem::path& dir,
                                   const std::string& branch) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    files[e.path().lexically_relative(dir).generic_string()] = ss.str();
  }
  if (files.empty()) throw std::runtime_error("test hub: no files under " + dir.string());
  return add_commit(type, id, files, branch);
}

void TestHub::add_ref(const std::string& type, const std::string& id, const std::string& ref, const std::string& commit) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->repos.at(type + ":" + id).refs[ref] = commit;
}

void TestHub::require_token(const std::string& type, const std::string& id, const std::string& token, bool gated) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  Repo& r = state_->repos.at(type + ":" + id);
  r.token = token;
  r.gated = gated;
}

void TestHub::rename(const std::string& type, const std::string& old_id, const std::string& new_id) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->repos[type + ":" + old_id].renamed_to = new_id;
}

void TestHub::set_fault(const std::string& type, const std::string& id, const std::string& path, const Fault& fault,
                        const std::string& branch) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  Repo& r = state_->repos.at(type + ":" + id);
  const Blob& b = r.commits.at(r.refs.at(branch)).files.at(path);
  state_->faults[b.lfs ? b.sha256 : b.oid] = fault;
}

std::vector<HubRequest> TestHub::requests() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->log;
}

std::size_t TestHub::count(const std::string& server, const std::string& method, const std::string& part) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return static_cast<std::size_t>(std::count_if(state_->log.begin(), state_->log.end(), [&](const HubRequest& r) {
    return (server.empty() || r.server == server) && (method.empty() || r.method == method) &&
           r.target.find(part) != std::string::npos;
  }));
}

std::string TestHub::requests_json() const { return state_->log_json(); }

void TestHub::clear_requests() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->log.clear();
}

std::string sha256_hex(const std::string& content) { return digest(EVP_sha256(), content); }

std::string git_blob_oid(const std::string& content) {
  return digest(EVP_sha1(), "blob " + std::to_string(content.size()) + std::string(1, '\0') + content);
}

}  // namespace moeroute::test
