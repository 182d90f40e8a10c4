#include "hub/hub_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "hub/url.h"
#include "io/json_input.h"

namespace moeroute::detail {

namespace {

constexpr int kMaxRedirects = 10;
constexpr double kMaxRetryAfter = 60;

std::string offline_hint() { return "with HF_HUB_OFFLINE=1 moeroute uses only what is already in the cache"; }

// huggingface_hub's _normalize_etag: W/"x" and "x" both become x.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::optional<std::uint64_t> parse_size(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

// The rel="next" target of a Link header, if any.
std::optional<std::string> next_link(const std::string& link) {
  std::size_t pos = 0;
  while (pos < link.size()) {
    const auto open = link.find('<', pos);
    if (open == std::string::npos) break;
    const auto close = link.find('>', open);
    if (close == std::string::npos) break;
    const auto end = link.find(',', close);
    const std::string params = link.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
      return link.substr(open + 1, close - open - 1);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

bool is_commit(const std::string& s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool retryable_status(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<double> retry_after(const HttpResponse& response) {
  const auto v = parse_size(response.header("Retry-After"));
  if (!v) return std::nullopt;
  return std::min(static_cast<double>(*v), kMaxRetryAfter);
}

bool Backoff::retry(std::optional<double> retry_after_s, bool connect_failure) {
  if (cancel_ && cancel_->load()) return false;
  if (failures_ >= hub_.max_retries || (connect_failure && failures_ >= 1)) return false;
  ++failures_;
  ++total_;
  const double delay = retry_after_s ? *retry_after_s
                                     : std::min(hub_.max_retry_delay_s, hub_.retry_delay_s * std::ldexp(1.0, failures_ - 1));
  // Sleep in small steps so a cancelled download stops promptly.
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(delay));
  for (auto now = clock::now(); now < until; now = clock::now()) {
    if (cancel_ && cancel_->load()) return false;
    std::this_thread::sleep_for(std::min<clock::duration>(std::chrono::milliseconds(50), until - now));
  }
  return true;
}

HubApi::HubApi(const HubOptions& hub, HttpClient& http, Reporter& reporter, const std::atomic<bool>* cancel)
    : hub_(hub), http_(http), reporter_(reporter), cancel_(cancel) {}

bool HubApi::is_hub_origin(const std::string& url) const {
  const std::string origin = parse_url(url).origin();
  return origin == parse_url(hub_.endpoint, "HF_ENDPOINT").origin() || origin == "https://huggingface.co:443" ||
         origin == "https://hf.co:443";
}

HttpHeaders HubApi::auth_headers(const std::string& url) const {
  if (hub_.token.empty() || !is_hub_origin(url)) return {};
  return {{"Authorization", "Bearer " + hub_.token}};
}

void HubApi::fail(const HttpResponse& r, const RepoRef& repo, const std::string& what, int attempts) const {
  const std::string code = r.header("X-Error-Code");
  const std::string msg = r.header("X-Error-Message");
  const std::string detail = msg.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, msg);
  const std::string name = to_string(RepoRef{repo.type, repo.id, ""});
  const std::string token_hint =
      hub_.token.empty()
          ? fmt::format("no token was sent: set HF_TOKEN or save a token in {}", hub_.token_file.string())
          : fmt::format("the token sent (HF_TOKEN or {}) does not give access", hub_.token_file.string());
  if (r.status >= 500 || retryable_status(r.status))
    throw HubUnavailableError(fmt::format("{} answered {} for {} ({} attempts); try again later, or {}", hub_.endpoint,
                                          detail, what, attempts, offline_hint()));
  if (code == "RevisionNotFound")
    throw InputError(fmt::format("revision '{}' not found in {} on {} ({})", repo.revision.empty() ? "main" : repo.revision,
                                 name, hub_.endpoint, detail));
  if (code == "EntryNotFound") throw InputError(fmt::format("{}: no such file in {} ({})", what, name, detail));
  if (code == "GatedRepo")
    throw InputError(fmt::format("{} is gated: accept its conditions on {}/{}{} and use a token with access; {} ({})", name,
                                 hub_.endpoint, repo.type == RepoType::dataset ? "datasets/" : "", repo.id, token_hint,
                                 detail));
  if (r.status == 401 && msg == "Invalid credentials in Authorization header")
    throw InputError(fmt::format("the Hub refused the token for {} (HF_TOKEN or {}): invalid credentials", name,
                                 hub_.token_file.string()));
  if (code == "RepoNotFound" || r.status == 401)
    throw InputError(fmt::format("repository {} not found on {}; if it is private or gated, {} ({})", name,
                                 hub_.endpoint, token_hint, detail));
  if (r.status == 403) throw InputError(fmt::format("access to {} of {} refused: {} ({})", what, name, token_hint, detail));
  if (r.status == 404) throw InputError(fmt::format("{} of {}: not found ({})", what, name, detail));
  throw InputError(fmt::format("unexpected answer for {} of {} from {}: {}", what, name, r.url, detail));
}

void HubApi::unreachable(const TransportError& e, const std::string& what, int attempts) const {
  throw HubUnavailableError(fmt::format("cannot reach the Hub at {} for {}: {} ({} attempts). Check the network and "
                                        "HF_ENDPOINT; {}",
                                        hub_.endpoint, what, e.what(), attempts, offline_hint()));
}

std::string HubApi::repo_url_prefix(const RepoRef& repo) const {
  return hub_.endpoint + (repo.type == RepoType::dataset ? "/datasets/" : "/") + repo.id;
}

HttpResponse HubApi::request(const std::string& method, std::string url, const RepoRef& repo, const std::string& what,
                             double timeout_s, const HttpHeaders& extra) {
  Backoff backoff(hub_, cancel_);
  int redirects = 0;
  for (;;) {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = auth_headers(url);
    req.headers.insert(req.headers.end(), extra.begin(), extra.end());
    req.read_timeout_s = timeout_s;
    HttpResponse r;
    try {
      r = http_.send(req);
    } catch (const TransportError& e) {
      const bool connect = e.kind() == TransportError::Kind::connect;
      if (e.kind() != TransportError::Kind::tls && backoff.retry(std::nullopt, connect)) {
        reporter_.message(fmt::format("retrying {} (attempt {}): {}", what, backoff.attempts(), e.what()));
        continue;
      }
      unreachable(e, what, backoff.attempts());
    }
    if (r.is_redirect() && r.has_header("Location")) {
      const std::string target = resolve_reference(url, r.header("Location"));
      if (parse_url(target).origin() != parse_url(url).origin() && !is_hub_origin(target)) return r;
      if (++redirects > kMaxRedirects)
        throw InputError(fmt::format("{}: more than {} redirects, the last to {}", what, kMaxRedirects, target));
      url = target;
      continue;
    }
    if (retryable_status(r.status)) {
      if (backoff.retry(retry_after(r))) {
        reporter_.message(fmt::format("retrying {} (attempt {}): HTTP {}", what, backoff.attempts(), r.status));
        continue;
      }
      fail(r, repo, what, backoff.attempts());
    }
    if (r.status >= 400) fail(r, repo, what);
    return r;
  }
}

RevisionInfo HubApi::revision(const RepoRef& repo) {
  const std::string rev = repo.revision.empty() ? "main" : repo.revision;
  const std::string url = fmt::format("{}/api/{}s/{}/revision/{}", hub_.endpoint,
                                      repo.type == RepoType::dataset ? "dataset" : "model", repo.id, percent_encode(rev, ""));
  const HttpResponse r = request("GET", url, repo, fmt::format("the revision '{}'", rev), hub_.metadata_timeout_s);
  const JsonField root = parse_json(r.body, url);
  root.expect_object("a repository info");
  RevisionInfo info;
  const JsonField sha = root.at("sha");
  info.commit = sha.string();
  if (!is_commit(info.commit)) sha.fail("expected a 40-digit commit hash");
  info.id = root.string_or("id", repo.id);
  return info;
}

std::vector<RepoFile> HubApi::tree(const RepoRef& repo, const std::string& commit) {
  std::string url = fmt::format("{}/api/{}s/{}/tree/{}?recursive=true&expand=false", hub_.endpoint,
                                repo.type == RepoType::dataset ? "dataset" : "model", repo.id, percent_encode(commit, ""));
  std::vector<RepoFile> files;
  std::set<std::string> seen_pages;
  while (seen_pages.insert(url).second) {
    const HttpResponse r = request("GET", url, repo, "the file listing", hub_.metadata_timeout_s);
    const JsonField page = parse_json(r.body, url);
    for (const JsonField& e : page.elements()) {
      e.expect_object("a tree entry");
      if (e.at("type").string() != "file") continue;
      RepoFile f;
      f.path = e.at("path").string();
      f.size = e.at("size").unsigned_integer();
      f.blob_id = e.at("oid").string();
      if (const auto lfs = e.get("lfs")) {
        f.lfs_sha256 = lfs->at("oid").string();
        f.lfs_size = lfs->at("size").unsigned_integer();
      }
      f.xet_hash = e.string_or("xetHash", "");
      files.push_back(std::move(f));
    }
    const auto next = next_link(r.header("Link"));
    if (!next) break;
    url = resolve_reference(url, *next);
  }
  std::sort(files.begin(), files.end(), [](const RepoFile& a, const RepoFile& b) { return a.path < b.path; });
  return files;
}

FileMetadata HubApi::file_metadata(const RepoRef& repo, const std::string& commit, const std::string& path) {
  const std::string url =
      fmt::format("{}/resolve/{}/{}", repo_url_prefix(repo), percent_encode(commit, ""), percent_encode(path, "/"));
  // identity: the size must be the file's, not a compressed body's.
  const HttpResponse r =
      request("HEAD", url, repo, path, hub_.metadata_timeout_s, {{"Accept-Encoding", "identity"}});
  FileMetadata m;
  m.commit = r.header("X-Repo-Commit");
  if (m.commit.empty())
    throw InputError(fmt::format("{}: the answer has no X-Repo-Commit header, so {} does not look like a Hugging Face "
                                 "Hub (check HF_ENDPOINT)",
                                 url, hub_.endpoint));
  const std::string linked = r.header("X-Linked-Etag");
  m.etag = normalize_etag(linked.empty() ? r.header("ETag") : linked);
  if (m.etag.empty() || m.etag.find('/') != std::string::npos || m.etag == "." || m.etag == "..")
    throw InputError(fmt::format("{}: no usable ETag in the answer, so the file cannot be cached", url));
  m.size = parse_size(r.header("X-Linked-Size"));
  if (!m.size && !r.is_redirect()) m.size = parse_size(r.header("Content-Length"));
  m.location = r.is_redirect() ? resolve_reference(r.url, r.header("Location")) : r.url;
  return m;
}

}  // namespace moeroute::detail
