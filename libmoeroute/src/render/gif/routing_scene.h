// One picture of routing: a router on the left, expert boxes (with micro-expert dots) on the
// right, arcs from the router to the chosen micro-experts whose thickness is the gate weight,
// packets travelling along them, and a bar chart of the weights. Drawn on any Canvas, so the
// GIF frames and the PNG preview are the same picture.
#pragma once

#include <string>
#include <vector>

#include "render/canvas.h"

namespace moeroute::plot::detail {

struct SceneExpert {
  std::string label;    ///< "E3", "S0", or an expert id
  Color color;          ///< box, dots, arcs and packets of this expert
  bool shared = false;  ///< always on: drawn with a fixed-width arc and no gate weight
};

struct SceneArc {
  int expert = 0;     ///< index into RoutingScene::experts
  int micro = 0;      ///< micro-expert within it
  double weight = 0;  ///< gate weight in [0, 1]: arc width 2 + 18 · weight px (the seed's rule)
};

struct SceneBar {
  std::string label;  ///< under the bar ("E3.1")
  double value = 0;   ///< height in [0, 1]
  Color color;        ///< the expert's colour
};

struct RoutingScene {
  std::string title;                 ///< first line, bold
  std::string caption;               ///< second line (token, layer, frame)
  std::vector<SceneExpert> experts;  ///< boxes in grid order
  int micro = 1;                     ///< micro-experts (dots) per expert
  std::vector<SceneArc> arcs;        ///< gated arcs, drawn thinnest first
  bool show_all = false;             ///< faint arcs to every micro-expert for context
  double phase = 0;                  ///< packet position along every arc, in [0, 1)
  int packets_per_arc = 2;           ///< packets spaced evenly along each arc
  std::string bars_title = "top-k gate weights";               ///< heading of the bar chart
  std::vector<SceneBar> bars;        ///< the bar chart, left to right
};

/// Draws `scene` filling width × height units (at least 320 × 240).
void draw_routing_scene(Canvas& canvas, const RoutingScene& scene, double width, double height);

}  // namespace moeroute::plot::detail
