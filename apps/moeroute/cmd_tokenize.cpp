#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"
#include "moeroute/tokenize_report.h"

namespace moeroute::cli {

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the token ids (and token strings) a text or prompt becomes");
  auto o = std::make_shared<TokenizeOptions>();
  auto* model = cmd->add_option("--model", o->source.model_dir, "Model directory containing tokenizer.json");
  auto* file = cmd->add_option("--tokenizer", o->source.tokenizer_file, "A tokenizer.json file");
  model->excludes(file);
  cmd->add_option("--chat-template", o->chat_template,
                  "Wrap the text in a chat template: auto (the model's), raw, chatml, qwen3, qwen3-nothink, "
                  "gpt-oss, or a template file with {system}/{user}");
  cmd->add_option("--template", o->chat_template, "")->group("");  // the old spelling, for one release
  cmd->add_option("--system", o->system, "System prompt (with --chat-template)");
  auto* text = cmd->add_option("text", o->text, "The text (the user message with --chat-template)");
  auto* text_file = cmd->add_option("--file", o->text_file, "Read the text from a file ('-' = stdin)");
  text->excludes(text_file);
  cmd->add_flag("--no-parse-special", [o](std::int64_t) { o->parse_special = false; },
                "Encode special-token strings in the text as plain text");
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  cmd->callback([o, model, file, text, text_file] {
    if (model->count() + file->count() == 0) throw CLI::RequiredError("--model or --tokenizer");
    if (text->count() + text_file->count() == 0) throw CLI::RequiredError("text or --file");
    const std::string out = tokenize_report(*o);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace moeroute::cli
