#include "torch/families/native_model.h"

#include <dlfcn.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "moeroute/device_map.h"
#include "moeroute/error.h"
#include "moeroute/trace.h"
#include "moeroute/torch/torch_info.h"
#include "torch/torch_options.h"

namespace moeroute::detail {

NativeSetup resolve_native_setup(const ModelOptions& options, const DecoderConfig& config) {
  NativeSetup s;
  const DeviceMap& map = options.device_map;
  switch (map.kind) {
    case DeviceMap::Kind::Device: s.device = parse_device(map.device); break;
    case DeviceMap::Kind::Auto:
      s.device_map_auto = cuda_available();
      s.device = s.device_map_auto ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
      break;
    case DeviceMap::Kind::Explicit:
      for (const auto& [prefix, name] : map.entries) s.device_map.emplace_back(prefix, parse_device(name));
      s.device = s.device_map.front().second;
      break;
  }
  if (const auto dtype = torch_dtype(options.dtype)) {
    s.dtype = *dtype;
  } else if (s.device.is_cpu()) {
    s.dtype = at::kFloat;  // LibTorch's CPU kernels are slow or missing for 16-bit floats
  } else {
    const auto& stored = config.torch_dtype;
    s.dtype = at::kBFloat16;
    if (stored == "float32") s.dtype = at::kFloat;
    if (stored == "float16") s.dtype = at::kHalf;
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
  s.weights = torch_dtype(options.weight_dtype);
  if (s.weights && *s.weights != s.dtype) {
    bool cpu_only = s.device.is_cpu() && !s.device_map_auto;
    for (const auto& e : s.device_map) cpu_only = cpu_only && e.second.is_cpu();
    if (!cpu_only || s.dtype != at::kFloat || *s.weights == at::kFloat)
      throw InputError(fmt::format("weight_dtype {}: 16-bit weight storage is for float32 runs on the CPU only (this "
                                   "run: dtype {}, device {}); on CUDA set dtype instead",
                                   dtype_name(*s.weights), dtype_name(s.dtype), map.to_string()));
  }
  s.experts = options.experts;
  s.cuda_graphs = options.cuda_graphs;
  for (int64_t b : options.gpu_memory)
    if (b <= 0) throw InputError(fmt::format("gpu_memory entries must be positive byte counts, got {}", b));
  s.gpu_memory = options.gpu_memory;
  return s;
}

namespace {

// The device of part `name` under an explicit map: the longest entry equal to the name or a
// dotted prefix of it.
c10::Device mapped_device(const NativeSetup& setup, const std::string& name) {
  const std::pair<std::string, c10::Device>* best = nullptr;
  for (const auto& e : setup.device_map) {
    const bool match = name == e.first || (name.size() > e.first.size() && name.compare(0, e.first.size(), e.first) == 0 &&
                                           name[e.first.size()] == '.');
    if (match && (!best || e.first.size() > best->first.size())) best = &e;
  }
  if (!best) {
    std::vector<std::string> prefixes;
    for (const auto& e : setup.device_map) prefixes.push_back(e.first);
    throw InputError(fmt::format("device_map: no entry places '{}' (entries: {}); name it or a prefix such as "
                                 "'model.layers'",
                                 name, fmt::join(prefixes, ", ")));
  }
  return best->second;
}

}  // namespace

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
  if (!setup.device_map.empty()) {
    p.embed = mapped_device(setup, "model.embed_tokens");
    for (size_t i = 0; i < layer_bytes.size(); ++i) p.layers.push_back(mapped_device(setup, fmt::format("model.layers.{}", i)));
    p.head = mapped_device(setup, "lm_head");
    return p;
  }
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

namespace {

// Bytes of each decoder layer in the run dtype (MXFP4 blocks dequantise to 2 values per byte;
// scales vanish) + a KV allowance of 4096 positions × 2 rows.
std::vector<int64_t> layer_run_bytes(const DecoderConfig& c, const WeightSource& w, int64_t esize) {
  std::vector<int64_t> bytes(static_cast<size_t>(c.num_hidden_layers),
                             2 * 2 * 4096 * c.num_key_value_heads * c.head_dim * esize);
  auto ends_with = [](const std::string& s, const char* tail) {
    const size_t n = std::char_traits<char>::length(tail);
    return s.size() > n && s.compare(s.size() - n, n, tail) == 0;
  };
  for (const auto& name : w.names()) {
    const int index = layer_index_from_name(name);
    if (name.rfind("model.layers.", 0) != 0 || index < 0 || index >= c.num_hidden_layers) continue;
    const auto shape = w.shape(name);
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    const bool blocks = shape.size() == 4 && ends_with(name, "_blocks");
    if (!ends_with(name, "_scales")) bytes[static_cast<size_t>(index)] += numel * esize * (blocks ? 2 : 1);
  }
  return bytes;
}

}  // namespace

NativeModel::NativeModel(const DecoderConfig& config, const WeightSource& w, NativeModelMeta meta,
                         const ModelOptions& options)
    : setup_(resolve_native_setup(options, config)), config_(config), meta_(std::move(meta)),
      cache_(std::make_unique<KvCache>(static_cast<int>(config.num_hidden_layers))) {
  const std::string& what = meta_.what;
  tokenizer_ = meta_.tokenizer;
  rotary_ = std::make_unique<Rotary>(config.rope, config.head_dim, config.max_position_embeddings, what);
  const int64_t H = config.hidden_size, V = config.vocab_size;
  const auto esize = static_cast<int64_t>(c10::elementSize(setup_.dtype));
  const int64_t embed = V * H * esize;
  devices_ = plan_devices(setup_, embed, layer_run_bytes(config, w, esize), embed + H * esize);
  embed_ = load_matrix(w, "model.embed_tokens.weight", {V, H}, "vocab_size × hidden_size", devices_.embed);
  final_norm_ = load(w, "model.norm.weight", {H}, "hidden_size", devices_.head);
  lm_head_ = config.tie_word_embeddings
                 ? embed_.to(devices_.head, matrix_dtype(w, "model.embed_tokens.weight", devices_.head))
                 : load_matrix(w, "lm_head.weight", {V, H}, "vocab_size × hidden_size (tie_word_embeddings false)",
                               devices_.head);
}

at::Tensor NativeModel::load(const WeightSource& w, const std::string& name, const std::vector<int64_t>& shape,
                             const std::string& why, const c10::Device& device) const {
  return w.load_checked(name, shape, why, device, setup_.dtype);
}

at::Tensor NativeModel::load_matrix(const WeightSource& w, const std::string& name, const std::vector<int64_t>& shape,
                                    const std::string& why, const c10::Device& device) const {
  return w.load_checked(name, shape, why, device, matrix_dtype(w, name, device));
}

at::ScalarType NativeModel::matrix_dtype(const WeightSource& w, const std::string& name,
                                         const c10::Device& device) const {
  at::ScalarType t = setup_.dtype;
  if (setup_.weights) {
    t = *setup_.weights;
  } else if (device.is_cpu() && setup_.dtype == at::kFloat && w.contains(name)) {
    const auto stored = w.stored_type(name);
    if (stored == at::kBFloat16 || stored == at::kHalf) t = *stored;
    if (stored == at::kByte) t = at::kBFloat16;  // MXFP4 blocks: e2m1 · 2^scale is exact in bfloat16
  }
  if (std::find(matrix_dtypes_.begin(), matrix_dtypes_.end(), t) == matrix_dtypes_.end()) matrix_dtypes_.push_back(t);
  return t;
}

NativeModel::LayerLoader NativeModel::layer_loader(const WeightSource& w, int64_t i) const {
  return LayerLoader(*this, w, fmt::format("model.layers.{}.", i), devices_.layers[static_cast<size_t>(i)]);
}

DecoderLayer NativeModel::base_layer(const WeightSource& w, int64_t i) const {
  DecoderLayer L;
  L.device = devices_.layers[static_cast<size_t>(i)];
  load_attention_weights(layer_loader(w, i), config_, L);
  return L;
}

void NativeModel::finish(std::vector<DecoderLayer> layers, DecoderSpec spec, const std::string& router) {
  layers_ = std::move(layers);
  spec_ = std::move(spec);
  spec_.moe.experts = setup_.experts;
  std::vector<LayerInfo> routers;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i].moe) continue;
    layers_[i].moe->slot = static_cast<int>(routers.size());
    routers.push_back({fmt::format("model.layers.{}.mlp.{}", i, router), static_cast<int>(i)});
  }
  info_.model_id = std::move(meta_.model_id);
  info_.chat_template = std::move(meta_.chat_template);
  info_.chat_template_dir = std::move(meta_.chat_template_dir);
  info_.source = "native";
  info_.moe_layers = std::move(routers);
  info_.num_experts = static_cast<int>(config_.num_experts);
  info_.routing = spec_.moe.rule;
  info_.routing.validate(info_.num_experts, meta_.what);
  info_.vocab_size = config_.vocab_size;
  info_.max_positions = config_.max_position_embeddings;
  info_.stop_token_ids = std::move(meta_.stop_token_ids);
  info_.padded_batches = true;
  std::vector<std::string> used{devices_.embed.str()};
  for (const auto& d : devices_.layers)
    if (std::find(used.begin(), used.end(), d.str()) == used.end()) used.push_back(d.str());
  info_.device = fmt::format("{}", fmt::join(used, ","));
  info_.dtype = dtype_name(setup_.dtype);
  if (matrix_dtypes_.size() > 1 || (matrix_dtypes_.size() == 1 && matrix_dtypes_[0] != setup_.dtype)) {
    std::vector<std::string> names;
    for (const auto t : matrix_dtypes_) names.push_back(dtype_name(t));
    std::sort(names.begin(), names.end());
    info_.weight_dtype = fmt::format("{}", fmt::join(names, "+"));
  }
  // Static decode steps need every part on one device (a graph is captured on one).
  const bool one_device = devices_.embed == devices_.head &&
                          std::all_of(devices_.layers.begin(), devices_.layers.end(),
                                      [&](const c10::Device& d) { return d == devices_.head; });
  if (one_device)
    static_decode_ = std::make_unique<StaticDecode>(devices_.head, setup_.dtype, spec_.moe.experts, setup_.cuda_graphs);
  if (tokenizer_ && tokenizer_->vocab_size() > info_.vocab_size)
    throw InputError(fmt::format("{}: the tokenizer has {} ids but the model only {} logits", meta_.what,
                                 tokenizer_->vocab_size(), info_.vocab_size));
}

