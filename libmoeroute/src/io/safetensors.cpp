#include "moeroute/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "moeroute/error.h"

namespace moeroute {

namespace {

struct DtypeEntry {
  Dtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeEntry kDtypes[] = {
    {Dtype::BOOL, "BOOL", 1}, {Dtype::U8, "U8", 1},   {Dtype::I8, "I8", 1},
    {Dtype::I16, "I16", 2},   {Dtype::U16, "U16", 2}, {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I32, "I32", 4}, {Dtype::U32, "U32", 4},
    {Dtype::F32, "F32", 4},   {Dtype::F64, "F64", 8}, {Dtype::I64, "I64", 8},
    {Dtype::U64, "U64", 8},   {Dtype::F8_E4M3, "F8_E4M3", 1}, {Dtype::F8_E5M2, "F8_E5M2", 1},
};

const DtypeEntry& entry(Dtype d) {
  for (const auto& e : kDtypes)
    if (e.dtype == d) return e;
  throw Error("unknown dtype");
}

// The header is JSON we parse into memory; 100 MB is the reference implementation's limit too.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

size_t dtype_size(Dtype d) { return entry(d).size; }
const char* dtype_name(Dtype d) { return entry(d).name; }

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  const std::string file = path.string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open: {}", file, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(fmt::format("{}: not a regular file", file));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw InputError(fmt::format("{}: truncated safetensors file: {} bytes, need at least 8 for the header length",
                                 file, size_));
  }
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw InputError(fmt::format("{}: mmap failed: {}", file, std::strerror(errno)));
  map_ = static_cast<const char*>(m);

  try {
    const uint64_t header_len = read_u64_le(map_);
    if (header_len > kMaxHeaderBytes)
      throw InputError(fmt::format("{}: header length {} exceeds the {} byte limit (not a safetensors file?)", file,
                                   header_len, kMaxHeaderBytes));
    if (header_len > size_ - 8)
      throw InputError(fmt::format("{}: truncated: header claims {} bytes but the file has only {} after the length",
                                   file, header_len, size_ - 8));
    data_start_ = 8 + static_cast<size_t>(header_len);

    const detail::JsonField header =
        detail::parse_json(std::string(map_ + 8, map_ + data_start_), fmt::format("{} (safetensors header)", file));
    header.expect_object();

    for (const std::string& name : header.keys()) {
      const detail::JsonField v = header.at(name);
      if (name == "__metadata__") {
        for (const std::string& key : v.keys()) metadata_[key] = v.at(key).string();
        continue;
      }
      v.expect_object("a tensor entry");
      const std::string dt = v.at("dtype").string();
      const detail::JsonField shape = v.at("shape");
      const detail::JsonField offsets = v.at("data_offsets");
      if (offsets.size() != 2) offsets.fail("expected [begin, end]");
      auto bad = [&](const std::string& why) { return InputError(fmt::format("{}: tensor '{}': {}", file, name, why)); };
      TensorInfo t;
      t.name = name;
      const auto* de = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                    [&](const DtypeEntry& e) { return dt == e.name; });
      if (de == std::end(kDtypes)) throw bad(fmt::format("unsupported dtype '{}'", dt));
      t.dtype = de->dtype;
      uint64_t numel = 1;
      for (const detail::JsonField& e : shape.elements()) {
        const uint64_t d = e.unsigned_integer();
        if (d != 0 && numel > (uint64_t{1} << 62) / d) throw bad("shape overflows");
        numel *= d;
        t.shape.push_back(static_cast<int64_t>(d));
      }
      t.begin = offsets.at(0).unsigned_integer();
      t.end = offsets.at(1).unsigned_integer();
      if (t.end < t.begin) throw bad(fmt::format("data_offsets [{}, {}] end before begin", t.begin, t.end));
      if (t.end - t.begin != numel * de->size)
        throw bad(fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", t.end - t.begin,
                              shape.json().dump(), dt, numel * de->size));
      if (t.end > size_ - data_start_)
        throw bad(fmt::format("data ends at byte {} but the data section has only {} (truncated file?)", t.end,
                              size_ - data_start_));
      tensors_.push_back(std::move(t));
    }

    // Tensors must tile the data section: no gaps, no overlaps, nothing trailing.
    std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t cursor = 0;
    for (const auto& t : tensors_) {
      if (t.begin != cursor)
        throw InputError(fmt::format("{}: tensor '{}' starts at byte {}, expected {} (gap or overlap in data_offsets)",
                                     file, t.name, t.begin, cursor));
      cursor = t.end;
    }
    if (cursor != size_ - data_start_)
      throw InputError(fmt::format("{}: data section has {} bytes but tensors cover {}", file, size_ - data_start_,
                                   cursor));
    for (size_t i = 0; i < tensors_.size(); ++i) by_name_[tensors_[i].name] = i;
  } catch (...) {
    ::munmap(const_cast<char*>(map_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), size_);
}

bool SafetensorsFile::contains(const std::string& name) const { return by_name_.count(name) != 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) throw InputError(fmt::format("{}: no tensor named '{}'", path_.string(), name));
  return tensors_[it->second];
}

std::string_view SafetensorsFile::bytes(const std::string& name) const {
  const TensorInfo& t = info(name);
  return {map_ + data_start_ + t.begin, static_cast<size_t>(t.end - t.begin)};
}

void SafetensorsWriter::add(const std::string& name, Dtype dtype, std::vector<int64_t> shape,
                            std::string_view bytes) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (static_cast<size_t>(numel) * dtype_size(dtype) != bytes.size())
    throw Error(fmt::format("safetensors writer: tensor '{}' has {} bytes, shape needs {}", name, bytes.size(),
                            static_cast<size_t>(numel) * dtype_size(dtype)));
  entries_.push_back({name, dtype, std::move(shape), std::string(bytes)});
}

std::string SafetensorsWriter::serialize() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    header[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.data.size()}}};
    offset += e.data.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + json.size() + offset);
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += json;
  for (const auto& e : entries_) out += e.data;
  return out;
}

uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t float_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow → inf (incl. rounding)
  if (absx < 0x38800000u) {  // subnormal or zero in half
    if (absx < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of the smallest subnormal
    const uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(absx >> 23);  // half subnormal unit is 2^-24
    const uint32_t halfway = 1u << (shift - 1);
    uint32_t r = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t h = ((absx >> 13) - (112u << 10));
  const uint32_t rem = absx & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    u = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    u = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace moeroute
