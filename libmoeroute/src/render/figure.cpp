// Figure: a grid of axes, rendered with the cairo or SVG backend and saved atomically.
#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "canvas.h"
#include "draw.h"
#include "layout.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"
#include "style.h"

namespace moeroute::plot {

ImageFormat image_format_for(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (ext == ".png") return ImageFormat::Png;
  if (ext == ".svg") return ImageFormat::Svg;
  if (ext == ".pdf") return ImageFormat::Pdf;
  throw InputError(fmt::format("{}: unsupported plot format '{}' (expected .png, .svg or .pdf)", path.string(), ext));
}

Figure::Figure(double width, double height, std::size_t rows, std::size_t cols)
    : width_(width), height_(height), rows_(rows), cols_(cols) {
  if (!(width >= 64 && height >= 64 && width <= 20000 && height <= 20000))
    throw InputError(fmt::format("plot: figure size {} × {} is outside 64 … 20000 units", width, height));
  if (rows == 0 || cols == 0 || rows * cols > 256)
    throw InputError(fmt::format("plot: a figure needs 1 … 256 axes, got {} × {}", rows, cols));
  for (std::size_t i = 0; i < rows * cols; ++i) axes_.push_back(std::unique_ptr<Axes>(new Axes()));
}

Figure& Figure::set_title(std::string title) {
  title_ = std::move(title);
  return *this;
}

Figure& Figure::set_key(std::vector<KeyEntry> entries) {
  key_ = std::move(entries);
  return *this;
}

double Figure::title_top() const {
  return (title_.empty() ? 0.0 : detail::style::kFigureTitleBand) + (key_.empty() ? 0.0 : detail::style::kFigureKeyBand);
}

Figure::~Figure() = default;
Figure::Figure(Figure&&) noexcept = default;
Figure& Figure::operator=(Figure&&) noexcept = default;

Axes& Figure::axes(std::size_t row, std::size_t col) {
  return const_cast<Axes&>(static_cast<const Figure&>(*this).axes(row, col));
}

const Axes& Figure::axes(std::size_t row, std::size_t col) const {
  if (row >= rows_ || col >= cols_)
    throw InputError(fmt::format("plot: no axes ({}, {}) in a {} × {} figure", row, col, rows_, cols_));
  return *axes_[row * cols_ + col];
}

namespace {

// Grid cell `index` below the title band (when there is a title).
Rect cell_rect(double width, double height, double top, std::size_t rows, std::size_t cols, std::size_t index) {
  const double w = width / static_cast<double>(cols), h = (height - top) / static_cast<double>(rows);
  return {w * static_cast<double>(index % cols), top + h * static_cast<double>(index / cols), w, h};
}

// The key's entries in one row, centred, in the band starting at `top`.
void draw_key(detail::Canvas& c, const std::vector<KeyEntry>& key, double width, double top) {
  using namespace detail::style;
  constexpr double swatch = 18, gap = 6, spacing = 18;
  double total = 0;
  for (const KeyEntry& e : key) total += swatch + gap + detail::measure_text(e.label, kTickFont).width + spacing;
  double x = std::max(kPad, (width - (total - spacing)) / 2);
  const double cy = top + kFigureKeyBand / 2;
  for (const KeyEntry& e : key) {
    if (e.line) c.polyline({{x, cy}, {x + swatch, cy}}, e.color, 2.5);
    else c.fill_rect({x + 2, cy - 5, swatch - 4, 10}, e.color);
    c.text({x + swatch + gap, cy}, e.label, kTickFont, kInk, detail::HAlign::Left, detail::VAlign::Middle);
    x += swatch + gap + detail::measure_text(e.label, kTickFont).width + spacing;
  }
}

}  // namespace

AxesLayout Figure::layout(std::size_t row, std::size_t col) const {
  const detail::Geometry g =
      detail::compute_geometry(axes(row, col).data(), cell_rect(width_, height_, title_top(), rows_, cols_, row * cols_ + col));
  AxesLayout out{g.plot, g.x.map, g.y.map, {}, {}, {}};
  if (g.colorbar) {
    out.colorbar = g.colorbar->ramp;
    out.colorbar_value = g.colorbar->value;
    out.nan_swatch = g.colorbar->nan_swatch;
  }
  return out;
}

std::string Figure::render(ImageFormat format, double scale) const {
  if (!(scale >= 0.25 && scale <= 8)) throw InputError(fmt::format("plot: scale {} is outside 0.25 … 8", scale));
  if (std::all_of(axes_.begin(), axes_.end(), [](const auto& a) { return a->data().empty(); }))
    throw InputError("plot: the figure has nothing to draw (add a heatmap, bars, a line or a histogram)");
  // Lay out everything first, so that bad specs throw before any backend starts.
  std::vector<detail::Geometry> geometry;
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (!axes_[i]->data().empty())
      geometry.push_back(detail::compute_geometry(axes_[i]->data(), cell_rect(width_, height_, title_top(), rows_, cols_, i)));
    else
      geometry.emplace_back();  // an unused grid cell stays blank
  const detail::DrawFn draw = [&](detail::Canvas& canvas) {
    canvas.fill_rect({0, 0, width_, height_}, detail::style::kWhite);
    if (!title_.empty()) {
      const auto [text, x] = detail::place_text(title_, detail::style::kFigureTitleFont, width_ / 2, detail::style::kPad,
                                                width_ - detail::style::kPad);
      canvas.text({x, detail::style::kFigureTitleBand / 2 + 4}, text, detail::style::kFigureTitleFont,
                  detail::style::kInk, detail::HAlign::Center, detail::VAlign::Middle);
    }
    if (!key_.empty()) draw_key(canvas, key_, width_, title_.empty() ? 0.0 : detail::style::kFigureTitleBand);
    for (std::size_t i = 0; i < axes_.size(); ++i)
      if (!axes_[i]->data().empty()) detail::draw_axes(canvas, axes_[i]->data(), geometry[i]);
  };
  if (format == ImageFormat::Svg) return detail::render_svg(width_, height_, draw);
  return detail::render_cairo(format, width_, height_, scale, draw);
}

void Figure::save(const std::filesystem::path& path, double scale) const {
  const ImageFormat format = image_format_for(path);
  write_file_atomic(path, render(format, scale));
}

}  // namespace moeroute::plot
