#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "import_options.h"
#include "moeroute/import.h"

namespace moeroute::cli {

namespace {
struct ImportCmdArgs {
  std::string in, out, model_id, logits_dtype = "f32";
  ImportArgs import;
};
}  // namespace

void add_import_command(CLI::App& app) {
  auto a = std::make_shared<ImportCmdArgs>();
  auto* cmd = app.add_subcommand(
      "import", "Read routing recorded by llama.cpp, vLLM, SGLang or Megatron-Core into a moeroute trace (docs/import.md)");
  cmd->add_option("file", a->in, "The recorded file ('-' = standard input, with --format and --num-experts)")->required();
  cmd->add_option("-o,--out", a->out,
                  "Output: a trace (.safetensors), or .csv for SGLang stat/per_pass dumps (expert counts)")
      ->required();
  cmd->add_option("--model-id", a->model_id, "Model id stored in the trace (default: the input file name)");
  cmd->add_option("--logits-dtype", a->logits_dtype, "Storage of router logits, when the source has them")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  add_import_options(cmd, a->import);
  cmd->callback([a] {
    ImportOptions o = import_options(a->import);
    o.model_id = a->model_id;
    const ImportReport r = import_to_file(a->in, a->out, o, {parse_logits_dtype(a->logits_dtype)});
    fmt::print("{}wrote {}\n", format_import_report(r), a->out);
  });
}

}  // namespace moeroute::cli
