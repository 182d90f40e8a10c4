// The dataset-reading options shared by the commands that read datasets (dataset; trace).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moeroute/dataset.h"

namespace CLI {
class App;
}

namespace moeroute::cli {

struct DatasetArgs {
  std::string format = "auto";
  std::string text_field = "text";
  std::string messages_field = "messages";
  std::string label_field;
  std::string csv_column = "text";
  std::string text_unit = "line";
  int64_t max_samples = 0;
};

/// Adds --format, --text-field, --messages-field, --label-field, --csv-column, --text-unit and
/// --max-samples (the files themselves are each command's own arguments).
void add_dataset_options(CLI::App* cmd, DatasetArgs& args);

DatasetOptions dataset_options(const DatasetArgs& args);
/// "LABEL=PATH" / "PATH" arguments as files.
std::vector<DatasetFile> dataset_files(const std::vector<std::string>& args);

}  // namespace moeroute::cli
