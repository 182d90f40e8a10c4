#include "moeroute/dataset.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/csv_reader.h"
#include "io/json_input.h"
#include "io/line_reader.h"
#include "io/xxhash64.h"
#include "moeroute/error.h"
#include "tokenizer/utf8.h"

namespace moeroute {

namespace fs = std::filesystem;

std::string to_string(DatasetFormat f) {
  switch (f) {
    case DatasetFormat::Jsonl: return "jsonl";
    case DatasetFormat::Text: return "text";
    case DatasetFormat::Csv: return "csv";
    default: return "auto";
  }
}

DatasetFormat parse_dataset_format(const std::string& name) {
  for (DatasetFormat f : {DatasetFormat::Auto, DatasetFormat::Jsonl, DatasetFormat::Text, DatasetFormat::Csv})
    if (name == to_string(f)) return f;
  throw InputError(fmt::format("dataset format '{}' is not one of: auto, jsonl, text, csv", name));
}

std::string to_string(TextUnit u) { return u == TextUnit::Paragraph ? "paragraph" : "line"; }

TextUnit parse_text_unit(const std::string& name) {
  if (name == "line") return TextUnit::Line;
  if (name == "paragraph") return TextUnit::Paragraph;
  throw InputError(fmt::format("text unit '{}' is not one of: line, paragraph", name));
}

DatasetFile parse_dataset_file(const std::string& arg) {
  std::error_code ec;
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || fs::exists(arg, ec)) return {arg, ""};
  return {arg.substr(eq + 1), arg.substr(0, eq)};
}

std::string sample_text(const DatasetSample& sample, const ChatTemplate& chat, const ChatTemplateOptions& options) {
  if (sample.messages.empty()) return sample.text;
  return chat.render_conversation(sample.messages, options, sample.origin);
}

namespace {

DatasetFormat format_of(const fs::path& path, DatasetFormat requested) {
  if (requested != DatasetFormat::Auto) return requested;
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".jsonl" || ext == ".ndjson") return DatasetFormat::Jsonl;
  if (ext == ".csv") return DatasetFormat::Csv;
  return DatasetFormat::Text;
}

std::string default_label(const DatasetFile& f) {
  if (!f.label.empty()) return f.label;
  return f.path.stem().string();
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; });
}

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = detail::utf8_sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

// Line numbers of skipped records, listed in the warning (the first few).
struct Skipped {
  explicit Skipped(const char* w) : what(w) {}
  const char* what;
  std::vector<std::int64_t> lines;
  std::int64_t count = 0;
  void add(std::int64_t line) {
    if (lines.size() < 10) lines.push_back(line);
    ++count;
  }
  std::string describe() const {
    return fmt::format("{} {} ({}{})", count, what, fmt::join(lines, ", "), count > 10 ? ", …" : "");
  }
};

}  // namespace

struct DatasetReader::Impl {
  std::vector<DatasetFile> files;
  DatasetOptions options;
  std::vector<std::string> warnings;

  std::size_t next_file = 0;
  std::int64_t next_index = 0;
  // The file being read.
  std::optional<detail::LineReader> lines;
  std::optional<detail::CsvReader> csv;
  DatasetFormat format = DatasetFormat::Text;
  std::string label;
  std::int64_t taken = 0;
  Skipped blank_lines{"blank lines"};
  Skipped empty_texts{"records with empty text"};
  std::size_t csv_text = 0;
  std::optional<std::size_t> csv_label;
  std::size_t csv_width = 0;
  std::string line;
  std::vector<std::string> fields;

  const std::string& path() const { return lines->name(); }

  void check_utf8(std::string_view text, std::int64_t line_number, std::size_t column_base = 0) const {
    const std::size_t bad = invalid_utf8_at(text);
    if (bad != std::string_view::npos)
      throw InputError(fmt::format("{}:{}:{}: invalid UTF-8 (byte 0x{:02x}); datasets must be UTF-8 text", path(),
                                   line_number, column_base + bad + 1, static_cast<unsigned char>(text[bad])));
  }

