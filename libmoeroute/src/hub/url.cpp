#include "hub/url.h"

#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int default_port(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const bool absolute = !path.empty() && path[0] == '/';
  bool trailing = false;
  while (i <= path.size()) {
    const auto j = path.find('/', i);
    const std::string_view seg = path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    trailing = false;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else if (seg == ".") {
      trailing = true;
    } else if (!seg.empty() || (j == std::string_view::npos && i != 0)) {
      out.emplace_back(seg);
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  std::string r = absolute ? "/" : "";
  for (std::size_t k = 0; k < out.size(); ++k) r += (k ? "/" : "") + out[k];
  if (trailing && !r.empty() && r.back() != '/') r += '/';
  return r;
}

}  // namespace

std::string Url::origin() const {
  return fmt::format("{}://{}:{}", scheme, host.find(':') != std::string::npos ? "[" + host + "]" : host, port);
}

std::string Url::str() const {
  const bool default_p = port == default_port(scheme);
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_p ? fmt::format("{}://{}{}", scheme, h, target) : fmt::format("{}://{}:{}{}", scheme, h, port, target);
}

Url parse_url(std::string_view url, std::string_view what) {
  const auto bad = [&](std::string_view why) {
    throw InputError(fmt::format("{} '{}' is not an http(s) URL: {}", what, url, why));
  };
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) bad("missing 'scheme://'");
  Url u;
  u.scheme = lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") bad("the scheme must be http or https");
  const auto rest = url.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  u.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) bad("no host");
  std::string_view host = authority, port;
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad("unclosed '['");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') bad("junk after ']'");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) bad("no host");
  u.host = lower(host);
  u.port = default_port(u.scheme);
  if (!port.empty()) {
    int p = 0;
    for (const char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || p > 65535) bad("invalid port");
      p = p * 10 + (c - '0');
    }
    if (p <= 0 || p > 65535) bad("invalid port");
    u.port = p;
  }
  return u;
}

std::string resolve_reference(std::string_view base, std::string_view ref) {
  // A scheme ("http://…") makes the reference absolute.
  if (const auto colon = ref.find("://"); colon != std::string_view::npos && ref.find('/') == colon + 1)
    return std::string(ref);
  const Url b = parse_url(base);
  if (ref.substr(0, 2) == "//") return b.scheme + ":" + std::string(ref);
  Url origin_only = b;
  origin_only.target.clear();
  const std::string prefix = origin_only.str();
  if (ref.empty()) return b.str();
  if (ref[0] == '?') {
    const auto q = b.target.find('?');
    return prefix + b.target.substr(0, q) + std::string(ref);
  }
  std::string_view r = ref, query;
  if (const auto q = r.find('?'); q != std::string_view::npos) {
    query = r.substr(q);
    r = r.substr(0, q);
  }
  std::string path;
  if (!r.empty() && r[0] == '/') {
    path = std::string(r);
  } else {
    const std::string base_path = b.target.substr(0, b.target.find('?'));
    path = base_path.substr(0, base_path.rfind('/') + 1) + std::string(r);
  }
  return prefix + remove_dot_segments(path) + std::string(query);
}

std::string percent_encode(std::string_view s, std::string_view safe) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || safe.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace moeroute::detail
