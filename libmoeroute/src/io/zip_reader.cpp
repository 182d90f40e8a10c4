#include "io/zip_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

uint16_t u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t u64(const unsigned char* p) { return static_cast<uint64_t>(u32(p)) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

constexpr uint32_t kEocd = 0x06054b50, kEocd64 = 0x06064b50, kLocator64 = 0x07064b50, kCentral = 0x02014b50,
                   kLocal = 0x04034b50;

}  // namespace

bool looks_like_zip(std::string_view prefix) { return prefix.size() >= 4 && prefix.substr(0, 4) == "PK\x03\x04"; }

ZipReader::ZipReader(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw InputError(fmt::format("{}: no such file", name_));
    throw IoError(fmt::format("{}: cannot open for reading: {}", name_, std::strerror(errno)));
  }
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) {
    ::close(fd_);
    throw IoError(fmt::format("{}: cannot seek: {}", name_, std::strerror(errno)));
  }
  file_size_ = static_cast<uint64_t>(end);
  try {
    // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
    const uint64_t tail_n = std::min<uint64_t>(file_size_, 22 + 65535 + 20);
    std::vector<unsigned char> tail(tail_n);
    pread_exact(file_size_ - tail_n, tail.data(), tail_n, "end of central directory");
    int64_t eocd = -1;
    for (int64_t i = static_cast<int64_t>(tail_n) - 22; i >= 0; --i)
      if (u32(&tail[static_cast<size_t>(i)]) == kEocd) {
        eocd = i;
        break;
      }
    if (eocd < 0) throw InputError(fmt::format("{}: not a zip archive (no end-of-central-directory record): truncated?", name_));
    const unsigned char* e = &tail[static_cast<size_t>(eocd)];
    uint64_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
    if (eocd >= 20 && u32(&tail[static_cast<size_t>(eocd - 20)]) == kLocator64) {
      const uint64_t rec_offset = u64(&tail[static_cast<size_t>(eocd - 20 + 8)]);
      unsigned char rec[56];
      pread_exact(rec_offset, rec, sizeof rec, "zip64 end of central directory");
      if (u32(rec) != kEocd64) throw InputError(fmt::format("{}: damaged zip64 end-of-central-directory record", name_));
      count = u64(rec + 32);
      cd_size = u64(rec + 40);
      cd_offset = u64(rec + 48);
    }
    if (cd_offset > file_size_ || cd_size > file_size_ - cd_offset)
      throw InputError(fmt::format("{}: central directory lies outside the file: truncated?", name_));
    std::vector<unsigned char> cd(cd_size);
    pread_exact(cd_offset, cd.data(), cd_size, "central directory");
    size_t p = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (p + 46 > cd.size() || u32(&cd[p]) != kCentral)
        throw InputError(fmt::format("{}: damaged central directory at entry {}", name_, i));
      const unsigned char* h = &cd[p];
      ZipMember m;
      m.method = u16(h + 10);
      m.stored_size = u32(h + 20);
      m.size = u32(h + 24);
      const size_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
      m.local_offset = u32(h + 42);
      if (p + 46 + name_len + extra_len + comment_len > cd.size())
        throw InputError(fmt::format("{}: damaged central directory at entry {}", name_, i));
      m.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
      // zip64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
      const unsigned char* x = h + 46 + name_len;
      for (size_t q = 0; q + 4 <= extra_len;) {
        const uint16_t id = u16(x + q), len = u16(x + q + 2);
        if (q + 4 + len > extra_len) break;
        if (id == 1) {
          size_t f = q + 4;
          const auto take = [&](uint64_t& v) {
            if (v == 0xFFFFFFFFu && f + 8 <= q + 4 + len) {
              v = u64(x + f);
              f += 8;
            }
          };
          take(m.size);
          take(m.stored_size);
          take(m.local_offset);
        }
        q += 4 + len;
      }
      members_.push_back(std::move(m));
      p += 46 + name_len + extra_len + comment_len;
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

ZipReader::~ZipReader() { ::close(fd_); }

void ZipReader::pread_exact(uint64_t offset, void* dst, uint64_t n, const char* what) const {
  if (offset > file_size_ || n > file_size_ - offset)
    throw InputError(fmt::format("{}: {} at bytes {}–{} lies past the end of the {}-byte file: truncated?", name_,
                                 what, offset, offset + n, file_size_));
  auto* out = static_cast<char*>(dst);
  uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd_, out + got, static_cast<size_t>(n - got), static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw IoError(fmt::format("{}: read failed: {}", name_, r < 0 ? std::strerror(errno) : "unexpected end"));
    got += static_cast<uint64_t>(r);
  }
}

const ZipMember* ZipReader::find(std::string_view member) const {
  for (const auto& m : members_)
    if (m.name == member) return &m;
  return nullptr;
}

const ZipMember* ZipReader::find_suffix(std::string_view suffix) const {
  for (const auto& m : members_)
    if (m.name.size() >= suffix.size() && m.name.compare(m.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &m;
  return nullptr;
}

uint64_t ZipReader::data_offset(const ZipMember& m) const {
  unsigned char h[30];
  pread_exact(m.local_offset, h, sizeof h, "local header");
  if (u32(h) != kLocal) throw InputError(fmt::format("{}: damaged local header of member '{}'", name_, m.name));
  return m.local_offset + 30 + u16(h + 26) + u16(h + 28);
}

void ZipReader::read(const ZipMember& m, uint64_t offset, void* dst, uint64_t n) const {
  if (m.method != 0)
    throw UnsupportedError(fmt::format("{}: member '{}' is compressed (method {}); moeroute reads stored members "
                                       "(numpy.savez, torch.save), not numpy.savez_compressed",
                                       name_, m.name, m.method));
  if (offset > m.size || n > m.size - offset)
    throw InputError(fmt::format("{}: member '{}' has {} bytes, bytes {}–{} were asked for", name_, m.name, m.size,
                                 offset, offset + n));
  pread_exact(data_offset(m) + offset, dst, n, "member data");
}

std::string ZipReader::read_all(const ZipMember& m, uint64_t max_bytes) const {
  if (m.size > max_bytes)
    throw InputError(fmt::format("{}: member '{}' has {} bytes, more than the {} read at once", name_, m.name, m.size,
                                 max_bytes));
  std::string out(static_cast<size_t>(m.size), '\0');
  read(m, 0, out.data(), m.size);
  return out;
}

}  // namespace moeroute::detail
