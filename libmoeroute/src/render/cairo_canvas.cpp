// The cairo backend: PNG through an image surface, PDF through a stream surface.
#include <cairo-pdf.h>
#include <cairo.h>

#include <cmath>

#include <fmt/format.h>

#include "cairo_font.h"
#include "canvas.h"
#include "moeroute/error.h"

namespace moeroute::plot::detail {

namespace {

constexpr double kPi = 3.14159265358979323846;

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void check(cairo_status_t status, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS)
    throw IoError(fmt::format("plot: cairo failed to {}: {}", what, cairo_status_to_string(status)));
}

// Owns a cairo image surface holding an RGB picture (one pixel per colour).
struct ImageSurface {
  cairo_surface_t* surface;
  ImageSurface(std::size_t width, std::size_t height, const std::vector<Color>& pixels)
      : surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width), static_cast<int>(height))) {
    check(cairo_surface_status(surface), "create an image");
    cairo_surface_flush(surface);
    unsigned char* data = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    auto byte = [](double v) { return static_cast<uint32_t>(std::lround(std::fmin(std::fmax(v, 0.0), 1.0) * 255)); };
    for (std::size_t y = 0; y < height; ++y) {
      auto* row = reinterpret_cast<uint32_t*>(data + y * static_cast<std::size_t>(stride));
      for (std::size_t x = 0; x < width; ++x) {
        const Color& c = pixels[y * width + x];
        row[x] = 0xff000000u | (byte(c.r) << 16) | (byte(c.g) << 8) | byte(c.b);
      }
    }
    cairo_surface_mark_dirty(surface);
  }
  ~ImageSurface() { cairo_surface_destroy(surface); }
  ImageSurface(const ImageSurface&) = delete;
  ImageSurface& operator=(const ImageSurface&) = delete;
};

class CairoCanvas final : public Canvas {
 public:
  explicit CairoCanvas(cairo_t* cr) : cr_(cr) {}

  void fill_rect(const Rect& r, const Color& c, double alpha) override {
    cairo_set_source_rgba(cr_, c.r, c.g, c.b, alpha);
    cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
    cairo_fill(cr_);
  }
  void stroke_rect(const Rect& r, const Color& c, double width) override {
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_set_line_width(cr_, width);
    cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
    cairo_stroke(cr_);
  }
  void polyline(const std::vector<Point>& points, const Color& c, double width) override {
    if (points.size() < 2) return;
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_set_line_width(cr_, width);
    cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr_, CAIRO_LINE_CAP_BUTT);
    cairo_move_to(cr_, points[0].x, points[0].y);
    for (std::size_t i = 1; i < points.size(); ++i) cairo_line_to(cr_, points[i].x, points[i].y);
    cairo_stroke(cr_);
  }
  void dot(const Point& p, double radius, const Color& c) override {
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_arc(cr_, p.x, p.y, radius, 0, 2 * kPi);
    cairo_fill(cr_);
  }
  void ramp(const Rect& r, Colormap colormap) override {
    // One stop per table entry reproduces the lookup table exactly.
    cairo_pattern_t* g = cairo_pattern_create_linear(0, r.y + r.h, 0, r.y);
    for (int i = 0; i < 256; ++i) {
      const Color c = colormap_color(colormap, (i + 0.5) / 256);
      cairo_pattern_add_color_stop_rgb(g, i / 255.0, c.r, c.g, c.b);
    }
    cairo_set_source(cr_, g);
    cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
    cairo_fill(cr_);
    cairo_pattern_destroy(g);
  }
  void cells(const Rect& r, std::size_t rows, std::size_t cols, const std::vector<Color>& colors) override {
    // An image with one pixel per cell, scaled up without smoothing: exact colours, no seams.
    ImageSurface image(cols, rows, colors);
    cairo_save(cr_);
    cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
    cairo_clip(cr_);
    cairo_translate(cr_, r.x, r.y);
    cairo_scale(cr_, r.w / static_cast<double>(cols), r.h / static_cast<double>(rows));
    cairo_set_source_surface(cr_, image.surface, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr_), CAIRO_FILTER_NEAREST);
    cairo_pattern_set_extend(cairo_get_source(cr_), CAIRO_EXTEND_PAD);
    cairo_paint(cr_);
    cairo_restore(cr_);
  }
  void text(const Point& p, std::string_view s, const Font& font, const Color& c, HAlign h, VAlign v,
            bool vertical) override {
    const std::string clean = sanitize_utf8(s);
    const TextExtent e = measure_text(clean, font);
    const double dx = h == HAlign::Left ? 0 : h == HAlign::Center ? -e.width / 2 : -e.width;
    cairo_save(cr_);
    apply_font(cr_, font);
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_translate(cr_, p.x, p.y);
    if (vertical) cairo_rotate(cr_, -kPi / 2);
    cairo_move_to(cr_, dx, baseline_offset(v, e));
    cairo_show_text(cr_, clean.c_str());
    cairo_restore(cr_);
  }
  void push_clip(const Rect& r) override {
    cairo_save(cr_);
    cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
    cairo_clip(cr_);
  }
  void pop_clip() override { cairo_restore(cr_); }

 private:
  cairo_t* cr_;
};

