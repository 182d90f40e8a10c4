// Helpers for the render tests: decode PNGs with cairo and inspect pixels, scratch
// directories, and a small XML well-formedness check for SVG output.
#pragma once

#include <cairo.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "moeroute/plot.h"

namespace render_test {

namespace fs = std::filesystem;

/// A decoded PNG (cairo_image_surface_create_from_png) with pixel access.
class Png {
 public:
  explicit Png(const fs::path& path) : surface_(cairo_image_surface_create_from_png(path.c_str())) { check(); }
  explicit Png(const std::string& bytes) {
    Reader r{bytes, 0};
    surface_ = cairo_image_surface_create_from_png_stream(&Reader::read, &r);
    check();
  }
  ~Png() { cairo_surface_destroy(surface_); }
  Png(const Png&) = delete;
  Png& operator=(const Png&) = delete;

  int width() const { return cairo_image_surface_get_width(surface_); }
  int height() const { return cairo_image_surface_get_height(surface_); }
  /// "#rrggbb" of the pixel (x, y) (opaque images: no premultiplication to undo).
  std::string hex(int x, int y) const {
    const uint32_t p = pixel(x, y);
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", (p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff);
    return buf;
  }
  /// The pixel under figure coordinates (fx, fy) at `scale` pixels per unit.
  std::string hex_at(double fx, double fy, double scale) const {
    return hex(static_cast<int>(std::floor(fx * scale)), static_cast<int>(std::floor(fy * scale)));
  }
  uint32_t pixel(int x, int y) const {
    if (x < 0 || y < 0 || x >= width() || y >= height()) throw std::out_of_range("pixel outside the image");
    const unsigned char* data = cairo_image_surface_get_data(surface_);
    const int stride = cairo_image_surface_get_stride(surface_);
    return *reinterpret_cast<const uint32_t*>(data + y * stride + x * 4);
  }

 private:
  struct Reader {
    const std::string& bytes;
    size_t pos;
    static cairo_status_t read(void* closure, unsigned char* data, unsigned int length) {
      auto* r = static_cast<Reader*>(closure);
      if (r->pos + length > r->bytes.size()) return CAIRO_STATUS_READ_ERROR;
      std::copy_n(r->bytes.data() + r->pos, length, data);
      r->pos += length;
      return CAIRO_STATUS_SUCCESS;
    }
  };
  void check() const {
    if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS)
      throw std::runtime_error(std::string("PNG decode failed: ") + cairo_status_to_string(cairo_surface_status(surface_)));
  }
  cairo_surface_t* surface_ = nullptr;
};

/// Largest per-channel difference between two "#rrggbb" colours.
inline int colour_distance(const std::string& a, const std::string& b) {
  int worst = 0;
  for (int i = 0; i < 3; ++i) {
    const int ca = std::stoi(a.substr(1 + 2 * i, 2), nullptr, 16), cb = std::stoi(b.substr(1 + 2 * i, 2), nullptr, 16);
    worst = std::max(worst, std::abs(ca - cb));
  }
  return worst;
}

/// A fresh empty directory, removed at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("moeroute-render-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

/// Checks XML well-formedness for the subset we emit (no DTD, CDATA or comments): a prolog,
/// matched and properly nested tags, quoted attributes, and '&' only in entities. Returns an
/// empty string when fine, else what is wrong.
inline std::string xml_problem(const std::string& xml) {
  std::vector<std::string> stack;
  size_t i = 0;
  if (xml.rfind("<?xml ", 0) == 0) i = xml.find("?>") + 2;
  static const std::regex entity("^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
  bool root_seen = false;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      if (!std::regex_search(xml.begin() + static_cast<long>(i), xml.end(), entity)) return "bare & at " + std::to_string(i);
      ++i;
    } else if (xml[i] == '>') {
      return "stray > at " + std::to_string(i);
    } else if (xml[i] != '<') {
      ++i;
    } else {
      const size_t end = xml.find('>', i);
      if (end == std::string::npos) return "unterminated tag";
      std::string tag = xml.substr(i + 1, end - i - 1);
      // Quotes must balance and no '<' may hide inside a tag.
      if (std::count(tag.begin(), tag.end(), '"') % 2 != 0 || tag.find('<') != std::string::npos)
        return "bad attributes in <" + tag + ">";
      if (!tag.empty() && tag[0] == '/') {
        const std::string name = tag.substr(1);
        if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
        stack.pop_back();
      } else {
        const bool self_closing = !tag.empty() && tag.back() == '/';
        const std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
        if (name.empty()) return "empty tag name";
        if (stack.empty() && root_seen) return "second root element <" + name + ">";
        root_seen = true;
        if (!self_closing) stack.push_back(name);
      }
      i = end + 1;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  return root_seen ? "" : "no root element";
}

}  // namespace render_test
