// Text forms of routing rules: canonical to_string/parse (stored in traces) and the rule a
// Hugging Face config.json implies.
#include <cctype>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/parse_number.h"
#include "io/json_input.h"
#include "moeroute/error.h"
#include "moeroute/routing.h"

namespace moeroute {

namespace {

const char* method_name(DeepSeekTopKMethod m) {
  return m == DeepSeekTopKMethod::Greedy ? "greedy" : "group_limited_greedy";
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::map<std::string, std::string> parse_params(const std::string& text, const std::string& body) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= body.size()) {
    size_t j = body.find(',', i);
    if (j == std::string::npos) j = body.size();
    const std::string item = trim(body.substr(i, j - i));
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos)
        throw InputError(fmt::format("routing rule '{}': parameter '{}' is not key=value", text, item));
      out[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
    }
    i = j + 1;
  }
  return out;
}

int to_int(const std::string& text, const std::string& key, const std::string& v) {
  const auto r = detail::parse_number<int>(v);
  if (!r) throw InputError(fmt::format("routing rule '{}': {} must be an integer, got '{}'", text, key, v));
  return *r;
}

double to_double(const std::string& text, const std::string& key, const std::string& v) {
  const auto r = detail::parse_number<double>(v);
  if (!r) throw InputError(fmt::format("routing rule '{}': {} must be a number, got '{}'", text, key, v));
  return *r;
}

bool to_bool(const std::string& text, const std::string& key, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw InputError(fmt::format("routing rule '{}': {} must be true or false, got '{}'", text, key, v));
}

DeepSeekTopKMethod to_method(const std::string& what, const std::string& v) {
  if (v == "greedy" || v == "gready") return DeepSeekTopKMethod::Greedy;  // "gready": DeepSeek's own default
  if (v == "group_limited_greedy") return DeepSeekTopKMethod::GroupLimitedGreedy;
  throw UnsupportedError(
      fmt::format("{}: topk_method '{}' is not supported (expected greedy or group_limited_greedy)", what, v));
}

// Defaults of each accepted name (canonical kinds and family aliases).
const std::map<std::string, RoutingRule>& named_rules() {
  static const std::map<std::string, RoutingRule> rules = {
      {"softmax_topk", qwen_moe_rule(2, true)},
      {"topk_softmax", gpt_oss_rule(4)},
      {"deepseek_v2", deepseek_v2_rule(6, DeepSeekTopKMethod::Greedy, 1, 1, 1.0, false)},
      {"qwen3_moe", qwen_moe_rule(8, true)},
      {"qwen2_moe", qwen_moe_rule(4, false)},
      {"olmoe", olmoe_rule(8)},
      {"mixtral", mixtral_rule(2)},
      {"gpt_oss", gpt_oss_rule(4)},
  };
  return rules;
}

}  // namespace

std::string RoutingRule::to_string() const {
  switch (kind) {
    case RoutingKind::SoftmaxTopK:
      return fmt::format("softmax_topk(k={},norm_topk_prob={})", top_k, norm_topk_prob);
    case RoutingKind::TopKSoftmax:
      return fmt::format("topk_softmax(k={})", top_k);
    case RoutingKind::DeepSeekV2:
      if (topk_method == DeepSeekTopKMethod::GroupLimitedGreedy)
        return fmt::format(
            "deepseek_v2(k={},topk_method={},n_group={},topk_group={},norm_topk_prob={},routed_scaling_factor={})",
            top_k, method_name(topk_method), n_group, topk_group, norm_topk_prob, routed_scaling_factor);
      return fmt::format("deepseek_v2(k={},topk_method={},norm_topk_prob={},routed_scaling_factor={})", top_k,
                         method_name(topk_method), norm_topk_prob, routed_scaling_factor);
  }
  return "unknown";
}

RoutingRule parse_routing_rule(const std::string& input) {
  const std::string text = trim(input);
  const size_t open = text.find('(');
  const std::string name = trim(text.substr(0, open));
  std::string body;
  if (open != std::string::npos) {
    if (text.back() != ')') throw InputError(fmt::format("routing rule '{}': missing ')'", text));
    body = text.substr(open + 1, text.size() - open - 2);
  }
  const auto& rules = named_rules();
  const auto it = rules.find(name);
  if (it == rules.end()) {
    std::string names;
    for (const auto& [n, r] : rules) names += (names.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("routing rule '{}': unknown name '{}' (expected one of {})", text, name, names));
  }
  RoutingRule rule = it->second;
  const bool deepseek = rule.kind == RoutingKind::DeepSeekV2;
  for (const auto& [key, value] : parse_params(text, body)) {
    if (key == "k" || key == "top_k") {
      rule.top_k = to_int(text, key, value);
    } else if (key == "norm_topk_prob" && rule.kind != RoutingKind::TopKSoftmax) {
      rule.norm_topk_prob = to_bool(text, key, value);
    } else if (deepseek && key == "topk_method") {
      rule.topk_method = to_method(fmt::format("routing rule '{}'", text), value);
    } else if (deepseek && key == "n_group") {
      rule.n_group = to_int(text, key, value);
    } else if (deepseek && key == "topk_group") {
      rule.topk_group = to_int(text, key, value);
    } else if (deepseek && key == "routed_scaling_factor") {
      rule.routed_scaling_factor = to_double(text, key, value);
    } else {
      throw InputError(fmt::format("routing rule '{}': '{}' takes no parameter '{}'", text, name, key));
    }
  }
  rule.validate(0, fmt::format("routing rule '{}'", text));
  return rule;
}

RoutingRule routing_rule_from_hf_config(const std::string& config_json, const std::string& what) {
  const auto c = detail::parse_json(config_json, what);
  c.expect_object("a Hugging Face config.json");
  const std::string type = c.at("model_type").string();
  auto get_int = [&](const char* key, int fallback) {
    return c.has(key) ? static_cast<int>(c.at(key).integer(INT32_MIN, INT32_MAX)) : fallback;
  };
  auto get_bool = [&](const char* key, bool fallback) { return c.bool_or(key, fallback); };
  auto need_k = [&](int fallback) {
    const int k = get_int("num_experts_per_tok", get_int("experts_per_token", fallback));
    if (k < 1) c.member("num_experts_per_tok").fail("is missing or < 1");
    return k;
  };
  // Defaults are those of the transformers configuration classes.
  if (type == "qwen3_moe" || type == "qwen2_moe" || type == "olmoe")
    return qwen_moe_rule(need_k(0), get_bool("norm_topk_prob", false));
  if (type == "mixtral") return mixtral_rule(need_k(2));
  if (type == "gpt_oss") return gpt_oss_rule(need_k(4));
  if (type == "deepseek_v2") {
    const std::string method = c.string_or("topk_method", "greedy");
    const double scale = c.number_or("routed_scaling_factor", 1.0);
    return deepseek_v2_rule(need_k(0), to_method(what, method), get_int("n_group", 1), get_int("topk_group", 1), scale,
                            get_bool("norm_topk_prob", false));
  }
  throw UnsupportedError(fmt::format(
      "{}: model_type '{}' has no known routing rule (known: qwen3_moe, qwen2_moe, olmoe, mixtral, gpt_oss, "
      "deepseek_v2); pass one explicitly, e.g. --routing-rule 'softmax_topk(k=8,norm_topk_prob=true)'",
      what, type));
}

}  // namespace moeroute
