#include "torch/models/native_model.h"

#include <dlfcn.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/device_map.h"
#include "moeroute/error.h"
#include "torch/device_dtype.h"

namespace moeroute::detail {

NativeSetup resolve_native_setup(const ModelOptions& options, const DecoderConfig& config) {
  NativeSetup s;
  s.device = parse_device(options.device);
  const auto dtype = parse_dtype(options.dtype);
  if (dtype) {
    s.dtype = *dtype;
  } else if (s.device.is_cpu()) {
    s.dtype = at::kFloat;  // LibTorch's CPU kernels are slow or missing for 16-bit floats
  } else {
    const auto stored = config.torch_dtype.empty() ? std::nullopt : std::optional<std::string>(config.torch_dtype);
    s.dtype = at::kBFloat16;
    if (stored && (*stored == "float32" || *stored == "float16" || *stored == "bfloat16")) s.dtype = *parse_dtype(*stored);
  }
  // LibTorch 1.13's CPU has no float16 matmul: refuse at load, not at the first forward.
  if (s.device.is_cpu() && s.dtype == at::kHalf) {
    try {
      c10::InferenceMode guard;
      (void)at::linear(at::ones({1, 2}, at::kHalf), at::ones({2, 2}, at::kHalf));
    } catch (const c10::Error&) {
      throw UnsupportedError("dtype float16 on the CPU: this LibTorch has no CPU float16 matmul; use bfloat16 or "
                             "float32 there (float16 works on CUDA)");
    }
  }
  s.experts = parse_experts_impl(options.experts);
  if (options.device_map == "auto") {
    s.device_map_auto = true;
  } else if (!options.device_map.empty()) {
    throw InputError(fmt::format("device_map '{}' is not supported (\"\" or \"auto\")", options.device_map));
  }
  if (s.device_map_auto && !s.device.is_cuda())
    throw InputError("device_map auto places layers over CUDA devices; use it with --device cuda");
  for (int64_t b : options.gpu_memory)
    if (b <= 0) throw InputError(fmt::format("gpu_memory entries must be positive byte counts, got {}", b));
  s.gpu_memory = options.gpu_memory;
  return s;
}

int64_t cuda_free_memory(int index) {
  using MemGetInfo = int (*)(size_t*, size_t*);
  auto* fn = reinterpret_cast<MemGetInfo>(::dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
  if (fn == nullptr)
    throw InputError("device_map auto: the CUDA runtime (cudaMemGetInfo) is not loaded; pass gpu_memory budgets");
  c10::DeviceGuard guard(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index)));
  size_t free = 0, total = 0;
  if (fn(&free, &total) != 0) throw InputError(fmt::format("device_map auto: cudaMemGetInfo failed on cuda:{}", index));
  return static_cast<int64_t>(free);
}

DevicePlan plan_devices(const NativeSetup& setup, int64_t embed_bytes, const std::vector<int64_t>& layer_bytes,
                        int64_t head_bytes) {
  DevicePlan p;
  if (!setup.device_map_auto) {
    p.embed = p.head = setup.device;
    p.layers.assign(layer_bytes.size(), setup.device);
    return p;
  }
  PlacementRequest r;
  r.embed_bytes = embed_bytes;
  r.layer_bytes = layer_bytes;
  r.head_bytes = head_bytes;
  r.device_budgets = setup.gpu_memory;
  if (r.device_budgets.empty()) {
    const int n = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < n; ++i) r.device_budgets.push_back(cuda_free_memory(i) / 10 * 9);
  }
  const auto placed = place_layers(r);
  auto cuda = [](int i) { return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)); };
  p.embed = cuda(placed.embed_device);
  for (int d : placed.layer_devices) p.layers.push_back(cuda(d));
  p.head = cuda(placed.head_device);
  return p;
}

NativeModel::NativeModel(const DecoderConfig& config, NativeSetup setup, std::string what)
    : config_base_(config), setup_(std::move(setup)), what_(std::move(what)),
      cache_(std::make_unique<KvCache>(static_cast<int>(config.num_hidden_layers))) {
  rotary_ = std::make_unique<Rotary>(config.rope, config.head_dim, config.max_position_embeddings, what_);
}