at::Tensor NativeModel::run(const at::Tensor& input_ids, ForwardContext& ctx, Recorder* recorder) {
  auto h = at::embedding(embed_, input_ids).to(setup_.dtype);  // a 16-bit stored embedding widens exactly
  for (size_t i = 0; i < layers_.size(); ++i)
    h = decoder_layer(layers_[i], static_cast<int>(i), spec_, std::move(h), ctx, *cache_, recorder);
  return h;
}

at::Tensor NativeModel::head(const at::Tensor& hidden) const {
  return detail::linear(rms_norm(hidden, final_norm_, spec_.rms_norm_eps, spec_.norm), lm_head_);
}

std::unique_ptr<RoutingRecorder> NativeModel::make_recorder(const RecorderOptions& options, int rows) const {
  return make_torch_recorder(info_, options, rows);
}

std::vector<std::vector<double>> NativeModel::score(const at::Tensor& hidden, const ForwardRequest& request) const {
  // Rows end in the last column, so row b's scored positions are its last score_last[b] columns
  // before it; the head runs over column blocks to bound the [B, columns, V] logits.
  constexpr int64_t kBlock = 256;
  const auto& rows = request.rows;
  const int64_t T = hidden.size(1);
  int64_t n_max = 0;
  for (int64_t n : request.score_last) n_max = std::max(n_max, n);
  std::vector<std::vector<double>> out(rows.size());
  for (int64_t start = T - 1 - n_max; start < T - 1; start += kBlock) {
    const int64_t width = std::min(kBlock, T - 1 - start);
    const auto lp = at::log_softmax(head(hidden.narrow(1, start, width).to(devices_.head)).to(at::kDouble), -1);
    std::vector<int64_t> next(rows.size() * static_cast<size_t>(width), 0);
    for (size_t b = 0; b < rows.size(); ++b) {
      const auto len = static_cast<int64_t>(rows[b].size());
      for (int64_t c = 0; c < width; ++c) {
        const int64_t pos = len - T + start + c;  // row position of grid column start + c
        if (pos >= 0 && pos + 1 < len) next[b * static_cast<size_t>(width) + static_cast<size_t>(c)] = rows[b][static_cast<size_t>(pos + 1)];
      }
    }
    const auto idx = at::tensor(next, at::kLong).view({static_cast<int64_t>(rows.size()), width, 1}).to(lp.device());
    const auto picked = lp.gather(2, idx).squeeze(2).to(at::kCPU).contiguous();
    const double* v = picked.data_ptr<double>();
    for (size_t b = 0; b < rows.size(); ++b)
      for (int64_t c = 0; c < width; ++c)
        if (start + c >= T - 1 - request.score_last[b]) out[b].push_back(v[b * static_cast<size_t>(width) + static_cast<size_t>(c)]);
  }
  return out;
}

