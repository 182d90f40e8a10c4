#include "hub/cache_layout.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/atomic_file.h"

namespace moeroute::detail {

namespace fs = std::filesystem;

namespace {

// huggingface_hub's CACHEDIR_TAG_CONTENT (the Cache Directory Tagging Standard).
constexpr const char* kCacheDirTag =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by huggingface_hub.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

void make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw_cache_io(p, "cannot create directory", ec.value());
}

}  // namespace

void throw_cache_io(const fs::path& path, const std::string& what, int err) {
  std::string hint;
  if (err == ENOSPC || err == EDQUOT) hint = "; free some space or point HF_HUB_CACHE at a larger disk";
  else if (err == EACCES || err == EPERM || err == EROFS)
    hint = "; the Hugging Face cache must be writable: point HF_HUB_CACHE (or HF_HOME) at a writable directory";
  throw IoError(fmt::format("{}: {}: {}{}", path.string(), what, std::strerror(err), hint));
}

std::string repo_folder_name(RepoType type, const std::string& id) {
  std::string name = type == RepoType::dataset ? "datasets" : "models";
  std::size_t start = 0;
  for (;;) {
    const auto slash = id.find('/', start);
    name += "--" + id.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return name;
}

bool is_commit_hash(const std::string& revision) {
  return revision.size() == 40 && revision.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void check_repo_path(const std::string& path, const std::string& what) {
  bool ok = !path.empty() && path.front() != '/' && path.find('\\') == std::string::npos &&
            path.find('\0') == std::string::npos;
  std::size_t start = 0;
  while (ok) {
    const auto slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    ok = !part.empty() && part != "." && part != "..";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!ok) throw InputError(fmt::format("{}: refusing the file path '{}': it would leave the snapshot directory", what, path));
}

RepoCache::RepoCache(fs::path cache, RepoType type, const std::string& id)
    : cache_dir(std::move(cache)), folder(repo_folder_name(type, id)), dir(cache_dir / folder) {}

fs::path RepoCache::pointer(const std::string& commit, const std::string& path) const {
  return snapshot(commit) / fs::path(path);
}

void RepoCache::create() const {
  make_dir(cache_dir);
  make_dir(dir / "blobs");
  make_dir(dir / "snapshots");
  const fs::path tag = cache_dir / "CACHEDIR.TAG";
  std::error_code ec;
  if (!fs::exists(tag, ec)) {
    try {
      write_file_atomic(tag, kCacheDirTag);
    } catch (const IoError&) {
      // huggingface_hub ignores a failure here too: the tag only helps backup tools.
    }
  }
}

std::optional<std::string> RepoCache::commit_of(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  std::error_code ec;
  if (!fs::is_regular_file(ref(revision), ec)) return std::nullopt;
  try {
    std::string c = read_text_file(ref(revision), {4096, {}});
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r' || c.back() == ' ')) c.pop_back();
    if (is_commit_hash(c)) return c;
  } catch (const Error&) {
  }
  return std::nullopt;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  if (revision == commit || commit_of(revision) == commit) return;
  check_repo_path(revision, "revision");
  try {
    write_file_atomic(ref(revision), commit);
  } catch (const IoError& e) {
    throw IoError(fmt::format("{} (point HF_HUB_CACHE at a writable directory)", e.what()));
  }
}

void RepoCache::link_pointer(const std::string& commit, const std::string& path, const std::string& etag) const {
  const fs::path link = pointer(commit, path);
  make_dir(link.parent_path());
  // One "../" per directory between the repository directory and the link.
  std::string target = "../../";  // out of snapshots/<commit>
  for (auto sub = fs::path(path).parent_path(); !sub.empty(); sub = sub.parent_path()) target += "../";
  target += "blobs/" + etag;

  std::random_device rd;
  const fs::path tmp = link.parent_path() / fmt::format(".{}.{:08x}.link", link.filename().string(), rd());
  if (::symlink(target.c_str(), tmp.c_str()) == 0) {
    if (::rename(tmp.c_str(), link.c_str()) == 0) return;
    const int err = errno;
    ::unlink(tmp.c_str());
    throw_cache_io(link, "cannot create the snapshot link", err);
  }
  const int err = errno;
  if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS) throw_cache_io(link, "cannot create the snapshot link", err);
  // No symlinks on this filesystem: huggingface_hub copies the blob instead.
  std::error_code ec;
  fs::copy_file(blob(etag), tmp, fs::copy_options::overwrite_existing, ec);
  if (ec || ::rename(tmp.c_str(), link.c_str()) != 0) {
    const int e2 = ec ? ec.value() : errno;
    fs::remove(tmp, ec);
    throw_cache_io(link, "cannot copy the blob into the snapshot", e2);
  }
}

void RepoCache::write_tree_cache(const std::string& commit, const std::vector<RepoFile>& files) const {
  if (read_tree_cache(commit)) return;  // a commit's listing never changes
  nlohmann::json entries = nlohmann::json::object();
  for (const RepoFile& f : files) {
    nlohmann::json e = {{"size", f.size}, {"blob_id", f.blob_id}};
    if (f.is_lfs()) {
      e["lfs_sha256"] = f.lfs_sha256;
      e["lfs_size"] = f.lfs_size;
    }
    if (!f.xet_hash.empty()) e["xet_hash"] = f.xet_hash;
    entries[f.path] = std::move(e);
  }
  const nlohmann::json doc = {{"format_version", 1}, {"files", std::move(entries)}};
  write_file_atomic(tree_cache(commit), doc.dump(1));
}

std::optional<std::vector<RepoFile>> RepoCache::read_tree_cache(const std::string& commit) const {
  std::error_code ec;
  if (!fs::is_regular_file(tree_cache(commit), ec)) return std::nullopt;
  try {
    const JsonField root = read_json_file(tree_cache(commit));
    if (root.integer_or("format_version", 0) != 1) return std::nullopt;
    std::vector<RepoFile> files;
    const JsonField entries = root.at("files");
    for (const std::string& path : entries.keys()) {
      const JsonField e = entries.at(path);
      RepoFile f;
      f.path = path;
      f.size = e.at("size").unsigned_integer();
      f.blob_id = e.string_or("blob_id", "");
      f.lfs_sha256 = e.string_or("lfs_sha256", "");
      if (const auto s = e.get("lfs_size")) f.lfs_size = s->unsigned_integer();
      f.xet_hash = e.string_or("xet_hash", "");
      files.push_back(std::move(f));
    }
    return files;
  } catch (const Error&) {
    return std::nullopt;  // like huggingface_hub: a damaged tree cache is ignored
  }
}

}  // namespace moeroute::detail
