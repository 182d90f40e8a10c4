#include "torch/torch_options.h"

#include <dlfcn.h>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/torch/torch_info.h"

namespace moeroute::detail {

c10::Device parse_device(const std::string& text) {
  std::optional<c10::Device> device;
  try {
    device.emplace(text);
  } catch (const c10::Error&) {
    throw InputError(fmt::format("device '{}' is not a torch device (cpu, cuda, cuda:N)", text));
  }
  if (device->is_cuda() && !cuda_available())
    throw InputError(fmt::format("device '{}': LibTorch sees no CUDA device ({})", text, torch_build_info()));
  if (!device->is_cpu() && !device->is_cuda())
    throw UnsupportedError(fmt::format("device '{}': only cpu and cuda are supported", text));
  return *device;
}

c10::Device single_device(const DeviceMap& map, const std::string& what) {
  switch (map.kind) {
    case DeviceMap::Kind::Device: return parse_device(map.device);
    case DeviceMap::Kind::Auto: return cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    case DeviceMap::Kind::Explicit: break;
  }
  throw UnsupportedError(fmt::format("{}: an explicit device map places parts of native models (checkpoint "
                                     "directories); this model runs on one device: give cpu, cuda[:N] or auto",
                                     what));
}

std::optional<at::ScalarType> torch_dtype(ModelDtype d) {
  switch (d) {
    case ModelDtype::Float32: return at::kFloat;
    case ModelDtype::BFloat16: return at::kBFloat16;
    case ModelDtype::Float16: return at::kHalf;
    case ModelDtype::Auto: break;
  }
  return std::nullopt;
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: return c10::toString(t);
  }
}

void apply_thread_option(const ModelOptions& options) {
  if (options.threads > 0) at::set_num_threads(options.threads);
  single_threaded_blas();
}

void single_threaded_blas() {
  // OpenBLAS (Debian's LibTorch links it) keeps its own pthread pool whose idle workers spin in
  // sched_yield after every call, competing with LibTorch's OpenMP pool for the same cores. Our
  // kernels parallelise over LibTorch's pool, so OpenBLAS runs in the calling thread. Looked up
  // at run time: a LibTorch with MKL or another BLAS has no such symbol and is left alone.
  static const bool done = [] {
    using SetThreads = void (*)(int);
    if (auto* fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(1);
    return true;
  }();
  (void)done;
}

std::unique_ptr<RoutingRecorder> make_torch_recorder(const ModelInfo& info, const RecorderOptions& options, int rows) {
  return std::make_unique<Recorder>(info.moe_layers, info.num_experts, info.routing, options, rows);
}

Recorder* torch_recorder(RoutingRecorder* recorder) {
  if (!recorder) return nullptr;
  auto* r = dynamic_cast<Recorder*>(recorder);
  if (!r) throw Error("forward: the recorder was not made by this model's make_recorder()");
  return r;
}

}  // namespace moeroute::detail
