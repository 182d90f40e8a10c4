#include "hub/blob_fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "hub/digest.h"
#include "hub/file_lock.h"
#include "hub/url.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxRedirects = 10;

bool is_hex(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// What the content must hash to: the LFS sha256, an etag that is a sha256 (huggingface_hub's
// REGEX_SHA256), or else the git blob oid of a regular file.
struct Expected {
  Digest::Kind kind = Digest::Kind::sha256;
  std::string hex;  // "" = size check only
};

Expected expected_digest(const RepoFile& file, const std::string& etag) {
  if (file.is_lfs()) return {Digest::Kind::sha256, file.lfs_sha256};
  if (is_hex(etag, 64)) return {Digest::Kind::sha256, etag};
  if (is_hex(file.blob_id, 40)) return {Digest::Kind::git_blob_sha1, file.blob_id};
  return {};
}

bool regular_file_of_size(const fs::path& p, std::uint64_t size) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) == size && !ec;
}

// "bytes <first>-<last>/<total>" → first.
std::optional<std::uint64_t> content_range_start(const std::string& h) {
  if (h.rfind("bytes ", 0) != 0) return std::nullopt;
  const auto dash = h.find('-', 6);
  if (dash == std::string::npos) return std::nullopt;
  const std::string first = h.substr(6, dash - 6);
  if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(first);
}

// The partial download file, open for reading and writing.
class PartialFile {
 public:
  explicit PartialFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);  // mode from the umask, as Python
    if (fd_ < 0) throw_cache_io(path_, "cannot open the partial download", errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw IoError(fmt::format("{}: not a regular file; remove it", path_.string()));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint64_t size() const { return size_; }
  void truncate() {
    buffer_.clear();
    if (::ftruncate(fd_, 0) != 0) throw_cache_io(path_, "cannot truncate", errno);
    size_ = 0;
  }
  /// Appends (through a 1 MiB buffer: the HTTP client delivers 4 kB pieces); returns 0 or the
  /// errno of a failed write.
  int append(const char* data, std::size_t n) {
    buffer_.append(data, n);
    size_ += n;
    return buffer_.size() >= kBuffer ? flush() : 0;
  }
  /// Writes the buffer out; returns 0 or the errno of a failed write (the buffered bytes are
  /// then dropped and size() shrinks to what is on disk).
  int flush() {
    const char* p = buffer_.data();
    std::size_t n = buffer_.size();
    std::uint64_t at = size_ - n;
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(at));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int err = w < 0 ? errno : EIO;
        size_ = at;
        buffer_.clear();
        return err;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      at += static_cast<std::uint64_t>(w);
    }
    buffer_.clear();
    return 0;
  }
  /// Feeds the bytes already on disk to `digest`.
  void hash_into(Digest& digest) const {
    std::vector<char> buf(std::size_t{1} << 20);
    std::uint64_t off = 0;
    while (off < size_) {
      const ssize_t r = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw_cache_io(path_, "cannot read the partial download", r < 0 ? errno : EIO);
      digest.update(buf.data(), static_cast<std::size_t>(r));
      off += static_cast<std::uint64_t>(r);
    }
  }
  /// fsync, close and rename over `dest` (after flush()).
  void publish(const fs::path& dest) {
    if (::fsync(fd_) != 0) throw_cache_io(path_, "cannot flush", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_cache_io(path_, "cannot close", errno);
    if (::rename(path_.c_str(), dest.c_str()) != 0) throw_cache_io(dest, "cannot move the download into place", errno);
  }
  void remove() { ::unlink(path_.c_str()); }
  const fs::path& path() const { return path_; }

 private:
  static constexpr std::size_t kBuffer = std::size_t{1} << 20;
  fs::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes on disk plus those in buffer_
  std::string buffer_;
};

// One file's transfer into its partial file, until it has `size` bytes.
class Transfer {
 public:
  Transfer(HubApi& api, HttpClient& http, const HubOptions& hub, Reporter& reporter, const std::atomic<bool>& cancel,
           const FetchJob& job, std::uint64_t size)
      : api_(api), http_(http), hub_(hub), reporter_(reporter), cancel_(cancel), job_(job), size_(size) {}

  /// Downloads from `location` into `part`, hashing into `digest`; returns bytes received.
  std::uint64_t run(PartialFile& part, Digest& digest, std::string location, const Expected& expected);

