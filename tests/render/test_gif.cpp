// GIF encoding (giflib decodes what we wrote) and the routing GIFs' frame counts and errors.
#include <catch2/catch.hpp>

#include <gif_lib.h>

#include <cstring>
#include <memory>

#include "render/gif/gif_encoder.h"
#include "moeroute/error.h"
#include "moeroute/routing_gif.h"
#include "unit/trace_fixtures.h"

using namespace moeroute;
using plot::detail::RgbImage;

namespace {

struct Decoded {
  int width = 0, height = 0, frames = 0;
  std::vector<int> delays;
  bool loops = false;
  std::vector<std::vector<unsigned char>> rgb;  // composited frames
};

struct Reader {
  const std::string* bytes;
  size_t pos;
  static int read(GifFileType* gif, GifByteType* out, int n) {
    auto* r = static_cast<Reader*>(gif->UserData);
    const size_t k = std::min(static_cast<size_t>(n), r->bytes->size() - r->pos);
    std::memcpy(out, r->bytes->data() + r->pos, k);
    r->pos += k;
    return static_cast<int>(k);
  }
};

Decoded decode(const std::string& bytes) {
  Reader r{&bytes, 0};
  int error = 0;
  GifFileType* gif = DGifOpen(&r, Reader::read, &error);
  REQUIRE(gif != nullptr);
  REQUIRE(DGifSlurp(gif) == GIF_OK);
  Decoded d;
  d.width = gif->SWidth;
  d.height = gif->SHeight;
  d.frames = gif->ImageCount;
  std::vector<unsigned char> canvas(static_cast<size_t>(d.width * d.height * 3), 0);
  for (int i = 0; i < gif->ImageCount; ++i) {
    GraphicsControlBlock gcb;
    REQUIRE(DGifSavedExtensionToGCB(gif, i, &gcb) == GIF_OK);
    d.delays.push_back(gcb.DelayTime);
    const SavedImage& img = gif->SavedImages[i];
    const ColorMapObject* map = img.ImageDesc.ColorMap ? img.ImageDesc.ColorMap : gif->SColorMap;
    for (int y = 0; y < img.ImageDesc.Height; ++y)
      for (int x = 0; x < img.ImageDesc.Width; ++x) {
        const int idx = img.RasterBits[y * img.ImageDesc.Width + x];
        if (idx == gcb.TransparentColor) continue;
        const size_t p = static_cast<size_t>(((img.ImageDesc.Top + y) * d.width + img.ImageDesc.Left + x) * 3);
        canvas[p] = map->Colors[idx].Red;
        canvas[p + 1] = map->Colors[idx].Green;
        canvas[p + 2] = map->Colors[idx].Blue;
      }
    d.rgb.push_back(canvas);
    for (int e = 0; e < img.ExtensionBlockCount; ++e) {
      const ExtensionBlock& b = img.ExtensionBlocks[e];
      if (b.Function == APPLICATION_EXT_FUNC_CODE && b.ByteCount == 11 && std::memcmp(b.Bytes, "NETSCAPE2.0", 11) == 0) d.loops = true;
    }
  }
  DGifCloseFile(gif, &error);
  return d;
}

// A white frame with a red, a green and a blue square; the squares move with i.
RgbImage squares(int i, size_t w, size_t h) {
  RgbImage img{w, h, std::vector<unsigned char>(w * h * 3, 255)};
  const unsigned char colors[3][3] = {{200, 30, 40}, {20, 160, 60}, {30, 60, 210}};
  for (int s = 0; s < 3; ++s)
    for (size_t y = 4; y < 14; ++y)
      for (size_t x = 0; x < 10; ++x) {
        const size_t px = (static_cast<size_t>(i) * 3 + static_cast<size_t>(s) * 15 + x) % w;
        std::memcpy(&img.rgb[(y * w + px) * 3], colors[s], 3);
      }
  return img;
}

}  // namespace

