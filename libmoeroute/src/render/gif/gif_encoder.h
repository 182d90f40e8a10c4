// Animated GIF encoding with giflib: one global palette (median cut over sample frames), frames
// after the first store only the pixels that changed (the rest transparent), looping forever.
#pragma once

#include <functional>
#include <string>

#include "render/canvas.h"

namespace moeroute::plot::detail {

struct GifSpec {
  std::size_t width = 0;     ///< pixels
  std::size_t height = 0;    ///< pixels
  int frame_count = 0;       ///< frames, ≥ 1
  int delay_cs = 10;         ///< display time of each frame in 1/100 s (GIF's unit), ≥ 2
  int palette_samples = 8;   ///< frames, evenly spaced, whose colours build the palette
};

/// Produces frame i (0 ≤ i < frame_count) at spec.width × spec.height; it may be called more
/// than once for the same i (sample frames are rendered twice) and must return the same pixels.
using FrameFn = std::function<RgbImage(int)>;

/// The GIF89a bytes. Throws InputError on a bad spec or a frame of the wrong size, IoError when
/// giflib fails.
std::string encode_gif(const GifSpec& spec, const FrameFn& frame);

}  // namespace moeroute::plot::detail
