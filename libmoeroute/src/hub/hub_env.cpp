// The environment huggingface_hub reads (constants.py and utils/_auth.py of huggingface_hub
// 2.4.0), so moeroute and Python tools share one cache, one token and one endpoint.
#include "hub/hub_env.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace moeroute {

namespace detail {

namespace {

// huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case.
bool is_true(const std::optional<std::string>& v) {
  if (!v) return false;
  std::string u;
  for (const char c : *v) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u == "1" || u == "ON" || u == "YES" || u == "TRUE";
}

// An environment value that is set and not empty (Python's `os.environ.get(a) or …`).
std::optional<std::string> non_empty(const EnvLookup& env, const char* name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

// Tokens are stripped of newlines and surrounding blanks; empty means none (_clean_token).
std::string clean_token(std::string t) {
  std::string out;
  for (const char c : t)
    if (c != '\r' && c != '\n') out += c;
  const auto b = out.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = out.find_last_not_of(" \t");
  return out.substr(b, e - b + 1);
}

double seconds(const EnvLookup& env, const char* name, double fallback) {
  const auto v = non_empty(env, name);
  if (!v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0' || n <= 0)
    throw InputError(fmt::format("environment variable {}: expected a positive whole number of seconds, got '{}'", name, *v));
  return static_cast<double>(n);
}

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string expand_path(const std::string& path, const EnvLookup& env) {
  std::string p = path;
  if (!p.empty() && p[0] == '~' && (p.size() == 1 || p[1] == '/')) {
    if (const auto home = env("HOME")) p = *home + p.substr(1);
  }
  std::string out;
  for (std::size_t i = 0; i < p.size();) {
    if (p[i] != '$') {
      out += p[i++];
      continue;
    }
    std::size_t j = i + 1;
    std::string name;
    bool braced = j < p.size() && p[j] == '{';
    if (braced) {
      const auto close = p.find('}', j);
      if (close == std::string::npos) {
        out += p.substr(i);
        break;
      }
      name = p.substr(j + 1, close - j - 1);
      j = close + 1;
    } else {
      while (j < p.size() && name_char(p[j])) name += p[j++];
    }
    const auto value = name.empty() ? std::nullopt : env(name.c_str());
    out += value ? *value : p.substr(i, j - i);
    i = j;
  }
  return out;
}

HubOptions hub_options_from(const EnvLookup& env) {
  HubOptions o;
  if (const auto e = non_empty(env, "HF_ENDPOINT")) {
    o.endpoint = *e;
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  }
  std::string home_default = "~/.cache/huggingface";
  if (const auto xdg = env("XDG_CACHE_HOME")) home_default = *xdg + "/huggingface";
  const std::string hf_home = expand_path(env("HF_HOME").value_or(home_default), env);
  // HF_HUB_CACHE, then the legacy HUGGINGFACE_HUB_CACHE, then $HF_HOME/hub.
  std::string cache = env("HUGGINGFACE_HUB_CACHE").value_or(hf_home + "/hub");
  if (const auto c = env("HF_HUB_CACHE")) cache = *c;
  o.cache_dir = expand_path(cache, env);

  o.token_file = expand_path(env("HF_TOKEN_PATH").value_or(hf_home + "/token"), env);
  if (const auto t = non_empty(env, "HF_TOKEN")) {
    o.token = clean_token(*t);
  } else if (const auto legacy = non_empty(env, "HUGGING_FACE_HUB_TOKEN")) {
    o.token = clean_token(*legacy);
  } else {
    std::ifstream in(o.token_file);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      o.token = clean_token(ss.str());
    }
  }
  // Python: os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE").
  auto offline = non_empty(env, "HF_HUB_OFFLINE");
  if (!offline) offline = env("TRANSFORMERS_OFFLINE");
  o.offline = is_true(offline);
  o.metadata_timeout_s = seconds(env, "HF_HUB_ETAG_TIMEOUT", o.metadata_timeout_s);
  o.read_timeout_s = seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", o.read_timeout_s);
  if (is_true(env("HF_HUB_DISABLE_PROGRESS_BARS"))) o.progress = ProgressMode::quiet;
  return o;
}

}  // namespace detail

HubOptions hub_options_from_environment() {
  return detail::hub_options_from([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

}  // namespace moeroute
