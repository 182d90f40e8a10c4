// detect_import_format: the format from the first bytes — magic numbers for binary files, the
// first line's shape for text. Reads at most the first MiB (more only when the first JSON line is
// longer) and, for zip archives, the central directory.
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/json_input.h"
#include "io/line_reader.h"
#include "io/npy.h"
#include "io/zip_reader.h"
#include "moeroute/error.h"
#include "moeroute/import.h"

namespace moeroute {

namespace {

constexpr size_t kPrefix = size_t{1} << 20;

bool is_expert_line(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0 || i == line.size() || line[i] != ',') return false;
  ++i;
  bool digit = false;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else if (c != ' ' && c != '\t') return false;
  }
  return digit;
}

// The format of a JSON record (the first line of a JSON Lines file).
ImportFormat json_record_format(const nlohmann::json& j, const std::string& name) {
  if (j.is_array()) {
    if (j.empty()) throw UnsupportedError(fmt::format("{}: the first line is an empty JSON array", name));
    return json_record_format(j.front(), name);
  }
  if (!j.is_object()) throw UnsupportedError(fmt::format("{}: the first line is JSON but not an object", name));
  const auto has = [&](const char* k) { return j.contains(k); };
  if (has("top_indices") && has("layer") && has("step")) return ImportFormat::MegatronTrace;
  if (has("tpe") && has("iter"))
    throw UnsupportedError(fmt::format("{}: a Megatron-Core tokens-per-expert log: counts per local expert of an "
                                       "expert-parallel rank, without per-token routing or the global expert ids "
                                       "(docs/import.md, Megatron-Core)",
                                       name));
  if (has("epoch") && (has("utilization") || has("routing_acc") || has("entropy")))
    throw InputError(fmt::format("{}: a training log (epoch, utilization, …): read it with moeroute training", name));
  if (has("meta_info")) return ImportFormat::SglangJsonl;
  if (has("choices") && j["choices"].is_array()) {
    for (const auto& c : j["choices"])
      if (c.is_object() && c.contains("sglext")) return ImportFormat::SglangJsonl;
    return ImportFormat::VllmJsonl;
  }
  if (has("outputs") || has("routed_experts") || has("prompt_routed_experts")) return ImportFormat::VllmJsonl;
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end() && keys.size() < 8; ++it) keys.push_back(it.key());
  throw UnsupportedError(fmt::format("{}: JSON records with keys {} are not a format moeroute imports (docs/import.md)",
                                     name, fmt::join(keys, ", ")));
}

ImportFormat text_format(const std::filesystem::path& path, const std::string& name) {
  detail::LineReader in(path, {kPrefix});  // longer first lines grow the buffer as needed
  std::string_view line;
  int64_t checked = 0;
  bool gate_lines = false;
  while (in.next(line) && in.bytes_read() <= kPrefix * 4) {
    if (line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0) line.remove_prefix(3);
    if (line.empty()) continue;
    if (line.front() == '{' || line.front() == '[') {
      const auto record = detail::parse_json(std::string(line), name, static_cast<size_t>(in.line_number()));
      return json_record_format(record.json(), name);
    }
    if (line == "layer_id,expert_ids" || is_expert_line(line)) return ImportFormat::LlamaCppExperts;
    if (line.rfind("gate_input,", 0) == 0) {
      gate_lines = true;  // a mixed log may carry expert lines further down
      if (++checked < 100000) continue;
    }
    break;
  }
  if (gate_lines)
    throw InputError(fmt::format("{}: a llama.cpp gate-input log (gate_input,layer_id,token_id,values): read it with "
                                 "moeroute gate-inputs",
                                 name));
  std::string shown(line.substr(0, 60));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  throw UnsupportedError(fmt::format("{}: cannot tell the format from line {} ('{}'); pass --format (one of {})", name,
                                     in.line_number(), shown, fmt::join(import_format_names(), ", ")));
}

}  // namespace

ImportFormat detect_import_format(const std::filesystem::path& path) {
  if (path == "-")
    throw InputError("standard input: pass --format (the format is detected from a file's first bytes, which standard "
                     "input cannot give back)");
  const std::string name = path.string();
  const std::string head = detail::read_file_prefix(path, kPrefix);
  if (head.empty()) throw InputError(fmt::format("{}: the file is empty", name));
  if (detail::looks_like_npy(head)) return ImportFormat::VllmNpy;
  if (detail::looks_like_zip(head)) {
    const detail::ZipReader zip(path);
    if (zip.find_suffix("data.pkl")) return ImportFormat::SglangDump;
    if (zip.find_suffix(".npy")) return ImportFormat::VllmNpz;
    throw UnsupportedError(fmt::format("{}: a zip archive that is neither a torch.save file nor a .npz ({} members, "
                                       "first '{}')",
                                       name, zip.members().size(), zip.members().empty() ? "" : zip.members()[0].name));
  }
  if (head.size() >= 9) {
    uint64_t n = 0;
    std::memcpy(&n, head.data(), 8);
    if (head[8] == '{' && n >= 2 && n < (uint64_t{100} << 20)) {
      // A safetensors header: a moeroute trace carries its metadata there.
      if (head.find("moeroute.trace", 8) != std::string::npos || n + 8 > head.size()) return ImportFormat::MoerouteTrace;
      throw UnsupportedError(fmt::format("{}: a safetensors file without moeroute trace metadata (a checkpoint?)", name));
    }
  }
  return text_format(path, name);
}

}  // namespace moeroute
