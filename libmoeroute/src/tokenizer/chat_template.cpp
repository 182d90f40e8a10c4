#include "moeroute/chat_template.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/json_input.h"
#include "io/text_file.h"
#include "moeroute/error.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& names() {
  static const std::vector<std::string> n{"raw", "chatml", "qwen3", "qwen3-nothink", "gpt-oss"};
  return n;
}


std::string harmony_system(const ChatTemplateOptions& o) {
  return "<|start|>system<|message|>" + o.model_identity + "\nKnowledge cutoff: 2024-06\nCurrent date: " +
         (o.current_date.empty() ? today_local_date() : o.current_date) + "\n\nReasoning: " + o.reasoning_effort +
         "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>";
}

std::string harmony_developer(const std::string& instructions) {
  return "<|start|>developer<|message|># Instructions\n\n" + instructions + "\n\n<|end|>";
}

// Qwen's ChatML: <|im_start|>role\ncontent<|im_end|>\n per message, then the assistant header.
std::string render_chatml(const ChatPrompt& p) {
  std::string out;
  if (!p.system.empty()) out += "<|im_start|>system\n" + p.system + "<|im_end|>\n";
  out += "<|im_start|>user\n" + p.user + "<|im_end|>\n<|im_start|>assistant\n";
  return out;
}

// gpt-oss harmony as the model's chat_template.jinja renders it: a system message with the
// model identity, dates and reasoning effort; the system prompt as developer instructions.
std::string render_gpt_oss(const ChatPrompt& p, const ChatTemplateOptions& o) {
  std::string out = harmony_system(o);
  if (!p.system.empty()) out += harmony_developer(p.system);
  out += "<|start|>user<|message|>" + p.user + "<|end|><|start|>assistant";
  return out;
}

std::string strip(std::string_view s, bool left, bool right) {
  std::size_t b = 0, e = s.size();
  while (left && b < e && s[b] == '\n') ++b;
  while (right && e > b && s[e - 1] == '\n') --e;
  return std::string(s.substr(b, e - b));
}

// Qwen3's chat_template for system/user/assistant messages without tools: reasoning is split off
// at "</think>"; an assistant message after the last user message gets a <think> block when it is
// the last message or has reasoning, every other one only its answer.
std::string render_qwen3_conversation(const std::vector<ChatMessage>& messages) {
  std::size_t last_query = messages.size() - 1;
  for (std::size_t i = messages.size(); i-- > 0;)
    if (messages[i].role == "user") {
      last_query = i;
      break;
    }
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "assistant") {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      continue;
    }
    std::string content = m.content, reasoning;
    const std::size_t close = content.find("</think>");
    if (close != std::string::npos) {
      std::string before = strip(std::string_view(content).substr(0, close), false, true);
      const std::size_t open = before.rfind("<think>");
      reasoning = strip(open == std::string::npos ? before : before.substr(open + 7), true, false);
      content = strip(std::string_view(content).substr(content.rfind("</think>") + 8), true, false);
    }
    const bool last = i + 1 == messages.size();
    if (i > last_query && (last || !reasoning.empty()))
      out += "<|im_start|>assistant\n<think>\n" + strip(reasoning, true, true) + "\n</think>\n\n" +
             strip(content, true, false);
    else
      out += "<|im_start|>assistant\n" + content;
    out += "<|im_end|>\n";
  }
  return out;
}

// gpt-oss's chat_template.jinja without tools or thinking: a first system message becomes the
// developer instructions; the last assistant message ends with <|return|>, earlier ones <|end|>.
std::string render_gpt_oss_conversation(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& o,
                                        const std::string& what) {
  std::string out = harmony_system(o);
  std::size_t first = 0;
  if (messages[0].role == "system") {
    out += harmony_developer(messages[0].content);
    first = 1;
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system")
      throw UnsupportedError(fmt::format("{}: message {}: gpt-oss's template places a system message only first "
                                         "(it would silently drop this one)",
                                         what, i));
    if (m.role == "user") out += "<|start|>user<|message|>" + m.content + "<|end|>";
    else
      out += "<|start|>assistant<|channel|>final<|message|>" + m.content +
             (i + 1 == messages.size() ? "<|return|>" : "<|end|>");
  }
  return out;
}

