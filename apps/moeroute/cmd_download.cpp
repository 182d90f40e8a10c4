#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "moeroute/hub.h"

namespace moeroute::cli {

namespace {
struct DownloadArgs {
  std::string repo, revision, repo_type = "model", cache_dir;
  std::vector<std::string> include, exclude;
  bool all = false;
};
}  // namespace

void add_download_command(CLI::App& app) {
  auto a = std::make_shared<DownloadArgs>();
  auto* cmd = app.add_subcommand(
      "download", "Download a model (only the files moeroute needs) or dataset from the Hugging Face Hub into the "
                  "Hugging Face cache; prints the snapshot directory");
  cmd->add_option("repo", a->repo, "Repository id, org/name[@revision]")->required();
  cmd->add_option("--revision", a->revision, "Branch, tag or commit (default: main)");
  cmd->add_option("--include", a->include, "Only files matching these globs ('*' also matches '/')");
  cmd->add_option("--exclude", a->exclude, "Leave out files matching these globs");
  cmd->add_flag("--all", a->all, "Every file of the repository, not only what moeroute needs to run the model");
  cmd->add_option("--repo-type", a->repo_type, "model or dataset")->check(CLI::IsMember({"model", "dataset"}))->capture_default_str();
  cmd->add_option("--cache-dir", a->cache_dir, "Cache directory (default: $HF_HUB_CACHE, else $HF_HOME/hub)");
  cmd->callback([a] {
    HubOptions hub = hub_options_from_environment();
    if (!a->cache_dir.empty()) hub.cache_dir = a->cache_dir;
    DownloadOptions o;
    o.repo = parse_repo_spec(a->repo, a->repo_type == "dataset" ? RepoType::dataset : RepoType::model);
    if (!a->revision.empty()) {
      if (!o.repo.revision.empty() && o.repo.revision != a->revision)
        throw InputError(fmt::format("two revisions given: '{}' in {} and --revision {}", o.repo.revision, a->repo, a->revision));
      o.repo.revision = a->revision;
    }
    o.include = a->include;
    o.exclude = a->exclude;
    o.all = a->all;
    const DownloadResult r = download_snapshot(o, hub);
    fmt::print("{}\n", r.snapshot_dir.string());
  });
}

}  // namespace moeroute::cli
