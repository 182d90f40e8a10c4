// Hugging Face `tokenizer.json` tokenizers (byte-level BPE as in Qwen2/Qwen3, gpt-oss o200k,
// GPT-2, Llama 3; byte-fallback BPE as in Llama 2/Mistral) behind the moeroute::Tokenizer
// interface. Produces the same ids as the `tokenizers` library (docs/tokenizers.md).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "moeroute/tokenizer.h"

namespace moeroute {

/// Loads a tokenizer from a `tokenizer.json` file, or from a model directory containing one.
/// A malformed file, a regex PCRE2 rejects or a field outside the supported subset throws
/// InputError / UnsupportedError naming the file and the field; a missing file IoError.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& file_or_model_dir);

/// The same from the JSON text itself; `source` names it in error messages.
std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view json_text, const std::string& source);

}  // namespace moeroute
