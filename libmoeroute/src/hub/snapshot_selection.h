// Which files of a revision a download wants (DownloadOptions over a file list), and whether a
// cached snapshot already holds them — the offline path of download_snapshot and of
// resolve_model_location.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hub/cache_layout.h"
#include "moeroute/hub.h"

namespace moeroute::detail {

struct Selection {
  std::vector<std::string> paths;           ///< selected files, sorted
  std::vector<std::string> missing_shards;  ///< shards the index names that `paths` lacks
};

/// Applies `options` to the files of a revision. For a model without include globs or `all`,
/// the metadata files and the safetensors weights are selected; `read_index` returns the text
/// of model.safetensors.index.json when it is among `files`. Throws InputError when nothing
/// matches or (for a model) there is no config.json or no safetensors weights; `what` names
/// the repository in the message.
Selection select_files(const std::vector<std::string>& files, const DownloadOptions& options, const std::string& what,
                       const std::function<std::string()>& read_index);

/// The cached snapshot of options.repo's revision, if it holds every selected file (judged by
/// the cached tree listing when there is one, else by the files present). `why_not` receives
/// the reason when there is none.
std::optional<DownloadResult> cached_snapshot(const DownloadOptions& options, const RepoCache& cache,
                                              std::string* why_not = nullptr);

}  // namespace moeroute::detail
