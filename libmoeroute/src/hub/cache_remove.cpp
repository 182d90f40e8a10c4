// remove_from_cache: a whole repository folder, or one revision and the blobs only it used
// (huggingface_hub's DeleteCacheStrategy does the same).
#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hub/cache_layout.h"
#include "hub/cache_scan.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

void remove_path(const fs::path& p, CacheRemoval& out) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(p, ec))) return;
  fs::remove_all(p, ec);
  if (ec) detail::throw_cache_io(p, "cannot delete", ec.value());
  out.removed.push_back(p);
}

// Bytes of regular files among `blobs` (a link into huggingface_hub's shared store frees nothing).
std::uint64_t regular_bytes(const std::set<fs::path>& blobs) {
  std::uint64_t n = 0;
  std::error_code ec;
  for (const fs::path& b : blobs)
    if (fs::is_regular_file(fs::symlink_status(b, ec))) n += fs::file_size(b, ec);
  return n;
}

std::set<fs::path> blobs_of(const fs::path& snapshot) {
  std::set<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snapshot, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory(ec)) out.insert(detail::first_hop(it->path()));
  return out;
}

std::set<fs::path> all_blobs(const fs::path& repo_dir) {
  std::set<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(repo_dir / "blobs", ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 11 || name.compare(name.size() - 11, 11, ".incomplete") != 0) out.insert(e.path().lexically_normal());
  }
  return out;
}

}  // namespace

CacheRemoval remove_from_cache(const RepoRef& repo, const fs::path& cache_dir) {
  const detail::RepoCache cache(cache_dir, repo.type, repo.id);
  const std::string name = to_string(RepoRef{repo.type, repo.id, ""});
  std::error_code ec;
  if (!fs::is_directory(cache.dir, ec))
    throw InputError(fmt::format("{} is not in the cache at {} (no {})", name, cache_dir.string(), cache.dir.string()));
  CacheRemoval out;
  if (repo.revision.empty()) {
    out.bytes_freed = regular_bytes(all_blobs(cache.dir));
    remove_path(cache.dir, out);
    remove_path(cache_dir / ".locks" / cache.folder, out);
    return out;
  }

  std::vector<std::string> commits;
  for (const auto& e : fs::directory_iterator(cache.dir / "snapshots", ec)) commits.push_back(e.path().filename().string());
  std::string commit = cache.commit_of(repo.revision).value_or("");
  if (commit.empty() && repo.revision.size() >= 7) {  // a unique commit prefix
    for (const std::string& c : commits)
      if (c.rfind(repo.revision, 0) == 0) commit = commit.empty() ? c : "?";
  }
  if (commit.empty() || commit == "?" || std::find(commits.begin(), commits.end(), commit) == commits.end()) {
    std::sort(commits.begin(), commits.end());
    throw InputError(fmt::format("{}: no cached revision '{}' (cached commits: {})", name, repo.revision,
                                 commits.empty() ? "none" : fmt::format("{}", fmt::join(commits, ", "))));
  }
  if (commits.size() == 1) return remove_from_cache(RepoRef{repo.type, repo.id, ""}, cache_dir);

  std::set<fs::path> kept;
  for (const std::string& c : commits)
    if (c != commit) {
      const auto b = blobs_of(cache.snapshot(c));
      kept.insert(b.begin(), b.end());
    }
  std::set<fs::path> drop;
  for (const fs::path& b : blobs_of(cache.snapshot(commit)))
    if (!kept.count(b)) drop.insert(b);
  out.bytes_freed = regular_bytes(drop);
  remove_path(cache.snapshot(commit), out);
  for (const auto& [c, refs] : detail::read_refs(cache.dir))
    if (c == commit)
      for (const std::string& r : refs) remove_path(cache.dir / "refs" / r, out);
  remove_path(cache.tree_cache(commit), out);
  remove_path(cache.dir / ".no_exist" / commit, out);
  for (const fs::path& b : drop)
    if (b.parent_path() == (cache.dir / "blobs").lexically_normal()) remove_path(b, out);
  return out;
}

}  // namespace moeroute