struct Language {
  const char* code;
  const char* name;
};

// ISO 639-1 codes (and a few region variants) spelled out for the instruction.
constexpr Language kLanguages[] = {
    {"ar", "Arabic"},     {"bg", "Bulgarian"},  {"bn", "Bengali"},
    {"ca", "Catalan"},    {"cs", "Czech"},      {"da", "Danish"},
    {"de", "German"},     {"el", "Greek"},      {"en", "English"},
    {"es", "Spanish"},    {"et", "Estonian"},   {"fa", "Persian"},
    {"fi", "Finnish"},    {"fr", "French"},     {"he", "Hebrew"},
    {"hi", "Hindi"},      {"hr", "Croatian"},   {"hu", "Hungarian"},
    {"id", "Indonesian"}, {"it", "Italian"},    {"ja", "Japanese"},
    {"ko", "Korean"},     {"lt", "Lithuanian"}, {"lv", "Latvian"},
    {"ms", "Malay"},      {"nl", "Dutch"},      {"no", "Norwegian"},
    {"pl", "Polish"},     {"pt", "Portuguese"}, {"ro", "Romanian"},
    {"ru", "Russian"},    {"sk", "Slovak"},     {"sl", "Slovenian"},
    {"sr", "Serbian"},    {"sv", "Swedish"},    {"sw", "Swahili"},
    {"ta", "Tamil"},      {"th", "Thai"},       {"tl", "Tagalog"},
    {"tr", "Turkish"},    {"uk", "Ukrainian"},  {"ur", "Urdu"},
    {"vi", "Vietnamese"}, {"zh", "Chinese"},    {"pt-br", "Brazilian Portuguese"},
    {"zh-cn", "Simplified Chinese"}, {"zh-hans", "Simplified Chinese"},
    {"zh-tw", "Traditional Chinese"}, {"zh-hant", "Traditional Chinese"},
};

}  // namespace

ChatTemplate ChatTemplate::builtin(std::string_view name) {
  ChatTemplate t;
  t.name_ = std::string(name);
  if (name == "raw") t.kind_ = Kind::raw;
  else if (name == "chatml") t.kind_ = Kind::chatml;
  else if (name == "qwen3") t.kind_ = Kind::qwen3;
  else if (name == "qwen3-nothink") t.kind_ = Kind::qwen3_nothink;
  else if (name == "gpt-oss") t.kind_ = Kind::gpt_oss;
  else
    throw InputError(fmt::format("unknown chat template '{}' (built-in: {}; or the path of a template file)", name,
                                 fmt::join(names(), ", ")));
  return t;
}

ChatTemplate ChatTemplate::from_text(std::string_view text, const std::string& source) {
  ChatTemplate t;
  t.kind_ = Kind::user;
  t.name_ = "file:" + source;
  std::size_t line = 1;
  std::size_t column = 1;
  auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("{}:{}:{}: {}", source, line, column, what));
  };
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back({Part::Kind::text, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const char c = text[i];
    if (c == '\n') {
      literal.push_back(c);
      ++line;
      column = 0;
    } else if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      ++column;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
      ++column;
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      const std::size_t newline = text.find('\n', i + 1);
      if (close == std::string_view::npos || (newline != std::string_view::npos && newline < close))
        fail("unclosed '{' (write '{{' for a literal brace)");
      const std::string_view placeholder = text.substr(i + 1, close - i - 1);
      if (placeholder != "system" && placeholder != "user")
        fail(fmt::format("unknown placeholder '{{{}}}' (expected {{system}} or {{user}}; '{{{{' is a literal brace)",
                         placeholder));
      flush();
      t.parts_.push_back({placeholder == "system" ? Part::Kind::system : Part::Kind::user, {}});
      column += close - i;
      i = close;
    } else if (c == '}') {
      fail("single '}' (write '}}' for a literal brace)");
    } else {
      literal.push_back(c);
    }
  }
  flush();
  return t;
}

