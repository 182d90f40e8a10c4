// Plotting on cairo: a figure holds a grid of axes; each axes draws heatmaps, bars, lines and
// histograms with nice ticks, axis labels, a title, a colorbar and a legend. Figures are saved
// as PNG, SVG or PDF, chosen by the file extension, always atomically. See docs/plots.md.
//
// Units: figure coordinates are CSS pixels (1/96 inch), origin top left, y down. A PNG has
// `scale` device pixels per unit; SVG keeps the units as px; PDF maps 96 units to 72 pt.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moeroute::plot {

// ---------------------------------------------------------------------------------------------
// Colours

/// An sRGB colour, components in [0, 1].
struct Color {
  double r = 0;  ///< red
  double g = 0;  ///< green
  double b = 0;  ///< blue
};

/// Parses "#rrggbb". Throws InputError on anything else.
Color hex_color(std::string_view hex);
/// Formats as lowercase "#rrggbb" (components rounded to 8 bits).
std::string to_hex(const Color& color);

/// Perceptually uniform colormaps, as 256-entry tables taken from matplotlib.
enum class Colormap {
  Viridis,   ///< sequential, dark purple → teal → yellow: magnitudes (JSD, counts)
  Coolwarm,  ///< diverging, blue → light grey → red (Moreland): signed data centred on 0
};

/// The colour of `t` in [0, 1] (clamped) with matplotlib's lookup rule: entry
/// min(floor(t · 256), 255). NaN gives kNanColor.
Color colormap_color(Colormap colormap, double t);

/// Heatmap cells whose value is NaN ("no data") are drawn in this neutral mid grey (#808080).
inline constexpr Color kNanColor{128 / 255.0, 128 / 255.0, 128 / 255.0};

/// Colour of the i-th data series: matplotlib's "tab10" cycle (#1f77b4, #ff7f0e, …), repeating.
Color series_color(std::size_t i);

// ---------------------------------------------------------------------------------------------
// Ticks

/// The step between ticks for the range [lo, hi]: the smallest of 1, 2, 5 × 10^k for which at
/// most `max_ticks` multiples of the step fall inside the range. Requires finite lo < hi.
double nice_step(double lo, double hi, int max_ticks);
/// The multiples of nice_step(lo, hi, max_ticks) inside [lo, hi] (ends included).
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);
/// The labels of one axis's ticks, in one format: as many decimals as `step` needs ("0.25", "100",
/// "−0.5"), never "-0"; when the largest |tick| is ≥ 1e6 or the step < 1e-4, scientific notation
/// with the largest tick's exponent for every label ("0", "0.5e-14", "1.0e-14"). Minus is U+2212.
std::vector<std::string> format_ticks(const std::vector<double>& values, double step);
/// format_ticks of one value.
std::string format_tick(double value, double step);
/// How many categories to skip between labels: the smallest stride of 1, 2, 5, 10, 20, 50, …
/// such that stride · pixels_per_category ≥ label_extent, so labels never overlap.
std::size_t category_stride(std::size_t count, double pixels_per_category, double label_extent);

// ---------------------------------------------------------------------------------------------
// Geometry

/// An axis-aligned rectangle in figure units (x, y = top left corner).
struct Rect {
  double x = 0;  ///< left edge
  double y = 0;  ///< top edge
  double w = 0;  ///< width
  double h = 0;  ///< height
};

/// Maps data coordinates linearly to figure coordinates: d0 → p0, d1 → p1.
struct LinearTransform {
  double d0 = 0;  ///< a data value …
  double d1 = 1;  ///< … and another one
  double p0 = 0;  ///< where d0 lands
  double p1 = 1;  ///< where d1 lands
  double operator()(double d) const { return p0 + (d - d0) * (p1 - p0) / (d1 - d0); }
  double inverse(double p) const { return d0 + (p - p0) * (d1 - d0) / (p1 - p0); }
};

// ---------------------------------------------------------------------------------------------
// Plot elements (plain structs; an Axes validates them when they are added)

