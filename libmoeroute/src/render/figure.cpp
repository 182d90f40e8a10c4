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
  if (rows == 0 || cols == 0 || rows * cols > 64)
    throw InputError(fmt::format("plot: a figure needs 1 … 64 axes, got {} × {}", rows, cols));
  for (std::size_t i = 0; i < rows * cols; ++i) axes_.push_back(std::unique_ptr<Axes>(new Axes()));
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

Rect cell_rect(double width, double height, std::size_t rows, std::size_t cols, std::size_t index) {
  const double w = width / static_cast<double>(cols), h = height / static_cast<double>(rows);
  return {w * static_cast<double>(index % cols), h * static_cast<double>(index / cols), w, h};
}

}  // namespace

AxesLayout Figure::layout(std::size_t row, std::size_t col) const {
  const detail::Geometry g =
      detail::compute_geometry(axes(row, col).data(), cell_rect(width_, height_, rows_, cols_, row * cols_ + col));
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
      geometry.push_back(detail::compute_geometry(axes_[i]->data(), cell_rect(width_, height_, rows_, cols_, i)));
    else
      geometry.emplace_back();  // an unused grid cell stays blank
  const detail::DrawFn draw = [&](detail::Canvas& canvas) {
    canvas.fill_rect({0, 0, width_, height_}, detail::style::kWhite);
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
