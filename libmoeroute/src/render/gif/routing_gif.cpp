#include "moeroute/routing_gif.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "render/canvas.h"
#include "render/expert_colors.h"
#include "render/gif/gif_encoder.h"
#include "render/gif/routing_scene.h"
#include "moeroute/atomic_file.h"
#include "moeroute/error.h"

namespace moeroute {

using plot::detail::RoutingScene;
using plot::detail::SceneArc;
using plot::detail::SceneBar;
using plot::detail::SceneExpert;

namespace {

constexpr int kMaxFrames = 5000;

void check_int(const char* field, int value, int lo, int hi) {
  if (value < lo || value > hi) throw InputError(fmt::format("{} must be in [{}, {}], got {}", field, lo, hi, value));
}

double packet_phase(int frame, int dot_period) {
  return static_cast<double>(frame % dot_period) / static_cast<double>(dot_period);
}

std::string encode(const GifFrameOptions& pic, int frames, const std::function<RoutingScene(int)>& scene) {
  plot::detail::GifSpec spec;
  spec.width = static_cast<size_t>(pic.width);
  spec.height = static_cast<size_t>(pic.height);
  spec.frame_count = frames;
  spec.delay_cs = static_cast<int>(std::lround(100.0 / pic.fps));
  return plot::detail::encode_gif(spec, [&](int i) {
    const RoutingScene s = scene(i);
    return plot::detail::render_cairo_rgb(pic.width, pic.height, 1.0, [&](plot::detail::Canvas& c) {
      plot::detail::draw_routing_scene(c, s, pic.width, pic.height);
    });
  });
}

// Token text on one line: newlines and tabs become visible symbols.
std::string printable(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n') out += "\u23CE";
    else if (ch == '\t') out += "\u21E5";
    else if (ch == '\r') out += "\u240D";
    else out += ch;
  }
  return plot::detail::sanitize_utf8(out);
}

std::vector<RoutingScene> simulation_scenes(const SimulationGifOptions& o) {
  RoutingSimulator sim(o.simulator);
  const SimulatorConfig& c = sim.config();
  std::vector<SceneExpert> experts;
  for (int e = 0; e < c.local_experts; ++e)
    experts.push_back({fmt::format("E{}", e), plot::detail::expert_color(static_cast<size_t>(e)), false});
  for (int s = 0; s < c.shared_experts; ++s)
    experts.push_back({fmt::format("S{}", s), plot::detail::expert_color(static_cast<size_t>(c.local_experts + s)), true});
  std::vector<RoutingScene> scenes;
  for (int t = 0; t < o.frames; ++t) {
    const GatingResult g = sim.next();
    RoutingScene s;
    s.title = fmt::format("MoE routing: top-{} of {} micro-experts ({} experts × {}), {} shared always on", c.top_k,
                          c.routed(), c.local_experts, c.micro_experts, c.shared_experts);
    s.caption = fmt::format("token {}/{} · noise σ = {} · d = {} · seed {}", t + 1, o.frames, c.noise, c.embedding_dim, c.seed);
    s.experts = experts;
    s.micro = c.micro_experts;
    s.show_all = o.picture.show_all;
    s.phase = packet_phase(t, o.picture.dot_period);
    for (int sh = 0; sh < c.shared_experts; ++sh)
      for (int m = 0; m < c.micro_experts; ++m) s.arcs.push_back({c.local_experts + sh, m, 1.0});
    for (size_t i = 0; i < g.chosen.size(); ++i) {
      const int e = g.chosen[i] / c.micro_experts, m = g.chosen[i] % c.micro_experts;
      s.arcs.push_back({e, m, g.weights[i]});
      s.bars.push_back({fmt::format("E{}.{}", e, m), g.weights[i], experts[static_cast<size_t>(e)].color});
    }
    scenes.push_back(std::move(s));
  }
  return scenes;
}

}  // namespace

void GifFrameOptions::validate() const {
  check_int("width", width, 320, 4096);
  check_int("height", height, 240, 4096);
  check_int("fps", fps, 1, 50);
  check_int("dot-period", dot_period, 1, 100000);
}

std::string simulation_gif(const SimulationGifOptions& o) {
  o.picture.validate();
  check_int("frames", o.frames, 1, kMaxFrames);
  const std::vector<RoutingScene> scenes = simulation_scenes(o);
  return encode(o.picture, o.frames, [&](int i) { return scenes[static_cast<size_t>(i)]; });
}

void write_simulation_gif(const std::filesystem::path& path, const SimulationGifOptions& o) {
  write_file_atomic(path, simulation_gif(o));
}