TEST_CASE("encode_gif round-trips frames with few colours exactly", "[gif]") {
  plot::detail::GifSpec spec;
  spec.width = 64;
  spec.height = 20;
  spec.frame_count = 7;
  spec.delay_cs = 17;
  const std::string bytes = plot::detail::encode_gif(spec, [&](int i) { return squares(i, spec.width, spec.height); });
  REQUIRE(bytes.substr(0, 6) == "GIF89a");
  const Decoded d = decode(bytes);
  CHECK(d.width == 64);
  CHECK(d.height == 20);
  REQUIRE(d.frames == 7);
  CHECK(d.loops);
  for (int i = 0; i < 7; ++i) {
    CHECK(d.delays[static_cast<size_t>(i)] == 17);
    CHECK(d.rgb[static_cast<size_t>(i)] == squares(i, 64, 20).rgb);  // four colours: the palette holds them exactly
  }
}

TEST_CASE("encode_gif refuses bad specs and frames", "[gif]") {
  plot::detail::GifSpec spec;
  spec.width = 8;
  spec.height = 8;
  spec.frame_count = 2;
  CHECK_THROWS_AS(plot::detail::encode_gif(spec, [](int) { return RgbImage{4, 4, std::vector<unsigned char>(48, 0)}; }),
                  InputError);
  spec.delay_cs = 1;
  CHECK_THROWS_WITH(plot::detail::encode_gif(spec, [](int) { return RgbImage{8, 8, std::vector<unsigned char>(192, 0)}; }),
                    Catch::Contains("delay"));
}

TEST_CASE("simulation GIF: one frame per token at the requested size and speed", "[gif]") {
  SimulationGifOptions o;
  o.frames = 4;
  o.picture.width = 400;
  o.picture.height = 260;
  o.picture.fps = 8;  // 100 / 8 = 12.5 → 13 cs
  const Decoded d = decode(simulation_gif(o));
  CHECK(d.width == 400);
  CHECK(d.height == 260);
  CHECK(d.frames == 4);
  CHECK(d.delays == std::vector<int>(4, 13));
  // Frames differ (the routing moves) and the background stays white.
  CHECK(d.rgb[0] != d.rgb[1]);
  CHECK(d.rgb[0][0] == 255);
  CHECK(d.rgb[3][(259 * 400 + 399) * 3 + 2] == 255);
  o.simulator.top_k = 99;
  CHECK_THROWS_WITH(simulation_gif(o), Catch::Contains("top_k"));
  o = SimulationGifOptions{};
  o.picture.fps = 0;
  CHECK_THROWS_WITH(simulation_gif(o), Catch::Contains("fps"));
}

TEST_CASE("trace GIF: rows × frames per token, layers by index or name", "[gif]") {
  const RouterTrace t = test::random_trace(3, 8, 2, 5, 2, 11);
  TraceGifOptions o;
  o.layer = "1";
  o.frames_per_token = 2;
  o.picture.width = 360;
  o.picture.height = 240;
  CHECK(decode(trace_gif(t, o)).frames == 10);
  o.layer = "model.layers.2.mlp.gate";
  o.first_row = 3;
  CHECK(decode(trace_gif(t, o)).frames == 4);
  CHECK(find_layer(t, "2") == 2);
  o.layer = "7";
  CHECK_THROWS_WITH(trace_gif(t, o), Catch::Contains("model.layers.0.mlp.gate"));
  o.layer = "0";
  o.first_row = 5;
  CHECK_THROWS_WITH(trace_gif(t, o), Catch::Contains("outside"));
  o.first_row = 0;
  o.frames_per_token = 1000;
  CHECK_THROWS_WITH(trace_gif(test::random_trace(1, 4, 1, 6, 1, 1), o), Catch::Contains("6000 frames, more than 5000"));
  RouterTrace empty = t;
  empty.num_positions = 0;
  empty.allocate(true, false);
  o.frames_per_token = 1;
  CHECK_THROWS_WITH(trace_gif(empty, o), Catch::Contains("no rows"));
}
