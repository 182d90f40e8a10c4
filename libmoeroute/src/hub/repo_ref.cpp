// Repository ids as the Hub accepts them (huggingface_hub's validate_repo_id) and the
// "org/name@revision" spelling used on the command line and in input.json.
#include <fmt/format.h>

#include "moeroute/hub.h"

namespace moeroute {

namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

// One of "namespace" or "name": 1 to 96 of [A-Za-z0-9-_.], not starting or ending with '-' or '.'.
bool valid_part(std::string_view part) {
  if (part.empty() || part.size() > 96) return false;
  for (const char c : part)
    if (!id_char(c)) return false;
  const auto edge = [](char c) { return c == '-' || c == '.'; };
  return !edge(part.front()) && !edge(part.back());
}

}  // namespace

RepoRef parse_repo_spec(std::string_view spec, RepoType type) {
  RepoRef ref;
  ref.type = type;
  const auto at = spec.find('@');
  const std::string_view id = spec.substr(0, at);
  if (at != std::string_view::npos) {
    ref.revision = std::string(spec.substr(at + 1));
    if (ref.revision.empty()) throw InputError(fmt::format("'{}': empty revision after '@'", spec));
  }
  const auto fail = [&](std::string_view why) {
    throw InputError(fmt::format("'{}' is not a Hub repository id ('org/name', optionally '@revision'): {}", spec, why));
  };
  const auto slash = id.find('/');
  if (slash != std::string_view::npos && id.find('/', slash + 1) != std::string_view::npos)
    fail("more than one '/'");
  const bool ok = slash == std::string_view::npos ? valid_part(id)
                                                  : valid_part(id.substr(0, slash)) && valid_part(id.substr(slash + 1));
  if (!ok) fail("use letters, digits, '-', '_' and '.', at most 96 per part, not starting or ending with '-' or '.'");
  if (id.find("--") != std::string_view::npos || id.find("..") != std::string_view::npos) fail("'--' and '..' are not allowed");
  if (id.size() >= 4 && id.substr(id.size() - 4) == ".git") fail("it cannot end in '.git'");
  ref.id = std::string(id);
  return ref;
}

std::string to_string(const RepoRef& repo) {
  std::string s = repo.type == RepoType::dataset ? "datasets/" + repo.id : repo.id;
  if (!repo.revision.empty()) s += "@" + repo.revision;
  return s;
}

}  // namespace moeroute