void draw_on(cairo_surface_t* surface, double scale, const DrawFn& draw) {
  cairo_t* cr = cairo_create(surface);
  cairo_scale(cr, scale, scale);
  CairoCanvas canvas(cr);
  try {
    draw(canvas);
  } catch (...) {
    cairo_destroy(cr);
    throw;
  }
  const cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);
  check(status, "draw");
}

}  // namespace

std::string render_cairo(ImageFormat format, double width, double height, double scale, const DrawFn& draw) {
  std::string bytes;
  if (format == ImageFormat::Png) {
    const int w = static_cast<int>(std::lround(width * scale)), h = static_cast<int>(std::lround(height * scale));
    cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    try {
      check(cairo_surface_status(surface), "create the image");
      draw_on(surface, scale, draw);
      check(cairo_surface_write_to_png_stream(surface, append_to_string, &bytes), "encode PNG");
    } catch (...) {
      cairo_surface_destroy(surface);
      throw;
    }
    cairo_surface_destroy(surface);
  } else {
    // PDF: 96 figure units per inch, 72 pt per inch.
    constexpr double kPt = 72.0 / 96.0;
    cairo_surface_t* surface = cairo_pdf_surface_create_for_stream(append_to_string, &bytes, width * kPt, height * kPt);
    try {
      check(cairo_surface_status(surface), "create the PDF");
      draw_on(surface, kPt, draw);
      cairo_surface_finish(surface);
      check(cairo_surface_status(surface), "write the PDF");
    } catch (...) {
      cairo_surface_destroy(surface);
      throw;
    }
    cairo_surface_destroy(surface);
  }
  return bytes;
}

RgbImage render_cairo_rgb(double width, double height, double scale, const DrawFn& draw) {
  const int w = static_cast<int>(std::lround(width * scale)), h = static_cast<int>(std::lround(height * scale));
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  RgbImage image;
  try {
    check(cairo_surface_status(surface), "create the image");
    draw_on(surface, scale, [&](Canvas& canvas) {
      canvas.fill_rect({0, 0, width, height}, {1, 1, 1});
      draw(canvas);
    });
    cairo_surface_flush(surface);
    image.width = static_cast<std::size_t>(w);
    image.height = static_cast<std::size_t>(h);
    image.rgb.resize(image.width * image.height * 3);
    const unsigned char* data = cairo_image_surface_get_data(surface);
    const std::size_t stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface));
    unsigned char* out = image.rgb.data();
    for (std::size_t y = 0; y < image.height; ++y) {
      const auto* row = reinterpret_cast<const uint32_t*>(data + y * stride);
      for (std::size_t x = 0; x < image.width; ++x) {
        const uint32_t px = row[x];  // native-endian 0x00RRGGBB
        *out++ = static_cast<unsigned char>(px >> 16);
        *out++ = static_cast<unsigned char>(px >> 8);
        *out++ = static_cast<unsigned char>(px);
      }
    }
  } catch (...) {
    cairo_surface_destroy(surface);
    throw;
  }
  cairo_surface_destroy(surface);
  return image;
}

std::string encode_png(std::size_t width, std::size_t height, const std::vector<Color>& pixels) {
  ImageSurface image(width, height, pixels);
  std::string bytes;
  check(cairo_surface_write_to_png_stream(image.surface, append_to_string, &bytes), "encode PNG");
  return bytes;
}

}  // namespace moeroute::plot::detail
