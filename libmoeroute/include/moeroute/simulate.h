// The `simulate` job: the simulator page, its GIF and its still preview, each optional.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "moeroute/routing_gif.h"

namespace moeroute {

struct SimulateJob {
  std::filesystem::path html;                     ///< the interactive page; empty = none
  std::filesystem::path gif;                      ///< the animated GIF; empty = none
  std::filesystem::path preview;                  ///< the GIF's first frame as PNG; empty = none
  std::vector<std::filesystem::path> replay;      ///< traces the page can replay
  std::string og_image;                           ///< the page's Open Graph image URL ("" = none)
  SimulationGifOptions options;                   ///< the toy layer and the GIF's picture
};

/// Renders every requested output in memory first — so bad input (an option out of range, an
/// unreadable trace) writes nothing — then writes each atomically. Returns the paths written.
/// Throws InputError when nothing is requested.
std::vector<std::string> run_simulate(const SimulateJob& job);

}  // namespace moeroute
