// Each subcommand registers itself on the CLI11 app; its callback calls one library function.
#pragma once

namespace CLI {
class App;
}

namespace moeroute::cli {

void add_diff_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_detokenize_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_gif_command(CLI::App& app);
#if MOEROUTE_WITH_TORCH
void add_record_command(CLI::App& app);
void add_compare_command(CLI::App& app);
#endif

}  // namespace moeroute::cli
