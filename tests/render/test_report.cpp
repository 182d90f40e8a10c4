// The HTML report's encoding, page and inputs: data that decodes back to what was computed,
// text that cannot escape its element, a CSP that matches the scripts, and clear errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "fp_tolerance.h"
#include "moeroute/error.h"
#include "moeroute/report.h"
#include "moeroute/simulator.h"
#include "moeroute/trace_io.h"
#include "render/report/assets.h"
#include "render/report/encode.h"
#include "render/report/page.h"
#include "render/report/sections.h"
#include "render/text_encoding.h"
#include "unit/temp_dir.h"
#include "unit/trace_fixtures.h"

using namespace moeroute;
using namespace moeroute::detail;
using plot::detail::base64;
using plot::detail::unbase64;

namespace {

// The JSON data block of a page, parsed.
nlohmann::json page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"moeroute-data\">";
  const size_t a = html.find(open);
  REQUIRE(a != std::string::npos);
  const size_t b = html.find("</script>", a);
  return nlohmann::json::parse(html.substr(a + open.size(), b - a - open.size()));
}

// The text of every executable <script> element, in order.
std::vector<std::string> scripts(const std::string& html) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = html.find("<script>", pos)) != std::string::npos) {
    const size_t end = html.find("</script>", pos);
    out.push_back(html.substr(pos + 8, end - pos - 8));
    pos = end;
  }
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

RoutingDiff diff_of(const RouterTrace& b, const RouterTrace& v) { return diff_routing(b, v); }

}  // namespace

TEST_CASE("base64 follows RFC 4648's test vectors", "[report]") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(unbase64("Zm9vYmE=") == "fooba");
}

TEST_CASE("16-bit quantisation stays within half a step and keeps NaN", "[report]") {
  std::vector<double> v{0.25, -1.0, 3.0, std::nan(""), 0.0, 2.999999};
  const auto e = encode_q16(v, {6});
  CHECK(e["lo"] == -1.0);
  CHECK(e["hi"] == 3.0);
  const auto back = decode_q16(e);
  REQUIRE(back.size() == v.size());
  const double bound = 4.0 / 131068.0;  // (hi − lo) / (2 · 65534)
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) {
      CHECK(std::isnan(back[i]));
    } else {
      // Half a step, plus the encode/decode arithmetic (≤ 8 roundings on values ≤ 4).
      CHECK(std::abs(back[i] - v[i]) <= bound + moeroute::test::fp64_tolerance(8, 4));
    }
  }
  CHECK(decode_q16(encode_q16({5.0, 5.0}, {2})) == std::vector<double>{5.0, 5.0});
}

TEST_CASE("integer arrays pick their width and refuse values that do not fit", "[report]") {
  CHECK(encode_ids({0, 255}, {2})["dtype"] == "u8");
  CHECK(encode_ids({0, 256}, {2})["dtype"] == "u16");
  CHECK(unbase64(encode_u16({1, 0x0203}, {2})["b64"].get<std::string>()) == std::string("\x01\x00\x03\x02", 4));
  CHECK_THROWS_AS(encode_u8({256}, {1}), std::logic_error);
  CHECK(unbase64(encode_f32({1.0}, {1})["b64"].get<std::string>()) == std::string("\x00\x00\x80\x3f", 4));
}