 private:
  [[noreturn]] void give_up(const std::string& why, const PartialFile& part, int attempts) const {
    throw HubUnavailableError(fmt::format("{}: download failed after {} attempts: {}; the {} received so far are kept "
                                          "in {} and the next run resumes from there",
                                          job_.file.path, attempts, why, format_bytes(part.size()),
                                          part.path().string()));
  }

  HubApi& api_;
  HttpClient& http_;
  const HubOptions& hub_;
  Reporter& reporter_;
  const std::atomic<bool>& cancel_;
  const FetchJob& job_;
  std::uint64_t size_;
};

std::uint64_t Transfer::run(PartialFile& part, Digest& digest, std::string location, const Expected& expected) {
  const std::string& name = job_.file.path;
  Backoff backoff(hub_, &cancel_);
  std::uint64_t received = 0;
  int redirects = 0;
  bool refreshed = false;
  std::uint64_t high_water = part.size();
  const auto restart = [&] {
    reporter_.discarded(part.size());
    part.truncate();
    digest = Digest(expected.kind, size_);
  };
  while (part.size() < size_) {
    const std::uint64_t offset = part.size();
    HttpRequest req;
    req.url = location;
    req.headers = api_.auth_headers(location);  // none for a CDN: the token stays on the Hub
    req.headers.emplace_back("Accept-Encoding", "identity");
    if (offset > 0) req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
    req.read_timeout_s = hub_.read_timeout_s;
    int write_errno = 0;
    bool overflow = false;
    req.on_head = [&](const HttpResponse& r) {
      if (r.status == 206) {
        if (content_range_start(r.header("Content-Range")) != offset) return false;
      } else if (r.status != 200) {
        return false;
      } else if (offset > 0) {
        restart();  // the server ignored the Range header: start over
      }
      return true;
    };
    req.on_body = [&](const char* data, std::size_t n) {
      if (cancel_.load()) return false;
      if (part.size() + n > size_) {
        overflow = true;
        return false;
      }
      write_errno = part.append(data, n);
      if (write_errno) return false;
      digest.update(data, n);
      received += n;
      reporter_.received(n);
      if (part.size() > high_water) {  // only new ground resets the retries (a restart is no progress)
        high_water = part.size();
        backoff.progressed();
      }
      return true;
    };
    HttpResponse r;
    try {
      r = http_.send(req);
      if (const int err = part.flush()) throw_cache_io(part.path(), "cannot write the download", err);
    } catch (const TransportError& e) {
      if (!write_errno) write_errno = part.flush();  // keep what arrived for the retry's Range
      if (write_errno) throw_cache_io(part.path(), "cannot write the download", write_errno);
      if (overflow) {
        part.remove();
        throw InputError(fmt::format("{}: the server sent more than the {} bytes the Hub announced; nothing was cached",
                                     name, size_));
      }
      if (cancel_.load()) throw FetchCancelled{};
      if (backoff.retry(std::nullopt, e.kind() == TransportError::Kind::connect)) {
        reporter_.message(fmt::format("{}: {} at {} of {}; resuming (attempt {})", name, e.what(),
                                      format_bytes(part.size()), format_bytes(size_), backoff.attempts()));
        continue;
      }
      give_up(e.what(), part, backoff.attempts());
    }
    if (r.status == 206 || r.status == 200) {
      if (r.status == 206 && content_range_start(r.header("Content-Range")) != offset) {
        restart();  // a range we did not ask for
        continue;
      }
      if (part.size() < size_) {
        if (backoff.retry()) {
          reporter_.message(fmt::format("{}: the response ended after {} of {} bytes; resuming (attempt {})", name,
                                        part.size(), size_, backoff.attempts()));
          continue;
        }
        throw InputError(fmt::format("{}: size mismatch: the Hub announced {} bytes but the server sends only {} "
                                     "after {} attempts; nothing was cached",
                                     name, size_, part.size(), backoff.attempts()));
      }
      continue;
    }
    if (r.is_redirect() && r.has_header("Location")) {
      if (++redirects > kMaxRedirects) throw InputError(fmt::format("{}: more than {} redirects", name, kMaxRedirects));
      location = resolve_reference(location, r.header("Location"));
      continue;
    }
    if (r.status == 416) {
      // Nothing at or after our offset (< the announced size): the server's file is shorter.
      part.remove();
      throw InputError(fmt::format("{}: size mismatch: the Hub announced {} bytes but the server has only {} (HTTP 416 "
                                   "for bytes={}-); nothing was cached",
                                   name, size_, r.header("Content-Range"), offset));
    }
    if (retryable_status(r.status)) {
      if (backoff.retry(retry_after(r))) {
        reporter_.message(fmt::format("{}: HTTP {}; retrying (attempt {})", name, r.status, backoff.attempts()));
        continue;
      }
      give_up(fmt::format("HTTP {}", r.status), part, backoff.attempts());
    }
    if ((r.status == 401 || r.status == 403 || r.status == 404 || r.status == 410) && !refreshed &&
        !api_.is_hub_origin(location)) {
      // A signed CDN URL can expire during a long download: ask the Hub for a fresh one.
      refreshed = true;
      location = api_.file_metadata(job_.repo, job_.commit, name).location;
      continue;
    }
    api_.fail(r, job_.repo, name);
  }
  return received;
}

}  // namespace

