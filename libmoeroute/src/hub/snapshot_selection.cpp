#include "hub/snapshot_selection.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hub/blob_fetch.h"
#include "hub/file_selection.h"
#include "io/text_file.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string no_match(const DownloadOptions& o, const std::string& what) {
  std::string s = fmt::format("no file of {} matches", what);
  if (!o.include.empty()) s += fmt::format(" --include {}", fmt::join(o.include, " "));
  if (!o.exclude.empty()) s += fmt::format(" without --exclude {}", fmt::join(o.exclude, " "));
  return s;
}

// Every file under a snapshot directory, as repository paths.
std::vector<std::string> snapshot_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path().lexically_relative(dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Selection select_files(const std::vector<std::string>& files, const DownloadOptions& o, const std::string& what,
                       const std::function<std::string()>& read_index) {
  Selection sel;
  if (!o.include.empty() || o.all || o.repo.type == RepoType::dataset) {
    sel.paths = filter_paths(files, o.include, o.exclude);
    if (sel.paths.empty()) throw InputError(no_match(o, what));
    return sel;
  }
  const std::string hint = "use --all or --include to download its files anyway";
  if (!contains(files, "config.json"))
    throw InputError(fmt::format("{} has no config.json at the top level, so it is not a model moeroute can run; {}",
                                 what, hint));
  std::set<std::string> wanted;
  for (const std::string& f : files)
    if (is_model_metadata_file(f)) wanted.insert(f);
  if (contains(files, std::string(kSafetensorsIndex))) {
    for (const std::string& shard : index_shards(read_index(), fmt::format("{}: {}", what, kSafetensorsIndex))) {
      if (contains(files, shard)) wanted.insert(shard);
      else sel.missing_shards.push_back(shard);
    }
  } else if (contains(files, std::string(kSafetensorsSingle))) {
    wanted.insert(std::string(kSafetensorsSingle));
  } else {
    throw InputError(fmt::format("{} has no safetensors weights at the top level ({} or {}); moeroute runs safetensors "
                                 "checkpoints; {}",
                                 what, kSafetensorsSingle, kSafetensorsIndex, hint));
  }
  sel.paths = filter_paths({wanted.begin(), wanted.end()}, {}, o.exclude);
  if (sel.paths.empty()) throw InputError(no_match(o, what));
  return sel;
}

std::optional<DownloadResult> cached_snapshot(const DownloadOptions& o, const RepoCache& cache, std::string* why_not) {
  const auto refuse = [&](std::string why) -> std::optional<DownloadResult> {
    if (why_not) *why_not = std::move(why);
    return std::nullopt;
  };
  const std::string rev = o.repo.revision.empty() ? "main" : o.repo.revision;
  const auto commit = cache.commit_of(rev);
  if (!commit) return refuse(fmt::format("the cache at {} has no revision '{}' of {}", cache.cache_dir.string(), rev,
                                         to_string(RepoRef{o.repo.type, o.repo.id, ""})));
  const fs::path snap = cache.snapshot(*commit);
  std::error_code ec;
  if (!fs::is_directory(snap, ec)) return refuse(fmt::format("{} is missing", snap.string()));

  const auto listing = cache.read_tree_cache(*commit);
  std::vector<std::string> files;
  if (listing) {
    for (const RepoFile& f : *listing) files.push_back(f.path);
  } else {
    files = snapshot_files(snap);
  }
  const std::string what = fmt::format("the cached snapshot {}", snap.string());
  Selection sel;
  try {
    sel = select_files(files, o, what, [&] { return read_text_file(snap / std::string(kSafetensorsIndex)); });
  } catch (const InputError& e) {
    return refuse(e.what());
  }
  std::vector<std::string> missing = sel.missing_shards;
  DownloadResult result;
  result.snapshot_dir = snap;
  result.commit = *commit;
  result.offline = true;
  for (const std::string& path : sel.paths) {
    const fs::path p = snap / path;
    const auto size = fs::file_size(p, ec);  // follows the symlink into blobs/
    bool ok = !ec && fs::is_regular_file(p, ec);
    if (ok && listing) {
      const auto f = std::find_if(listing->begin(), listing->end(), [&](const RepoFile& r) { return r.path == path; });
      ok = listed_size(*f) == size;
    }
    if (!ok) missing.push_back(path);
    else result.files.push_back({path, size, false});
  }
  if (!missing.empty())
    return refuse(fmt::format("{} lacks {} of the {} files wanted: {}", what, missing.size(),
                              sel.paths.size() + sel.missing_shards.size(), fmt::join(missing, ", ")));
  return result;
}

}  // namespace moeroute::detail
