#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "commands.h"
#include "moeroute/simulate.h"

namespace moeroute::cli {

void add_simulate_command(CLI::App& app) {
  auto job = std::make_shared<SimulateJob>();
  auto& g = job->options;
  auto& s = g.simulator;
  auto* cmd = app.add_subcommand(
      "simulate", "The routing simulator (noisy top-k gating, shared and micro-experts) as an HTML page and/or an "
                  "animated GIF (docs/simulator.md)");
  cmd->add_option("--html", job->html, "Write the interactive simulator page here");
  cmd->add_option("--trace", job->replay, "Trace files the HTML page can replay token by token (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--og-image", job->og_image, "Absolute URL of the page's Open Graph preview image");
  cmd->add_option("--gif", job->gif, "Write an animated GIF of the simulation here");
  cmd->add_option("--preview", job->preview, "Write the GIF's first frame as a PNG here (a still preview)");
  cmd->add_option("--experts,--n-local", s.local_experts, "N_local: routed experts")->capture_default_str();
  cmd->add_option("--shared,--n-shared", s.shared_experts, "S_shared: always-on shared experts")->capture_default_str();
  cmd->add_option("--micro", s.micro_experts, "M: micro-experts per expert")->capture_default_str();
  cmd->add_option("--topk", s.top_k, "Micro-experts chosen per token (of N_local · M)")->capture_default_str();
  cmd->add_option("--embd", s.embedding_dim, "Embedding dimension d")->capture_default_str();
  cmd->add_option("--noise", s.noise, "Standard deviation of the gating noise (NoisyTopK)")->capture_default_str();
  cmd->add_option("--seed", s.seed, "Random seed (router weights, tokens, noise)")->capture_default_str();
  cmd->add_option("--frames", g.frames, "GIF: tokens simulated, one per frame")->capture_default_str();
  cmd->add_option("--fps", g.picture.fps, "GIF: frames per second")->capture_default_str();
  cmd->add_option("--dot-period", g.picture.dot_period, "GIF: frames a packet takes to reach its expert (higher = slower)")
      ->capture_default_str();
  cmd->add_option("--width", g.picture.width, "GIF: width in pixels")->capture_default_str();
  cmd->add_option("--height", g.picture.height, "GIF: height in pixels")->capture_default_str();
  cmd->add_flag("--show-all", g.picture.show_all, "GIF: faint arcs to every micro-expert for context");
  cmd->callback([job] {
    const auto files = run_simulate(*job);
    fmt::print("wrote {}\n", fmt::join(files, ", "));
  });
}

}  // namespace moeroute::cli
