// Shard numbering and the split of the work over ranks (docs/dataset-trace.md, "Splitting").
#include <cstdlib>

#include <fmt/format.h>

#include "moeroute/dataset_trace.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

// A non-negative decimal integer, whole string; -1 otherwise.
long long parse_count(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(s);
}

ShardSelection checked(long long rank, long long world, const std::string& origin, const std::string& text) {
  if (rank < 0 || world < 1 || rank >= world)
    throw InputError(fmt::format("{} = '{}': expected I/N with 0 ≤ I < N (rank I of N processes)", origin, text));
  return {static_cast<int>(rank), static_cast<int>(world), origin};
}

}  // namespace

ShardSelection parse_shard_selection(const std::string& spec) {
  const std::size_t slash = spec.find('/');
  if (slash == std::string::npos) return checked(-1, 0, "--shard", spec);
  return checked(parse_count(spec.substr(0, slash)), parse_count(spec.substr(slash + 1)), "--shard", spec);
}

ShardSelection resolve_shard_selection(const std::string& spec, const std::function<const char*(const char*)>& getenv) {
  if (!spec.empty()) return parse_shard_selection(spec);
  const auto env = [&](const char* name) -> const char* { return getenv ? getenv(name) : std::getenv(name); };
  // torchrun first: under `srun torchrun …` both are set and torchrun's are the per-process ones.
  for (auto [rank_var, world_var] : {std::pair{"RANK", "WORLD_SIZE"}, std::pair{"SLURM_PROCID", "SLURM_NTASKS"}}) {
    const char* rank = env(rank_var);
    const char* world = env(world_var);
    if (!rank && !world) continue;
    const std::string origin = fmt::format("{}/{}", rank_var, world_var);
    if (!rank || !world)
      throw InputError(fmt::format("{} is set but {} is not: set both, or pass --shard I/N", rank ? rank_var : world_var,
                                   rank ? world_var : rank_var));
    return checked(parse_count(rank), parse_count(world), origin, fmt::format("{}/{}", rank, world));
  }
  return {};
}

std::vector<ShardRange> plan_shards(int64_t num_samples, int64_t shard_size, const ShardSelection& selection) {
  if (shard_size < 1) throw InputError(fmt::format("shard size must be ≥ 1 sample, got {}", shard_size));
  if (num_samples < 0) throw InputError(fmt::format("negative sample count {}", num_samples));
  std::vector<ShardRange> out;
  const int64_t shards = (num_samples + shard_size - 1) / shard_size;
  for (int64_t j = selection.rank; j < shards; j += selection.world_size)
    out.push_back({j, j * shard_size, std::min(num_samples, (j + 1) * shard_size)});
  return out;
}

std::string shard_file_name(int64_t index) { return fmt::format("shard-{:06d}.safetensors", index); }

std::string index_file_name(const ShardSelection& s) {
  if (s.world_size == 1) return "trace.json";
  return fmt::format("trace-rank{:05d}-of-{:05d}.json", s.rank, s.world_size);
}

}  // namespace moeroute
