#include "io/import/json_records.h"

#include <limits>

#include <fmt/format.h>

#include "io/json_lines.h"

namespace moeroute::detail {

void for_each_json_record(ImportContext& ctx, const std::function<void(const JsonField&, int64_t)>& fn) {
  for_each_json_line(ctx.path, fn, [&](const InputError& e) { ctx.bad_record(e); });
}

namespace {

// Walks nested lists; on any problem re-walks with JsonField to name the element.
bool fast_walk(const nlohmann::json& j, int depth, int rank, std::vector<int64_t>& shape, std::vector<int32_t>& out) {
  if (depth == rank) {
    if (!j.is_number_integer()) return false;
    const int64_t v = j.get<int64_t>();
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) return false;
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return false;
    out.push_back(static_cast<int32_t>(v));
    return true;
  }
  if (!j.is_array()) return false;
  const auto n = static_cast<int64_t>(j.size());
  if (static_cast<int>(shape.size()) == depth) shape.push_back(n);
  else if (shape[static_cast<size_t>(depth)] != n) return false;
  for (const auto& e : j)
    if (!fast_walk(e, depth + 1, rank, shape, out)) return false;
  return true;
}

// The slow walk, with JsonField's located messages: throws at the first bad element.
void check(const JsonField& f, int depth, int rank, std::vector<int64_t>& shape, std::vector<std::string>& first) {
  if (depth == rank) {
    f.integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    return;
  }
  if (!f.is_array()) f.fail(fmt::format("expected a list (an array of rank {})", rank - depth));
  const auto n = static_cast<int64_t>(f.size());
  if (static_cast<int>(shape.size()) == depth) {
    shape.push_back(n);
    first.push_back(f.path());
  } else if (shape[static_cast<size_t>(depth)] != n) {
    f.fail(fmt::format("has {} elements but '{}' has {} (ragged array)", n, first[static_cast<size_t>(depth)],
                       shape[static_cast<size_t>(depth)]));
  }
  for (size_t i = 0; i < f.size(); ++i) check(f.at(i), depth + 1, rank, shape, first);
}

}  // namespace

std::vector<int32_t> json_int_array(const JsonField& f, int rank, std::vector<int64_t>& shape) {
  std::vector<int32_t> out;
  shape.clear();
  if (fast_walk(f.json(), 0, rank, shape, out)) {
    while (static_cast<int>(shape.size()) < rank) shape.push_back(0);  // empty lists
    return out;
  }
  shape.clear();
  std::vector<std::string> first;
  check(f, 0, rank, shape, first);
  throw Error("json_int_array: the fast and the checked walk disagree");
}

std::vector<int64_t> json_int64_list(const JsonField& f) {
  if (!f.is_array()) f.fail("expected a list of token ids");
  std::vector<int64_t> out;
  out.reserve(f.json().size());
  for (const auto& e : f.json()) {
    if (!e.is_number_integer() || (e.is_number_unsigned() && e.get<uint64_t>() > uint64_t{1} << 62)) {
      for (size_t i = 0; i < f.size(); ++i) f.at(i).integer(0, int64_t{1} << 62);
    }
    out.push_back(e.get<int64_t>());
  }
  return out;
}

}  // namespace moeroute::detail
