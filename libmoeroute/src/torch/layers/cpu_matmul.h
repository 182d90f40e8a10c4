// The native models' CPU matrix products on few rows (decode steps, the experts' token groups):
// kernels/row_matmul.h over LibTorch's intra-op thread pool, the weight read in place. Larger
// products stay with LibTorch (its BLAS), where packing the weights pays for itself.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace moeroute::detail {

/// Rows up to which cpu_linear takes a product (above it LibTorch's GEMM is faster).
inline constexpr int64_t kCpuLinearMaxRows = 16;

/// Whether `w` is a weight matrix the row kernels read as stored next to float32 activations:
/// float32, bfloat16 or float16, contiguous, on the CPU.
bool row_kernel_weight(const at::Tensor& w);

/// Whether `w` is stored in a 16-bit format the activations (float32) are not in: products with
/// it widen it exactly (kernels/row_matmul.h), never round the activations.
bool reduced_weight(const at::Tensor& w, const at::Tensor& x);

/// Whether cpu_linear handles x [..., K] · w [N, K]ᵀ: x float32 on the CPU, w a row-kernel
/// weight, at most kCpuLinearMaxRows rows.
bool cpu_linear_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

/// x [..., K] · w [N, K]ᵀ (+ bias [N]) → [..., N], N split over the intra-op threads.
at::Tensor cpu_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

/// at::linear with N split over the intra-op threads: each thread one single-threaded BLAS GEMM
/// on its slice of w (OpenBLAS runs in the calling thread, torch_options.h), so a large product
/// still uses every core. Any dtype; CPU tensors. A reduced weight (reduced_weight) is widened
/// slice by slice, a few hundred rows at a time, never as a whole.
at::Tensor parallel_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

/// Rows grouped by weight matrix: for each group g and each of its rows j in
/// [starts[g], starts[g+1]): out_rows[j] = W[experts[g]] · in_rows[j] (+ bias[experts[g]]), with W
/// [E, N, K] a row-kernel weight (float32, bfloat16 or float16) and bias [E, N] (undefined =
/// none) float32, contiguous CPU tensors. One parallel region over (group, block of N) for all groups.
void cpu_grouped_matmul(const std::vector<const float*>& in_rows, const std::vector<float*>& out_rows,
                        const std::vector<int64_t>& starts, const std::vector<int64_t>& experts, const at::Tensor& W,
                        const at::Tensor& bias);

}  // namespace moeroute::detail
