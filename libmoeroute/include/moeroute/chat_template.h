// Chat templates: wrap a system prompt and a user message in a model's chat format, as text.
// Templates do not depend on the tokenizer: the rendered text is encoded with
// Tokenizer::encode(text, /*parse_special=*/true), so the markers become special tokens in
// real vocabularies and in the demo models' byte tokenizer alike. docs/chat-templates.md gives
// each template's exact output.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute {

/// What a template wraps: one optional system prompt and one user message.
struct ChatPrompt {
  std::string system;  // the system prompt; empty = no system message
  std::string user;    // the user's message
};

/// One message of a conversation (a chat-style dataset sample).
struct ChatMessage {
  std::string role;     // "system", "user" or "assistant"
  std::string content;  // the message text
};

/// Settings of the gpt-oss (harmony) system message; ignored by the other templates.
struct ChatTemplateOptions {
  std::string reasoning_effort = "medium";  // "low", "medium" or "high"
  std::string current_date;                 // "YYYY-MM-DD"; empty = today's local date
  std::string model_identity = "You are ChatGPT, a large language model trained by OpenAI.";  // first line
};

class ChatTemplate {
 public:
  /// A built-in template: "raw", "chatml", "qwen3", "qwen3-nothink" or "gpt-oss". An unknown
  /// name throws InputError listing the names.
  static ChatTemplate builtin(std::string_view name);

  /// A user template file: its text verbatim with `{system}` and `{user}` replaced (`{{` and
  /// `}}` stand for literal braces). Any other placeholder, or an unbalanced brace, throws
  /// InputError naming the file, line and column.
  static ChatTemplate from_file(const std::filesystem::path& file);
  /// The same from text; `source` names it in error messages.
  static ChatTemplate from_text(std::string_view text, const std::string& source);

  /// The built-in name, or "file:<path>" for a user template.
  const std::string& name() const { return name_; }

  /// Whether render() writes ChatTemplateOptions::current_date into the prompt (gpt-oss).
  bool uses_date() const { return kind_ == Kind::gpt_oss; }
  /// Whether render() places the system prompt at all (a template file without `{system}`
  /// drops it, so two system prompts would render the same text).
  bool places_system() const;

  /// The prompt text, ending where the model's answer begins.
  std::string render(const ChatPrompt& prompt, const ChatTemplateOptions& options = {}) const;

  /// A whole conversation as the model's template renders it without a generation prompt (the
  /// text a model is scored on; docs/chat-templates.md, "Conversations"). Roles are system, user
  /// and assistant; a role the template cannot place (gpt-oss: a system message after the first;
  /// a template file: anything but an optional system message and one user message) throws
  /// UnsupportedError; an unknown role or an empty conversation throws InputError. `what` names
  /// the conversation in errors (e.g. "data.jsonl:12").
  std::string render_conversation(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options = {},
                                  const std::string& what = "conversation") const;

 private:
  enum class Kind { raw, chatml, qwen3, qwen3_nothink, gpt_oss, user };
  struct Part {
    enum class Kind { text, system, user } kind;
    std::string text;
  };
  Kind kind_ = Kind::raw;
  std::string name_;
  std::vector<Part> parts_;  // user templates only
};

/// Today's local date as "YYYY-MM-DD": the default of ChatTemplateOptions::current_date.
std::string today_local_date();
/// Throws InputError naming `what` unless `date` is a calendar date written "YYYY-MM-DD".
void check_template_date(std::string_view date, std::string_view what = "date");

/// Names of the built-in templates.
std::vector<std::string> builtin_chat_template_names();

/// The built-in template that renders like a model's own chat template: read from
/// `chat_template.jinja` or `tokenizer_config.json` (`chat_template`, else its added tokens)
/// in `model_dir`. "raw" when the model has none; UnsupportedError naming the file when it has
/// one that no built-in reproduces.
std::string default_chat_template_name(const std::filesystem::path& model_dir);

/// Resolves a template choice: "" or "auto" → default_chat_template_name(model_dir); a
/// built-in name; otherwise the path of a user template file.
ChatTemplate resolve_chat_template(std::string_view spec, const std::filesystem::path& model_dir);

/// The user message with the answer-language instruction of input.json's `language` field
/// (docs/compare.md, "language"): `user` + "\n\nAnswer in <Language>." where an ISO 639-1 code
/// ("ja") is spelled out ("Japanese") and any longer value is used as written. Empty language:
/// `user` unchanged. An unknown two- or three-letter code throws InputError.
std::string add_language_instruction(std::string_view user, std::string_view language);

}  // namespace moeroute
