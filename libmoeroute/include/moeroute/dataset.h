// Dataset input for tracing whole datasets: samples read from JSON Lines (a text field, or a
// chat-style `messages` list), plain text (a sample per line or per blank-line-separated
// paragraph) or CSV (a text column), each labelled with its dataset for per-dataset statistics.
// Files are streamed (memory is one record). Formats, options and errors: docs/datasets.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "moeroute/chat_template.h"

namespace moeroute {

enum class DatasetFormat {
  Auto,   ///< by extension: .jsonl/.ndjson → Jsonl, .csv → Csv, anything else → Text
  Jsonl,  ///< one JSON object per line
  Text,   ///< plain UTF-8 text
  Csv,    ///< RFC 4180 with a header row
};
/// "auto", "jsonl", "text", "csv".
std::string to_string(DatasetFormat f);
/// Inverse of to_string; throws InputError listing the names.
DatasetFormat parse_dataset_format(const std::string& name);

/// What one plain-text sample is.
enum class TextUnit {
  Line,       ///< each non-empty line
  Paragraph,  ///< each run of non-blank lines, joined with "\n"
};
/// "line", "paragraph".
std::string to_string(TextUnit u);
TextUnit parse_text_unit(const std::string& name);

/// One input file and the label its samples carry.
struct DatasetFile {
  std::filesystem::path path;
  std::string label;  ///< dataset label ("" = the file name without its extension)
};

/// "LABEL=PATH" or "PATH" (a command-line argument). An argument that names an existing file is
/// a path even if it contains '='.
DatasetFile parse_dataset_file(const std::string& arg);

struct DatasetOptions {
  DatasetFormat format = DatasetFormat::Auto;  ///< the format of every file (Auto: by each file's extension)
  std::string text_field = "text";             ///< JSONL: member holding the text ("a.b" reaches into objects)
  std::string messages_field = "messages";     ///< JSONL: member holding a conversation, used where the text field is absent
  std::string label_field;                     ///< JSONL member / CSV column with a per-record label ("" = the file's label)
  std::string csv_column = "text";             ///< CSV: header name of the text column
  TextUnit text_unit = TextUnit::Line;         ///< plain text: a sample per line or per paragraph
  int64_t max_samples = 0;                     ///< samples taken from each file, in file order (0 = all)
};

/// One sample: a text, or a conversation that a chat template turns into text (sample_text).
struct DatasetSample {
  int64_t index = 0;                  ///< position in the whole dataset: 0-based over all files in order
  std::string label;                  ///< dataset (or per-record) label
  std::string text;                   ///< the text; empty when `messages` holds a conversation
  std::vector<ChatMessage> messages;  ///< the conversation of a JSONL `messages` record, else empty
  std::string origin;                 ///< "file:line" where the sample starts
  std::size_t file = 0;               ///< index of its file in the reader's list
};

/// The text a model is run on: `text`, or the conversation rendered by `chat`
/// (ChatTemplate::render_conversation).
std::string sample_text(const DatasetSample& sample, const ChatTemplate& chat, const ChatTemplateOptions& options = {});

/// Streams the samples of several files in order. Bad input throws InputError naming file:line
/// (and column or field); skipped records are reported in warnings().
class DatasetReader {
 public:
  DatasetReader(std::vector<DatasetFile> files, DatasetOptions options);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  /// The next sample; false after the last one.
  bool next(DatasetSample& sample);
  /// One line per file that had skipped records ("f.jsonl: skipped 2 blank lines (3, 9)"), added
  /// when the reader finishes that file.
  const std::vector<std::string>& warnings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct DatasetFileSummary {
  std::string path;           ///< as given
  std::string label;          ///< the file's label
  DatasetFormat format = DatasetFormat::Text;  ///< the format it was read as (never Auto)
  int64_t first_sample = 0;   ///< index of its first sample in the dataset
  int64_t num_samples = 0;    ///< samples taken from it
  uint64_t bytes = 0;         ///< file size
  std::string xxh64;          ///< XXH64 of the whole file (16 hex digits)
};

/// What a whole pass over the dataset found: per file counts and checksums, the labels in order
/// of appearance, and the warnings. Used to plan shards and to recognise the same dataset when
/// a run is resumed.
struct DatasetSummary {
  std::vector<DatasetFileSummary> files;
  int64_t num_samples = 0;
  std::vector<std::string> labels;
  std::vector<std::string> warnings;
};

/// Reads every file once (validating every record, as DatasetReader does). A file without any
/// sample is an InputError (wrong --format or field, most likely).
DatasetSummary scan_dataset(const std::vector<DatasetFile>& files, const DatasetOptions& options);

}  // namespace moeroute
