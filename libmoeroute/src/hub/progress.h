// What downloads print on stderr: the plan, warnings, and progress (bytes, rate, ETA) as a bar
// redrawn in place on a terminal or as plain periodic lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "moeroute/hub.h"

namespace moeroute::detail {

/// Decimal units as huggingface_hub prints them: "532 B", "12.4 kB", "1.23 GB" (1 GB = 10^9 B).
std::string format_bytes(std::uint64_t bytes);
/// "8s", "5m32s", "2h05m".
std::string format_duration(double seconds);

/// Shows a progress line on `out`: redrawn in place on the current line (`bar`, which sets
/// bar_visible) or printed as a line of its own prefixed "progress: ". Flushes.
void draw_progress_line(std::FILE* out, bool bar, const std::string& line, bool& bar_visible);
/// Erases a bar draw_progress_line left on the current line.
void clear_progress_bar(std::FILE* out, bool& bar_visible);

/// Progress arithmetic on explicit times (seconds on any monotonic clock), for testing.
class ProgressMeter {
 public:
  explicit ProgressMeter(std::uint64_t total = 0) : total_(total) {}
  void set_total(std::uint64_t total) { total_ = total; }
  /// Bytes received at time `now`.
  void received(double now, std::uint64_t bytes);
  /// Bytes already on disk (a resumed partial file): done, but not part of the rate.
  void already_present(std::uint64_t bytes) { done_ += bytes; }
  /// Bytes a retry discarded (the server ignored a Range request, a corrupt partial file).
  void discarded(std::uint64_t bytes) { done_ -= bytes < done_ ? bytes : done_; }
  std::uint64_t done() const { return done_; }
  std::uint64_t total() const { return total_; }
  /// Bytes per second over the last kWindow seconds (0 before two samples).
  double rate(double now) const;
  /// Seconds left at the current rate, if there is one.
  std::optional<double> eta(double now) const;
  /// " 43% 534.2 MB / 1.23 GB  85.3 MB/s  ETA 8s  3/7 files", with a bar of `bar_width`
  /// characters in front when bar_width > 0.
  std::string line(double now, std::size_t files_done, std::size_t files_total, int bar_width) const;

  static constexpr double kWindow = 10;

 private:
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  std::uint64_t received_ = 0;
  std::deque<std::pair<double, std::uint64_t>> samples_;  // (time, total received)
};

/// Thread-safe sink for everything a download prints.
class Reporter {
 public:
  /// `automatic` becomes bar or lines depending on whether `out` is a terminal.
  Reporter(ProgressMode mode, std::FILE* out);
  /// A line of its own (plan, warning, retry): printed unless the mode is none.
  void message(const std::string& text);
  void start(std::uint64_t total_bytes, std::size_t files);
  void received(std::uint64_t bytes);
  void already_present(std::uint64_t bytes);
  void discarded(std::uint64_t bytes);
  void file_done(const std::string& path, std::uint64_t size);
  /// The closing line ("downloaded 1.23 GB in 15s (82.0 MB/s)").
  void finish(std::uint64_t bytes_received);

 private:
  double now() const;
  void draw_locked(bool force);
  void clear_bar_locked();

  ProgressMode mode_;
  std::FILE* out_;
  std::mutex mutex_;
  ProgressMeter meter_;
  std::size_t files_total_ = 0, files_done_ = 0;
  bool started_ = false, bar_visible_ = false;
  double last_draw_ = -1e9;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace moeroute::detail
