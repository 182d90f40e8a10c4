// scan_cache and `moeroute cache list`: what the Hugging Face cache holds, read the way
// huggingface_hub's scan_cache_dir reads it (utils/_cache_manager.py): refs name commits,
// snapshots hold links into blobs/, sizes count each distinct blob once.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "hub/cache_layout.h"
#include "hub/cache_scan.h"
#include "hub/progress.h"
#include "io/text_file.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace detail {

std::optional<RepoRef> repo_of_folder(const std::string& name) {
  const auto sep = name.find("--");
  if (sep == std::string::npos) return std::nullopt;
  const std::string kind = name.substr(0, sep);
  RepoRef r;
  if (kind == "models") r.type = RepoType::model;
  else if (kind == "datasets") r.type = RepoType::dataset;
  else return std::nullopt;
  std::string id = name.substr(sep + 2);
  for (std::size_t p; (p = id.find("--")) != std::string::npos;) id.replace(p, 2, "/");
  r.id = id;
  return r;
}

fs::path first_hop(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(file, ec))) return file;
  const fs::path target = fs::read_symlink(file, ec);
  return (target.is_absolute() ? target : file.parent_path() / target).lexically_normal();
}

std::map<std::string, std::vector<std::string>> read_refs(const fs::path& repo_dir) {
  std::map<std::string, std::vector<std::string>> by_commit;
  const fs::path refs = repo_dir / "refs";
  std::error_code ec;
  if (!fs::is_directory(refs, ec)) return by_commit;
  for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    try {
      by_commit[read_text_file(it->path(), {4096, {}})].push_back(it->path().lexically_relative(refs).generic_string());
    } catch (const Error&) {
    }
  }
  for (auto& [c, names] : by_commit) std::sort(names.begin(), names.end());
  return by_commit;
}

CachedRepo scan_repo(const fs::path& dir, const RepoRef& ref, std::vector<std::string>& warnings) {
  CachedRepo repo;
  repo.type = ref.type;
  repo.id = ref.id;
  repo.dir = dir;
  auto refs = read_refs(dir);
  std::map<fs::path, std::uint64_t> blob_sizes;
  std::error_code ec;
  const fs::path snapshots = dir / "snapshots";
  if (fs::is_directory(snapshots, ec)) {
    for (const auto& snap : fs::directory_iterator(snapshots, ec)) {
      if (!snap.is_directory(ec)) continue;
      CachedRevision rev;
      rev.commit = snap.path().filename().string();
      rev.snapshot_dir = snap.path();
      std::set<fs::path> blobs;
      for (auto it = fs::recursive_directory_iterator(snap.path(), ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_directory(ec)) continue;
        const fs::path blob = first_hop(it->path());
        const auto size = fs::file_size(it->path(), ec);  // through every link
        if (ec) {
          warnings.push_back(fmt::format("{}: broken link (its blob {} is missing)", it->path().string(), blob.string()));
          ec.clear();
          continue;
        }
        ++rev.files;
        blobs.insert(blob);
        blob_sizes[blob] = size;
      }
      for (const auto& b : blobs) rev.size += blob_sizes[b];
      if (const auto r = refs.find(rev.commit); r != refs.end()) {
        rev.refs = r->second;
        refs.erase(r);
      }
      repo.revisions.push_back(std::move(rev));
    }
  }
  for (const auto& [commit, names] : refs)
    warnings.push_back(fmt::format("{}: refs {} point at commit {}, which has no snapshot", dir.string(),
                                   fmt::join(names, ", "), commit));
  std::sort(repo.revisions.begin(), repo.revisions.end(),
            [](const CachedRevision& a, const CachedRevision& b) { return a.commit < b.commit; });
  repo.blobs = blob_sizes.size();
  for (const auto& [b, s] : blob_sizes) repo.size_on_disk += s;
  if (fs::is_directory(dir / "blobs", ec)) {
    for (const auto& e : fs::directory_iterator(dir / "blobs", ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 11 && name.compare(name.size() - 11, 11, ".incomplete") == 0)
        repo.incomplete_bytes += e.file_size(ec);
    }
  }
  return repo;
}

}  // namespace detail

CacheScan scan_cache(const fs::path& cache_dir) {
  CacheScan scan;
  scan.cache_dir = cache_dir;
  std::error_code ec;
  if (!fs::is_directory(cache_dir, ec)) return scan;
  for (const auto& e : fs::directory_iterator(cache_dir, ec)) {
    const auto ref = detail::repo_of_folder(e.path().filename().string());
    if (!ref || !e.is_directory(ec)) continue;  // .locks, CACHEDIR.TAG, the shared blob store, spaces
    scan.repos.push_back(detail::scan_repo(e.path(), *ref, scan.warnings));
  }
  std::sort(scan.repos.begin(), scan.repos.end(), [](const CachedRepo& a, const CachedRepo& b) {
    return std::tie(a.type, a.id) < std::tie(b.type, b.id);
  });
  return scan;
}

std::string cache_list_report(const fs::path& cache_dir, bool json) {
  const CacheScan scan = scan_cache(cache_dir);
  const auto type_name = [](RepoType t) { return t == RepoType::dataset ? "dataset" : "model"; };
  if (json) {
    nlohmann::json repos = nlohmann::json::array();
    for (const CachedRepo& r : scan.repos) {
      nlohmann::json revs = nlohmann::json::array();
      for (const CachedRevision& v : r.revisions)
        revs.push_back({{"commit", v.commit}, {"refs", v.refs}, {"files", v.files}, {"size", v.size},
                        {"snapshot_path", v.snapshot_dir.string()}});
      repos.push_back({{"type", type_name(r.type)}, {"id", r.id}, {"path", r.dir.string()}, {"size_on_disk", r.size_on_disk},
                       {"blobs", r.blobs}, {"incomplete_bytes", r.incomplete_bytes}, {"revisions", std::move(revs)}});
    }
    return nlohmann::json{{"cache_dir", scan.cache_dir.string()}, {"repos", std::move(repos)}, {"warnings", scan.warnings}}
               .dump(2) + "\n";
  }
  std::string out;
  std::uint64_t total = 0, partial = 0;
  if (!scan.repos.empty()) {
    std::size_t w = 4;
    for (const CachedRepo& r : scan.repos) w = std::max(w, r.id.size());
    out += fmt::format("{:<{}}  {:<7}  {:>9}  {:>5}  {:>9}  {}\n", "REPO", w, "TYPE", "SIZE", "FILES", "PARTIAL", "REVISIONS");
    for (const CachedRepo& r : scan.repos) {
      std::vector<std::string> revs;
      for (const CachedRevision& v : r.revisions)
        revs.push_back(v.refs.empty() ? v.commit.substr(0, 12)
                                      : fmt::format("{} ({})", v.commit.substr(0, 12), fmt::join(v.refs, ", ")));
      out += fmt::format("{:<{}}  {:<7}  {:>9}  {:>5}  {:>9}  {}\n", r.id, w, type_name(r.type),
                         detail::format_bytes(r.size_on_disk), r.blobs,
                         r.incomplete_bytes ? detail::format_bytes(r.incomplete_bytes) : "-", fmt::join(revs, "; "));
      total += r.size_on_disk;
      partial += r.incomplete_bytes;
    }
  }
  out += fmt::format("{} repositories, {} in {}", scan.repos.size(), detail::format_bytes(total), scan.cache_dir.string());
  if (partial) out += fmt::format(" (and {} of unfinished downloads)", detail::format_bytes(partial));
  out += "\n";
  for (const std::string& w : scan.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace moeroute