std::uint64_t listed_size(const RepoFile& file) { return file.is_lfs() ? file.lfs_size : file.size; }

bool is_cached(const RepoCache& cache, const std::string& commit, const RepoFile& file) {
  return regular_file_of_size(cache.pointer(commit, file.path), listed_size(file));
}

std::uint64_t partial_bytes(const RepoCache& cache, const RepoFile& file) {
  const std::string etag = file.is_lfs() ? file.lfs_sha256 : file.blob_id;
  if (etag.empty()) return 0;
  std::error_code ec;
  const auto n = fs::file_size(cache.incomplete(etag), ec);
  return ec ? 0 : std::min<std::uint64_t>(n, listed_size(file));
}

FetchOutcome fetch_file(HubApi& api, HttpClient& http, const HubOptions& hub, Reporter& reporter,
                        const std::atomic<bool>& cancel, const FetchJob& job) {
  const RepoFile& file = job.file;
  const std::uint64_t size = listed_size(file);
  if (is_cached(job.cache, job.commit, file)) return {size, 0, false};
  if (cancel.load()) throw FetchCancelled{};

  const FileMetadata meta = api.file_metadata(job.repo, job.commit, file.path);
  if (meta.size && *meta.size != size)
    throw InputError(fmt::format("{}: the Hub gives two sizes: {} bytes in the listing of commit {}, {} bytes in the "
                                 "file's headers; nothing was downloaded",
                                 file.path, size, job.commit, *meta.size));
  const fs::path blob = job.cache.blob(meta.etag);
  const auto cached_blob = [&] {
    if (!regular_file_of_size(blob, size)) return false;
    job.cache.link_pointer(job.commit, file.path, meta.etag);
    return true;
  };

  FileLock lock(job.cache.lock(meta.etag), [&] {
    reporter.message(fmt::format("{}: waiting for another process that is downloading it (lock {})", file.path,
                                 job.cache.lock(meta.etag).string()));
  });
  if (cached_blob()) return {size, 0, false};

  const Expected expected = expected_digest(file, meta.etag);
  PartialFile part(job.cache.incomplete(meta.etag));
  if (part.size() > size) part.truncate();
  const bool resumed = part.size() > 0;
  Digest digest(expected.kind, size);
  part.hash_into(digest);
  reporter.already_present(part.size());

  Transfer transfer(api, http, hub, reporter, cancel, job, size);
  std::uint64_t received = transfer.run(part, digest, meta.location, expected);
  std::string got = digest.hex();
  if (!expected.hex.empty() && got != expected.hex && resumed) {
    // The part from an earlier run may be what is damaged: one fresh download decides.
    reporter.message(fmt::format("{}: the resumed download does not verify; downloading it again from the start",
                                 file.path));
    reporter.discarded(part.size());
    part.truncate();
    digest = Digest(expected.kind, size);
    received += transfer.run(part, digest, meta.location, expected);
    got = digest.hex();
  }
  if (!expected.hex.empty() && got != expected.hex) {
    part.remove();
    throw InputError(fmt::format("{}: checksum mismatch: the download's {} is {}, the Hub lists {}; nothing was cached "
                                 "(a damaged file on the server or a proxy; try again later)",
                                 file.path, expected.kind == Digest::Kind::sha256 ? "sha256" : "git blob sha1", got,
                                 expected.hex));
  }
  part.publish(blob);
  job.cache.link_pointer(job.commit, file.path, meta.etag);
  return {size, received, true};
}

}  // namespace moeroute::detail
