#include "hub/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace moeroute::detail {

namespace {
constexpr double kBarInterval = 0.1;   // seconds between redraws of the bar
constexpr double kLineInterval = 2.0;  // seconds between plain progress lines
constexpr int kBarWidth = 24;
}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  static const char* kUnits[] = {"kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes) / 1000;
  int u = 0;
  while (v >= 999.95 && u < 4) {
    v /= 1000;
    ++u;
  }
  return v < 99.995 ? fmt::format("{:.2f} {}", v, kUnits[u]) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

void ProgressMeter::received(double now, std::uint64_t bytes) {
  done_ += bytes;
  received_ += bytes;
  if (samples_.empty()) samples_.emplace_back(now - 1e-9, received_ - bytes);
  // Samples at least 0.1 s apart (the newest one moves forward), none older than needed.
  if (samples_.size() >= 2 && now - samples_[samples_.size() - 2].first < 0.1) samples_.back() = {now, received_};
  else samples_.emplace_back(now, received_);
  while (samples_.size() > 2 && samples_[1].first <= now - kWindow) samples_.pop_front();
}

double ProgressMeter::rate(double now) const {
  if (samples_.size() < 2) return 0;
  const double start = std::max(now - kWindow, samples_.front().first);
  // Bytes received by `start`, interpolated between the samples around it.
  double at_start = static_cast<double>(received_);
  for (std::size_t i = 0; i + 1 < samples_.size(); ++i) {
    const auto& [t0, b0] = samples_[i];
    const auto& [t1, b1] = samples_[i + 1];
    if (start <= t1) {
      const double w = t1 > t0 ? std::clamp((start - t0) / (t1 - t0), 0.0, 1.0) : 1.0;
      at_start = static_cast<double>(b0) + w * static_cast<double>(b1 - b0);
      break;
    }
  }
  const double span = now - start;
  return span > 0 ? (static_cast<double>(received_) - at_start) / span : 0;
}

std::optional<double> ProgressMeter::eta(double now) const {
  const double r = rate(now);
  if (r <= 0 || total_ == 0) return std::nullopt;
  return static_cast<double>(total_ > done_ ? total_ - done_ : 0) / r;
}

std::string ProgressMeter::line(double now, std::size_t files_done, std::size_t files_total, int bar_width) const {
  const double frac = total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
  std::string s;
  if (bar_width > 0) {
    const int full = static_cast<int>(frac * bar_width);
    s = "[" + std::string(static_cast<std::size_t>(full), '#') + std::string(static_cast<std::size_t>(bar_width - full), '.') + "] ";
  }
  s += fmt::format("{:3.0f}% {} / {}", std::floor(frac * 100), format_bytes(done_), format_bytes(total_));
  const double r = rate(now);
  s += r > 0 ? fmt::format("  {}/s", format_bytes(static_cast<std::uint64_t>(r))) : "  -- B/s";
  const auto e = eta(now);
  s += e ? "  ETA " + format_duration(*e) : "  ETA --";
  s += fmt::format("  {}/{} files", files_done, files_total);
  return s;
}

Reporter::Reporter(ProgressMode mode, std::FILE* out) : mode_(mode), out_(out) {
  if (mode_ == ProgressMode::automatic) mode_ = ::isatty(::fileno(out_)) ? ProgressMode::bar : ProgressMode::lines;
}

double Reporter::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void draw_progress_line(std::FILE* out, bool bar, const std::string& line, bool& bar_visible) {
  if (bar) {
    std::fprintf(out, "\r%s\x1b[K", line.c_str());
    bar_visible = true;
  } else {
    std::fprintf(out, "progress: %s\n", line.c_str());
  }
  std::fflush(out);
}

void clear_progress_bar(std::FILE* out, bool& bar_visible) {
  if (bar_visible) std::fputs("\r\x1b[K", out);
  bar_visible = false;
}

void Reporter::clear_bar_locked() { clear_progress_bar(out_, bar_visible_); }

void Reporter::draw_locked(bool force) {
  if (!started_ || (mode_ != ProgressMode::bar && mode_ != ProgressMode::lines)) return;
  const double t = now();
  if (!force && t - last_draw_ < (mode_ == ProgressMode::bar ? kBarInterval : kLineInterval)) return;
  last_draw_ = t;
  const bool bar = mode_ == ProgressMode::bar;
  draw_progress_line(out_, bar, meter_.line(t, files_done_, files_total_, bar ? kBarWidth : 0), bar_visible_);
}

void Reporter::message(const std::string& text) {
  if (mode_ == ProgressMode::none) return;
  std::lock_guard<std::mutex> lock(mutex_);
  clear_bar_locked();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  if (mode_ == ProgressMode::bar) draw_locked(true);
}

void Reporter::start(std::uint64_t total_bytes, std::size_t files) {
  std::lock_guard<std::mutex> lock(mutex_);
  meter_.set_total(total_bytes);
  files_total_ = files;
  started_ = true;
  last_draw_ = now();  // the first line comes after one interval
}

void Reporter::received(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  meter_.received(now(), bytes);
  draw_locked(false);
}

void Reporter::already_present(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  meter_.already_present(bytes);
}

void Reporter::discarded(std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  meter_.discarded(bytes);
}

void Reporter::file_done(const std::string& path, std::uint64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++files_done_;
  if (mode_ == ProgressMode::lines) std::fprintf(out_, "fetched %s (%s)\n", path.c_str(), format_bytes(size).c_str());
  draw_locked(mode_ == ProgressMode::bar);
}

void Reporter::finish(std::uint64_t bytes_received) {
  if (mode_ == ProgressMode::none) return;
  std::lock_guard<std::mutex> lock(mutex_);
  clear_bar_locked();
  const double t = now();
  const double r = t > 0 ? static_cast<double>(bytes_received) / t : 0;
  std::fprintf(out_, "downloaded %s in %s (%s/s)\n", format_bytes(bytes_received).c_str(), format_duration(t).c_str(),
               format_bytes(static_cast<std::uint64_t>(r)).c_str());
  std::fflush(out_);
}

}  // namespace moeroute::detail
