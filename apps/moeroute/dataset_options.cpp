#include "dataset_options.h"

#include <CLI/CLI.hpp>

#include "cli_checks.h"

namespace moeroute::cli {

void add_dataset_options(CLI::App* cmd, DatasetArgs& a) {
  cmd->add_option("--format", a.format, "Dataset format: auto (by extension: .jsonl, .csv, else text), jsonl, text, csv")
      ->check(CLI::IsMember({"auto", "jsonl", "text", "csv"}))
      ->capture_default_str();
  cmd->add_option("--text-field", a.text_field, "JSONL: the member holding the text ('a.b' reaches into objects)")
      ->capture_default_str();
  cmd->add_option("--messages-field", a.messages_field,
                  "JSONL: the member holding a chat conversation [{role, content}], used where the text field is absent")
      ->capture_default_str();
  cmd->add_option("--label-field", a.label_field,
                  "JSONL member or CSV column with a per-record dataset label (default: the file's label)");
  cmd->add_option("--csv-column", a.csv_column, "CSV: the header name of the text column")->capture_default_str();
  cmd->add_option("--text-unit", a.text_unit, "Plain text: a sample per line, or per blank-line-separated paragraph")
      ->check(CLI::IsMember({"line", "paragraph"}))
      ->capture_default_str();
  cmd->add_option("--max-samples", a.max_samples, "Samples taken from each file, in file order (0 = all)")
      ->check(non_negative_number())
      ->capture_default_str();
}

DatasetOptions dataset_options(const DatasetArgs& a) {
  DatasetOptions o;
  o.format = parse_dataset_format(a.format);
  o.text_field = a.text_field;
  o.messages_field = a.messages_field;
  o.label_field = a.label_field;
  o.csv_column = a.csv_column;
  o.text_unit = parse_text_unit(a.text_unit);
  o.max_samples = a.max_samples;
  return o;
}

std::vector<DatasetFile> dataset_files(const std::vector<std::string>& args) {
  std::vector<DatasetFile> files;
  for (const std::string& a : args) files.push_back(parse_dataset_file(a));
  return files;
}

}  // namespace moeroute::cli
