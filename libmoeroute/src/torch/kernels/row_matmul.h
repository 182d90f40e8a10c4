// Matrix products with few rows, for the native models' CPU path: y_m = W·x_m (+ b) for a handful
// of activation rows x_m against a weight matrix W [N, K] in nn.Linear layout, reading W once per
// call straight from where it lies (a checkpoint mapping, an expert's slice of a fused tensor) —
// no re-packing, as a BLAS GEMM does on every call, and no copy. Rows are passed as pointers, so
// the experts gather their tokens' rows and scatter outputs without moving data.
// W may be stored in float32, bfloat16 or float16: 16-bit values widen to float32 exactly (every
// bf16/f16 value is a float32 value), so the result is bit for bit the float32 kernel's on the
// widened matrix while half the bytes are read.
// No LibTorch here: the caller splits N over its thread pool.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moeroute::detail {

/// How a weight matrix's elements are stored.
enum class WeightFormat { F32, BF16, F16 };

/// Bytes per element of `f`.
constexpr size_t weight_format_size(WeightFormat f) { return f == WeightFormat::F32 ? 4 : 2; }

/// A read-only weight matrix [N, K] (row-major, rows of K elements) in one of the formats.
struct WeightView {
  const void* data = nullptr;
  WeightFormat format = WeightFormat::F32;
  /// The view starting `elements` elements further on (an expert's slice of a fused tensor).
  WeightView advanced(int64_t elements) const {
    return {static_cast<const char*>(data) + elements * static_cast<int64_t>(weight_format_size(format)), format};
  }
};

/// For m < M and n in [n0, n1): y_rows[m][n] = Σ_k x_rows[m][k] · w[n·K + k] (+ bias[n] when
/// bias is not null). Float32 accumulation: eight-lane partial sums (AVX2 + FMA where the CPU has
/// them — and F16C for float16 weights —, chosen at run time; a scalar loop with the same eight
/// lanes elsewhere), so the result differs from any other summation order only by fp32 rounding.
void row_matmul(const float* const* x_rows, int64_t M, WeightView w, int64_t K, int64_t n0, int64_t n1,
                const float* bias, float* const* y_rows);

/// The same for a float32 matrix.
inline void row_matmul(const float* const* x_rows, int64_t M, const float* w, int64_t K, int64_t n0, int64_t n1,
                       const float* bias, float* const* y_rows) {
  row_matmul(x_rows, M, WeightView{w, WeightFormat::F32}, K, n0, n1, bias, y_rows);
}

/// Exact widening of one stored element (the scalar path's; also the tests' reference).
float bf16_to_float(uint16_t bits);
float f16_to_float(uint16_t bits);

/// Which implementation row_matmul runs on this CPU for `format`: "avx2" or "scalar".
const char* row_matmul_isa(WeightFormat format = WeightFormat::F32);

/// Test hook: force the scalar implementation (true) or the CPU's best (false).
void row_matmul_force_scalar(bool scalar);

}  // namespace moeroute::detail
