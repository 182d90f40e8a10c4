#include "render/gif/gif_encoder.h"

#include <gif_lib.h>

#include <array>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "moeroute/error.h"

namespace moeroute::plot::detail {

namespace {

// Index 255 is reserved for "unchanged since the previous frame"; the median cut fills 0…254.
constexpr int kTransparent = 255;
constexpr int kMaxColors = 255;

int append_bytes(GifFileType* gif, const GifByteType* data, int length) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  return length;
}

void check(int status, GifFileType* gif, const char* what) {
  if (status != GIF_OK) throw IoError(fmt::format("GIF: giflib failed to {}: {}", what, GifErrorString(gif->Error)));
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    EGifCloseFile(gif, &error);
  }
};

struct Palette {
  std::array<GifColorType, 256> colors{};
  int size = 0;
};

// Median cut over the exact 8-bit colours of evenly spaced sample frames: boxes of colours are
// split at the pixel-weighted median of their widest channel until there are 255; each palette
// entry is its box's weighted mean, so a colour that fills a box alone (the background, flat
// fills) is kept exactly. (giflib's GifQuantizeBuffer rounds every colour to 5 bits per channel.)
struct ColorCount {
  std::array<int, 3> rgb;
  uint64_t count;
};

Palette build_palette(const GifSpec& spec, const FrameFn& frame) {
  const int samples = std::max(1, std::min(spec.palette_samples, spec.frame_count));
  std::unordered_map<uint32_t, uint64_t> histogram;
  for (int s = 0; s < samples; ++s) {
    const int index = samples == 1 ? 0 : static_cast<int>(static_cast<long long>(s) * (spec.frame_count - 1) / (samples - 1));
    const RgbImage img = frame(index);
    for (size_t p = 0; p + 2 < img.rgb.size(); p += 3)
      ++histogram[(uint32_t(img.rgb[p]) << 16) | (uint32_t(img.rgb[p + 1]) << 8) | img.rgb[p + 2]];
  }
  std::vector<ColorCount> colors;
  colors.reserve(histogram.size());
  for (const auto& [rgb, count] : histogram)
    colors.push_back({{int(rgb >> 16), int((rgb >> 8) & 0xff), int(rgb & 0xff)}, count});
  std::sort(colors.begin(), colors.end(), [](const ColorCount& a, const ColorCount& b) { return a.rgb < b.rgb; });

  struct Box { size_t begin, end; };
  const auto widest = [&](const Box& b, int* channel) {
    int best = -1;
    for (int c = 0; c < 3; ++c) {
      int lo = 255, hi = 0;
      for (size_t i = b.begin; i < b.end; ++i) lo = std::min(lo, colors[i].rgb[size_t(c)]), hi = std::max(hi, colors[i].rgb[size_t(c)]);
      if (hi - lo > best) best = hi - lo, *channel = c;
    }
    return best;
  };
  const auto weight = [&](const Box& b) {
    uint64_t w = 0;
    for (size_t i = b.begin; i < b.end; ++i) w += colors[i].count;
    return w;
  };
  std::vector<Box> boxes{{0, colors.size()}};
  while (boxes.size() < static_cast<size_t>(kMaxColors)) {
    // Split the box with the most pixels × widest range; boxes of one colour are final.
    size_t pick = boxes.size();
    double best = 0;
    int channel = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (boxes[i].end - boxes[i].begin < 2) continue;
      int c = 0;
      const double score = double(widest(boxes[i], &c)) * double(weight(boxes[i]));
      if (score > best) best = score, pick = i, channel = c;
    }
    if (pick == boxes.size()) break;
    Box b = boxes[pick];
    std::sort(colors.begin() + long(b.begin), colors.begin() + long(b.end),
              [&](const ColorCount& x, const ColorCount& y) { return x.rgb[size_t(channel)] < y.rgb[size_t(channel)]; });
    const uint64_t half = weight(b) / 2;
    uint64_t acc = 0;
    size_t cut = b.begin + 1;
    for (size_t i = b.begin; i + 1 < b.end; ++i) {
      acc += colors[i].count;
      cut = i + 1;
      if (acc >= half) break;
    }
    boxes[pick] = {b.begin, cut};
    boxes.push_back({cut, b.end});
  }
  Palette pal;
  for (const Box& b : boxes) {
    double sum[3] = {0, 0, 0};
    const double w = double(weight(b));
    for (size_t i = b.begin; i < b.end; ++i)
      for (int c = 0; c < 3; ++c) sum[c] += double(colors[i].rgb[size_t(c)]) * double(colors[i].count);
    GifColorType& out = pal.colors[size_t(pal.size++)];
    out.Red = static_cast<GifByteType>(std::lround(sum[0] / w));
    out.Green = static_cast<GifByteType>(std::lround(sum[1] / w));
    out.Blue = static_cast<GifByteType>(std::lround(sum[2] / w));
  }
  pal.colors[kTransparent] = {255, 255, 255};
  return pal;
}

