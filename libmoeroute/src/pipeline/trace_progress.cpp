#include "pipeline/trace_progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hub/progress.h"

namespace moeroute::detail {

namespace {
constexpr double kBarInterval = 0.2;   // seconds between redraws of the bar
constexpr double kLineInterval = 5.0;  // seconds between plain progress lines
constexpr int kBarWidth = 24;
}  // namespace

void TraceProgressMeter::add(double now, int64_t samples, int64_t tokens) {
  samples_ += samples;
  tokens_ += tokens;
  last_ = now;
}

double TraceProgressMeter::tokens_per_second() const {
  return last_ > 0 ? static_cast<double>(tokens_) / last_ : 0.0;
}

std::string TraceProgressMeter::line(int bar_width) const {
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(samples_) / static_cast<double>(total_)) : 1.0;
  std::string s;
  if (bar_width > 0) {
    const auto full = static_cast<size_t>(frac * bar_width);
    s = "[" + std::string(full, '#') + std::string(static_cast<size_t>(bar_width) - full, '.') + "] ";
  }
  s += fmt::format("{}/{} samples ({:.0f}%)  {} tokens", samples_, total_, std::floor(frac * 100), tokens_);
  const double rate = tokens_per_second();
  s += rate > 0 ? fmt::format("  {:.0f} tokens/s", rate) : "  -- tokens/s";
  if (samples_ > 0 && last_ > 0)
    s += "  ETA " + format_duration(last_ / static_cast<double>(samples_) * static_cast<double>(total_ - samples_));
  else
    s += "  ETA --";
  return s;
}

TraceProgressPrinter::TraceProgressPrinter(TraceProgressMode mode, int64_t total_samples, std::FILE* out)
    : mode_(mode), out_(out), meter_(total_samples) {
  if (mode_ == TraceProgressMode::Auto) mode_ = ::isatty(::fileno(out_)) ? TraceProgressMode::Bar : TraceProgressMode::Lines;
}

TraceProgressPrinter::~TraceProgressPrinter() { clear_bar(); }

double TraceProgressPrinter::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void TraceProgressPrinter::clear_bar() { clear_progress_bar(out_, bar_visible_); }

void TraceProgressPrinter::draw(bool force) {
  if (mode_ == TraceProgressMode::None) return;
  const double t = seconds();
  if (!force && t - last_draw_ < (mode_ == TraceProgressMode::Bar ? kBarInterval : kLineInterval)) return;
  last_draw_ = t;
  const bool bar = mode_ == TraceProgressMode::Bar;
  draw_progress_line(out_, bar, meter_.line(bar ? kBarWidth : 0), bar_visible_);
}

void TraceProgressPrinter::message(const std::string& text) {
  if (mode_ == TraceProgressMode::None) return;
  clear_bar();
  std::fprintf(out_, "%s\n", text.c_str());
  if (mode_ == TraceProgressMode::Bar && meter_.samples() > 0) draw(true);
  std::fflush(out_);
}

void TraceProgressPrinter::add(int64_t samples, int64_t tokens) {
  meter_.add(seconds(), samples, tokens);
  draw(false);
}

void TraceProgressPrinter::finish() {
  if (mode_ == TraceProgressMode::Lines && meter_.samples() > 0) draw(true);
  clear_bar();
  std::fflush(out_);
}

}  // namespace moeroute::detail