ForwardResult NativeModel::forward(const ForwardRequest& request, RoutingRecorder* routing) {
  Recorder* recorder = torch_recorder(routing);
  request.validate(info_.vocab_size, meta_.what);
  const auto& rows = request.rows;
  const auto B = static_cast<int64_t>(rows.size());
  c10::InferenceMode guard;
  // Recorded positions and the positions before scored next tokens must be in this forward's grid.
  std::vector<int64_t> recompute = request.record_last;
  for (size_t b = 0; b < request.score_last.size(); ++b) recompute[b] = std::max(recompute[b], request.score_last[b] + 1);
  const StepPlan plan = cache_->plan(rows, recompute);
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
  ForwardResult result;
  result.logits.resize(rows.size());
  if (recorder) recorder->begin_forward(B, T, std::move(windows));
  try {
    at::Tensor last;  // logits [B, V] after each row's last token (when wanted)
    if (static_decode_ && static_decode_->applies(request, plan, *cache_)) {
      last = static_decode_->step(plan, ids, positions, *cache_, request, recorder,
                                  [&](const StepPlan& p, const at::Tensor& i, const at::Tensor& pos, const at::Tensor& r) {
                                    ForwardContext ctx(p, pos, r, *rotary_, setup_.dtype);
                                    const auto h = run(i, ctx, recorder);
                                    return request.want_logits ? head(h.select(1, 0)) : at::Tensor();
                                  });
    } else {
      ForwardContext ctx(plan, positions, real, *rotary_, setup_.dtype);
      const at::Tensor hidden = run(ids.to(devices_.embed), ctx, recorder);
      if (request.want_logits) last = head(hidden.select(1, T - 1).to(devices_.head));
      if (!request.score_last.empty()) result.next_token_logprobs = score(hidden, request);
    }
    if (recorder) recorder->end_forward();
    if (request.want_logits) {
      const auto host = last.to(at::kFloat).to(at::kCPU).contiguous();
      const int64_t V = host.size(1);
      for (int64_t b = 0; b < B; ++b)
        result.logits[static_cast<size_t>(b)].assign(host.data_ptr<float>() + b * V, host.data_ptr<float>() + (b + 1) * V);
    }
  } catch (const c10::Error& e) {
    throw Error(fmt::format("{}: forward failed: {}", meta_.what, e.what_without_backtrace()));
  }
  cache_->commit(rows);
  return result;
}

}  // namespace moeroute::detail
