#include "moeroute/checkpoint.h"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

constexpr const char* kSingle = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";

// Shard names are plain file names inside the checkpoint directory.
void check_shard_name(const std::string& shard, const std::string& tensor, const std::string& index) {
  const std::filesystem::path p(shard);
  if (shard.empty() || p.is_absolute() || p.has_parent_path() || shard == "." || shard == "..")
    throw InputError(fmt::format("{}: weight_map['{}'] = '{}' is not a file name in the checkpoint directory", index,
                                 tensor, shard));
}

}  // namespace

std::string shape_string(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Checkpoint::Checkpoint(const std::filesystem::path& dir) : dir_(dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw InputError(fmt::format("{}: not a directory (expected a Hugging Face checkpoint directory)", dir.string()));
  auto add_file = [&](const std::string& name) {
    files_.push_back(std::make_unique<SafetensorsFile>(dir / name));
    return files_.size() - 1;
  };
  auto add_tensors = [&](size_t file) {
    for (const auto& t : files_[file]->tensors()) {
      const auto [it, fresh] = where_.emplace(t.name, file);
      if (!fresh)
        throw InputError(fmt::format("{}: tensor '{}' is stored twice (also in {})", files_[file]->path().string(),
                                     t.name, files_[it->second]->path().filename().string()));
    }
  };

  if (std::filesystem::is_regular_file(dir / kSingle, ec)) {
    add_tensors(add_file(kSingle));
    return;
  }
  const auto index_path = dir / kIndex;
  if (!std::filesystem::is_regular_file(index_path, ec))
    throw InputError(fmt::format("{}: no {} or {} (only safetensors checkpoints are supported, not "
                                 "pytorch_model.bin)",
                                 dir.string(), kSingle, kIndex));
  const std::string what = index_path.string();
  const auto index_field = detail::read_json_file(index_path);
  const auto weight_map_field = index_field.expect_object("a safetensors index").at("weight_map");
  if (!weight_map_field.is_object()) weight_map_field.fail("expected an object: tensor name → shard file");
  const auto& weight_map = weight_map_field.json();
  if (weight_map.empty()) weight_map_field.fail("lists no tensors");

  // Open every shard once, in order of first mention; report a missing one with a tensor it holds.
  std::map<std::string, size_t> shard_index;
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    const std::string shard = weight_map_field.at(it.key()).string();
    if (shard_index.count(shard)) continue;
    check_shard_name(shard, it.key(), what);
    if (!std::filesystem::is_regular_file(dir / shard, ec))
      throw InputError(fmt::format("{}: shard '{}' (holding tensor '{}') is missing from {}", what, shard, it.key(),
                                   dir.string()));
    shard_index[shard] = add_file(shard);
  }
  for (size_t f = 0; f < files_.size(); ++f) add_tensors(f);
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    const size_t f = shard_index.at(it.value().get<std::string>());
    const auto found = where_.find(it.key());
    if (found == where_.end())
      throw InputError(fmt::format("{}: tensor '{}' is listed for shard '{}' but no shard holds it", what, it.key(),
                                   it.value().get<std::string>()));
    if (found->second != f)
      throw InputError(fmt::format("{}: tensor '{}' is listed for shard '{}' but is stored in '{}'", what, it.key(),
                                   it.value().get<std::string>(),
                                   files_[found->second]->path().filename().string()));
  }
}

Checkpoint::~Checkpoint() = default;

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, file] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& Checkpoint::file_of(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end())
    throw InputError(fmt::format("{}: checkpoint has no tensor '{}'", dir_.string(), name));
  return *files_[it->second];
}

const TensorInfo& Checkpoint::info(const std::string& name) const { return file_of(name).info(name); }

std::string_view Checkpoint::bytes(const std::string& name) const { return file_of(name).bytes(name); }

uint64_t Checkpoint::total_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files_)
    for (const auto& t : f->tensors()) n += t.end - t.begin;
  return n;
}

const TensorInfo& Checkpoint::expect_shape(const std::string& name, const std::vector<int64_t>& shape,
                                           const std::string& why) const {
  const TensorInfo& t = info(name);
  if (t.shape != shape)
    throw InputError(fmt::format("{}: tensor '{}' has shape {}, expected {} ({})", file_of(name).path().string(), name,
                                 shape_string(t.shape), shape_string(shape), why));
  return t;
}

}  // namespace moeroute
