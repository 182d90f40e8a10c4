// Each subcommand registers itself on the CLI11 app; its callback calls one library function.
#pragma once

namespace CLI {
class App;
}

namespace moeroute::cli {

void add_diff_command(CLI::App& app);
void add_kde_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_detokenize_command(CLI::App& app);
void add_download_command(CLI::App& app);
void add_cache_command(CLI::App& app);
void add_dataset_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_gate_inputs_command(CLI::App& app);
void add_training_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_gif_command(CLI::App& app);
void add_record_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_compare_command(CLI::App& app);

}  // namespace moeroute::cli
