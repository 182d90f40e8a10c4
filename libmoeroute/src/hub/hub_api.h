// The Hub's HTTP API as huggingface_hub 2.4.0 uses it: revision info (commit of a branch or
// tag), the recursive tree listing of a commit (paginated by Link headers), and HEAD on
// /resolve/ for a file's etag, size and download location. Retries with backoff, follows
// redirects within the Hub (relative ones included), and turns error responses into InputError
// or HubUnavailableError messages that say what to do.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hub/http_client.h"
#include "hub/progress.h"
#include "moeroute/hub.h"

namespace moeroute::detail {

/// One file of a tree listing (the /tree endpoint's fields).
struct RepoFile {
  std::string path;
  std::uint64_t size = 0;     ///< bytes (an LFS file's real size, not the pointer's)
  std::string blob_id;        ///< git blob oid
  std::string lfs_sha256;     ///< "" unless stored with LFS (or Xet)
  std::uint64_t lfs_size = 0;
  std::string xet_hash;       ///< "" unless stored with Xet
  bool is_lfs() const { return !lfs_sha256.empty(); }
};

struct RevisionInfo {
  std::string id;      ///< the repository's canonical id (after a rename)
  std::string commit;  ///< 40 hex digits
};

/// What HEAD /resolve/ says about a file.
struct FileMetadata {
  std::string commit;                 ///< X-Repo-Commit
  std::string etag;                   ///< X-Linked-Etag or ETag, without quotes or W/
  std::optional<std::uint64_t> size;  ///< X-Linked-Size, else Content-Length
  std::string location;               ///< where to GET it: a CDN URL or the resolve URL
};

/// Consecutive failures of one request, with exponential backoff between attempts.
class Backoff {
 public:
  Backoff(const HubOptions& hub, const std::atomic<bool>* cancel = nullptr) : hub_(hub), cancel_(cancel) {}
  /// Counts a failure; false when the retries are used up. Else sleeps (the backoff delay, or
  /// `retry_after_s` up to 60 s) and returns true. `connect_failure` allows only one retry:
  /// an unreachable host is reported fast.
  bool retry(std::optional<double> retry_after_s = std::nullopt, bool connect_failure = false);
  /// Some bytes came through: the count starts again.
  void progressed() { failures_ = 0; }
  int attempts() const { return total_ + 1; }

 private:
  const HubOptions& hub_;
  const std::atomic<bool>* cancel_;
  int failures_ = 0, total_ = 0;
};

/// 408, 429, 500, 502, 503, 504: worth another try.
bool retryable_status(int status);
/// Retry-After in seconds (delta form), if present.
std::optional<double> retry_after(const HttpResponse& response);

class HubApi {
 public:
  HubApi(const HubOptions& hub, HttpClient& http, Reporter& reporter, const std::atomic<bool>* cancel = nullptr);

  /// GET /api/{models|datasets}/{id}/revision/{revision}.
  RevisionInfo revision(const RepoRef& repo);
  /// Every file at `commit` (GET /api/…/tree/{commit}?recursive=true&expand=false, all pages).
  std::vector<RepoFile> tree(const RepoRef& repo, const std::string& commit);
  /// HEAD {endpoint}/[datasets/]{id}/resolve/{commit}/{path}.
  FileMetadata file_metadata(const RepoRef& repo, const std::string& commit, const std::string& path);

  /// The Authorization header when `url` is on the Hub (the endpoint's origin or huggingface.co);
  /// none for CDN and storage hosts.
  HttpHeaders auth_headers(const std::string& url) const;
  /// Throws the InputError (or HubUnavailableError for 5xx) that an error response means.
  [[noreturn]] void fail(const HttpResponse& response, const RepoRef& repo, const std::string& what,
                         int attempts = 1) const;
  /// Throws HubUnavailableError for a transport failure talking to the Hub about `what`.
  [[noreturn]] void unreachable(const TransportError& error, const std::string& what, int attempts) const;
  bool is_hub_origin(const std::string& url) const;

 private:
  /// A request to the Hub with retries, following redirects while they stay on the Hub. A
  /// redirect leaving the Hub is returned as is (HEAD: the metadata is on it).
  HttpResponse request(const std::string& method, std::string url, const RepoRef& repo, const std::string& what,
                       double timeout_s, const HttpHeaders& extra = {});
  std::string repo_url_prefix(const RepoRef& repo) const;

  const HubOptions& hub_;
  HttpClient& http_;
  Reporter& reporter_;
  const std::atomic<bool>* cancel_;
};

}  // namespace moeroute::detail
