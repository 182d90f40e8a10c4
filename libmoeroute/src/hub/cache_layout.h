// The Hugging Face cache layout, as huggingface_hub 2.4.0 writes it (file_download.py,
// _tree_cache.py, _local_folder.py):
//   <cache>/CACHEDIR.TAG
//   <cache>/.locks/<folder>/<etag>.lock            one flock per blob
//   <cache>/<folder>/blobs/<etag>                  file content, named by etag (sha256 for LFS)
//   <cache>/<folder>/blobs/<etag>.incomplete       moeroute's resumable partial download
//   <cache>/<folder>/snapshots/<commit>/<path>     relative symlink to ../../blobs/<etag>
//   <cache>/<folder>/refs/<revision>               the commit hash a branch or tag pointed at
//   <cache>/<folder>/trees/<commit>.json           the commit's file listing
// with <folder> = models--org--name or datasets--org--name.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hub/hub_api.h"
#include "moeroute/hub.h"

namespace moeroute::detail {

/// "models--org--name" (huggingface_hub's repo_folder_name).
std::string repo_folder_name(RepoType type, const std::string& id);
/// 40 lower-case hex digits.
bool is_commit_hash(const std::string& revision);
/// Refuses a repository path that could leave the snapshot directory ("..", absolute, empty
/// parts, backslashes). Throws InputError naming `what`.
void check_repo_path(const std::string& path, const std::string& what);

struct RepoCache {
  RepoCache(std::filesystem::path cache_dir, RepoType type, const std::string& id);

  std::filesystem::path cache_dir;
  std::string folder;          ///< models--org--name
  std::filesystem::path dir;   ///< <cache>/<folder>

  std::filesystem::path blob(const std::string& etag) const { return dir / "blobs" / etag; }
  std::filesystem::path incomplete(const std::string& etag) const { return dir / "blobs" / (etag + ".incomplete"); }
  std::filesystem::path lock(const std::string& etag) const { return cache_dir / ".locks" / folder / (etag + ".lock"); }
  std::filesystem::path snapshot(const std::string& commit) const { return dir / "snapshots" / commit; }
  std::filesystem::path pointer(const std::string& commit, const std::string& path) const;
  std::filesystem::path ref(const std::string& revision) const { return dir / "refs" / revision; }
  std::filesystem::path tree_cache(const std::string& commit) const { return dir / "trees" / (commit + ".json"); }

  /// Creates the cache, repository, blobs and snapshots directories and CACHEDIR.TAG. Throws
  /// IoError saying which directory could not be made and how to choose another.
  void create() const;
  /// The commit a revision names: itself when it is a commit hash, else refs/<revision>.
  std::optional<std::string> commit_of(const std::string& revision) const;
  /// Points refs/<revision> at `commit` (atomically; nothing when revision is the commit or
  /// the ref is already right).
  void write_ref(const std::string& revision, const std::string& commit) const;
  /// snapshots/<commit>/<path> → ../../blobs/<etag> (one more ../ per directory level),
  /// replacing whatever was there. Falls back to a copy where symlinks are not supported.
  void link_pointer(const std::string& commit, const std::string& path, const std::string& etag) const;
  /// trees/<commit>.json in huggingface_hub's format (format_version 1), unless already there.
  void write_tree_cache(const std::string& commit, const std::vector<RepoFile>& files) const;
  /// The listing from trees/<commit>.json, if present and readable.
  std::optional<std::vector<RepoFile>> read_tree_cache(const std::string& commit) const;
};

/// A filesystem error as IoError: "<path>: <what>: <reason>" plus a hint for the cache.
[[noreturn]] void throw_cache_io(const std::filesystem::path& path, const std::string& what, int err);

}  // namespace moeroute::detail
