// Models and datasets from the Hugging Face Hub, kept in the standard Hugging Face cache that
// Python tools (huggingface_hub, transformers) share: download a repository (only the files
// moeroute needs to run a model, or everything), list and remove cached repositories, and turn
// a model name into a directory. Protocol, cache layout and environment variables: docs/models.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "moeroute/error.h"

namespace moeroute {

enum class RepoType { model, dataset };

/// What a download prints on stderr.
enum class ProgressMode {
  automatic,  ///< a progress bar when stderr is a terminal, else plain periodic lines
  bar,        ///< a progress bar redrawn in place
  lines,      ///< a plain line every few seconds and one per finished file
  quiet,      ///< the plan, warnings and retries only
  none,       ///< nothing
};

/// How to reach the Hub and where the cache is. hub_options_from_environment() fills it the way
/// huggingface_hub reads its environment; the defaults below are the Hub's own.
struct HubOptions {
  std::string endpoint = "https://huggingface.co";  ///< Hub base URL, no trailing slash (HF_ENDPOINT)
  std::filesystem::path cache_dir;   ///< the hub cache directory (HF_HUB_CACHE); required
  std::filesystem::path token_file;  ///< where the token was looked for, named in auth errors
  std::string token;                 ///< bearer token sent to the Hub's own hosts; "" = anonymous
  bool offline = false;              ///< use the cache only, never the network (HF_HUB_OFFLINE)
  double connect_timeout_s = 10;     ///< TCP/TLS connect timeout per request
  double metadata_timeout_s = 10;    ///< read timeout of listings and HEADs (HF_HUB_ETAG_TIMEOUT)
  double read_timeout_s = 10;        ///< read timeout between body chunks (HF_HUB_DOWNLOAD_TIMEOUT)
  int max_retries = 5;               ///< retries of one request in a row without any progress
  double retry_delay_s = 1;          ///< first backoff delay; doubles per retry
  double max_retry_delay_s = 8;      ///< backoff cap (a Retry-After header may ask for up to 60 s)
  int parallel_downloads = 8;        ///< files downloaded at the same time
  ProgressMode progress = ProgressMode::automatic;  ///< what downloads print on stderr
};

/// The options huggingface_hub would use: HF_ENDPOINT, HF_HOME (default
/// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_CACHE (legacy
/// HUGGINGFACE_HUB_CACHE; default $HF_HOME/hub), HF_TOKEN (legacy HUGGING_FACE_HUB_TOKEN) or the
/// token file HF_TOKEN_PATH (default $HF_HOME/token), HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE),
/// HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_DISABLE_PROGRESS_BARS. A malformed value
/// throws InputError naming the variable.
HubOptions hub_options_from_environment();

/// A repository and, optionally, a revision (branch, tag or commit hash).
struct RepoRef {
  RepoType type = RepoType::model;  ///< model or dataset repository
  std::string id;                   ///< "org/name" (or a bare "name")
  std::string revision;             ///< "" = the default branch, "main"
};

/// "org/name[@revision]". Throws InputError for an id the Hub would refuse (characters other
/// than letters, digits, '-', '_', '.'; "--" or ".."; more than one '/'; over 96 characters).
RepoRef parse_repo_spec(std::string_view spec, RepoType type = RepoType::model);

/// "org/name", "datasets/org/name", with "@revision" when one is set.
std::string to_string(const RepoRef& repo);

/// The network could not be used: no connection, a timeout, TLS failure, or the Hub kept
/// answering 5xx after the retries. Bad input like a missing repository is InputError.
class HubUnavailableError : public InputError {
 public:
  using InputError::InputError;
};

struct DownloadOptions {
  RepoRef repo;                      ///< what to download
  std::vector<std::string> include;  ///< globs ('*' also matches '/'); non-empty = exactly the matching files
  std::vector<std::string> exclude;  ///< globs removed from the selection
  bool all = false;                  ///< every file, not only what moeroute needs to run the model
};

struct SnapshotFile {
  std::string path;        ///< path in the repository ("model-00001-of-00002.safetensors")
  std::uint64_t size = 0;  ///< bytes
  bool downloaded = false; ///< fetched by this call (else it was already cached)
};

struct DownloadResult {
  std::filesystem::path snapshot_dir;  ///< <cache>/<repo folder>/snapshots/<commit>
  std::string commit;                  ///< the revision's commit hash
  std::vector<SnapshotFile> files;     ///< the selected files, sorted by path
  std::uint64_t bytes_downloaded = 0;  ///< bytes received by this call
  bool offline = false;                ///< served from the cache without the network
};

/// Downloads the selected files of `options.repo` into the cache (huggingface_hub's layout:
/// docs/models.md) and returns the snapshot directory. Without include globs and `all`, a model
/// gets config.json, generation_config.json, the tokenizer and chat-template files, and the
/// safetensors weights (model.safetensors, or model.safetensors.index.json and every shard it
/// lists) — never other copies such as original/ or metal/; a dataset gets every file. Prints the
/// plan (files, size, free space) and progress on stderr. Cached files are not fetched again;
/// partial files are resumed. Offline (or with the network unreachable and the snapshot cached),
/// the cached snapshot is returned if it holds the selected files.
/// Throws InputError for a missing repository, revision or file, a gated or private repository
/// without access, or no matching file; HubUnavailableError (an InputError) when the Hub cannot
/// be reached; IoError when the cache cannot be written (disk full, permissions, read-only).
DownloadResult download_snapshot(const DownloadOptions& options, const HubOptions& hub);

/// Turns a model name into a directory. An existing local path wins and is returned as given.
/// Otherwise `spec` must be a Hub id "org/name[@revision]": a cached snapshot of that revision
/// holding what moeroute needs to run the model is returned without touching the network;
/// missing files are downloaded (download_snapshot, the needed files only) unless `hub.offline`.
/// Throws InputError when `spec` is neither a path nor a valid id, when offline and the model is
/// not (completely) cached (the message names HF_HUB_OFFLINE), and for the errors of
/// download_snapshot (HubUnavailableError when the Hub is unreachable; IoError for the cache).
std::filesystem::path resolve_model_location(const std::string& spec, const HubOptions& hub);

struct CachedRevision {
  std::string commit;                ///< snapshot directory name
  std::vector<std::string> refs;     ///< branches and tags pointing at it (refs/…)
  std::size_t files = 0;             ///< files in the snapshot
  std::uint64_t size = 0;            ///< bytes of its distinct blobs
  std::filesystem::path snapshot_dir;
};

struct CachedRepo {
  RepoType type = RepoType::model;
  std::string id;                         ///< "org/name"
  std::filesystem::path dir;              ///< <cache>/models--org--name
  std::uint64_t size_on_disk = 0;         ///< bytes of the distinct blobs the snapshots use
  std::size_t blobs = 0;                  ///< distinct blobs the snapshots use
  std::uint64_t incomplete_bytes = 0;     ///< bytes of unfinished downloads (blobs/*.incomplete)
  std::vector<CachedRevision> revisions;  ///< sorted by commit
};

struct CacheScan {
  std::filesystem::path cache_dir;
  std::vector<CachedRepo> repos;      ///< sorted by type, then id
  std::vector<std::string> warnings;  ///< damaged entries (broken links, refs to missing snapshots)
};

/// What is in the cache. A missing cache directory is an empty scan.
CacheScan scan_cache(const std::filesystem::path& cache_dir);

/// `moeroute cache list`: a table, or JSON (docs/models.md), of scan_cache(cache_dir).
std::string cache_list_report(const std::filesystem::path& cache_dir, bool json);

struct CacheRemoval {
  std::vector<std::filesystem::path> removed;  ///< what was deleted
  std::uint64_t bytes_freed = 0;               ///< blob bytes freed
};

/// Deletes a cached repository, or with `repo.revision` set only that revision (its snapshot,
/// the refs naming it, and blobs no other snapshot uses). Throws InputError when it is not cached.
CacheRemoval remove_from_cache(const RepoRef& repo, const std::filesystem::path& cache_dir);

}  // namespace moeroute