TEST_CASE("JSON inside <script> cannot close it; HTML text is escaped", "[report]") {
  const nlohmann::ordered_json j = {{"t", "</script><script>alert(1)</script><!-- & <img src=x onerror=alert(2)>"}};
  const std::string s = script_safe_json(j);
  CHECK(s.find('<') == std::string::npos);
  CHECK(s.find('>') == std::string::npos);
  CHECK(nlohmann::json::parse(s)["t"].get<std::string>() == j["t"].get<std::string>());  // still the same string
  CHECK(plot::detail::xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;'");
  CHECK(script_safe_json({{"bad", std::string("\xff")}}) == "{\"bad\":\"\xef\xbf\xbd\"}");  // invalid UTF-8 → U+FFFD
}

TEST_CASE("CSP hashes are SHA-256 in base64", "[report]") {
  // sha256("") and sha256("abc") (FIPS 180-2), base64-encoded.
  CHECK(csp_hash("") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  CHECK(csp_hash("abc") == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

TEST_CASE("every embedded asset is present and safe inside its element", "[report]") {
  CHECK(kReportAssetCount >= 10);
  for (size_t i = 0; i < kReportAssetCount; ++i) {
    INFO(kReportAssets[i].name);
    CHECK(kReportAssets[i].size > 100);
    CHECK(kReportAssets[i].data[kReportAssets[i].size] == 0);
    CHECK_NOTHROW(check_script_safe(kReportAssets[i].name, report_asset(kReportAssets[i].name)));
  }
  CHECK(report_asset("chart.js").find("Chart.js v") != std::string_view::npos);
  CHECK_THROWS_AS(check_script_safe("x", "a</SCRIPT>"), std::logic_error);
}

TEST_CASE("expert slot counts are per layer over the chosen rows", "[report]") {
  // One layer, top-1: experts 2, 0, 2, 1 at rows 0…3.
  const RouterTrace t = test::top1_trace(3, {2, 0, 2, 1}, 1);
  CHECK(expert_slot_counts(t, 0, 4) == std::vector<int64_t>{1, 1, 2});
  CHECK(expert_slot_counts(t, 1, 3) == std::vector<int64_t>{1, 0, 1});
  const RouterTrace r = test::random_trace(2, 5, 3, 7, 2, 3);
  const auto c = expert_slot_counts(r, 0, 7);
  for (int l = 0; l < 2; ++l) {
    int64_t sum = 0;
    for (int e = 0; e < 5; ++e) sum += c[static_cast<size_t>(l * 5 + e)];
    CHECK(sum == 7 * 3);
  }
}

TEST_CASE("a comparison page embeds the diff it was given", "[report]") {
  RouterTrace base = test::random_trace(4, 16, 2, 30, 10, 1);
  RouterTrace var = test::random_trace(4, 16, 2, 34, 12, 2);
  const RoutingDiff d = diff_of(base, var);
  Report report;
  report.add_comparison("pair", base, var, d,
                        {{"base", {{"system", "Be a pirate."}, {"user", "Hi"}}}, {"var", {{"system", "Be a cat."}}}});
  const std::string html = report.html();
  const auto data = page_data(html);
  CHECK(data["format"] == "moeroute.report");
  REQUIRE(data["sections"].size() == 2);  // the comparison and the simulator
  const auto& s = data["sections"][0];
  CHECK(s["kind"] == "comparison");
  CHECK(s["views"] == nlohmann::json({"summary", "divergence", "tokens", "shifts", "utilisation"}));
  CHECK(s["steps"] == d.alignment.steps);
  CHECK(s["base_start"] == d.alignment.base_start);
  const auto div = decode_q16(s["divergence"]);
  REQUIRE(div.size() == d.divergence.size());
  const double step = (s["divergence"]["hi"].get<double>() - s["divergence"]["lo"].get<double>()) / 131068.0;
  // Half a quantisation step, plus the encode/decode arithmetic on values ≤ 1 (as above).
  for (size_t i = 0; i < div.size(); ++i)
    CHECK(std::abs(div[i] - d.divergence[i]) <= step + moeroute::test::fp64_tolerance(8));
  for (size_t l = 0; l < 4; ++l) CHECK(s["layer_mean"][l].get<double>() == d.layer_mean[l]);
  CHECK(data["runs"][0]["prompt"]["system"] == "Be a pirate.");
  CHECK(data["runs"][1]["prompt"]["system"] == "Be a cat.");
  CHECK(data["sections"][1]["replay_runs"] == nlohmann::json({0, 1}));
  CHECK(data["model"]["layers"][3]["label"] == "3");
  CHECK(data["palette"]["experts"].size() == 80);
}

TEST_CASE("comparison_report_html takes compare's in-memory results", "[report]") {
  // What compare --report does with run_compare's traces, diff and generations.json document.
  const RouterTrace base = test::random_trace(3, 8, 2, 12, 4, 1);
  const RouterTrace var = test::random_trace(3, 8, 2, 12, 4, 2);
  nlohmann::ordered_json g;
  g["align"] = "teacher-forced";
  g["base"] = {{"system", "A"}, {"user", "Q"}};
  g["var"] = {{"system", "B"}, {"user", "Q"}, {"teacher_forced", true}};
  const auto data = page_data(comparison_report_html(base, var, diff_of(base, var), g));
  CHECK(data["sections"][0]["generation"]["teacher_forced"] == true);
  CHECK(data["runs"][1]["prompt"]["system"] == "B");
}

TEST_CASE("the page's CSP allows exactly its two scripts and no network", "[report]") {
  Report report;
  report.add_trace("t", test::random_trace(2, 8, 2, 6, 2, 5));
  const std::string html = report.html();
  const auto s = scripts(html);
  REQUIRE(s.size() == 2);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  CHECK(html.find("'" + csp_hash(s[0]) + "'") != std::string::npos);
  CHECK(html.find("'" + csp_hash(s[1]) + "'") != std::string::npos);
  CHECK(html.find("og:title") != std::string::npos);
  CHECK(html.find("og:image") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
}

TEST_CASE("hostile token and prompt text stays data", "[report]") {
  RouterTrace t = test::random_trace(2, 8, 2, 4, 2, 9);
  const std::string evil = "</script><script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";
  t.token_text = {evil, "<!--", "</SCRIPT >", "a & b"};
  t.meta.model_id = evil;
  ReportOptions o;
  o.title = evil;
  Report report(o);
  report.add_trace(evil, t);
  const std::string html = report.html();
  CHECK(count(html, "<script") == 3);  // the data block and the two scripts, nothing injected
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<!--") == std::string::npos);
  const auto data = page_data(html);
  CHECK(data["runs"][0]["tokens"][0] == evil);
  CHECK(data["title"] == evil);
}

TEST_CASE("a report refuses traces of different models and empty traces", "[report]") {
  RouterTrace a = test::random_trace(2, 8, 2, 6, 2, 1);
  RouterTrace b = a;
  b.meta.model_id = "other-model";
  Report r;
  r.add_trace("a.safetensors", a);
  CHECK_THROWS_WITH(r.add_trace("b.safetensors", b), Catch::Contains("b.safetensors is from model 'other-model'") &&
                                                         Catch::Contains("a.safetensors is from model 'test'"));
  RouterTrace c = test::random_trace(2, 16, 2, 6, 2, 1);
  CHECK_THROWS_WITH(r.add_trace("c.safetensors", c), Catch::Contains("16 experts"));
  RouterTrace d = test::random_trace(3, 8, 2, 6, 2, 1);
  CHECK_THROWS_WITH(r.add_trace("d.safetensors", d), Catch::Contains("router layers"));
  RouterTrace empty = test::random_trace(2, 8, 2, 0, 0, 1);
  CHECK_THROWS_WITH(Report().add_trace("e.safetensors", empty), Catch::Contains("e.safetensors has no rows"));
  ReportOptions small;
  small.max_rows = 5;
  CHECK_THROWS_AS(Report(small).add_trace("a", a), UnsupportedError);
  ReportOptions none;
  none.simulator = false;
  CHECK_THROWS_WITH(Report(none).html(), Catch::Contains("no pages"));
}

TEST_CASE("report inputs: compare directories and trace files", "[report]") {
  test::TempDir tmp;
  const RouterTrace base = test::random_trace(3, 8, 2, 20, 8, 3);
  const RouterTrace var = test::random_trace(3, 8, 2, 22, 9, 4);
  const auto dir = tmp / "cmp";
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
  };
  const auto out = tmp / "r.html";

  // A diff directory without traces.
  write("meta.json", R"({"distribution": "full", "divergence": "jsd"})");
  CHECK_THROWS_WITH(write_report({dir}, out, {}), Catch::Contains("no base.safetensors") && Catch::Contains("diff"));
  save_trace(base, dir / "base.safetensors");
  CHECK_THROWS_WITH(write_report({dir}, out, {}), Catch::Contains("no var.safetensors"));
  save_trace(var, dir / "var.safetensors");
  write("meta.json", R"({"distribution": "sideways", "divergence": "jsd"})");
  CHECK_THROWS_WITH(write_report({dir}, out, {}), Catch::Contains("meta.json:1:") && Catch::Contains("distribution"));
  write("meta.json", R"({"distribution": "topk", "divergence": "tv"})");
  write("generations.json", "{\"base\": {\"system\": 3}}");
  CHECK_THROWS_WITH(write_report({dir}, out, {}), Catch::Contains("generations.json:1:") && Catch::Contains("base.system"));
  CHECK_FALSE(std::filesystem::exists(out));  // nothing half-written

  write("generations.json", R"({"base": {"system": "S1"}, "var": {"system": "S2"}, "align": "teacher-forced"})");
  write_report({dir}, out, {});
  std::ifstream in(out);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto data = page_data(html);
  const auto& s = data["sections"][0];
  CHECK(s["distribution"] == "topk");  // the directory's settings, not the defaults
  CHECK(s["metric"] == "tv");
  CHECK(s["generation"]["align"] == "teacher-forced");
  RoutingDiffOptions o;
  o.dist = DistKind::TopK;
  o.metric = Divergence::TotalVariation;
  CHECK(s["steps"] == diff_routing(base, var, o).alignment.steps);

  // Two trace files alone are compared; with a third input each is its own page.
  write_report({dir / "base.safetensors", dir / "var.safetensors"}, out, {});
  std::ifstream in2(out);
  const std::string html2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  CHECK(page_data(html2)["sections"][0]["title"] == "base.safetensors vs var.safetensors");
  CHECK_THROWS_WITH(write_report({tmp / "missing.safetensors"}, out, {}), Catch::Contains("no such file"));
  RouterTrace no_gen = base;
  no_gen.prompt_length = no_gen.num_positions;
  save_trace(no_gen, tmp / "prompt_only.safetensors");
  CHECK_THROWS_WITH(write_report({tmp / "prompt_only.safetensors", dir / "var.safetensors"}, out, {}),
                    Catch::Contains("nothing to compare"));
}

TEST_CASE("the simulator page alone", "[report]") {
  ReportOptions o;
  o.og_image = "https://example.org/preview.png?a=1&b=\"2\"";
  const std::string html = Report(o).html();
  CHECK(html.find("<meta property=\"og:image\" content=\"https://example.org/preview.png?a=1&amp;b=&quot;2&quot;\">") !=
        std::string::npos);
  const auto data = page_data(html);
  CHECK(data["model"].is_null());
  REQUIRE(data["sections"].size() == 1);
  CHECK(data["sections"][0]["kind"] == "simulator");
  CHECK(data["sections"][0]["defaults"]["top_k"] == SimulatorConfig{}.top_k);
}
