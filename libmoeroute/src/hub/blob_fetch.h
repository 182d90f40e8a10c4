// Fetching one file of a snapshot into the cache: HEAD for its etag and location, then, under
// the blob's lock, a resumable GET into blobs/<etag>.incomplete with retries and backoff, size and
// digest verification, fsync and an atomic rename to blobs/<etag>, and the snapshot's symlink.
// A blob is never published unverified; a failure leaves at most the .incomplete file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "hub/cache_layout.h"
#include "hub/hub_api.h"

namespace moeroute::detail {

/// Thrown when another file's failure cancelled this download.
struct FetchCancelled {};

struct FetchJob {
  const RepoRef& repo;
  const RepoCache& cache;
  const std::string& commit;
  const RepoFile& file;  ///< from the listing: size and expected digest
};

struct FetchOutcome {
  std::uint64_t size = 0;      ///< the file's size
  std::uint64_t received = 0;  ///< bytes received from the network
  bool downloaded = false;     ///< false: already cached (possibly by another process)
};

/// The listed size of a file (an LFS file's real size).
std::uint64_t listed_size(const RepoFile& file);
/// snapshots/<commit>/<path> exists and has the listed size.
bool is_cached(const RepoCache& cache, const std::string& commit, const RepoFile& file);
/// Bytes of an unfinished earlier download of `file` (blobs/<etag>.incomplete, etag guessed from
/// the listing), for planning.
std::uint64_t partial_bytes(const RepoCache& cache, const RepoFile& file);

FetchOutcome fetch_file(HubApi& api, HttpClient& http, const HubOptions& hub, Reporter& reporter,
                        const std::atomic<bool>& cancel, const FetchJob& job);

}  // namespace moeroute::detail
