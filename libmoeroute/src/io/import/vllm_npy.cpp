// vLLM routed experts saved with NumPy (docs/import.md, "vLLM"):
// - .npy: one request's CompletionOutput.routed_experts, [tokens, layers, top_k], integer dtype
//   (vLLM returns int16 before 0.3x, uint8/uint16 since), read in blocks of rows;
// - .npz (numpy.savez): members routed_experts (required), prompt_routed_experts (the split
//   layout of vLLM ≤ 0.2x), prompt_token_ids and token_ids (optional, 1-D).
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "io/import/importers.h"
#include "io/import/routed_requests.h"
#include "io/line_reader.h"
#include "io/npy.h"
#include "io/zip_reader.h"

namespace moeroute::detail {

namespace {

NpyArray check_routed_header(const NpyArray& a, const std::string& what) {
  if (a.shape.size() != 3)
    throw InputError(fmt::format("{}: expected routed experts of shape [tokens, layers, top_k], got {} dimensions", what,
                                 a.shape.size()));
  if (a.fortran_order) throw UnsupportedError(fmt::format("{}: Fortran-ordered arrays are not supported", what));
  if (a.kind != 'i' && a.kind != 'u') throw InputError(fmt::format("{}: expert ids must be integers, got {}", what, a.dtype()));
  if (a.shape[1] <= 0 || a.shape[2] <= 0 || a.shape[1] > 100000 || a.shape[2] > 100000)
    throw InputError(fmt::format("{}: shape [{}, {}, {}] has no layers or no experts per token", what, a.shape[0],
                                 a.shape[1], a.shape[2]));
  return a;
}

RoutedArray to_routed(const NpyArray& a, const char* data, int64_t rows, const std::string& what) {
  RoutedArray r;
  r.rows = rows;
  r.layers = static_cast<int>(a.shape[1]);
  r.top_k = static_cast<int>(a.shape[2]);
  r.ids = npy_integers(a, data, static_cast<uint64_t>(rows * a.shape[1] * a.shape[2]), what);
  return r;
}

// A whole .npz member as an array.
struct Member {
  NpyArray header;
  std::string bytes;
};
std::optional<Member> read_member(const ZipReader& zip, const std::string& key) {
  const ZipMember* m = zip.find(key + ".npy");
  if (!m) return std::nullopt;
  Member out;
  out.bytes = zip.read_all(*m);
  out.header = parse_npy_header(out.bytes, fmt::format("{}: member '{}'", zip.name(), m->name));
  const uint64_t need = out.header.count() * static_cast<uint64_t>(out.header.itemsize);
  if (out.header.count() == UINT64_MAX || out.header.data_offset + need > out.bytes.size())
    throw InputError(fmt::format("{}: member '{}' has {} data bytes, its shape needs {}", zip.name(), m->name,
                                 out.bytes.size() - out.header.data_offset, need));
  return out;
}

std::vector<int64_t> token_list(const Member& m, const std::string& what) {
  if (m.header.shape.size() != 1) throw InputError(fmt::format("{}: expected a 1-D list of token ids", what));
  const auto v = npy_integers(m.header, m.bytes.data() + m.header.data_offset, m.header.count(), what);
  return {v.begin(), v.end()};
}

}  // namespace

void import_vllm_npy(ImportContext& ctx, ChunkBuilder& out) {
  const std::string head = read_file_prefix(ctx.path, size_t{1} << 20);
  const NpyArray a = check_routed_header(parse_npy_header(head, ctx.name), ctx.name);
  const uint64_t row_bytes = static_cast<uint64_t>(a.shape[1] * a.shape[2] * a.itemsize);
  const auto size = std::filesystem::file_size(ctx.path);
  if (a.data_offset > size || static_cast<uint64_t>(a.shape[0]) > (size - a.data_offset) / row_bytes)
    throw InputError(fmt::format("{}: the shape [{}, {}, {}] needs {} data bytes but the file has {}: truncated?",
                                 ctx.name, a.shape[0], a.shape[1], a.shape[2],
                                 static_cast<double>(a.shape[0]) * static_cast<double>(row_bytes),
                                 size - std::min<uint64_t>(size, a.data_offset)));
  RoutedRequestWriter writer(ctx, out, true);
  std::ifstream in(ctx.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(a.data_offset));
  const int64_t block = std::max<int64_t>(1, ctx.options.chunk_rows);
  std::string bytes;
  for (int64_t t = 0; t < a.shape[0]; t += block) {
    const int64_t n = std::min(block, a.shape[0] - t);
    bytes.resize(static_cast<size_t>(n) * row_bytes);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in) throw IoError(fmt::format("{}: read failed at row {}", ctx.name, t));
    RoutedRequest r;
    r.label = ctx.path.filename().string();
    r.where = fmt::format("{}: rows {}–{}", ctx.name, t, t + n - 1);
    r.layout = RowLayout::FromZero;
    r.first_position = t;
    r.continues_previous = t > 0;
    r.routed = to_routed(a, bytes.data(), n, ctx.name);
    writer.write(std::move(r));
  }
  ctx.note("a bare .npy holds neither token ids nor the prompt/generated split: rows are positions 0… of one "
           "sequence (save an .npz with prompt_token_ids and token_ids for more, docs/import.md)");
}

void import_vllm_npz(ImportContext& ctx, ChunkBuilder& out) {
  const ZipReader zip(ctx.path);
  auto routed = read_member(zip, "routed_experts");
  if (!routed)
    throw InputError(fmt::format("{}: no member 'routed_experts' (the .npz layout of docs/import.md: routed_experts, "
                                 "and optionally prompt_routed_experts, prompt_token_ids, token_ids)",
                                 ctx.name));
  const auto prompt = read_member(zip, "prompt_routed_experts");
  const auto prompt_ids = read_member(zip, "prompt_token_ids");
  const auto output_ids = read_member(zip, "token_ids");
  RoutedRequest r;
  r.label = ctx.path.filename().string();
  r.where = ctx.name;
  const auto array = [&](const Member& m, const char* key) {
    const std::string what = fmt::format("{}: member '{}'", ctx.name, key);
    const NpyArray h = check_routed_header(m.header, what);
    return to_routed(h, m.bytes.data() + h.data_offset, h.shape[0], what);
  };
  r.routed = array(*routed, "routed_experts");
  if (prompt) r.prompt = array(*prompt, "prompt_routed_experts");
  if (prompt_ids) r.prompt_ids = token_list(*prompt_ids, ctx.name + ": member 'prompt_token_ids'");
  if (output_ids) r.output_ids = token_list(*output_ids, ctx.name + ": member 'token_ids'");
  if (prompt) r.layout = RowLayout::Split;
  else if (prompt_ids && output_ids) r.layout = RowLayout::RightAligned;
  else r.layout = RowLayout::FromZero;
  // The split layout (vLLM ≤ 0.2x) numbers MoE layers; the single array (0.3x) decoder layers.
  RoutedRequestWriter writer(ctx, out, !prompt);
  writer.write(std::move(r));
}

}  // namespace moeroute::detail
