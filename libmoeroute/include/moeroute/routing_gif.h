// Animated GIFs of routing, drawn with cairo and encoded with giflib: the simulator's toy layer
// (`moeroute simulate --gif`) and one layer of a real trace, token by token (`moeroute gif`).
// Pictures: docs/simulator.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "moeroute/simulator.h"
#include "moeroute/trace.h"

namespace moeroute {

/// Picture settings shared by both GIFs.
struct GifFrameOptions {
  int width = 900;       ///< pixels
  int height = 520;      ///< pixels
  int fps = 6;           ///< frames per second (GIF stores the delay as round(100 / fps) centiseconds)
  int dot_period = 24;   ///< frames a packet takes from the router to its expert (higher = slower)
  bool show_all = false; ///< faint arcs to every (micro-)expert for context
  void validate() const; ///< InputError naming the field when out of range
};

struct SimulationGifOptions {
  SimulatorConfig simulator;  ///< the toy layer: experts, micro-experts, top-k, noise, seed
  int frames = 160;           ///< tokens simulated, one per frame
  GifFrameOptions picture;    ///< size, speed
};

/// The GIF bytes: frame t shows token t's routing (RoutingSimulator::next, docs/simulator.md).
std::string simulation_gif(const SimulationGifOptions& options);
/// simulation_gif written atomically to `path`.
void write_simulation_gif(const std::filesystem::path& path, const SimulationGifOptions& options);
/// The first frame as PNG bytes: a still preview (Open Graph image) of the same picture.
std::string simulation_preview_png(const SimulationGifOptions& options);

struct TraceGifOptions {
  std::string layer;          ///< the layer: its numeric index (LayerInfo::index) or its name; required
  int64_t first_row = 0;      ///< first row shown
  int64_t rows = 0;           ///< rows shown; 0 = every row from first_row to the end
  int frames_per_token = 4;   ///< frames each row stays on screen
  GifFrameOptions picture{900, 520, 8, 4, false};  ///< one packet trip per token by default
};

/// The GIF bytes: every row of the chosen range, one after the other, routed through the chosen
/// layer (arcs to its top-k experts, thickness = gate weight; equal weights 1/k when the trace
/// has no gate weights). Throws InputError for an unknown layer, an empty range or more than
/// 5000 frames.
std::string trace_gif(const RouterTrace& trace, const TraceGifOptions& options);
/// trace_gif written atomically to `path`.
void write_trace_gif(const std::filesystem::path& path, const RouterTrace& trace, const TraceGifOptions& options);

/// The row index of `layer` (its LayerInfo::index as a decimal number, else its exact name).
/// Throws InputError listing the layers when there is none.
int find_layer(const RouterTrace& trace, const std::string& layer);

}  // namespace moeroute
