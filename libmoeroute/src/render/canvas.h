// Drawing backends behind one small interface: cairo (PNG, PDF) and a direct SVG writer (cairo's
// SVG surface turns text into glyph outlines; ours keeps <text> so SVGs stay searchable and
// editable). Text is measured with cairo for both, so layouts are identical.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "moeroute/plot.h"

namespace moeroute::plot::detail {

struct Point {
  double x = 0;
  double y = 0;
};

enum class HAlign { Left, Center, Right };
/// Middle centres capital letters and digits (cap height), which reads as centred.
enum class VAlign { Top, Middle, Baseline, Bottom };

struct Font {
  double size = 10;   ///< em size in figure units
  bool bold = false;  ///< bold weight
};

/// The family everything is set in (fonts-dejavu-core); SVG lists fallbacks after it.
inline constexpr const char* kFontFamily = "DejaVu Sans";

struct TextExtent {
  double width = 0;    ///< advance width
  double ascent = 0;   ///< font ascent above the baseline
  double descent = 0;  ///< font descent below the baseline
  double cap = 0;      ///< cap height (top of "H" above the baseline)
  double height() const { return ascent + descent; }
};

/// Metrics of `text` in `font` (unhinted, so PNG, SVG and PDF agree).
TextExtent measure_text(std::string_view text, const Font& font);
/// Replaces invalid UTF-8 and control characters with U+FFFD so that no backend fails.
std::string sanitize_utf8(std::string_view text);
/// `text` shortened in the middle with "…" until it is at most `max_width` wide.
std::string fit_text(const std::string& text, const Font& font, double max_width);
/// The baseline offset from an anchor for a vertical alignment.
double baseline_offset(VAlign align, const TextExtent& extent);

class Canvas {
 public:
  virtual ~Canvas() = default;
  virtual void fill_rect(const Rect& r, const Color& c, double alpha = 1) = 0;
  virtual void stroke_rect(const Rect& r, const Color& c, double width) = 0;
  /// A polyline (at least two points).
  virtual void polyline(const std::vector<Point>& points, const Color& c, double width) = 0;
  virtual void dot(const Point& centre, double radius, const Color& c) = 0;
  /// A colour ramp filling r, t = 0 at the bottom edge to 1 at the top.
  virtual void ramp(const Rect& r, Colormap colormap) = 0;
  /// rows × cols uniformly sized cells filling r, colours row-major with row 0 on top.
  virtual void cells(const Rect& r, std::size_t rows, std::size_t cols,
                     const std::vector<Color>& colors) = 0;
  /// Text anchored at p; `vertical` rotates it to read bottom to top (alignments then apply in
  /// the rotated frame: HAlign along the text, VAlign across it).
  virtual void text(const Point& p, std::string_view text, const Font& font, const Color& c,
                    HAlign h, VAlign v, bool vertical = false) = 0;
  virtual void push_clip(const Rect& r) = 0;
  virtual void pop_clip() = 0;
};

using DrawFn = std::function<void(Canvas&)>;

/// Renders width × height units with cairo into PNG (scale px per unit) or PDF bytes.
std::string render_cairo(ImageFormat format, double width, double height, double scale, const DrawFn& draw);
/// Renders width × height units as an SVG document.
std::string render_svg(double width, double height, const DrawFn& draw);
/// Encodes an RGB image (row-major colours) as PNG bytes.
std::string encode_png(std::size_t width, std::size_t height, const std::vector<Color>& pixels);

/// 8-bit RGB pixels, row-major, 3 bytes per pixel (the input of the GIF encoder).
struct RgbImage {
  std::size_t width = 0;      ///< pixels per row
  std::size_t height = 0;     ///< rows
  std::vector<unsigned char> rgb;  ///< width · height · 3 bytes
};
/// Renders width × height units with cairo at `scale` px per unit on a white background and
/// returns the pixels (for animation frames).
RgbImage render_cairo_rgb(double width, double height, double scale, const DrawFn& draw);

}  // namespace moeroute::plot::detail