ChatTemplate ChatTemplate::from_file(const fs::path& file) { return from_text(detail::read_text_file(file), file.string()); }

std::string today_local_date() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &local);
  return buffer;
}

void check_template_date(std::string_view date, std::string_view what) {
  const auto digits = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(date[i]))) return -1;
      v = v * 10 + (date[i] - '0');
    }
    return v;
  };
  const bool shape = date.size() == 10 && date[4] == '-' && date[7] == '-';
  const int y = shape ? digits(0, 4) : -1, m = shape ? digits(5, 2) : -1, d = shape ? digits(8, 2) : -1;
  const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap ? 1 : 0))
    throw InputError(fmt::format("{}: expected a calendar date written YYYY-MM-DD (e.g. 2025-08-05), got \"{}\"", what,
                                 date));
}

bool ChatTemplate::places_system() const {
  if (kind_ != Kind::user) return true;
  return std::any_of(parts_.begin(), parts_.end(), [](const Part& p) { return p.kind == Part::Kind::system; });
}

std::string ChatTemplate::render(const ChatPrompt& prompt, const ChatTemplateOptions& options) const {
  switch (kind_) {
    case Kind::raw:
      return prompt.system.empty() ? prompt.user : prompt.system + "\n\n" + prompt.user;
    case Kind::chatml:
    case Kind::qwen3:  // enable_thinking on: the generation prompt is plain ChatML
      return render_chatml(prompt);
    case Kind::qwen3_nothink:
      return render_chatml(prompt) + "<think>\n\n</think>\n\n";
    case Kind::gpt_oss:
      return render_gpt_oss(prompt, options);
    case Kind::user: {
      std::string out;
      for (const Part& part : parts_) {
        if (part.kind == Part::Kind::text) out += part.text;
        else out += part.kind == Part::Kind::system ? prompt.system : prompt.user;
      }
      return out;
    }
  }
  return {};
}

std::string ChatTemplate::render_conversation(const std::vector<ChatMessage>& messages,
                                              const ChatTemplateOptions& options, const std::string& what) const {
  if (messages.empty()) throw InputError(fmt::format("{}: the conversation has no messages", what));
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant")
      throw InputError(fmt::format("{}: message {}: role '{}' is not one of: system, user, assistant", what, i, role));
  }
  switch (kind_) {
    case Kind::raw: {
      std::string out;
      for (const ChatMessage& m : messages) out += (out.empty() ? "" : "\n\n") + m.content;
      return out;
    }
    case Kind::chatml: {
      std::string out;
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      return out;
    }
    case Kind::qwen3:  // enable_thinking only changes the generation prompt, which a conversation has none of
    case Kind::qwen3_nothink:
      return render_qwen3_conversation(messages);
    case Kind::gpt_oss:
      return render_gpt_oss_conversation(messages, options, what);
    case Kind::user: {
      const bool has_system = messages[0].role == "system";
      const std::size_t n = messages.size() - (has_system ? 1 : 0);
      if (n != 1 || messages.back().role != "user")
        throw UnsupportedError(fmt::format("{}: template {} has only {{system}} and {{user}}: it renders an optional "
                                           "system message and one user message, not this conversation of {} "
                                           "messages",
                                           what, name_, messages.size()));
      return render({has_system ? messages[0].content : "", messages.back().content}, options);
    }
  }
  return {};
}

std::vector<std::string> builtin_chat_template_names() { return names(); }

