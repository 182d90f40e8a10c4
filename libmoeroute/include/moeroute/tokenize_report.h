// What `moeroute tokenize` and `moeroute detokenize` print (docs/cli.md): a prompt's token ids
// with each token's vocabulary spelling and text, and the text of a list of ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moeroute {

/// Where the tokenizer comes from: a model directory or a tokenizer.json file.
struct TokenizerSource {
  std::filesystem::path model_dir;       // directory with tokenizer.json (+ tokenizer_config.json); or empty
  std::filesystem::path tokenizer_file;  // a tokenizer.json; used when model_dir is empty
};

struct TokenizeOptions {
  TokenizerSource source;      // which tokenizer
  std::string chat_template;   // "" = encode the text as given; "auto", a built-in name or a file
  std::string system;          // system prompt for the template
  std::string text;            // the text (the user message when a template is used)
  std::filesystem::path text_file;  // read the text from this file instead ("-" = stdin); or empty
  bool parse_special = true;   // special-token strings in the text become their ids
  bool json = false;           // JSON instead of a table
};

struct DetokenizeOptions {
  TokenizerSource source;      // which tokenizer
  std::string ids;             // the ids as text (see parse_token_ids)
  std::filesystem::path ids_file;  // read the ids from this file instead ("-" = stdin); or empty
  bool skip_special = false;   // drop special tokens
  bool json = false;           // JSON instead of the bare text
};

/// Encodes (after applying the template, if any) and formats ids, pieces and per-token text.
std::string tokenize_report(const TokenizeOptions& options);

/// Decodes the ids; the text followed by a newline, or JSON.
std::string detokenize_report(const DetokenizeOptions& options);

/// Token ids written as integers separated by spaces, commas or newlines, optionally inside
/// [ ] (a JSON array works). `source` names the text in the InputError for anything else.
std::vector<int64_t> parse_token_ids(const std::string& text, const std::string& source);

}  // namespace moeroute
