// Text metrics with cairo's font machinery (DejaVu Sans via fontconfig) and text hygiene.
#include "cairo_font.h"

namespace moeroute::plot::detail {

namespace {

// One measuring context per thread: a 1×1 image surface is enough for extents.
cairo_t* measuring_context() {
  struct Holder {
    cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t* cr = cairo_create(surface);
    ~Holder() {
      cairo_destroy(cr);
      cairo_surface_destroy(surface);
    }
  };
  thread_local Holder holder;
  return holder.cr;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when invalid.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1fu) : len == 3 ? (b0 & 0x0fu) : (b0 & 0x07u);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3fu);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // overlong, surrogate
  if (cp < 0x20 || cp == 0x7f) return 0;  // control characters have no glyphs
  return len;
}

}  // namespace

void apply_font(cairo_t* cr, const Font& font) {
  cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                         font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, font.size);
  // Unhinted metrics: the same advance widths on every surface and scale.
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
  cairo_set_font_options(cr, options);
  cairo_font_options_destroy(options);
}

TextExtent measure_text(std::string_view text, const Font& font) {
  cairo_t* cr = measuring_context();
  apply_font(cr, font);
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  cairo_text_extents_t te;
  const std::string s(text);
  cairo_text_extents(cr, s.c_str(), &te);
  cairo_text_extents_t cap;
  cairo_text_extents(cr, "H", &cap);
  return {te.x_advance, fe.ascent, fe.descent, -cap.y_bearing};
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = utf8_sequence(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string fit_text(const std::string& text, const Font& font, double max_width) {
  if (measure_text(text, font).width <= max_width) return text;
  // Split into code points, then drop ever more from the middle.
  std::vector<std::string> cps;
  for (size_t i = 0; i < text.size();) {
    size_t len = 1;
    while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xc0) == 0x80) ++len;
    cps.push_back(text.substr(i, len));
    i += len;
  }
  for (size_t drop = 1; drop < cps.size(); ++drop) {
    const size_t keep = cps.size() - drop, head = (keep + 1) / 2, tail = keep - head;
    std::string s;
    for (size_t k = 0; k < head; ++k) s += cps[k];
    s += "…";
    for (size_t k = cps.size() - tail; k < cps.size(); ++k) s += cps[k];
    if (measure_text(s, font).width <= max_width) return s;
  }
  return "…";
}

double baseline_offset(VAlign align, const TextExtent& e) {
  switch (align) {
    case VAlign::Top: return e.ascent;
    case VAlign::Middle: return e.cap / 2;
    case VAlign::Bottom: return -e.descent;
    case VAlign::Baseline: break;
  }
  return 0;
}

}  // namespace moeroute::plot::detail
