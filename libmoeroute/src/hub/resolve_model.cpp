// resolve_model_location: local path → cached snapshot → download.
#include <fmt/format.h>

#include "hub/snapshot_selection.h"
#include "moeroute/hub.h"

namespace moeroute {

namespace fs = std::filesystem;

fs::path resolve_model_location(const std::string& spec, const HubOptions& hub) {
  if (spec.empty()) throw InputError("empty model name: give a directory or a Hub id 'org/name[@revision]'");
  std::error_code ec;
  if (fs::exists(spec, ec)) return spec;
  if (spec[0] == '/' || spec[0] == '.' || spec[0] == '~')
    throw InputError(fmt::format("{}: no such file or directory", spec));
  RepoRef repo;
  try {
    repo = parse_repo_spec(spec);
  } catch (const InputError& e) {
    throw InputError(fmt::format("'{}' is neither an existing file or directory nor a Hub model id: {}", spec, e.what()));
  }
  if (hub.cache_dir.empty()) throw InputError("HubOptions: cache_dir is empty (hub_options_from_environment() sets it)");
  DownloadOptions options;
  options.repo = repo;
  std::string why;
  if (auto cached = detail::cached_snapshot(options, detail::RepoCache(hub.cache_dir, repo.type, repo.id), &why))
    return cached->snapshot_dir;
  if (hub.offline)
    throw InputError(fmt::format("{} is not a local path and not usable from the Hugging Face cache ({}); HF_HUB_OFFLINE "
                                 "is set, so it is not downloaded: unset HF_HUB_OFFLINE, or run `moeroute download {}` "
                                 "where there is network",
                                 spec, why, spec));
  return download_snapshot(options, hub).snapshot_dir;
}

}  // namespace moeroute
