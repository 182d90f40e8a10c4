// download_snapshot: list the revision, select the files, show the plan, check the disk, fetch
// the files in parallel (blob_fetch.h) and return the snapshot directory.
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hub/blob_fetch.h"
#include "hub/file_selection.h"
#include "hub/snapshot_selection.h"
#include "hub/url.h"
#include "io/text_file.h"
#include "moeroute/version.h"

namespace moeroute {

namespace fs = std::filesystem;
using namespace detail;

namespace {

std::string user_agent() { return fmt::format("moeroute/{}", kVersion); }

// Free bytes on the filesystem holding `p` (its nearest existing ancestor).
std::uint64_t free_bytes(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  struct statvfs st {};
  if (p.empty() || ::statvfs(p.c_str(), &st) != 0) return UINT64_MAX;  // unknown: do not refuse
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void check_options(const HubOptions& hub) {
  if (hub.cache_dir.empty()) throw InputError("HubOptions: cache_dir is empty (hub_options_from_environment() sets it)");
  parse_url(hub.endpoint, "HF_ENDPOINT");
}

struct Plan {
  std::vector<const RepoFile*> files;  // selected, sorted by path
  std::uint64_t total = 0, to_fetch = 0;
  std::size_t cached = 0;
};

void print_plan(Reporter& reporter, const DownloadOptions& o, const std::string& commit, const Plan& plan,
                std::uint64_t free, const fs::path& cache_dir) {
  const std::string rev = o.repo.revision.empty() ? "main" : o.repo.revision;
  const std::string what = o.repo.type == RepoType::model && o.include.empty() && !o.all
                               ? " (what moeroute needs to run the model; --all fetches every file)"
                               : "";
  reporter.message(fmt::format("{} @ {} = {}: {} files, {}{}", to_string(RepoRef{o.repo.type, o.repo.id, ""}), rev,
                               commit.substr(0, 12), plan.files.size(), format_bytes(plan.total), what));
  if (plan.cached == plan.files.size()) {
    reporter.message("  all of them are cached");
    return;
  }
  reporter.message(fmt::format("  to download: {} files, {} ({} cached); free in {}: {}",
                               plan.files.size() - plan.cached, format_bytes(plan.to_fetch), plan.cached,
                               cache_dir.string(), free == UINT64_MAX ? "unknown" : format_bytes(free)));
}

// Fetches `files` with up to hub.parallel_downloads at once; the first error cancels the rest.
std::vector<FetchOutcome> fetch_all(const std::vector<const RepoFile*>& files, const RepoRef& repo, const RepoCache& cache,
                                    const std::string& commit, const HubOptions& hub, Reporter& reporter) {
  std::vector<FetchOutcome> outcomes(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> cancel{false};
  std::mutex mutex;
  std::exception_ptr first_error;
  const auto worker = [&] {
    HttpClient http(hub.connect_timeout_s, user_agent());
    HubApi api(hub, http, reporter, &cancel);
    for (std::size_t i; (i = next++) < files.size() && !cancel.load();) {
      try {
        outcomes[i] = fetch_file(api, http, hub, reporter, cancel, FetchJob{repo, cache, commit, *files[i]});
        reporter.file_done(files[i]->path, outcomes[i].size);
      } catch (const FetchCancelled&) {
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!first_error) first_error = std::current_exception();
        cancel = true;
      }
    }
  };
  const std::size_t n = std::min<std::size_t>(files.size(), static_cast<std::size_t>(std::max(1, hub.parallel_downloads)));
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  return outcomes;
}

DownloadResult from_cache(const DownloadOptions& o, const RepoCache& cache, const std::string& reason) {
  std::string why;
  if (auto r = cached_snapshot(o, cache, &why)) return *r;
  throw InputError(fmt::format("{}, and {}; unset HF_HUB_OFFLINE (or run `moeroute download {}` with network) to "
                               "fetch it",
                               reason, why, to_string(o.repo)));
}

}  // namespace

DownloadResult download_snapshot(const DownloadOptions& options, const HubOptions& hub) {
  check_options(hub);
  for (const std::string& g : options.include)
    if (g.empty()) throw InputError("--include: empty pattern");
  const RepoRef& repo = options.repo;
  parse_repo_spec(repo.id, repo.type);  // validates the id
  const RepoCache cache(hub.cache_dir, repo.type, repo.id);
  Reporter reporter(hub.progress, stderr);
  if (hub.offline) return from_cache(options, cache, "HF_HUB_OFFLINE is set (offline mode)");

  HttpClient http(hub.connect_timeout_s, user_agent());
  HubApi api(hub, http, reporter);
  const std::string rev = repo.revision.empty() ? "main" : repo.revision;
  RevisionInfo info;
  try {
    info = api.revision(repo);
  } catch (const HubUnavailableError& e) {
    std::string why;
    if (auto cached = cached_snapshot(options, cache, &why)) {
      reporter.message(fmt::format("warning: {}\n  using the cached snapshot {}", e.what(), cached->snapshot_dir.string()));
      return *cached;
    }
    throw HubUnavailableError(fmt::format("{}\n  and it is not usable from the cache: {}", e.what(), why));
  }
  const std::vector<RepoFile> listing = api.tree(repo, info.commit);
  for (const RepoFile& f : listing) check_repo_path(f.path, to_string(repo));

  cache.create();
  // Like huggingface_hub, a ref or listing that cannot be written only warns: a read-only cache
  // that already holds everything still works, and a missing file fails on its own write.
  try {
    cache.write_ref(rev, info.commit);
    cache.write_tree_cache(info.commit, listing);
  } catch (const IoError& e) {
    reporter.message(fmt::format("warning: {}", e.what()));
  }

  std::vector<std::string> paths;
  for (const RepoFile& f : listing) paths.push_back(f.path);
  const auto find = [&](const std::string& path) {
    return &*std::find_if(listing.begin(), listing.end(), [&](const RepoFile& f) { return f.path == path; });
  };
  const std::string what = fmt::format("{} at commit {}", to_string(RepoRef{repo.type, repo.id, ""}), info.commit);
  std::uint64_t index_received = 0;
  bool index_fetched = false;  // by this call, before the plan: still counted as "to download"
  const Selection sel = select_files(paths, options, what, [&] {
    // The index decides which shards are needed: fetch it first (it is small).
    const RepoFile* index = find(std::string(kSafetensorsIndex));
    std::atomic<bool> no_cancel{false};
    const FetchOutcome got = fetch_file(api, http, hub, reporter, no_cancel, FetchJob{repo, cache, info.commit, *index});
    index_received = got.received;
    index_fetched = got.downloaded;
    return read_text_file(cache.pointer(info.commit, index->path));
  });
  if (!sel.missing_shards.empty())
    throw InputError(fmt::format("{}: {} names shards that are not in the repository: {}", what, kSafetensorsIndex,
                                 fmt::join(sel.missing_shards, ", ")));

  Plan plan;
  for (const std::string& p : sel.paths) {
    const RepoFile* f = find(p);
    plan.files.push_back(f);
    plan.total += listed_size(*f);
    if (index_fetched && p == kSafetensorsIndex) plan.to_fetch += listed_size(*f);
    else if (is_cached(cache, info.commit, *f)) ++plan.cached;
    else plan.to_fetch += listed_size(*f) - partial_bytes(cache, *f);
  }
  const std::uint64_t free = free_bytes(cache.dir / "blobs");
  print_plan(reporter, options, info.commit, plan, free, hub.cache_dir);
  if (plan.to_fetch > free)
    throw IoError(fmt::format("not enough free space in {}: the download needs {} more, {} are free; free some space or "
                              "point HF_HUB_CACHE at a larger disk",
                              hub.cache_dir.string(), format_bytes(plan.to_fetch), format_bytes(free)));

  reporter.start(plan.total, plan.files.size());
  const auto outcomes = fetch_all(plan.files, repo, cache, info.commit, hub, reporter);
  DownloadResult result;
  result.snapshot_dir = cache.snapshot(info.commit);
  result.commit = info.commit;
  result.bytes_downloaded = index_received;
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    const bool index_now = index_fetched && plan.files[i]->path == kSafetensorsIndex;
    result.files.push_back({plan.files[i]->path, outcomes[i].size, outcomes[i].downloaded || index_now});
    result.bytes_downloaded += outcomes[i].received;
  }
  if (plan.cached < plan.files.size()) reporter.finish(result.bytes_downloaded);
  return result;
}

}  // namespace moeroute