std::string default_chat_template_name(const fs::path& model_dir) {
  std::string source;
  std::string jinja;
  nlohmann::json config;
  const fs::path config_file = model_dir / "tokenizer_config.json";
  std::error_code ec;
  if (fs::exists(config_file, ec)) config = detail::read_json_file(config_file).json();
  if (fs::exists(model_dir / "chat_template.jinja", ec)) {
    source = (model_dir / "chat_template.jinja").string();
    jinja = detail::read_text_file(model_dir / "chat_template.jinja");
  } else if (config.is_object() && config.contains("chat_template")) {
    source = config_file.string() + ": field 'chat_template'";
    const auto& ct = config["chat_template"];
    if (ct.is_string()) {
      jinja = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": "default", "template": …}, …]
      for (const auto& entry : ct)
        if (entry.is_object() && entry.value("name", "") == "default") jinja = entry.value("template", "");
    }
  }
  const auto has = [](const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; };
  if (!jinja.empty()) {
    if (has(jinja, "<|im_start|>")) return has(jinja, "enable_thinking") ? "qwen3" : "chatml";
    if (has(jinja, "<|start|>") && has(jinja, "<|message|>")) return "gpt-oss";
    throw UnsupportedError(fmt::format("{}: chat template not recognised as a built-in; choose one ({}) or a "
                                       "template file",
                                       source, fmt::join(names(), ", ")));
  }
  // No template text: recognise the format by its marker tokens.
  if (config.is_object() && config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object()) {
    bool start = false, message = false, im_start = false;
    for (const auto& [id, token] : config["added_tokens_decoder"].items()) {
      const std::string content = token.is_object() ? token.value("content", "") : "";
      start |= content == "<|start|>";
      message |= content == "<|message|>";
      im_start |= content == "<|im_start|>";
    }
    if (start && message) return "gpt-oss";
    if (im_start) return "chatml";
  }
  return "raw";
}

ChatTemplate resolve_chat_template(std::string_view spec, const fs::path& model_dir) {
  if (spec.empty() || spec == "auto") return ChatTemplate::builtin(default_chat_template_name(model_dir));
  if (std::find(names().begin(), names().end(), spec) != names().end()) return ChatTemplate::builtin(spec);
  std::error_code ec;
  if (!fs::exists(fs::path(std::string(spec)), ec))
    throw InputError(fmt::format("chat template '{}' is neither a built-in ({}) nor an existing file", spec,
                                 fmt::join(names(), ", ")));
  return ChatTemplate::from_file(fs::path(std::string(spec)));
}

std::string add_language_instruction(std::string_view user, std::string_view language) {
  if (language.empty()) return std::string(user);
  std::string code(language);
  std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) {
    return static_cast<char>(c == '_' ? '-' : std::tolower(c));
  });
  const auto lookup = [](const std::string& c) -> std::string {
    for (const Language& l : kLanguages)
      if (c == l.code) return l.name;
    return {};
  };
  // "en-US" → English unless the region variant has its own name ("pt-BR").
  const std::size_t dash = code.find('-');
  const std::string primary = code.substr(0, dash);
  const bool looks_like_code = primary.size() == 2 && std::isalpha(static_cast<unsigned char>(primary[0])) &&
                               std::isalpha(static_cast<unsigned char>(primary[1])) &&
                               (dash == std::string::npos || code.size() <= 8);
  std::string name = lookup(code);
  if (name.empty() && looks_like_code) name = lookup(primary);
  if (name.empty()) {
    // An unknown two-letter code is more likely a typo than a language's name.
    if (looks_like_code)
      throw InputError(fmt::format("language '{}': unknown language code (use an ISO 639-1 code such as en, ja, zh, "
                                   "or write the language's name, e.g. \"Brazilian Portuguese\")",
                                   language));
    name = std::string(language);
  }
  return fmt::format("{}\n\nAnswer in {}.", user, name);
}

}  // namespace moeroute
