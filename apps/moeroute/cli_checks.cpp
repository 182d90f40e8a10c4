#include "cli_checks.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <string>

namespace moeroute::cli {

namespace {

// `test` on the parsed value; the message names what was expected and what was given (the
// input as typed, at most 40 characters).
template <typename Test>
CLI::Validator check(const std::string& name, const std::string& expected, Test test) {
  return CLI::Validator(
      [expected, test](std::string& input) -> std::string {
        double v = 0;
        const bool number = CLI::detail::lexical_cast(input, v);
        if (number && std::isfinite(v) && test(v)) return "";
        const std::string shown = input.size() > 40 ? input.substr(0, 37) + "..." : input;
        return fmt::format("expected {}, got {}", expected, shown);
      },
      name);
}

}  // namespace

CLI::Validator positive_number() {
  return check("POSITIVE", "a number > 0", [](double v) { return v > 0; });
}

CLI::Validator non_negative_number() {
  return check("NONNEGATIVE", "a number ≥ 0", [](double v) { return v >= 0; });
}

CLI::Validator number_in(double lo, double hi) {
  return check(fmt::format("[{}, {}]", lo, hi), fmt::format("a number in [{}, {}]", lo, hi),
               [lo, hi](double v) { return v >= lo && v <= hi; });
}

}  // namespace moeroute::cli