  void open(const DatasetFile& f) {
    lines.emplace(f.path.string());
    csv.reset();
    format = format_of(f.path, options.format);
    label = default_label(f);
    if (label.empty()) throw InputError(fmt::format("{}: the dataset label is empty", f.path.string()));
    taken = 0;
    blank_lines = Skipped("blank lines");
    empty_texts = Skipped("records with empty text");
    if (format == DatasetFormat::Csv) open_csv();
  }

  void open_csv() {
    csv.emplace(*lines);
    if (!csv->next(fields)) throw InputError(fmt::format("{}: empty CSV file (expected a header row)", path()));
    csv_width = fields.size();
    auto column = [&](const std::string& name, const char* option) {
      const auto it = std::find(fields.begin(), fields.end(), name);
      if (it == fields.end())
        throw InputError(fmt::format("{}:{}: the header has no column '{}' (columns: {}; choose one with {})", path(),
                                     csv->record_line(), name, fmt::join(fields, ", "), option));
      return static_cast<std::size_t>(it - fields.begin());
    };
    csv_text = column(options.csv_column, "--csv-column");
    csv_label.reset();
    if (!options.label_field.empty()) csv_label = column(options.label_field, "--label-field");
  }

  void finish_file() {
    std::vector<std::string> parts;
    if (blank_lines.count > 0) parts.push_back(blank_lines.describe());
    if (empty_texts.count > 0) parts.push_back(empty_texts.describe());
    if (!parts.empty()) warnings.push_back(fmt::format("{}: skipped {}", path(), fmt::join(parts, "; ")));
    if (taken == 0)
      throw InputError(fmt::format("{}: no samples (read as {}; check --format and the text field or column)", path(),
                                   to_string(format)));
    lines.reset();
    csv.reset();
  }

  // Reads the next record of the open file into `s`; false at its end.
  bool read(DatasetSample& s) {
    switch (format) {
      case DatasetFormat::Jsonl: return read_jsonl(s);
      case DatasetFormat::Csv: return read_csv(s);
      default: return options.text_unit == TextUnit::Paragraph ? read_paragraph(s) : read_line(s);
    }
  }

  bool read_line(DatasetSample& s) {
    while (lines->next(line)) {
      check_utf8(line, lines->line_number());
      if (blank(line)) {
        blank_lines.add(lines->line_number());
        continue;
      }
      s.text = line;
      s.origin = fmt::format("{}:{}", path(), lines->line_number());
      return true;
    }
    return false;
  }

  bool read_paragraph(DatasetSample& s) {
    s.text.clear();
    while (lines->next(line)) {
      check_utf8(line, lines->line_number());
      if (blank(line)) {
        if (!s.text.empty()) return true;
        continue;
      }
      if (s.text.empty()) s.origin = fmt::format("{}:{}", path(), lines->line_number());
      else s.text += '\n';
      s.text += line;
    }
    return !s.text.empty();
  }

  // The member at a dotted path ("a.b"), or nullopt when some step is absent or null.
  static std::optional<detail::JsonField> member_at(const detail::JsonField& record, const std::string& dotted) {
    if (record.has(dotted)) return record.at(dotted);
    std::optional<detail::JsonField> cur = record;
    std::size_t begin = 0;
    while (cur) {
      const std::size_t dot = dotted.find('.', begin);
      const std::string key = dotted.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
      cur = cur->is_object() ? cur->get(key) : std::nullopt;
      if (dot == std::string::npos) return cur;
      begin = dot + 1;
    }
    return std::nullopt;
  }

  std::vector<ChatMessage> read_messages(const detail::JsonField& list) const {
    std::vector<ChatMessage> out;
    if (list.size() == 0) list.fail("expected a non-empty list of messages {role, content}");
    for (const detail::JsonField& m : list.elements()) {
      m.expect_object("a message {role, content}");
      ChatMessage msg{m.at("role").one_of({"system", "user", "assistant"}), m.at("content").string()};
      check_utf8(msg.content, lines->line_number());
      out.push_back(std::move(msg));
    }
    return out;
  }

