// The SVG backend: writes SVG 1.1 directly so that text stays <text> (cairo's SVG surface emits
// glyph outlines), heatmap cells stay crisp rectangles and the file is small.
#include <cmath>

#include <fmt/format.h>

#include "canvas.h"
#include "text_encoding.h"

namespace moeroute::plot::detail {

namespace {

// Above this many cells a heatmap is embedded as a pixelated PNG instead of rectangles.
constexpr std::size_t kMaxVectorCells = 16384;  // ≈ 1 MB of <rect>s

std::string num(double v) {
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

class SvgCanvas final : public Canvas {
 public:
  explicit SvgCanvas(std::string& out) : out_(out) {}

  void fill_rect(const Rect& r, const Color& c, double alpha) override {
    out_ += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{}/>)", num(r.x), num(r.y),
                        num(r.w), num(r.h), to_hex(c), alpha < 1 ? fmt::format(R"( fill-opacity="{}")", num(alpha)) : "");
    out_ += '\n';
  }
  void stroke_rect(const Rect& r, const Color& c, double width) override {
    out_ += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="{}"/>)",
                        num(r.x), num(r.y), num(r.w), num(r.h), to_hex(c), num(width));
    out_ += '\n';
  }
  void polyline(const std::vector<Point>& points, const Color& c, double width) override {
    if (points.size() < 2) return;
    out_ += "<polyline points=\"";
    for (const Point& p : points) out_ += num(p.x) + "," + num(p.y) + " ";
    out_.back() = '"';
    out_ += fmt::format(R"( fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round"/>)", to_hex(c), num(width));
    out_ += '\n';
  }
  void dot(const Point& p, double radius, const Color& c) override {
    out_ += fmt::format(R"(<circle cx="{}" cy="{}" r="{}" fill="{}"/>)", num(p.x), num(p.y), num(radius), to_hex(c));
    out_ += '\n';
  }
  void ramp(const Rect& r, Colormap colormap) override {
    const int id = next_id_++;
    out_ += fmt::format(R"(<defs><linearGradient id="ramp{}" x1="0" y1="1" x2="0" y2="0">)", id);
    for (int i = 0; i < 256; ++i)
      out_ += fmt::format(R"(<stop offset="{}" stop-color="{}"/>)", num(i / 255.0),
                          to_hex(colormap_color(colormap, (i + 0.5) / 256)));
    out_ += "</linearGradient></defs>\n";
    out_ += fmt::format(R"x(<rect x="{}" y="{}" width="{}" height="{}" fill="url(#ramp{})"/>)x", num(r.x), num(r.y),
                        num(r.w), num(r.h), id);
    out_ += '\n';
  }
  void cells(const Rect& r, std::size_t rows, std::size_t cols, const std::vector<Color>& colors) override {
    if (rows * cols > kMaxVectorCells) {
      out_ += fmt::format(
          R"(<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" xlink:href="data:image/png;base64,{}"/>)",
          num(r.x), num(r.y), num(r.w), num(r.h), base64(encode_png(cols, rows, colors)));
      out_ += '\n';
      return;
    }
    // Edges from the same formula for neighbours, and each cell reaches 0.5 units under its
    // right and lower neighbours (drawn later, on top), so that no renderer shows seams; runs of
    // one colour in a row become one rectangle.
    auto edge_x = [&](std::size_t c) { return r.x + r.w * static_cast<double>(c) / static_cast<double>(cols); };
    auto edge_y = [&](std::size_t k) { return r.y + r.h * static_cast<double>(k) / static_cast<double>(rows); };
    out_ += "<g shape-rendering=\"crispEdges\">\n";
    for (std::size_t row = 0; row < rows; ++row) {
      for (std::size_t c = 0; c < cols;) {
        const std::string hex = to_hex(colors[row * cols + c]);
        std::size_t end = c + 1;
        while (end < cols && to_hex(colors[row * cols + end]) == hex) ++end;
        out_ += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>)", num(edge_x(c)),
                            num(edge_y(row)), num(edge_x(end) - edge_x(c) + (end < cols ? 0.5 : 0)),
                            num(edge_y(row + 1) - edge_y(row) + (row + 1 < rows ? 0.5 : 0)), hex);
        out_ += '\n';
        c = end;
      }
    }
    out_ += "</g>\n";
  }
  void text(const Point& p, std::string_view s, const Font& font, const Color& c, HAlign h, VAlign v,
            bool vertical) override {
    const std::string clean = sanitize_utf8(s);
    const TextExtent e = measure_text(clean, font);
    const char* anchor = h == HAlign::Left ? "start" : h == HAlign::Center ? "middle" : "end";
    out_ += fmt::format(R"(<text transform="translate({},{}){}" y="{}" text-anchor="{}" font-size="{}"{} fill="{}">{}</text>)",
                        num(p.x), num(p.y), vertical ? " rotate(-90)" : "", num(baseline_offset(v, e)), anchor,
                        num(font.size), font.bold ? R"( font-weight="bold")" : "", to_hex(c), xml_escape(clean));
    out_ += '\n';
  }
  void push_clip(const Rect& r) override {
    const int id = next_id_++;
    out_ += fmt::format(R"(<clipPath id="clip{}"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>)", id,
                        num(r.x), num(r.y), num(r.w), num(r.h));
    out_ += fmt::format("\n<g clip-path=\"url(#clip{})\">\n", id);
  }
  void pop_clip() override { out_ += "</g>\n"; }

 private:
  std::string& out_;
  int next_id_ = 0;
};

}  // namespace

std::string render_svg(double width, double height, const DrawFn& draw) {
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" "
      "width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"{2}, Verdana, Arial, sans-serif\">\n",
      num(width), num(height), kFontFamily);
  SvgCanvas canvas(out);
  draw(canvas);
  out += "</svg>\n";
  return out;
}

}  // namespace moeroute::plot::detail
