#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli_checks.h"
#include "commands.h"
#include "dataset_options.h"
#include "moeroute/dataset_report.h"

namespace moeroute::cli {

void add_dataset_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("dataset", "Show how a dataset is read: samples per file and label, warnings, the first samples");
  struct Args {
    std::vector<std::string> files;
    DatasetArgs dataset;
    std::string chat_template = "raw";
    int show = 3;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("files", a->files, "Dataset files, each PATH or LABEL=PATH (label default: the file name)")->required();
  add_dataset_options(cmd, a->dataset);
  cmd->add_option("--template", a->chat_template,
                  "Chat template for conversation samples: raw, chatml, qwen3, qwen3-nothink, gpt-oss or a file")
      ->capture_default_str();
  cmd->add_option("--show", a->show, "Samples to print")->check(non_negative_number())->capture_default_str();
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a] {
    DatasetReportOptions o;
    o.files = dataset_files(a->files);
    o.dataset = dataset_options(a->dataset);
    o.chat_template = a->chat_template;
    o.show = a->show;
    o.json = a->json;
    const std::string out = dataset_report(o);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace moeroute::cli
