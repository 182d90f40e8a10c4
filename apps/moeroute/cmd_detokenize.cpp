#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"
#include "moeroute/tokenize_report.h"

namespace moeroute::cli {

void add_detokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("detokenize", "Turn token ids back into text");
  auto o = std::make_shared<DetokenizeOptions>();
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* model = cmd->add_option("--model", o->source.model_dir, "Model directory containing tokenizer.json");
  auto* file = cmd->add_option("--tokenizer", o->source.tokenizer_file, "A tokenizer.json file");
  model->excludes(file);
  auto* ids_opt = cmd->add_option("ids", *ids, "Token ids (separated by spaces or commas, or a JSON array)");
  auto* ids_file = cmd->add_option("--file", o->ids_file, "Read the ids from a file ('-' = stdin)");
  ids_opt->excludes(ids_file);
  cmd->add_flag("--skip-special", o->skip_special, "Leave out special tokens");
  cmd->add_flag("--json", o->json, "Print JSON (ids and text)");
  cmd->callback([o, ids, model, file, ids_opt, ids_file] {
    if (model->count() + file->count() == 0) throw CLI::RequiredError("--model or --tokenizer");
    if (ids_opt->count() + ids_file->count() == 0) throw CLI::RequiredError("ids or --file");
    for (const std::string& part : *ids) o->ids += part + " ";
    const std::string out = detokenize_report(*o);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace moeroute::cli
