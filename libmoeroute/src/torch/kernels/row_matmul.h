// Matrix products with few rows, for the native models' CPU path: y_m = W·x_m (+ b) for a handful
// of activation rows x_m against a weight matrix W [N, K] in nn.Linear layout, reading W once per
// call straight from where it lies (a checkpoint mapping, an expert's slice of a fused tensor) —
// no re-packing, as a BLAS GEMM does on every call, and no copy. Rows are passed as pointers, so
// the experts gather their tokens' rows and scatter outputs without moving data.
// No LibTorch here: the caller splits N over its thread pool.
#pragma once

#include <cstdint>

namespace moeroute::detail {

/// For m < M and n in [n0, n1): y_rows[m][n] = Σ_k x_rows[m][k] · w[n·K + k] (+ bias[n] when
/// bias is not null). Float32 with float32 accumulation: eight-lane partial sums (AVX2 + FMA where
/// the CPU has them, chosen at run time; a scalar loop with the same eight lanes elsewhere), so
/// the result differs from any other summation order only by fp32 rounding.
void row_matmul(const float* const* x_rows, int64_t M, const float* w, int64_t K, int64_t n0, int64_t n1,
                const float* bias, float* const* y_rows);

/// Which implementation row_matmul runs on this CPU: "avx2" or "scalar".
const char* row_matmul_isa();

/// Test hook: force the scalar implementation (true) or the CPU's best (false).
void row_matmul_force_scalar(bool scalar);

}  // namespace moeroute::detail