// Nearest palette entry per 5-5-5-bit colour, computed on first use (frames have few colours).
class ColorMapper {
 public:
  explicit ColorMapper(const Palette& p) : palette_(p) { cache_.fill(-1); }
  GifPixelType operator()(unsigned char r, unsigned char g, unsigned char b) {
    const int key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    int& slot = cache_[static_cast<size_t>(key)];
    if (slot < 0) slot = nearest(r, g, b);
    return static_cast<GifPixelType>(slot);
  }

 private:
  int nearest(int r, int g, int b) const {
    int best = 0;
    long best_d = -1;
    for (int i = 0; i < palette_.size; ++i) {
      const GifColorType& c = palette_.colors[static_cast<size_t>(i)];
      const long dr = c.Red - r, dg = c.Green - g, db = c.Blue - b;
      const long d = dr * dr + dg * dg + db * db;
      if (best_d < 0 || d < best_d) best = i, best_d = d;
    }
    return best;
  }
  const Palette& palette_;
  std::array<int, 32768> cache_;
};

void put_loop_extension(GifFileType* gif) {
  // NETSCAPE2.0 application extension: loop count 0 = forever.
  static const GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  static const GifByteType loop[] = {1, 0, 0};
  check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), gif, "write the loop extension");
  check(EGifPutExtensionBlock(gif, sizeof app, app), gif, "write the loop extension");
  check(EGifPutExtensionBlock(gif, sizeof loop, loop), gif, "write the loop extension");
  check(EGifPutExtensionTrailer(gif), gif, "write the loop extension");
}

}  // namespace

std::string encode_gif(const GifSpec& spec, const FrameFn& frame) {
  if (spec.width < 1 || spec.height < 1 || spec.width > 65535 || spec.height > 65535)
    throw InputError(fmt::format("GIF: size {}×{} is outside 1…65535 pixels", spec.width, spec.height));
  if (spec.frame_count < 1) throw InputError(fmt::format("GIF: needs at least one frame, got {}", spec.frame_count));
  if (spec.delay_cs < 2 || spec.delay_cs > 65535)
    throw InputError(fmt::format("GIF: frame delay {} cs is outside 2…65535 (browsers slow faster GIFs down)", spec.delay_cs));
  const auto checked_frame = [&](int i) {
    RgbImage img = frame(i);
    if (img.width != spec.width || img.height != spec.height || img.rgb.size() != spec.width * spec.height * 3)
      throw InputError(fmt::format("GIF: frame {} is {}×{}, expected {}×{}", i, img.width, img.height, spec.width, spec.height));
    return img;
  };
  const Palette palette = build_palette(spec, checked_frame);
  ColorMapper map(palette);

  std::string bytes;
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(EGifOpen(&bytes, append_bytes, &error));
  if (!gif) throw IoError(fmt::format("GIF: giflib could not start a file: {}", GifErrorString(error)));
  EGifSetGifVersion(gif.get(), true);
  std::unique_ptr<ColorMapObject, void (*)(ColorMapObject*)> cmap(GifMakeMapObject(256, palette.colors.data()),
                                                                    GifFreeMapObject);
  if (!cmap) throw IoError("GIF: out of memory for the palette");
  const int w = static_cast<int>(spec.width), h = static_cast<int>(spec.height);
  check(EGifPutScreenDesc(gif.get(), w, h, 8, 0, cmap.get()), gif.get(), "write the screen descriptor");
  put_loop_extension(gif.get());

  const size_t pixels = spec.width * spec.height;
  std::vector<GifPixelType> shown(pixels), line(pixels);  // what the viewer shows; this frame's codes
  for (int i = 0; i < spec.frame_count; ++i) {
    const RgbImage img = checked_frame(i);
    for (size_t p = 0; p < pixels; ++p) {
      const GifPixelType c = map(img.rgb[3 * p], img.rgb[3 * p + 1], img.rgb[3 * p + 2]);
      line[p] = i > 0 && c == shown[p] ? static_cast<GifPixelType>(kTransparent) : c;
      shown[p] = c;
    }
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;  // later frames draw over this one
    gcb.DelayTime = spec.delay_cs;
    gcb.TransparentColor = i > 0 ? kTransparent : NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    check(EGifPutExtension(gif.get(), GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext), gif.get(), "write a frame header");
    check(EGifPutImageDesc(gif.get(), 0, 0, w, h, false, nullptr), gif.get(), "write a frame header");
    for (int y = 0; y < h; ++y)
      check(EGifPutLine(gif.get(), line.data() + static_cast<size_t>(y) * spec.width, w), gif.get(), "write a frame");
  }
  GifFileType* raw = gif.release();
  if (EGifCloseFile(raw, &error) != GIF_OK)
    throw IoError(fmt::format("GIF: giflib failed to finish the file: {}", GifErrorString(error)));
  return bytes;
}

}  // namespace moeroute::plot::detail