  bool read_jsonl(DatasetSample& s) {
    while (lines->next(line)) {
      const std::int64_t n = lines->line_number();
      check_utf8(line, n);
      if (blank(line)) {
        blank_lines.add(n);
        continue;
      }
      const detail::JsonField record = detail::parse_json(line, path(), static_cast<std::size_t>(n));
      record.expect_object("a JSON Lines record");
      s.origin = fmt::format("{}:{}", path(), n);
      s.messages.clear();
      s.text.clear();
      if (const auto text = member_at(record, options.text_field)) {
        s.text = text->string();
        if (blank(s.text) || s.text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
          empty_texts.add(n);
          continue;
        }
      } else if (const auto messages = member_at(record, options.messages_field)) {
        s.messages = read_messages(*messages);
      } else {
        throw InputError(fmt::format("{}:{}: record has neither '{}' nor '{}' (its fields: {}; choose with "
                                     "--text-field or --messages-field)",
                                     path(), n, options.text_field, options.messages_field,
                                     fmt::join(record.keys(), ", ")));
      }
      s.label = label;
      if (!options.label_field.empty()) {
        s.label = record.at(options.label_field).string();
        if (s.label.empty()) record.at(options.label_field).fail("expected a non-empty label");
      }
      return true;
    }
    return false;
  }

  bool read_csv(DatasetSample& s) {
    while (csv->next(fields)) {
      const std::int64_t n = csv->record_line();
      if (fields.size() == 1 && fields[0].empty()) {
        blank_lines.add(n);
        continue;
      }
      if (fields.size() != csv_width)
        throw InputError(fmt::format("{}:{}: row has {} fields, the header has {}", path(), n, fields.size(), csv_width));
      for (const std::string& f : fields) check_utf8(f, n);
      if (fields[csv_text].find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
        empty_texts.add(n);
        continue;
      }
      s.text = fields[csv_text];
      s.messages.clear();
      s.origin = fmt::format("{}:{}", path(), n);
      s.label = label;
      if (csv_label) {
        s.label = fields[*csv_label];
        if (s.label.empty()) throw InputError(fmt::format("{}:{}: the label column '{}' is empty", path(), n, options.label_field));
      }
      return true;
    }
    return false;
  }
};

DatasetReader::DatasetReader(std::vector<DatasetFile> files, DatasetOptions options) : impl_(std::make_unique<Impl>()) {
  if (files.empty()) throw InputError("no dataset files given");
  if (options.max_samples < 0) throw InputError(fmt::format("max samples must be ≥ 0, got {}", options.max_samples));
  impl_->files = std::move(files);
  impl_->options = std::move(options);
}

DatasetReader::~DatasetReader() = default;

const std::vector<std::string>& DatasetReader::warnings() const { return impl_->warnings; }

bool DatasetReader::next(DatasetSample& sample) {
  Impl& d = *impl_;
  while (true) {
    if (!d.lines) {
      if (d.next_file >= d.files.size()) return false;
      d.open(d.files[d.next_file++]);
    }
    const bool full = d.options.max_samples > 0 && d.taken >= d.options.max_samples;
    if (!full && d.read(sample)) {
      sample.index = d.next_index++;
      sample.file = d.next_file - 1;
      if (d.format != DatasetFormat::Jsonl && !d.csv_label) sample.label = d.label;
      ++d.taken;
      return true;
    }
    d.finish_file();
  }
}

DatasetSummary scan_dataset(const std::vector<DatasetFile>& files, const DatasetOptions& options) {
  DatasetSummary summary;
  DatasetReader reader(files, options);
  DatasetSample s;
  std::vector<std::int64_t> counts(files.size(), 0);
  for (const DatasetFile& f : files) {
    DatasetFileSummary entry;
    entry.path = f.path.string();
    entry.label = default_label(f);
    entry.format = format_of(f.path, options.format);
    std::error_code ec;
    entry.bytes = fs::file_size(f.path, ec);
    summary.files.push_back(std::move(entry));
  }
  while (reader.next(s)) {
    ++counts[s.file];
    if (std::find(summary.labels.begin(), summary.labels.end(), s.label) == summary.labels.end())
      summary.labels.push_back(s.label);
  }
  std::int64_t first = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    summary.files[i].first_sample = first;
    summary.files[i].num_samples = counts[i];
    summary.files[i].xxh64 = detail::xxh64_hex(detail::xxh64_file(summary.files[i].path));
    first += counts[i];
  }
  summary.num_samples = first;
  summary.warnings = reader.warnings();
  return summary;
}

}  // namespace moeroute