void NativeModel::finish_info(NativeModelMeta meta, std::vector<LayerInfo> moe_layers, RoutingRule rule) {
  info_.model_id = std::move(meta.model_id);
  info_.chat_template = std::move(meta.chat_template);
  info_.chat_template_dir = std::move(meta.chat_template_dir);
  info_.source = "native";
  info_.moe_layers = std::move(moe_layers);
  info_.num_experts = static_cast<int>(config_base_.num_experts);
  info_.routing = rule;
  info_.routing.validate(info_.num_experts, what_);
  info_.vocab_size = config_base_.vocab_size;
  info_.stop_token_ids = std::move(meta.stop_token_ids);
  info_.padded_batches = true;
  std::vector<std::string> used{devices_.embed.str()};
  for (const auto& d : devices_.layers)
    if (std::find(used.begin(), used.end(), d.str()) == used.end()) used.push_back(d.str());
  info_.device = fmt::format("{}", fmt::join(used, ","));
  info_.dtype = dtype_name(setup_.dtype);
  if (tokenizer_ && tokenizer_->vocab_size() > info_.vocab_size)
    throw InputError(fmt::format("{}: the tokenizer has {} ids but the model only {} logits", what_,
                                 tokenizer_->vocab_size(), info_.vocab_size));
}

std::vector<std::vector<float>> NativeModel::forward(const ForwardRequest& request, Recorder* recorder) {
  const auto& rows = request.rows;
  const auto B = static_cast<int64_t>(rows.size());
  if (B == 0) throw Error("forward: no rows");
  if (request.record_last.size() != rows.size()) throw Error("forward: record_last needs one entry per row");
  for (size_t b = 0; b < rows.size(); ++b) {
    if (rows[b].empty()) throw Error("forward: empty row");
    if (request.record_last[b] < 0 || request.record_last[b] > static_cast<int64_t>(rows[b].size()))
      throw Error("forward: record_last outside the row");
    for (int64_t id : rows[b])
      if (id < 0 || id >= info_.vocab_size)
        throw InputError(fmt::format("{}: token id {} is outside the vocabulary [0, {})", what_, id, info_.vocab_size));
  }
  c10::InferenceMode guard;
  const StepPlan plan = cache_->plan(rows, request.record_last);
  const int64_t T = plan.columns;
  auto ids = at::zeros({B, T}, at::kLong);
  auto positions = at::zeros({B, T}, at::kLong);
  auto real = at::zeros({B, T}, at::kBool);
  auto a_ids = ids.accessor<int64_t, 2>();
  auto a_pos = positions.accessor<int64_t, 2>();
  auto a_real = real.accessor<bool, 2>();
  std::vector<RowWindow> windows;
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = rows[static_cast<size_t>(b)];
    const int64_t past = plan.past[static_cast<size_t>(b)], first = plan.first_column(b);
    for (int64_t c = first; c < T; ++c) {
      const int64_t pos = past + (c - first);
      a_ids[b][c] = r[static_cast<size_t>(pos)];
      a_pos[b][c] = pos;
      a_real[b][c] = true;
    }
    const int64_t n = request.record_last[static_cast<size_t>(b)];
    windows.push_back({T - n, n});
  }
  ForwardContext ctx(plan, positions, real, *rotary_, setup_.dtype);
  at::Tensor logits;
  if (recorder) recorder->begin_forward(B, T, std::move(windows));
  try {
    logits = run(ids.to(devices_.embed), ctx, *cache_, recorder, request.want_logits);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: forward failed: {}", what_, e.what_without_backtrace()));
  }
  if (recorder) recorder->end_forward();
  cache_->commit(rows);
  std::vector<std::vector<float>> result(rows.size());
  if (!request.want_logits) return result;
  const auto host = logits.to(at::kFloat).to(at::kCPU).contiguous();
  const int64_t V = host.size(1);
  for (int64_t b = 0; b < B; ++b)
    result[static_cast<size_t>(b)].assign(host.data_ptr<float>() + b * V, host.data_ptr<float>() + (b + 1) * V);
  return result;
}

}  // namespace moeroute::detail
