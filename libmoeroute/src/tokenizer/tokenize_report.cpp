#include "moeroute/tokenize_report.h"

#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "io/text_file.h"
#include "moeroute/chat_template.h"
#include "moeroute/error.h"
#include "moeroute/hf_tokenizer.h"

namespace moeroute {

namespace fs = std::filesystem;

namespace {

std::unique_ptr<Tokenizer> load(const TokenizerSource& s) {
  if (!s.model_dir.empty()) return load_tokenizer(s.model_dir);
  if (s.tokenizer_file.empty()) throw InputError("no tokenizer given (a model directory or a tokenizer.json)");
  return load_tokenizer(s.tokenizer_file);
}

// Directory whose tokenizer_config.json decides the default template.
fs::path config_dir(const TokenizerSource& s) {
  if (!s.model_dir.empty()) return s.model_dir;
  return s.tokenizer_file.has_parent_path() ? s.tokenizer_file.parent_path() : fs::path(".");
}

// `s` as a JSON string literal (control characters and quotes escaped), for the table.
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string tokenize_report(const TokenizeOptions& o) {
  const auto tokenizer = load(o.source);
  std::string text = o.text_file.empty() ? o.text : detail::read_text_file(o.text_file);
  std::string template_name;
  if (!o.chat_template.empty()) {
    const ChatTemplate t = resolve_chat_template(o.chat_template, config_dir(o.source));
    template_name = t.name();
    text = t.render(ChatPrompt{o.system, text});
  } else if (!o.system.empty()) {
    throw InputError("a system prompt needs a chat template (--template)");
  }
  const std::vector<int64_t> ids = tokenizer->encode(text, o.parse_special);

  if (o.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const int64_t id : ids)
      tokens.push_back({{"id", id}, {"piece", tokenizer->token_piece(id)}, {"text", tokenizer->decode({id})}});
    nlohmann::json out = {{"template", template_name.empty() ? nlohmann::json() : nlohmann::json(template_name)},
                          {"text", text},
                          {"ids", ids},
                          {"tokens", tokens}};
    return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out = fmt::format("{} tokens{}\n", ids.size(), template_name.empty() ? "" : " (template " + template_name + ")");
  out += fmt::format("ids: [{}]\n", fmt::join(ids, ", "));
  out += fmt::format("{:>6}  {:>8}  {:<24}  {}\n", "#", "id", "piece", "text");
  for (std::size_t i = 0; i < ids.size(); ++i)
    out += fmt::format("{:>6}  {:>8}  {:<24}  {}\n", i, ids[i], quoted(tokenizer->token_piece(ids[i])),
                       quoted(tokenizer->decode({ids[i]})));
  return out;
}

std::string detokenize_report(const DetokenizeOptions& o) {
  const std::vector<int64_t> ids = o.ids_file.empty() ? parse_token_ids(o.ids, "ids")
                                                       : parse_token_ids(detail::read_text_file(o.ids_file), o.ids_file.string());
  const auto tokenizer = load(o.source);
  const std::string text = tokenizer->decode(ids, o.skip_special);
  if (o.json) {
    const nlohmann::json out = {{"ids", ids}, {"text", text}};
    return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return text + "\n";
}

std::vector<int64_t> parse_token_ids(const std::string& text, const std::string& source) {
  std::vector<int64_t> ids;
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',')) ++i;
  };
  skip();
  const bool bracketed = i < text.size() && text[i] == '[';
  if (bracketed) ++i;
  for (skip(); i < text.size() && !(bracketed && text[i] == ']'); skip()) {
    std::size_t end = i;
    if (end < text.size() && text[end] == '-') ++end;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == i || (text[i] == '-' && end == i + 1) || end - i > 18)
      throw InputError(fmt::format("{}: byte {}: expected a token id (an integer), found '{}'", source, i + 1,
                                   text.substr(i, 12)));
    ids.push_back(std::stoll(text.substr(i, end - i)));
    i = end;
  }
  if (bracketed) {
    if (i >= text.size()) throw InputError(fmt::format("{}: missing ']'", source));
    ++i;
    skip();
  }
  if (i != text.size())
    throw InputError(fmt::format("{}: byte {}: unexpected '{}' after the ids", source, i + 1, text.substr(i, 12)));
  return ids;
}

}  // namespace moeroute
