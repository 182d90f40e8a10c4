// The seed's training log (JSON Lines) and router affinity CSV (docs/training.md, "Inputs").
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "io/json_input.h"
#include "io/json_lines.h"
#include "io/line_reader.h"
#include "moeroute/error.h"
#include "moeroute/training.h"

namespace moeroute {

bool TrainingLog::has(double TrainingRecord::*field) const {
  for (const auto& r : records)
    if (!std::isnan(r.*field)) return true;
  return false;
}

namespace {

double optional_number(const detail::JsonField& f, const char* key, double lo, double hi) {
  return f.has(key) ? f.at(key).number(lo, hi) : std::nan("");
}

TrainingRecord parse_record(const detail::JsonField& rec, int64_t line, const TrainingReadOptions& o,
                            const TrainingLog& log) {
  rec.expect_object("a training log record");
  TrainingRecord r;
  r.line = line;
  r.epoch = rec.at("epoch").number();
  if (!log.records.empty() && !(r.epoch > log.records.back().epoch))
    rec.at("epoch").fail(fmt::format("epoch {} does not follow epoch {} of line {}: epochs must increase", r.epoch,
                                     log.records.back().epoch, log.records.back().line));
  r.routing_acc = optional_number(rec, "routing_acc", 0, 1);
  r.entropy = optional_number(rec, "entropy", 0, 1e9);
  if (rec.has("metrics")) {
    const auto m = rec.at("metrics");
    m.expect_object("metrics {accuracy, loss}");
    r.accuracy = optional_number(m, "accuracy", 0, 1);
    r.loss = optional_number(m, "loss", -1e300, 1e300);
  }
  if (rec.has("utilization")) {
    const auto u = rec.at("utilization");
    const double hi = o.utilization_percent ? 100 : 1;
    for (size_t i = 0; i < u.size(); ++i) {
      const auto e = u.at(i);
      if (!o.utilization_percent && e.json().is_number() && e.json().get<double>() > 1 && e.json().get<double>() <= 100)
        e.fail(fmt::format("utilization {} is above 1: percentages need --utilization-percent", e.json().dump()));
      r.utilization.push_back(e.number(0, hi) / (o.utilization_percent ? 100.0 : 1.0));
    }
    if (r.utilization.empty()) u.fail("utilization is empty");
    if (log.num_experts > 0 && static_cast<int>(r.utilization.size()) != log.num_experts)
      u.fail(fmt::format("has {} experts but earlier lines have {} (ragged utilization)", r.utilization.size(),
                         log.num_experts));
  }
  return r;
}

}  // namespace

TrainingLog read_training_log(const std::filesystem::path& path, const TrainingReadOptions& o) {
  TrainingLog log;
  detail::for_each_json_line(
      path,
      [&](const detail::JsonField& rec, int64_t line) {
        TrainingRecord r = parse_record(rec, line, o, log);
        if (!r.utilization.empty() && log.num_experts == 0) log.num_experts = static_cast<int>(r.utilization.size());
        log.records.push_back(std::move(r));
      },
      [&](const InputError& e) {
        if (!o.skip_bad_lines) throw e;
        if (log.bad_lines++ == 0) log.first_bad = e.what();
      });
  if (log.records.empty())
    throw InputError(fmt::format("{}: every line was bad; the first: {}", path.string(), log.first_bad));
  return log;
}

namespace {

// Splits one CSV record (RFC 4180 quoting, no embedded newlines); `starts` receives each field's
// column (1-based).
std::vector<std::string> split_csv(std::string_view line, std::vector<size_t>& starts, const std::string& where) {
  std::vector<std::string> out;
  starts.clear();
  size_t i = 0;
  while (true) {
    starts.push_back(i + 1);
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) throw InputError(fmt::format("{}:{}: unterminated quoted field", where, starts.back()));
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    out.push_back(std::move(field));
    if (i >= line.size()) break;
    if (line[i] != ',') throw InputError(fmt::format("{}:{}: expected ',' after a quoted field", where, i + 1));
    ++i;
  }
  return out;
}

bool parse_double(const std::string& s, double& v) {
  size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  if (b == std::string::npos) return false;
  const char* first = s.data() + b;
  const char* last = s.data() + e + 1;
  if (*first == '+') ++first;
  const auto [p, ec] = std::from_chars(first, last, v);
  return ec == std::errc() && p == last;
}

}  // namespace

AffinityMatrix read_affinity_csv(const std::filesystem::path& path) {
  detail::LineReader in(path);
  AffinityMatrix m;
  std::string_view line;
  std::vector<size_t> cols;
  bool first = true, index_column = false;
  size_t width = 0;
  while (in.next(line)) {
    if (line.empty()) continue;
    const std::string where = in.where();
    auto fields = split_csv(line, cols, where);
    double v = 0;
    if (first) {
      first = false;
      bool numeric = true;
      for (size_t i = 0; i < fields.size(); ++i) numeric = numeric && parse_double(fields[i], v);
      if (!numeric) {  // a header row
        index_column = fields[0].empty() || fields[0] == "Unnamed: 0" || !parse_double(fields[0], v);
        m.col_labels.assign(fields.begin() + (index_column ? 1 : 0), fields.end());
        width = fields.size();
        continue;
      }
    }
    if (width == 0) width = fields.size();
    if (fields.size() != width)
      throw InputError(fmt::format("{}: {} fields, but {} has {} (ragged rows)", where, fields.size(),
                                   m.col_labels.empty() ? "the first row" : "the header", width));
    size_t start = 0;
    if (!index_column && !parse_double(fields[0], v) && m.rows == 0) index_column = true;
    if (index_column) {
      m.row_labels.push_back(fields[0]);
      start = 1;
    }
    for (size_t i = start; i < fields.size(); ++i) {
      if (!parse_double(fields[i], v))
        throw InputError(fmt::format("{}:{}: expected a number, got '{}'", where, cols[i], fields[i].substr(0, 30)));
      if (!std::isfinite(v)) throw InputError(fmt::format("{}:{}: value {} is not finite", where, cols[i], fields[i]));
      m.values.push_back(v);
    }
    ++m.rows;
  }
  if (m.rows == 0) throw InputError(fmt::format("{}: {}", in.name(), in.bytes_read() == 0 ? "the file is empty" : "no data rows"));
  m.cols = width - (index_column ? 1 : 0);
  if (m.cols == 0) throw InputError(fmt::format("{}: no value columns", in.name()));
  if (m.col_labels.empty())
    for (size_t c = 0; c < m.cols; ++c) m.col_labels.push_back(std::to_string(c));
  if (m.row_labels.empty())
    for (size_t r = 0; r < m.rows; ++r) m.row_labels.push_back(std::to_string(r));
  return m;
}

}  // namespace moeroute
