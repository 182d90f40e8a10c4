// A Hugging Face Hub for tests, on cpp-httplib: two HTTP(S) servers on 127.0.0.1 with ephemeral
// ports — the Hub (repository info, paginated tree listings, /resolve/ with ETag, X-Repo-Commit,
// X-Linked-Size, error codes, token checks, renamed-repository redirects) and a "CDN" that the
// Hub redirects LFS downloads to and that must never see the Authorization header — plus fault
// injection on file bodies. It speaks the protocol huggingface_hub 2.4.0 uses, so the Python
// client can download from it too (tests/hub/test_hub_main.cpp makes it a program).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moeroute::test {

/// Faults for one file (keyed by its content), consumed in order by the requests that fetch it.
struct Fault {
  int status_errors = 0;          ///< the next N body requests answer `status` with no body
  int status = 500;               ///< the status of those answers
  int retry_after_s = -1;         ///< Retry-After sent with them (-1: none)
  int drops = 0;                  ///< the next N bodies stop (connection closed) at byte `drop_after`
  std::uint64_t drop_after = 0;   ///< file offset where a dropped body stops
  int truncations = 0;            ///< the next N bodies are complete responses ending at `truncate_to`
  std::uint64_t truncate_to = 0;  ///< file offset where a truncated body ends
  std::optional<std::uint64_t> claimed_size;  ///< HEAD announces this size instead of the real one
  std::optional<std::uint64_t> served_size;   ///< every body is the file cut (or zero-padded) to this size
  bool corrupt = false;           ///< every body has its middle byte flipped (a sha256 mismatch)
  int slow_ms = 0;                ///< pause before each `slow_chunk` bytes of a body
  std::uint64_t slow_chunk = 4096;
  int slow_responses = -1;        ///< how many bodies are slow (-1: all)
  bool ignore_range = false;      ///< Range requests get 200 and the whole file
  int head_errors = 0;            ///< the next N HEAD requests answer 500
};

struct HubRequest {
  std::string server;         ///< "hub" or "cdn"
  std::string method;         ///< GET or HEAD
  std::string target;         ///< path and query as sent
  std::string range;          ///< the Range header, if any
  std::string authorization;  ///< the Authorization header, if any
  std::string user_agent;     ///< the User-Agent header
  int status = 0;             ///< the status answered
};

class TestHub {
 public:
  struct Options {
    bool tls = false;                  ///< HTTPS with a fresh self-signed certificate for 127.0.0.1
    std::filesystem::path ca_file;     ///< with tls: where to write that certificate (PEM)
    std::size_t tree_page_size = 1000; ///< entries per page of a tree listing
  };
  TestHub();
  explicit TestHub(const Options& options);
  ~TestHub();
  TestHub(const TestHub&) = delete;
  TestHub& operator=(const TestHub&) = delete;

  /// "http://127.0.0.1:PORT" (https with tls): what HF_ENDPOINT is set to.
  std::string endpoint() const;
  /// The CDN's origin.
  std::string cdn() const;

  /// A new commit of `files` (path → content) on `branch` of a model ("model") or dataset
  /// ("dataset") repository, created if needed; returns its hash. Files whose name ends in
  /// .safetensors, .bin, .pt, .pth, .gguf, .h5, .msgpack or .npz, or that exceed 10 MB, are
  /// stored as LFS (their downloads redirect to the CDN).
  std::string add_commit(const std::string& type, const std::string& id,
                         const std::map<std::string, std::string>& files, const std::string& branch = "main");
  /// A commit of every file under `dir` (recursively).
  std::string add_directory(const std::string& type, const std::string& id, const std::filesystem::path& dir,
                            const std::string& branch = "main");
  /// Points a branch or tag at a commit.
  void add_ref(const std::string& type, const std::string& id, const std::string& ref, const std::string& commit);
  /// Access needs "Bearer <token>". Gated repositories answer 401/403 with X-Error-Code
  /// GatedRepo; private ones answer like a missing repository.
  void require_token(const std::string& type, const std::string& id, const std::string& token, bool gated);
  /// Requests for `old_id` get a relative 307 redirect to `new_id`.
  void rename(const std::string& type, const std::string& old_id, const std::string& new_id);
  /// Faults for the content `path` has at the head of `branch`.
  void set_fault(const std::string& type, const std::string& id, const std::string& path, const Fault& fault,
                 const std::string& branch = "main");

  std::vector<HubRequest> requests() const;
  /// Requests whose server, method and target substring match ("" matches anything).
  std::size_t count(const std::string& server, const std::string& method, const std::string& target_part) const;
  /// The log as JSON (for the program's /_test/requests).
  std::string requests_json() const;
  void clear_requests();

  struct State;

 private:
  std::unique_ptr<State> state_;
};

/// Hex SHA-256 and git blob SHA-1 of `content` (what the Hub lists).
std::string sha256_hex(const std::string& content);
std::string git_blob_oid(const std::string& content);

}  // namespace moeroute::test
