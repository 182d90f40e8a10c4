// Tests of the comparison plots (jsd_heatmap, jsd_layer_mean): files written, read back and
// checked pixel by pixel against viridis values published by matplotlib.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fp_tolerance.h"
#include "moeroute/compare_plots.h"
#include "moeroute/error.h"
#include "render_test_util.h"

using namespace moeroute;
using render_test::Png;
using render_test::ScratchDir;

namespace {

const double kNaN = std::nan("");
// Layout coordinates: ≤ 32 double operations on values ≤ 4096 px (as in test_plot.cpp).
constexpr double kPx = test::fp64_tolerance(32, 4096);

std::vector<std::string> gate_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("model.layers." + std::to_string(i) + ".mlp.gate");
  return names;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("jsd_heatmap colours each layer × step cell on a scale from 0 to the data's maximum", "[compare_plots]") {
  ScratchDir dir;
  // 3 layers × 4 steps; row 0 is the first layer given and is drawn on top.
  const std::vector<double> jsd = {0.0, 0.25, 0.5, 0.75,  //
                                   1.0, kNaN, 0.5, 0.0,   //
                                   0.5, 0.5,  0.5, 0.5};
  const auto names = gate_names(3);
  JsdPlotOptions o;
  o.first_step = 5;
  jsd_heatmap(jsd, names, dir.path() / "jsd_heatmap.png", o);
  CHECK(dir.entries() == std::vector<std::string>{"jsd_heatmap.png"});

  const plot::AxesLayout l = jsd_heatmap_figure(jsd, names, o).layout();
  const Png png(dir.path() / "jsd_heatmap.png");
  CHECK(png.width() == 720 * 2);  // smallest automatic width at the default scale 2
  const std::map<double, std::string> viridis = {{0.0, "#440154"}, {0.25, "#3b528b"}, {0.5, "#21918c"},
                                                 {0.75, "#5ec962"}, {1.0, "#fde725"}};
  for (int layer = 0; layer < 3; ++layer)
    for (int step = 0; step < 4; ++step) {
      const double v = jsd[static_cast<size_t>(layer * 4 + step)];
      const std::string want = std::isnan(v) ? "#808080" : viridis.at(v);
      CHECK(png.hex_at(l.x(5 + step), l.y(layer), 2) == want);  // columns are numbered from first_step
    }
  // The colour bar spans [0, max] (here 1) and says so.
  CHECK(l.colorbar_value(0) == Approx(l.colorbar.y + l.colorbar.h).epsilon(0).margin(kPx));
  CHECK(l.colorbar_value(1) == Approx(l.colorbar.y).epsilon(0).margin(kPx));
  jsd_heatmap(jsd, names, dir.path() / "h.svg", o);
  CHECK(slurp(dir.path() / "h.svg").find(">JSD (bits), scale 0 to max 1</text>") != std::string::npos);
}

TEST_CASE("the heatmap's scale follows small data, and identical runs say so", "[compare_plots]") {
  ScratchDir dir;
  const auto names = gate_names(2);
  // The README demo's magnitudes: a mean JSD of 0.007 must not be a uniform dark field.
  const std::vector<double> small = {0.0, 0.007, 0.014, 0.0035};
  JsdPlotOptions o;
  o.scale = 1;
  jsd_heatmap(small, names, dir.path() / "s.png", o);
  const plot::AxesLayout l = jsd_heatmap_figure(small, names, o).layout();
  const Png png(dir.path() / "s.png");
  CHECK(png.hex_at(l.x(0), l.y(0), 1) == "#440154");  // 0
  CHECK(png.hex_at(l.x(0), l.y(1), 1) == "#fde725");  // 0.014, the maximum: the top colour
  CHECK(png.hex_at(l.x(1), l.y(0), 1) == "#21918c");  // 0.007 = half the maximum
  CHECK(l.colorbar_value(0.014) == Approx(l.colorbar.y).epsilon(0).margin(kPx));
  jsd_heatmap(small, names, dir.path() / "s.svg", o);
  CHECK(slurp(dir.path() / "s.svg").find(">JSD (bits), scale 0 to max 0.014</text>") != std::string::npos);
  // All zero (identical prompts): the bottom colour on a [0, 1] scale, said on the bar.
  const std::vector<double> zero(4, 0.0);
  jsd_heatmap(zero, names, dir.path() / "z.svg", o);
  CHECK(slurp(dir.path() / "z.svg").find(">JSD (bits), all values 0</text>") != std::string::npos);
  const plot::AxesLayout z = jsd_heatmap_figure(zero, names, o).layout();
  CHECK(z.colorbar_value(1) == Approx(z.colorbar.y).epsilon(0).margin(kPx));
}

TEST_CASE("jsd_heatmap vmax rescales the colours and SVG names everything", "[compare_plots]") {
  ScratchDir dir;
  const std::vector<double> jsd = {0.25, 0.5};
  const std::vector<std::string> names = {"model.layers.10.mlp.gate", "model.layers.2.mlp.gate"};
  JsdPlotOptions o;
  o.vmax = 1.0;  // fixed, above the data's maximum 0.5
  o.scale = 1;
  jsd_heatmap(jsd, names, dir.path() / "h.png", o);
  const plot::AxesLayout l = jsd_heatmap_figure(jsd, names, o).layout();
  const Png png(dir.path() / "h.png");
  CHECK(png.width() == 720);
  CHECK(png.hex_at(l.x(0), l.y(0), 1) == "#3b528b");  // 0.25 of 1
  CHECK(png.hex_at(l.x(0), l.y(1), 1) == "#21918c");  // 0.5 of 1 = the middle, not the top

  jsd_heatmap(jsd, names, dir.path() / "h.svg", o);
  const std::string svg = slurp(dir.path() / "h.svg");
  CHECK(render_test::xml_problem(svg).empty());
  for (const char* text : {">JSD (bits), fixed scale 0 to 1</text>", ">Generation step</text>",
                           ">Layer (model.layers.*.mlp.gate)</text>",
                           ">10</text>", ">2</text>"})
    CHECK(svg.find(text) != std::string::npos);
  // Rows keep the given order: "10" (row 0) above "2".
  CHECK(svg.find(">10</text>") < svg.find(">2</text>"));

  o.full_layer_names = true;
  jsd_heatmap(jsd, names, dir.path() / "full.svg", o);
  const std::string full = slurp(dir.path() / "full.svg");
  CHECK(full.find(">model.layers.10.mlp.gate</text>") != std::string::npos);
  CHECK(full.find(">Layer</text>") != std::string::npos);
}

TEST_CASE("jsd_layer_mean draws one bar per layer at its mean JSD", "[compare_plots]") {
  ScratchDir dir;
  // Row means by hand: 0.1, 0.2 (NaN skipped), 0.4, none (all NaN → n/a).
  const std::vector<double> jsd = {0.0, 0.1, 0.2,   //
                                   0.2, kNaN, 0.2,  //
                                   0.4, 0.4, 0.4,   //
                                   kNaN, kNaN, kNaN};
  const auto names = gate_names(4);
  JsdPlotOptions o;
  jsd_layer_mean(jsd, names, dir.path() / "jsd_layer_mean.png", o);
  const plot::AxesLayout l = jsd_layer_mean_figure(jsd, names, o).layout();
  const Png png(dir.path() / "jsd_layer_mean.png");
  const std::string bar = plot::to_hex(plot::colormap_color(plot::Colormap::Viridis, 0.35));
  auto bar_pixels = [&](int i) {
    const int x = static_cast<int>(l.x(i) * 2);
    int y = static_cast<int>(l.y(0) * 2) - 2, n = 0;
    while (y > 0 && png.hex(x, y) == bar) --y, ++n;
    return n > 0 ? n + 2 : 0;  // + the 2 rows skipped at the baseline
  };
  const int b1 = bar_pixels(0), b2 = bar_pixels(1), b4 = bar_pixels(2);
  CHECK(b1 > 40);
  CHECK(std::abs(b2 - 2 * b1) <= 2);
  CHECK(std::abs(b4 - 4 * b1) <= 4);  // antialiased tops: ±1 px per bar, ×4
  CHECK(bar_pixels(3) == 0);
  // A fixed vmax fixes the y axis.
  o.vmax = 1;
  const plot::AxesLayout fixed = jsd_layer_mean_figure(jsd, names, o).layout();
  CHECK(fixed.y(1) == Approx(fixed.plot.y).epsilon(0).margin(kPx));
}

TEST_CASE("layer names are shortened to the part that differs", "[compare_plots]") {
  auto s = shorten_layer_names(gate_names(3));
  CHECK(s.labels == std::vector<std::string>{"0", "1", "2"});
  CHECK(s.pattern == "model.layers.*.mlp.gate");
  s = shorten_layer_names({"layers.10", "layers.11"});  // whole components, not "0"/"1"
  CHECK(s.labels == std::vector<std::string>{"10", "11"});
  CHECK(s.pattern == "layers.*");
  s = shorten_layer_names({"blk.3.ffn_gate_inp", "blk.4.ffn_gate_inp"});
  CHECK(s.labels == std::vector<std::string>{"3", "4"});
  CHECK(s.pattern == "blk.*.ffn_gate_inp");
  s = shorten_layer_names({"a.1.x", "a.2.y"});
  CHECK(s.labels == std::vector<std::string>{"1.x", "2.y"});
  CHECK(s.pattern == "a.*");
  s = shorten_layer_names({"gate", "router"});  // nothing shared
  CHECK(s.labels == std::vector<std::string>{"gate", "router"});
  CHECK(s.pattern.empty());
  s = shorten_layer_names({"model.layers.0.mlp.gate"});  // one name stays whole
  CHECK(s.labels == std::vector<std::string>{"model.layers.0.mlp.gate"});
  s = shorten_layer_names({"x.a", "x.a"});  // duplicates stay whole
  CHECK(s.pattern.empty());
}

TEST_CASE("compare plots reject bad input and write nothing", "[compare_plots]") {
  ScratchDir dir;
  const auto names = gate_names(3);
  const auto out = dir.path() / "x.png";
  CHECK_THROWS_WITH(jsd_heatmap({0.1, 0.2}, {}, out), Catch::Contains("no layers"));
  CHECK_THROWS_WITH(jsd_heatmap({}, names, out), Catch::Contains("empty"));
  CHECK_THROWS_WITH(jsd_heatmap({0.1, 0.2, 0.3, 0.4}, names, out),
                    Catch::Contains("4 JSD values do not form 3 layer rows"));
  CHECK_THROWS_AS(jsd_layer_mean({0.1, 0.2, 0.3, 0.4}, names, out), InputError);
  JsdPlotOptions o;
  o.vmax = 0;
  CHECK_THROWS_AS(jsd_heatmap({0.1, 0.2, 0.3}, names, out, o), InputError);
  o.vmax = kNaN;
  CHECK_THROWS_AS(jsd_layer_mean({0.1, 0.2, 0.3}, names, out, o), InputError);
  CHECK_THROWS_AS(jsd_heatmap({0.1, 0.2, 0.3}, names, dir.path() / "x.gif"), InputError);
  CHECK(dir.entries().empty());
}
