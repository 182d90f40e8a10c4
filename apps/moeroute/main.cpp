// moeroute CLI entry point: parse arguments, run one subcommand, map exceptions to exit codes
// (docs/cli.md): 0 success, 1 internal error, 2 bad input or usage, 3 filesystem error.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "commands.h"
#include "moeroute/error.h"
#include "moeroute/version.h"

int main(int argc, char** argv) {
  CLI::App app{"moeroute — record, compare and explain how Mixture-of-Experts models route tokens"};
  app.set_version_flag("--version", std::string("moeroute ") + moeroute::kVersion);
  app.require_subcommand(1);
  app.footer("Run 'moeroute <command> --help' for a command's options. Docs: docs/cli.md");
  moeroute::cli::add_diff_command(app);
  moeroute::cli::add_kde_command(app);
  moeroute::cli::add_tokenize_command(app);
  moeroute::cli::add_detokenize_command(app);
  moeroute::cli::add_download_command(app);
  moeroute::cli::add_cache_command(app);
  moeroute::cli::add_dataset_command(app);
  moeroute::cli::add_stats_command(app);
  moeroute::cli::add_export_command(app);
  moeroute::cli::add_merge_command(app);
  moeroute::cli::add_import_command(app);
  moeroute::cli::add_gate_inputs_command(app);
  moeroute::cli::add_training_command(app);
  moeroute::cli::add_report_command(app);
  moeroute::cli::add_simulate_command(app);
  moeroute::cli::add_gif_command(app);
  moeroute::cli::add_compare_command(app);
  moeroute::cli::add_record_command(app);
  moeroute::cli::add_trace_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const moeroute::InputError& e) {
    fmt::print(stderr, "moeroute: error: {}\n", e.what());
    return 2;
  } catch (const moeroute::IoError& e) {
    fmt::print(stderr, "moeroute: error: {}\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moeroute: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}
