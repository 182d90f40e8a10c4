// What `moeroute dataset` prints: how moeroute reads a dataset — per file its format, label,
// sample count and checksum, the labels, the warnings, and the first samples as the model would
// see them (docs/datasets.md).
#pragma once

#include <string>
#include <vector>

#include "moeroute/dataset.h"

namespace moeroute {

struct DatasetReportOptions {
  std::vector<DatasetFile> files;  ///< the dataset's files, in order
  DatasetOptions dataset;          ///< how they are read
  std::string chat_template = "raw";  ///< template for conversation samples (a built-in name or a file)
  int show = 3;                    ///< samples printed in full (the first ones)
  bool json = false;               ///< JSON instead of text
};

/// Scans the whole dataset (every record is validated) and formats the summary.
std::string dataset_report(const DatasetReportOptions& options);

}  // namespace moeroute