std::string simulation_preview_png(const SimulationGifOptions& o) {
  o.picture.validate();
  SimulationGifOptions first = o;
  first.frames = 1;
  const RoutingScene s = simulation_scenes(first).front();
  return plot::detail::render_cairo(plot::ImageFormat::Png, o.picture.width, o.picture.height, 1.0,
                                    [&](plot::detail::Canvas& c) {
                                      c.fill_rect({0, 0, double(o.picture.width), double(o.picture.height)}, {1, 1, 1});
                                      plot::detail::draw_routing_scene(c, s, o.picture.width, o.picture.height);
                                    });
}

int find_layer(const RouterTrace& trace, const std::string& layer) {
  const bool numeric = !layer.empty() && std::all_of(layer.begin(), layer.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  for (int l = 0; l < trace.num_layers(); ++l) {
    const LayerInfo& info = trace.layers[static_cast<size_t>(l)];
    if (info.name == layer || (numeric && layer.size() < 10 && info.index == std::stoi(layer))) return l;
  }
  std::vector<std::string> names;
  for (const auto& info : trace.layers) names.push_back(fmt::format("{} ({})", info.index, info.name));
  throw InputError(fmt::format("layer '{}' is not in the trace; its layers are: {}", layer, fmt::join(names, ", ")));
}

std::string trace_gif(const RouterTrace& trace, const TraceGifOptions& o) {
  o.picture.validate();
  check_int("frames-per-token", o.frames_per_token, 1, 1000);
  if (trace.num_positions == 0) throw InputError("the trace has no rows: nothing to animate");
  const int layer = find_layer(trace, o.layer);
  if (o.first_row < 0 || o.first_row >= trace.num_positions)
    throw InputError(fmt::format("first row {} is outside the trace's rows [0, {})", o.first_row, trace.num_positions));
  const int64_t rows = o.rows > 0 ? std::min(o.rows, trace.num_positions - o.first_row) : trace.num_positions - o.first_row;
  if (rows * o.frames_per_token > kMaxFrames)
    throw InputError(fmt::format("{} rows × {} frames per token = {} frames, more than {}: choose fewer rows (--rows) "
                                 "or frames per token", rows, o.frames_per_token, rows * o.frames_per_token, kMaxFrames));
  const int frames = static_cast<int>(rows * o.frames_per_token);
  std::vector<SceneExpert> experts;
  for (int e = 0; e < trace.num_experts; ++e)
    experts.push_back({std::to_string(e), plot::detail::expert_color(static_cast<size_t>(e)), false});
  const LayerInfo& info = trace.layers[static_cast<size_t>(layer)];
  const std::string model = trace.meta.model_id.empty() ? "trace" : trace.meta.model_id;
  return encode(o.picture, frames, [&](int f) {
    const int64_t row = o.first_row + f / o.frames_per_token;
    RoutingScene s;
    s.title = fmt::format("{} · layer {} ({})", model, info.index, info.name);
    std::string token = trace.has_token_text() ? printable(trace.token_text[static_cast<size_t>(row)])
                        : trace.has_token_ids() ? fmt::format("#{}", trace.token_ids[static_cast<size_t>(row)])
                                                : std::string("?");
    s.caption = fmt::format("row {}/{} · {} · position {} · token \u201C{}\u201D", row, trace.num_positions,
                            trace.is_prompt(row) ? "prompt" : "generated", trace.position_of(row), token);
    s.caption = plot::detail::fit_text(s.caption, plot::detail::Font{12, false}, o.picture.width - 48.0);
    s.experts = experts;
    s.micro = 1;
    s.show_all = o.picture.show_all;
    s.phase = packet_phase(f, o.picture.dot_period);
    s.bars_title = trace.has_gate_weights() ? "gate weights" : "chosen experts (trace has no gate weights)";
    const int32_t* ids = trace.topk_ids_at(layer, row);
    for (int k = 0; k < trace.top_k; ++k) {
      const double w = trace.has_gate_weights() ? trace.gate_weights_at(layer, row)[k] : 1.0 / trace.top_k;
      s.arcs.push_back({ids[k], 0, w});
      s.bars.push_back({std::to_string(ids[k]), w, experts[static_cast<size_t>(ids[k])].color});
    }
    return s;
  });
}

void write_trace_gif(const std::filesystem::path& path, const RouterTrace& trace, const TraceGifOptions& o) {
  write_file_atomic(path, trace_gif(trace, o));
}

}  // namespace moeroute
