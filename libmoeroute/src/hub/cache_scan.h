// Reading one repository folder of the cache, shared by scan_cache and remove_from_cache.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "moeroute/hub.h"

namespace moeroute::detail {

/// "models--org--name" → {model, "org/name"}; nullopt for other entries (.locks, spaces, …).
std::optional<RepoRef> repo_of_folder(const std::string& name);
/// Where a snapshot entry's link points (its blobs/ entry), or the file itself if not a link.
std::filesystem::path first_hop(const std::filesystem::path& file);
/// refs/ of a repository folder: commit → ref names.
std::map<std::string, std::vector<std::string>> read_refs(const std::filesystem::path& repo_dir);
/// One repository folder; damaged entries go to `warnings`.
CachedRepo scan_repo(const std::filesystem::path& dir, const RepoRef& ref, std::vector<std::string>& warnings);

}  // namespace moeroute::detail
