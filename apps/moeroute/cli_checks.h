// Range checks for numeric CLI options whose messages show the bounds as written. CLI11's own
// PositiveNumber/NonNegativeNumber/Range print std::to_string of their bounds: 309 digits for
// DBL_MAX, "0.000000" for 1e-14.
#pragma once

namespace CLI {
class Validator;
}

namespace moeroute::cli {

/// A finite number > 0.
CLI::Validator positive_number();
/// A finite number ≥ 0.
CLI::Validator non_negative_number();
/// A finite number in [lo, hi].
CLI::Validator number_in(double lo, double hi);

}  // namespace moeroute::cli
