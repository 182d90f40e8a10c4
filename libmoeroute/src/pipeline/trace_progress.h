// What `trace` prints on stderr while it runs: samples done, tokens per second and the time left,
// as a bar redrawn in place on a terminal or as a plain line every few seconds otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "moeroute/trace_run.h"

namespace moeroute::detail {

/// Progress arithmetic on explicit times (seconds since the start), for testing.
class TraceProgressMeter {
 public:
  explicit TraceProgressMeter(int64_t total_samples) : total_(total_samples) {}
  /// `samples` more samples of `tokens` tokens in all are done at time `now`.
  void add(double now, int64_t samples, int64_t tokens);
  int64_t samples() const { return samples_; }
  int64_t tokens() const { return tokens_; }
  /// Tokens per second since the start (0 before the first batch).
  double tokens_per_second() const;
  /// "37/120 samples (30%)  4810 tokens  1523 tokens/s  ETA 1m02s": the ETA is the samples
  /// left at the mean time per sample so far. A bar of `bar_width` characters leads when > 0.
  std::string line(int bar_width) const;

 private:
  int64_t total_;
  int64_t samples_ = 0, tokens_ = 0;
  double last_ = 0;  // time of the last add
};

/// Prints the meter's line on `out` as the mode says.
class TraceProgressPrinter {
 public:
  TraceProgressPrinter(TraceProgressMode mode, int64_t total_samples, std::FILE* out = stderr);
  ~TraceProgressPrinter();
  TraceProgressPrinter(const TraceProgressPrinter&) = delete;
  TraceProgressPrinter& operator=(const TraceProgressPrinter&) = delete;

  /// A line of its own (a warning), printed above the bar.
  void message(const std::string& text);
  void add(int64_t samples, int64_t tokens);
  /// Clears the bar; the caller prints its summary.
  void finish();
  double seconds() const;
  const TraceProgressMeter& meter() const { return meter_; }

 private:
  void draw(bool force);
  void clear_bar();

  TraceProgressMode mode_;
  std::FILE* out_;
  TraceProgressMeter meter_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  double last_draw_ = 0;
  bool bar_visible_ = false;
};

}  // namespace moeroute::detail