/// A grid of coloured cells. Cell (r, c) is centred at x = x0 + c, y = r; row 0 is at the top.
/// Label the rows with Axes::set_ycategories (one name per row).
struct HeatmapSpec {
  std::vector<double> values;             ///< rows × cols, row-major; NaN = no data (grey)
  std::size_t rows = 0;                   ///< number of rows (drawn top to bottom)
  std::size_t cols = 0;                   ///< number of columns (drawn left to right)
  double x0 = 0;                          ///< x of the first column (columns are 1 apart)
  Colormap colormap = Colormap::Viridis;  ///< Viridis for magnitudes, Coolwarm for signed data
  std::optional<double> vmin;             ///< colour-scale bottom; unset: data min (Coolwarm: −max|v|)
  std::optional<double> vmax;             ///< colour-scale top; unset: data max (Coolwarm: +max|v|)
  bool colorbar = true;                   ///< draw a colorbar to the right of the axes
  std::string colorbar_label;             ///< text along the colorbar; empty = none
};

/// Vertical bars, one per category at x = 0, 1, …; several BarSpecs in one axes are grouped.
struct BarSpec {
  std::vector<double> heights;  ///< one bar per category; NaN = no bar (marked "n/a")
  std::string label;            ///< legend entry; empty = none
  std::optional<Color> color;   ///< unset: series_color(index of this series)
};

/// A polyline through (x[i], y[i]); NaN in y breaks the line.
struct LineSpec {
  std::vector<double> x;       ///< x values; empty = 0, 1, …, y.size() − 1
  std::vector<double> y;       ///< y values
  std::string label;           ///< legend entry; empty = none
  std::optional<Color> color;  ///< unset: series_color(index of this series)
  double width = 1.75;         ///< stroke width in figure units
  bool markers = false;        ///< draw a dot at every point
};

/// A histogram of samples (NaN samples are ignored; at least one finite sample is required).
struct HistogramSpec {
  std::vector<double> samples;  ///< the data
  int bins = 0;                 ///< number of bins; 0 = automatic (NumPy's "auto": max of Sturges, Freedman–Diaconis)
  std::optional<double> lo;     ///< left edge of the first bin; unset = smallest sample
  std::optional<double> hi;     ///< right edge of the last bin; unset = largest sample
  bool density = false;         ///< scale so the bars integrate to 1 instead of counting
  std::string label;            ///< legend entry; empty = none
  std::optional<Color> color;   ///< unset: series_color(index of this series)
};

/// Binned samples: heights[i] covers [edges[i], edges[i + 1]) (the last bin is closed).
struct Histogram {
  std::vector<double> edges;    ///< bins + 1 increasing edges
  std::vector<double> heights;  ///< count (or density) per bin
};

/// Bins like numpy.histogram(samples, bins, range, density): equal-width bins over [lo, hi]
/// (degenerate ranges widened by ±0.5), samples outside ignored; bins = 0 uses NumPy's "auto".
/// Throws InputError on empty data, no finite samples or a bad range.
Histogram bin_histogram(const HistogramSpec& spec);

namespace detail {
struct AxesData;
}

/// One plotting area with its axes, ticks, labels and elements. Created by a Figure.
class Axes {
 public:
  ~Axes();
  Axes(const Axes&) = delete;
  Axes& operator=(const Axes&) = delete;

  Axes& set_title(std::string title);    ///< bold text above the plot
  Axes& set_xlabel(std::string label);   ///< text below the x tick labels
  Axes& set_ylabel(std::string label);   ///< text left of the y tick labels, reading upwards
  /// Names for x = 0, 1, …: the x axis becomes categorical; labels are thinned (every 2nd, 5th,
  /// 10th, …) or turned vertical so they never overlap. Must match the bar/column count.
  Axes& set_xcategories(std::vector<std::string> names);
  /// Names for y = 0, 1, … (heatmap rows); thinned like set_xcategories.
  Axes& set_ycategories(std::vector<std::string> names);
  Axes& set_xlim(double lo, double hi);  ///< fixes the x range (default: fitted to the data)
  Axes& set_ylim(double lo, double hi);  ///< fixes the y range (default: fitted to the data)
  Axes& set_legend(bool show);           ///< default: a legend when any series has a label
  /// Small-multiples style: an 11 px title and 4 px padding instead of 14 px and 10 px, so many
  /// small axes keep room for their data.
  Axes& set_compact(bool compact = true);

