// The option group every command that runs a model shares (docs/cli.md, "Model and generation
// options"): one spelling per option in every command. A given flag becomes a field of the run
// configuration under its input.json name and is validated and parsed by the library
// (moeroute/run_config.h), so a flag and an input.json field cannot drift apart.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace moeroute {
struct RunConfig;
struct GenerateOptions;
}

namespace moeroute::cli {

/// The flags given, in command-line order: (flag, {field: value}).
struct RunFlags {
  std::vector<std::pair<std::string, nlohmann::json>> given;

  /// Applies each given flag to `config` through moeroute::apply_run_fields (errors name the flag).
  void apply(RunConfig& config) const;
};

/// --model, --device-map (alias --device), --dtype, --experts, --threads, --gpu-memory,
/// --routing-rule, --gate-pattern.
void add_model_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags);
/// --max-new-tokens, --temperature, --top-p, --seed, --stop-token, --strict.
void add_generation_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags);
/// --top-k (alias --topk), --layers, --no-logits, --logits-dtype.
void add_recording_flags(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags);
/// --chat-template (alias --template), --date.
void add_chat_template_flag(CLI::App* cmd, const std::shared_ptr<RunFlags>& flags);

/// Warnings (context exceeded) and, every 5 s of a long generation (MOEROUTE_PROGRESS_SECONDS
/// sets the interval; the library reports at most once a second), a progress line go to stderr.
void report_on_stderr(GenerateOptions& generation);

/// `text` as a JSON number when it reads as one, else as a string (the library then says what
/// was expected).
nlohmann::json number_or_string(const std::string& text);

}  // namespace moeroute::cli
