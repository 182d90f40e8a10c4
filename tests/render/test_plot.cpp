// Tests of the plot module: colormap tables against matplotlib's published values, tick rules,
// and rendered output read back from PNG/SVG.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <regex>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/plot.h"
#include "render_test_util.h"

using namespace moeroute;
using namespace moeroute::plot;
using render_test::colour_distance;
using render_test::Png;
using render_test::ScratchDir;

namespace {
// Layout coordinates are doubles computed through at most ~32 operations (margins, text extents,
// scale factors) on values ≤ 4096 px: equal positions reached by two paths agree within this.
constexpr double kPx = moeroute::test::fp64_tolerance(32, 4096);
}  // namespace

namespace {

double luminance(const Color& c) {  // WCAG relative luminance of an sRGB colour
  auto lin = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

const double kNaN = std::nan("");

}  // namespace

TEST_CASE("viridis matches matplotlib's published colours", "[plot][colormap]") {
  // matplotlib.cm.viridis at 0, 1/4, 1/2, 3/4, 1: the well-known 5-class viridis palette.
  CHECK(to_hex(colormap_color(Colormap::Viridis, 0.0)) == "#440154");
  CHECK(to_hex(colormap_color(Colormap::Viridis, 0.25)) == "#3b528b");
  CHECK(to_hex(colormap_color(Colormap::Viridis, 0.5)) == "#21918c");
  CHECK(to_hex(colormap_color(Colormap::Viridis, 0.75)) == "#5ec962");
  CHECK(to_hex(colormap_color(Colormap::Viridis, 1.0)) == "#fde725");
  // Out of range clamps to the ends; NaN is the documented grey.
  CHECK(to_hex(colormap_color(Colormap::Viridis, -3)) == "#440154");
  CHECK(to_hex(colormap_color(Colormap::Viridis, 7)) == "#fde725");
  CHECK(to_hex(colormap_color(Colormap::Viridis, kNaN)) == "#808080");
  // Perceptual uniformity shows as strictly increasing luminance over all 256 entries.
  for (int i = 1; i < 256; ++i)
    CHECK(luminance(colormap_color(Colormap::Viridis, (i + 0.5) / 256)) >
          luminance(colormap_color(Colormap::Viridis, (i - 0.5) / 256)));
}

TEST_CASE("coolwarm is matplotlib's diverging map", "[plot][colormap]") {
  // matplotlib.cm.coolwarm(0.0), (0.5), (1.0) (Moreland's endpoints, light grey centre).
  CHECK(to_hex(colormap_color(Colormap::Coolwarm, 0.0)) == "#3b4cc0");
  CHECK(to_hex(colormap_color(Colormap::Coolwarm, 0.5)) == "#dddcdc");
  CHECK(to_hex(colormap_color(Colormap::Coolwarm, 1.0)) == "#b40426");
  // Luminance rises to the centre and falls after it: the shape of a diverging map.
  for (int i = 1; i < 256; ++i) {
    const double prev = luminance(colormap_color(Colormap::Coolwarm, (i - 0.5) / 256));
    const double cur = luminance(colormap_color(Colormap::Coolwarm, (i + 0.5) / 256));
    if (i < 128) CHECK(cur > prev);
    else CHECK(cur < prev);
  }
}

TEST_CASE("hex colours and the series cycle", "[plot][colormap]") {
  CHECK(to_hex(hex_color("#1F77b4")) == "#1f77b4");
  CHECK(to_hex(series_color(0)) == "#1f77b4");  // matplotlib tab10
  CHECK(to_hex(series_color(1)) == "#ff7f0e");
  CHECK(to_hex(series_color(10)) == "#1f77b4");
  CHECK_THROWS_AS(hex_color("1f77b4"), InputError);
  CHECK_THROWS_AS(hex_color("#1f77bz"), InputError);
}

TEST_CASE("nice ticks use 1-2-5 steps", "[plot][ticks]") {
  CHECK(nice_ticks(0, 1, 6) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  // A step is m · 10^k through pow: within a few roundings of its value.
  CHECK(nice_step(0, 1, 11) == Approx(0.1).epsilon(0).margin(moeroute::test::fp64_tolerance(4, 0.1)));
  CHECK(nice_ticks(-0.5, 127.5, 10) == std::vector<double>{0, 20, 40, 60, 80, 100, 120});
  CHECK(nice_step(0, 1e6, 5) == Approx(5e5).epsilon(0).margin(moeroute::test::fp64_tolerance(4, 5e5)));
  CHECK(nice_step(0.013, 0.087, 5) == Approx(0.02).epsilon(0).margin(moeroute::test::fp64_tolerance(4, 0.02)));
  CHECK(nice_ticks(-1, 1, 5) == std::vector<double>{-1, -0.5, 0, 0.5, 1});

  // Property over many ranges: step is {1,2,5}·10^k, fits max_ticks, and the next smaller
  // 1-2-5 step would not.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-3, 3);
  for (int trial = 0; trial < 500; ++trial) {
    const double lo = u(rng) * std::pow(10, u(rng)), hi = lo + std::pow(10, u(rng));
    const int max_ticks = 2 + trial % 10;
    const double step = nice_step(lo, hi, max_ticks);
    // The 1e-9 slacks mirror the implementation's own (ticks.cpp kSlack: relative to the range,
    // far above the few-ulp rounding of log10/pow and far below any tick spacing). The mantissa
    // of m · 10^k recovered by log10 and pow is m within a few roundings.
    const double mantissa = step / std::pow(10, std::floor(std::log10(step) + 1e-9));
    const double m_tol = moeroute::test::fp64_tolerance(8, 5);
    CHECK((std::abs(mantissa - 1) < m_tol || std::abs(mantissa - 2) < m_tol || std::abs(mantissa - 5) < m_tol));
    const auto ticks = nice_ticks(lo, hi, max_ticks);
    CHECK(static_cast<int>(ticks.size()) <= max_ticks);
    const double smaller = mantissa < 1.5 ? step / 2 : mantissa < 3 ? step / 2 : step * 2 / 5;
    const double n_smaller = std::floor(hi / smaller + 1e-9 * (hi - lo) / smaller) - std::ceil(lo / smaller - 1e-9) + 1;
    CHECK(n_smaller > max_ticks - 1e-9);
    for (double t : ticks) CHECK((t >= lo - 1e-9 * (hi - lo) && t <= hi + 1e-9 * (hi - lo)));
  }
  CHECK_THROWS_AS(nice_step(1, 1, 5), InputError);
  CHECK_THROWS_AS(nice_step(0, kNaN, 5), InputError);
}

TEST_CASE("tick labels carry just enough decimals", "[plot][ticks]") {
  CHECK(format_tick(0.25, 0.05) == "0.25");
  CHECK(format_tick(0.30000000000000004, 0.1) == "0.3");
  CHECK(format_tick(100, 20) == "100");
  CHECK(format_tick(2, 0.5) == "2.0");
  CHECK(format_tick(-0.5, 0.1) == "\u22120.5");
  CHECK(format_tick(-1e-17, 0.1) == "0.0");  // never "-0.0"
  CHECK(format_tick(0.75, 0.25) == "0.75");
  CHECK(format_tick(1.5e6, 5e5) == "1.5e+06");
  CHECK(format_tick(0.00012, 0.00002) == "1.2e-04");
}

TEST_CASE("one axis's tick labels share one format", "[plot][ticks]") {
  // Tiny values (a noise floor, rounding residue): one exponent for the axis, so "1e-14" never
  // stands beside "1.5e-14" and zero is not "0.000000000000000".
  CHECK(format_ticks({0, 5e-15, 1e-14, 1.5e-14}, 5e-15) ==
        std::vector<std::string>{"0", "0.5e-14", "1.0e-14", "1.5e-14"});
  CHECK(format_ticks({0, 2e-5, 4e-5, 6e-5}, 2e-5) == std::vector<std::string>{"0", "2e-05", "4e-05", "6e-05"});
  CHECK(format_ticks({-1e6, 0, 1e6, 2e6}, 1e6) == std::vector<std::string>{"\u22121e+06", "0", "1e+06", "2e+06"});
  // Fixed point as before: the decimals the step needs, for every label.
  CHECK(format_ticks({0, 0.25, 0.5}, 0.25) == std::vector<std::string>{"0.00", "0.25", "0.50"});
  CHECK(format_ticks({0, 0.002, 0.004}, 0.002) == std::vector<std::string>{"0.000", "0.002", "0.004"});
}

TEST_CASE("category labels are thinned by 1-2-5 strides", "[plot][ticks]") {
  CHECK(category_stride(48, 14, 12.6) == 1);
  CHECK(category_stride(48, 10, 12.6) == 2);
  CHECK(category_stride(128, 3, 20) == 10);
  CHECK(category_stride(1000, 1, 45) == 50);
  CHECK(category_stride(10, 1, 1000) == 10);  // never more than the count
  CHECK(category_stride(1, 1, 1000) == 1);
}

TEST_CASE("histograms bin like numpy.histogram", "[plot][histogram]") {
  HistogramSpec s;
  s.samples = {0, 1, 1, 2, 2, 2, 3};
  s.bins = 3;
  Histogram h = bin_histogram(s);  // numpy.histogram([0,1,1,2,2,2,3], bins=3)
  CHECK(h.edges == std::vector<double>{0, 1, 2, 3});
  CHECK(h.heights == std::vector<double>{1, 2, 4});

  // numpy.histogram(x, 'auto') → counts [4, 4, 1, 0, 1], edges 0.5 … 9 in steps of 1.7
  s.samples = {0.5, 1.1, 1.2, 2.0, 2.2, 2.3, 2.9, 3.4, 5.0, 9.0, kNaN};
  s.bins = 0;
  h = bin_histogram(s);
  CHECK(h.heights == std::vector<double>{4, 4, 1, 0, 1});
  REQUIRE(h.edges.size() == 6);
  CHECK(h.edges[1] == Approx(2.2).epsilon(0).margin(moeroute::test::fp64_tolerance(4, 9)));  // lo + i · width

  // numpy.histogram(x, bins=4, range=(1, 5), density=True) → [0.25, 0.5, 0.125, 0.125]
  s.bins = 4;
  s.lo = 1;
  s.hi = 5;
  s.density = true;
  h = bin_histogram(s);
  CHECK(h.heights == std::vector<double>{0.25, 0.5, 0.125, 0.125});

  HistogramSpec auto100;  // numpy.histogram_bin_edges(np.arange(100), 'auto') has 8 bins
  for (int i = 0; i < 100; ++i) auto100.samples.push_back(i);
  CHECK(bin_histogram(auto100).heights.size() == 8);

  // Degenerate data: one bin over the range widened by ±0.5, as numpy.histogram([5., 5, 5], 'auto').
  HistogramSpec flat;
  flat.samples = {5, 5, 5};
  h = bin_histogram(flat);
  CHECK(h.edges == std::vector<double>{4.5, 5.5});
  CHECK(h.heights == std::vector<double>{3});
  // The auto width comes from the data, the bin count from the range:
  // numpy.histogram(np.array([1, 2, 2, 3, 3, 3.]), 'auto', range=(0, 10)) has 18 bins.
  HistogramSpec ranged;
  ranged.samples = {1, 2, 2, 3, 3, 3};
  ranged.lo = 0;
  ranged.hi = 10;
  CHECK(bin_histogram(ranged).heights.size() == 18);
  ranged.lo.reset();
  ranged.hi.reset();
  CHECK(bin_histogram(ranged).heights == std::vector<double>{1, 0, 2, 3});  // edges 1, 1.5, …, 3

  CHECK_THROWS_AS(bin_histogram(HistogramSpec{}), InputError);
  HistogramSpec nan_only;
  nan_only.samples = {kNaN};
  CHECK_THROWS_AS(bin_histogram(nan_only), InputError);
}

TEST_CASE("a heatmap cell shows the colormap colour of its value", "[plot][heatmap]") {
  Figure fig(420, 300);
  HeatmapSpec h;
  h.rows = 2;
  h.cols = 3;
  h.values = {0.0, 0.25, 0.5,  //
              0.75, 1.0, kNaN};
  h.vmin = 0;
  h.vmax = 1;
  h.colorbar_label = "value";
  fig.axes().heatmap(h).set_ycategories({"top", "bottom"}).set_title("t").set_xlabel("x").set_ylabel("y");
  const AxesLayout l = fig.layout();
  const double scale = 2;
  const Png png(fig.render(ImageFormat::Png, scale));
  REQUIRE(png.width() == 840);
  REQUIRE(png.height() == 600);
  const char* expected[2][3] = {{"#440154", "#3b528b", "#21918c"}, {"#5ec962", "#fde725", "#808080"}};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) CHECK(png.hex_at(l.x(c), l.y(r), scale) == expected[r][c]);
  // Row 0 is at the top.
  CHECK(l.y(0) < l.y(1));

  // Colorbar: viridis(0) at the bottom, viridis(1) at the top, beside the plot; the NaN key
  // below it in the NaN grey.
  REQUIRE(l.colorbar.w > 0);
  CHECK(l.colorbar.x > l.plot.x + l.plot.w);
  CHECK(l.colorbar.y == Approx(l.plot.y).epsilon(0).margin(kPx));
  const double cx = l.colorbar.x + l.colorbar.w / 2;
  CHECK(colour_distance(png.hex_at(cx, l.colorbar.y + l.colorbar.h - 1, scale), "#440154") <= 3);
  CHECK(colour_distance(png.hex_at(cx, l.colorbar.y + 0.5, scale), "#fde725") <= 3);
  CHECK(colour_distance(png.hex_at(cx, l.colorbar_value(0.5), scale), "#21918c") <= 3);
  REQUIRE(l.nan_swatch.w > 0);
  CHECK(png.hex_at(l.nan_swatch.x + l.nan_swatch.w / 2, l.nan_swatch.y + l.nan_swatch.h / 2, scale) == "#808080");
  CHECK(l.nan_swatch.y + l.nan_swatch.h == Approx(l.plot.y + l.plot.h).epsilon(0).margin(kPx));
}

TEST_CASE("heatmap colour range defaults to the data and clamps outside values", "[plot][heatmap]") {
  Figure fig(300, 200);
  HeatmapSpec h;
  h.rows = 1;
  h.cols = 3;
  h.values = {10, 20, 30};  // data range [10, 30]
  h.colorbar = false;
  fig.axes().heatmap(h);
  const AxesLayout l = fig.layout();
  CHECK(l.colorbar.w == 0);
  const Png png(fig.render(ImageFormat::Png, 1));
  CHECK(png.hex_at(l.x(0), l.y(0), 1) == "#440154");
  CHECK(png.hex_at(l.x(1), l.y(0), 1) == "#21918c");
  CHECK(png.hex_at(l.x(2), l.y(0), 1) == "#fde725");

  Figure diverging(300, 200);  // Coolwarm defaults to a symmetric range: 0 is the centre
  h.values = {-2, 0, 1};
  h.colormap = Colormap::Coolwarm;
  diverging.axes().heatmap(h);
  const AxesLayout d = diverging.layout();
  const Png dp(diverging.render(ImageFormat::Png, 1));
  CHECK(dp.hex_at(d.x(0), d.y(0), 1) == "#3b4cc0");
  CHECK(dp.hex_at(d.x(1), d.y(0), 1) == "#dddcdc");
}

TEST_CASE("bar heights are proportional to the values", "[plot][bars]") {
  Figure fig(500, 400);
  BarSpec b;
  b.heights = {1, 2, 4, kNaN};
  b.color = hex_color("#123456");
  fig.axes().bars(b).set_xcategories({"a", "b", "c", "d"});
  const AxesLayout l = fig.layout();
  const double scale = 2;
  const Png png(fig.render(ImageFormat::Png, scale));
  // Walk up from the baseline through the bar's pixels at its centre.
  auto bar_pixels = [&](int i) {
    const int x = static_cast<int>(l.x(i) * scale);
    int y = static_cast<int>(l.y(0) * scale) - 2, n = 0;
    while (y > 0 && png.hex(x, y) == "#123456") --y, ++n;
    return n > 0 ? n + 2 : 0;  // + the 2 rows skipped at the baseline
  };
  const int h1 = bar_pixels(0), h2 = bar_pixels(1), h4 = bar_pixels(2);
  CHECK(h1 > 20);
  CHECK(std::abs(h2 - 2 * h1) <= 2);
  CHECK(std::abs(h4 - 4 * h1) <= 4);  // antialiased tops: ±1 px per bar, ×4
  // The top of the tallest bar is where the y transform puts 4.
  CHECK(std::abs((l.y(0) - l.y(4)) * scale - h4) <= 2);
  CHECK(bar_pixels(3) == 0);  // NaN: no bar
  // Baseline at 0 (no padding below), headroom above the tallest bar.
  CHECK(l.y(0) == Approx(l.plot.y + l.plot.h).epsilon(0).margin(kPx));
  CHECK(l.y(4) > l.plot.y);
}

TEST_CASE("lines pass through their points in the series colours", "[plot][lines]") {
  Figure fig(400, 300);
  LineSpec a, b;
  a.x = {0, 10};
  a.y = {1, 1};
  a.width = 3;
  a.label = "flat";
  b.y = {0, 2};
  b.width = 3;
  b.label = "rising";
  fig.axes().line(a).line(b).set_xlim(0, 10).set_ylim(0, 2);
  const AxesLayout l = fig.layout();
  const Png png(fig.render(ImageFormat::Png, 2));
  CHECK(png.hex_at(l.x(3), l.y(1), 2) == "#1f77b4");  // first series: tab10 blue
  CHECK(png.hex_at(l.x(0.5), l.y(1.0), 2) == "#ff7f0e");  // second: x = 0, 1 → (0.5, 1)
  CHECK_THROWS_AS(fig.axes().line(LineSpec{{1, 2}, {1}, "", {}, 1, false}), InputError);
}

TEST_CASE("dense category axes never overlap their labels", "[plot][ticks]") {
  // 120 heatmap rows in 400 units: labels thinned; 60 long x names: turned vertical.
  Figure fig(900, 400);
  HeatmapSpec h;
  h.rows = 120;
  h.cols = 60;
  h.values.assign(120 * 60, 0.5);
  std::vector<std::string> rows, cols;
  for (int i = 0; i < 120; ++i) rows.push_back("model.layers." + std::to_string(i) + ".mlp.gate");
  for (int i = 0; i < 60; ++i) cols.push_back("token_" + std::to_string(i) + "_text");
  fig.axes().heatmap(h).set_ycategories(rows).set_xcategories(cols);
  const std::string svg = fig.render(ImageFormat::Svg);

  std::vector<double> ys, xs;
  static const std::regex text_re(R"re(<text transform="translate\(([-0-9.]+),([-0-9.]+)\)( rotate\(-90\))?"[^>]*>([^<]*)</text>)re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it) {
    const std::string label = (*it)[4];
    if (label.rfind("model.layers.", 0) == 0) {
      CHECK((*it)[3].length() == 0);
      ys.push_back(std::stod((*it)[2]));
    } else if (label.rfind("token_", 0) == 0) {
      CHECK((*it)[3].length() > 0);  // vertical
      xs.push_back(std::stod((*it)[1]));
    }
  }
  REQUIRE(ys.size() >= 10);
  REQUIRE(ys.size() < 120);
  REQUIRE(xs.size() >= 10);
  for (size_t i = 1; i < ys.size(); ++i) CHECK(ys[i] - ys[i - 1] >= 11.6);  // ≥ one 10-px line of DejaVu
  for (size_t i = 1; i < xs.size(); ++i) CHECK(xs[i] - xs[i - 1] >= 11.6);
}

TEST_CASE("SVG output is well-formed and keeps text as text", "[plot][svg]") {
  Figure fig(500, 360);
  HeatmapSpec h;
  h.rows = 2;
  h.cols = 2;
  h.values = {0, 1, kNaN, 0.5};
  h.colorbar_label = "JSD <bits> & more";
  fig.axes().heatmap(h).set_ycategories({"layer \"a\"", "b\xff"}).set_title("Title & co").set_xlabel("step");
  const std::string svg = fig.render(ImageFormat::Svg);
  CHECK(render_test::xml_problem(svg).empty());
  CHECK(svg.find(">JSD &lt;bits&gt; &amp; more</text>") != std::string::npos);
  CHECK(svg.find(">Title &amp; co</text>") != std::string::npos);
  CHECK(svg.find(">layer &quot;a&quot;</text>") != std::string::npos);
  CHECK(svg.find(">b\xEF\xBF\xBD</text>") != std::string::npos);  // invalid UTF-8 replaced
  CHECK(svg.find(">step</text>") != std::string::npos);
  CHECK(svg.find(">NaN</text>") != std::string::npos);
  CHECK(svg.find("fill=\"#808080\"") != std::string::npos);  // the NaN cell
  CHECK(svg.find("fill=\"#fde725\"") != std::string::npos);  // the value-1 cell
  CHECK(svg.find("width=\"500\" height=\"360\"") != std::string::npos);

  // Large heatmaps are embedded as one pixelated PNG instead of 70 000 rectangles.
  Figure big(600, 400);
  HeatmapSpec b;
  b.rows = 100;
  b.cols = 700;
  b.values.assign(70000, 0.3);
  big.axes().heatmap(b);
  const std::string big_svg = big.render(ImageFormat::Svg);
  CHECK(render_test::xml_problem(big_svg).empty());
  CHECK(big_svg.find("data:image/png;base64,") != std::string::npos);
  CHECK(big_svg.size() < 100000);
}

TEST_CASE("save picks the format from the extension and writes atomically", "[plot][save]") {
  ScratchDir dir;
  Figure fig(300, 200);
  HistogramSpec s;
  s.samples = {1, 2, 2, 3, 3, 3};
  fig.axes().histogram(s);
  fig.save(dir.path() / "h.png");
  fig.save(dir.path() / "h.SVG");
  fig.save(dir.path() / "h.pdf");
  CHECK(dir.entries() == std::vector<std::string>{"h.SVG", "h.pdf", "h.png"});  // no temp files left
  CHECK(Png(dir.path() / "h.png").width() == 600);  // default scale 2
  std::ifstream pdf(dir.path() / "h.pdf", std::ios::binary);
  std::string head(5, '\0');
  pdf.read(head.data(), 5);
  CHECK(head == "%PDF-");

  CHECK_THROWS_AS(fig.save(dir.path() / "h.jpg"), InputError);
  CHECK_THROWS_AS(fig.save(dir.path() / "noext"), InputError);
  CHECK_THROWS_AS(fig.render(ImageFormat::Png, 100), InputError);
  // A spec error found while laying out leaves nothing behind.
  Figure bad(300, 200);
  BarSpec b;
  b.heights = {1, 2};
  bad.axes().bars(b).set_xcategories({"only one"});
  CHECK_THROWS_AS(bad.save(dir.path() / "bad.png"), InputError);
  CHECK(dir.entries().size() == 3);
}

TEST_CASE("bad specs are rejected with InputError", "[plot][errors]") {
  Figure fig(300, 200);
  Axes& ax = fig.axes();
  HeatmapSpec h;
  h.rows = 2;
  h.cols = 3;
  h.values = {1, 2, 3, 4, 5};
  CHECK_THROWS_WITH(ax.heatmap(h), Catch::Contains("5 values for 2 rows × 3 columns (expected 6)"));
  h.values.clear();
  h.rows = 0;
  CHECK_THROWS_WITH(ax.heatmap(h), Catch::Contains("empty data"));
  h.rows = 1;
  h.cols = 1;
  h.values = {1};
  h.vmin = 2;
  h.vmax = 1;
  CHECK_THROWS_AS(ax.heatmap(h), InputError);
  CHECK_THROWS_WITH(ax.bars(BarSpec{}), Catch::Contains("empty data"));
  CHECK_THROWS_WITH(ax.line(LineSpec{}), Catch::Contains("empty data"));
  CHECK_THROWS_AS(ax.set_xlim(1, 1), InputError);
  CHECK_THROWS_AS(ax.set_ycategories({}), InputError);
  BarSpec two;
  two.heights = {1, 2};
  ax.bars(two);
  BarSpec three;
  three.heights = {1, 2, 3};
  CHECK_THROWS_WITH(ax.bars(three), Catch::Contains("3 heights, but the first bar series has 2"));
  ax.set_xcategories({"a", "b", "c"});
  CHECK_THROWS_WITH(fig.layout(), Catch::Contains("3 x category names for 2 bars"));

  CHECK_THROWS_AS(Figure(10, 200), InputError);
  CHECK_THROWS_AS(Figure(300, 200, 0, 1), InputError);
  CHECK_THROWS_AS(fig.axes(1, 0), InputError);
  CHECK_THROWS_WITH(Figure(300, 200).render(ImageFormat::Png), Catch::Contains("nothing to draw"));
}

TEST_CASE("a grid figure lays out each axes in its own cell", "[plot][figure]") {
  Figure fig(800, 300, 1, 2);
  LineSpec l;
  l.y = {1, 2, 3};
  fig.axes(0, 0).line(l);
  fig.axes(0, 1).line(l);
  const AxesLayout a = fig.layout(0, 0), b = fig.layout(0, 1);
  CHECK(a.plot.x + a.plot.w <= 400);
  CHECK(b.plot.x >= 400);
  CHECK(b.plot.x + b.plot.w <= 800);
  CHECK(Png(fig.render(ImageFormat::Png, 1)).width() == 800);
}

TEST_CASE("small multiples: 256 axes, compact spacing, a figure title and key", "[plot][figure]") {
  CHECK_NOTHROW(Figure(2000, 2000, 16, 16));
  CHECK_THROWS_WITH(Figure(2000, 2000, 16, 17), Catch::Contains("1 … 256 axes"));
  LineSpec l;
  l.y = {1, 2, 3};
  auto top_of_plot = [&](bool title, bool key, bool compact) {
    Figure fig(400, 300);
    fig.axes().line(l).set_title("t").set_compact(compact);
    if (title) fig.set_title("Figure");
    if (key) fig.set_key({{"a", series_color(0), true}, {"b", series_color(1), false}});
    return fig.layout().plot.y;
  };
  // The title band is 34 px and the key band 22 px; compact axes save padding and title size.
  CHECK(top_of_plot(true, false, false) - top_of_plot(false, false, false) == Approx(34).epsilon(0).margin(kPx));
  CHECK(top_of_plot(true, true, false) - top_of_plot(true, false, false) == Approx(22).epsilon(0).margin(kPx));
  CHECK(top_of_plot(false, false, true) < top_of_plot(false, false, false) - 8);
  // The key's line swatch is drawn in the series colour in the key band.
  Figure fig(400, 300);
  fig.axes().line(l);
  fig.set_key({{"only", series_color(3), true}});
  const Png png(fig.render(ImageFormat::Png, 1));
  bool found = false;
  for (int x = 0; x < 400 && !found; ++x) found = colour_distance(png.hex(x, 11), to_hex(series_color(3))) < 8;
  CHECK(found);
}

TEST_CASE("a pre-binned histogram draws its bins and is validated", "[plot][histogram]") {
  Figure fig(400, 300);
  fig.axes().histogram(Histogram{{0, 1, 3}, {2, 1}}, "h", Color{1, 0, 0}).set_legend(false);
  const AxesLayout lay = fig.layout();
  const Png png(fig.render(ImageFormat::Png, 1));
  // The middle of the first bin, half-way up its height 2, is the bin colour.
  const int x = static_cast<int>(lay.x(0.5)), y = static_cast<int>(lay.y(1.0));
  CHECK(png.hex(x, y) == "#ff0000");
  CHECK(png.hex(static_cast<int>(lay.x(2.0)), static_cast<int>(lay.y(1.5))) != "#ff0000");  // above bin 2
  Figure small(300, 200);
  Axes& ax = small.axes();
  CHECK_THROWS_WITH(ax.histogram(Histogram{{0, 1}, {1, 2}}), Catch::Contains("2 edges for 2 bins"));
  CHECK_THROWS_WITH(ax.histogram(Histogram{{0, 0, 1}, {1, 2}}), Catch::Contains("increasing"));
  CHECK_THROWS_WITH(ax.histogram(Histogram{{0, 1}, {-1}}), Catch::Contains("≥ 0"));
}
