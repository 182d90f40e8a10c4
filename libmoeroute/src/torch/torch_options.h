// ModelOptions turned into LibTorch's terms, shared by the TorchScript and native backends.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "moeroute/causal_lm.h"
#include "moeroute/torch/recorder.h"

namespace moeroute::detail {

/// Parses "cpu", "cuda", "cuda:1", … and checks the device exists. Throws InputError.
c10::Device parse_device(const std::string& text);

/// The one device a single-device backend runs on: the map's device, or for "auto" CUDA when
/// LibTorch sees a GPU, else the CPU. An explicit map throws UnsupportedError naming `what`.
c10::Device single_device(const DeviceMap& map, const std::string& what);

/// Auto → nullopt (the backend decides); otherwise the scalar type.
std::optional<at::ScalarType> torch_dtype(ModelDtype dtype);

/// "float32", "bfloat16", "float16", … (as ModelInfo::dtype and config.json spell them).
std::string dtype_name(at::ScalarType type);

/// Applies options.threads (process-wide: LibTorch's intra-op pool) when it is set, and
/// single_threaded_blas().
void apply_thread_option(const ModelOptions& options);

/// Once per process: OpenBLAS to one thread (openblas_set_num_threads, found with dlsym), so
/// LibTorch's intra-op pool is the only one (docs/performance.md, "Native models").
void single_threaded_blas();

/// A recorder for a model described by `info` (the LibTorch backends' make_recorder).
std::unique_ptr<RoutingRecorder> make_torch_recorder(const ModelInfo& info, const RecorderOptions& options, int rows);

/// `recorder` as the torch Recorder the backends feed; throws Error for a recorder another kind
/// of model made.
Recorder* torch_recorder(RoutingRecorder* recorder);

}  // namespace moeroute::detail
