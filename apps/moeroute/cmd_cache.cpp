#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "moeroute/hub.h"

namespace moeroute::cli {

namespace {
struct CacheArgs {
  std::string cache_dir, repo, repo_type = "model";
  bool json = false;
};

std::filesystem::path cache_dir_of(const CacheArgs& a) {
  return a.cache_dir.empty() ? hub_options_from_environment().cache_dir : std::filesystem::path(a.cache_dir);
}
}  // namespace

void add_cache_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("cache", "List or remove what is in the Hugging Face cache");
  cmd->require_subcommand(1);
  auto a = std::make_shared<CacheArgs>();
  const char* dir_help = "Cache directory (default: $HF_HUB_CACHE, else $HF_HOME/hub)";

  auto* list = cmd->add_subcommand("list", "Cached repositories: size, files, revisions and the refs naming them");
  list->add_option("--cache-dir", a->cache_dir, dir_help);
  list->add_flag("--json", a->json, "Print JSON instead of a table");
  list->callback([a] {
    const std::string out = cache_list_report(cache_dir_of(*a), a->json);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });

  auto* rm = cmd->add_subcommand("rm", "Delete a cached repository, or with @revision one revision of it");
  rm->add_option("repo", a->repo, "org/name or org/name@revision")->required();
  rm->add_option("--repo-type", a->repo_type, "model or dataset")->check(CLI::IsMember({"model", "dataset"}))->capture_default_str();
  rm->add_option("--cache-dir", a->cache_dir, dir_help);
  rm->callback([a] {
    const RepoRef repo = parse_repo_spec(a->repo, a->repo_type == "dataset" ? RepoType::dataset : RepoType::model);
    const CacheRemoval r = remove_from_cache(repo, cache_dir_of(*a));
    fmt::print("removed {} ({} paths), freed {} bytes\n", to_string(repo), r.removed.size(), r.bytes_freed);
  });
}

}  // namespace moeroute::cli