  Axes& heatmap(HeatmapSpec spec);        ///< at most one per axes
  Axes& bars(BarSpec spec);               ///< all bar series need the same length
  Axes& line(LineSpec spec);
  Axes& histogram(HistogramSpec spec);
  /// A histogram binned elsewhere (e.g. from counts): at least one bin, increasing finite edges,
  /// finite non-negative heights. Drawn like histogram().
  Axes& histogram(Histogram binned, std::string label = {}, std::optional<Color> color = {});

  /// The validated contents (an opaque type outside the library; used by the renderer).
  const detail::AxesData& data() const { return *d_; }

 private:
  friend class Figure;
  Axes();
  std::unique_ptr<detail::AxesData> d_;
};

// ---------------------------------------------------------------------------------------------
// Figures

/// Output formats; image_format_for picks one from a file extension.
enum class ImageFormat { Png, Svg, Pdf };

/// ".png" → Png, ".svg" → Svg, ".pdf" → Pdf (case-insensitive). Throws InputError otherwise.
ImageFormat image_format_for(const std::filesystem::path& path);

/// Where an axes' parts land in the figure (figure units), e.g. to locate a cell's pixel.
struct AxesLayout {
  Rect plot;                       ///< the data area
  LinearTransform x;               ///< data x → figure x
  LinearTransform y;               ///< data y → figure y
  Rect colorbar;                   ///< the colour ramp; w = 0 when there is none
  LinearTransform colorbar_value;  ///< heatmap value → figure y along the ramp
  Rect nan_swatch;                 ///< the "NaN" key below the ramp; w = 0 when no cell is NaN
};

/// One entry of a figure-wide key (Figure::set_key).
struct KeyEntry {
  std::string label;  ///< text after the swatch
  Color color;        ///< swatch colour
  bool line = true;   ///< a line swatch (lines); false: a filled box (bars, histograms)
};

/// A canvas of width × height units holding rows × cols axes of equal size, below an optional
/// figure title and key.
class Figure {
 public:
  /// Throws InputError unless width, height ≥ 64, rows, cols ≥ 1 and rows × cols ≤ 256.
  Figure(double width, double height, std::size_t rows = 1, std::size_t cols = 1);
  ~Figure();
  Figure(Figure&&) noexcept;
  Figure& operator=(Figure&&) noexcept;

  double width() const { return width_; }
  double height() const { return height_; }
  /// A bold 15 px title centred above all axes; it takes a 34 px band off the top.
  Figure& set_title(std::string title);
  /// A figure-wide key in one centred row below the title (small multiples whose panels share
  /// their series); it takes a 22 px band.
  Figure& set_key(std::vector<KeyEntry> entries);
  /// The axes in grid cell (row, col). Throws InputError when out of range.
  Axes& axes(std::size_t row = 0, std::size_t col = 0);
  const Axes& axes(std::size_t row = 0, std::size_t col = 0) const;

  /// Computes the layout of one axes (the same that render uses). Throws InputError on
  /// inconsistent specs (category count ≠ bar count, …) or an empty axes.
  AxesLayout layout(std::size_t row = 0, std::size_t col = 0) const;
  /// The encoded file contents. `scale`: PNG pixels per unit (ignored for SVG/PDF), in [0.25, 8].
  std::string render(ImageFormat format, double scale = 2.0) const;
  /// Renders in the format of the path's extension and writes it with write_file_atomic.
  void save(const std::filesystem::path& path, double scale = 2.0) const;

 private:
  double width_;
  double height_;
  std::size_t rows_;
  std::size_t cols_;
  std::string title_;
  std::vector<KeyEntry> key_;
  std::vector<std::unique_ptr<Axes>> axes_;
  double title_top() const;  // height of the title and key bands (0 without either)
};

}  // namespace moeroute::plot
