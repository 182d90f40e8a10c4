#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "moeroute/routing_gif.h"
#include "moeroute/trace_io.h"

namespace moeroute::cli {

namespace {
struct GifArgs {
  std::string trace, out;
  TraceGifOptions options;
};
}  // namespace

void add_gif_command(CLI::App& app) {
  auto args = std::make_shared<GifArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("gif", "Animate one layer of a trace's routing, token by token, as a GIF (docs/simulator.md)");
  cmd->add_option("trace", args->trace, "Trace file (.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--layer", o.layer, "Layer: its numeric index or its module name")->required();
  cmd->add_option("-o,--out", args->out, "GIF file to write")->required();
  cmd->add_option("--from", o.first_row, "First row shown")->capture_default_str();
  cmd->add_option("--rows", o.rows, "Rows shown (0 = to the end)")->capture_default_str();
  cmd->add_option("--frames-per-token", o.frames_per_token, "Frames each token stays on screen")->capture_default_str();
  cmd->add_option("--fps", o.picture.fps, "Frames per second")->capture_default_str();
  cmd->add_option("--dot-period", o.picture.dot_period, "Frames a packet takes to reach its expert")->capture_default_str();
  cmd->add_option("--width", o.picture.width, "Width in pixels")->capture_default_str();
  cmd->add_option("--height", o.picture.height, "Height in pixels")->capture_default_str();
  cmd->add_flag("--show-all", o.picture.show_all, "Faint arcs to every expert for context");
  cmd->callback([args] {
    const RouterTrace trace = load_trace(args->trace);
    write_trace_gif(args->out, trace, args->options);
    fmt::print("wrote {}\n", args->out);
  });
}

}  // namespace moeroute::cli
