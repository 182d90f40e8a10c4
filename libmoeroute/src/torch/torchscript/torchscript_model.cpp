// Drives a TorchScript causal LM: left-padded batches with an attention mask when the forward
// takes one, next-token logits back to the host (the one wait per step), routing to the
// recorder through the hooks.
#include "torch/torchscript/torchscript_model.h"

#include <algorithm>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "torch/torch_options.h"
#include "moeroute/torch/torchscript.h"

namespace moeroute::detail {

namespace {

at::Tensor logits_of(const c10::IValue& out, const std::string& what) {
  if (out.isTensor()) return out.toTensor();
  if (out.isTuple() && !out.toTupleRef().elements().empty() && out.toTupleRef().elements()[0].isTensor())
    return out.toTupleRef().elements()[0].toTensor();
  if (out.isGenericDict()) {
    for (const auto& kv : out.toGenericDict())
      if (kv.key().isString() && kv.key().toStringRef() == "logits" && kv.value().isTensor())
        return kv.value().toTensor();
  }
  throw UnsupportedError(fmt::format(
      "{}: forward returned {}; expected logits [batch, seq, vocab], a tuple starting with them or a dict with "
      "'logits'",
      what, out.tagKind()));
}

// The last non-empty line of a message (a TorchScript traceback ends with the error itself).
std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of(" \n");
  if (end == std::string::npos) return text;
  const size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

class TorchScriptModel final : public CausalLM {
 public:
  TorchScriptModel(torch::jit::Module module, ScriptModelMeta meta, const ModelOptions& options)
      : meta_(std::move(meta)), device_(single_device(options.device_map, meta_.what)) {
    const auto dtype = torch_dtype(options.dtype);
    if (const auto weights = torch_dtype(options.weight_dtype); weights && weights != dtype)
      throw UnsupportedError(fmt::format("{}: weight_dtype {} is for native models (checkpoint directories, "
                                         "builtin:tiny-qwen3-moe, builtin:tiny-gpt-oss); a TorchScript export runs "
                                         "in one dtype (--dtype)",
                                         meta_.what, to_string(options.weight_dtype)));
    module.eval();
    if (dtype) module.to(*dtype);
    module.to(device_);
    read_signature(module);

    HookOptions hook;
    if (!options.gate_patterns.empty()) hook.gate_patterns = options.gate_patterns;
    auto hooked = hook_router_gates(module, hook, meta_.what);
    module_ = options.install_hooks ? hooked.module : module;

    info_.model_id = meta_.model_id;
    info_.source = "torchscript";
    info_.moe_layers = hooked.gates;
    info_.num_experts = hooked.num_experts;
    if (!options.routing_rule && meta_.routing_rule.empty())
      throw InputError(fmt::format(
          "{}: no routing rule known: the export has no sidecar (<file>.json) and no config.json extra file with a "
          "known model_type; pass one, e.g. --routing-rule 'qwen3_moe(k=8)' (docs/recording.md, Routing rules)",
          meta_.what));
    info_.routing = options.routing_rule ? *options.routing_rule : parse_routing_rule(meta_.routing_rule);
    info_.routing.validate(info_.num_experts, meta_.what);
    info_.stop_token_ids = meta_.stop_token_ids;
    info_.chat_template = meta_.chat_template;
    info_.padded_batches = takes_mask_;
    info_.chat_template_dir = meta_.chat_template_dir;
    info_.device = device_.str();
    info_.dtype = "float32";
    for (const auto& p : module.parameters()) {
      if (p.is_floating_point()) {
        info_.dtype = dtype_name(p.scalar_type());
        break;
      }
    }
    // A one-token probe: the export runs here and not only at the first real step.
    ForwardRequest probe;
    probe.rows = {{meta_.pad_token_id}};
    probe.record_last = {0};
    try {
      info_.vocab_size = static_cast<int64_t>(forward(probe, nullptr).logits[0].size());
    } catch (const InputError&) {
      throw;
    } catch (const Error& e) {
      // An export traced in float32 may use ops without a half-precision kernel on this device:
      // that is a dtype the export cannot run in, not an internal error. The interpreter's
      // traceback ends with the op's own message.
      if (!dtype) throw;
      throw UnsupportedError(fmt::format("{}: the export does not run in {} on {} (--dtype {}): {}", meta_.what,
                                         dtype_name(*dtype), device_.str(), to_string(options.dtype),
                                         last_line(e.what())));
    }
    if (meta_.tokenizer && meta_.tokenizer->vocab_size() > info_.vocab_size)
      throw InputError(fmt::format("{}: the tokenizer has {} ids but the model only {} logits", meta_.what,
                                   meta_.tokenizer->vocab_size(), info_.vocab_size));
  }

  const ModelInfo& info() const override { return info_; }
  const Tokenizer* tokenizer() const override { return meta_.tokenizer.get(); }
  std::unique_ptr<RoutingRecorder> make_recorder(const RecorderOptions& options, int rows) const override {
    return make_torch_recorder(info_, options, rows);
  }

  ForwardResult forward(const ForwardRequest& request, RoutingRecorder* routing) override {
    Recorder* recorder = torch_recorder(routing);
    request.validate(info_.vocab_size, meta_.what);
    const auto& rows = request.rows;
    const auto B = static_cast<int64_t>(rows.size());
    int64_t T = 0;
    for (const auto& r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r.size()));
    for (const auto& r : rows)
      if (static_cast<int64_t>(r.size()) != T && !takes_mask_)
        throw Error(fmt::format("{}: rows of different lengths need an attention_mask argument", meta_.what));

    c10::InferenceMode guard;
    const auto host = at::TensorOptions().dtype(at::kLong).pinned_memory(device_.is_cuda());
    auto ids = at::full({B, T}, meta_.pad_token_id, host);
    auto mask = at::zeros({B, T}, host);
    std::vector<RowWindow> windows;
    for (int64_t b = 0; b < B; ++b) {
      const auto& r = rows[static_cast<size_t>(b)];
      const int64_t pad = T - static_cast<int64_t>(r.size());
      auto* pid = ids.data_ptr<int64_t>() + b * T;
      auto* pm = mask.data_ptr<int64_t>() + b * T;
      for (int64_t t = 0; t < static_cast<int64_t>(r.size()); ++t) {
        pid[pad + t] = r[static_cast<size_t>(t)];
        pm[pad + t] = 1;
      }
      const int64_t n = request.record_last[static_cast<size_t>(b)];
      windows.push_back({T - n, n});
    }
    std::vector<c10::IValue> inputs{ids.to(device_, /*non_blocking=*/true)};
    torch::jit::Kwargs kwargs;
    if (takes_mask_) {
      auto m = mask.to(device_, true);
      if (takes_positions_) kwargs.emplace("position_ids", (m.cumsum(-1) - 1).clamp_min(0));
      kwargs.emplace("attention_mask", m);
    }
    if (recorder) recorder->begin_forward(B, T, std::move(windows));
    c10::IValue out;
    try {
      ActiveRecorder active(recorder);
      out = module_.get_method("forward")(inputs, kwargs);
    } catch (const c10::Error& e) {
      throw Error(fmt::format("{}: forward failed: {}", meta_.what, e.what_without_backtrace()));
    } catch (const moeroute::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}: forward failed: {}", meta_.what, e.what()));
    }
    if (recorder) recorder->end_forward();
    ForwardResult result;
    result.logits.resize(rows.size());
    if (!request.want_logits && request.score_last.empty()) return result;
    const auto logits = logits_of(out, meta_.what);
    // [B, T, V]; an export that returns only the last position's [B, V] cannot score positions.
    const bool per_position = logits.dim() == 3 && logits.size(1) == T;
    if (logits.size(0) != B || !(per_position || (logits.dim() == 2 && request.score_last.empty())))
      throw UnsupportedError(fmt::format("{}: forward returned logits of shape {}, expected [{}, {}, vocab]",
                                         meta_.what, c10::str(logits.sizes()), B, T));
    if (request.want_logits) {
      const auto last = (per_position ? logits.select(1, T - 1) : logits).to(at::kFloat).to(at::kCPU).contiguous();
      const int64_t V = last.size(1);
      for (int64_t b = 0; b < B; ++b)
        result.logits[static_cast<size_t>(b)].assign(last.data_ptr<float>() + b * V,
                                                     last.data_ptr<float>() + (b + 1) * V);
    }
    if (!request.score_last.empty()) result.next_token_logprobs = score_rows(logits, rows, request.score_last, T);
    return result;
  }

 private:
  // forward(self, input_ids[, attention_mask][, position_ids]); anything else needs a default.
  void read_signature(const torch::jit::Module& module) {
    const auto& args = module.get_method("forward").function().getSchema().arguments();
    if (args.size() < 2 || !args[1].type()->isSubtypeOf(*c10::TensorType::get()))
      throw UnsupportedError(fmt::format("{}: forward must take input_ids (a Tensor) first; its schema is {}",
                                         meta_.what, c10::toString(module.get_method("forward").function().getSchema())));
    for (size_t i = 2; i < args.size(); ++i) {
      if (args[i].name() == "attention_mask") {
        takes_mask_ = true;
      } else if (args[i].name() == "position_ids") {
        takes_positions_ = true;
      } else if (!args[i].default_value()) {
        throw UnsupportedError(fmt::format(
            "{}: forward argument '{}' has no default; moeroute passes only input_ids, attention_mask and "
            "position_ids (schema: {})",
            meta_.what, args[i].name(), c10::toString(module.get_method("forward").function().getSchema())));
      }
    }
    takes_positions_ = takes_positions_ && takes_mask_;
  }

  // log p(row[p + 1]) for the last n positions p before each row's end, from logits [B, T, V] of
  // the left-padded grid (a row of length len starts at column T − len).
  static std::vector<std::vector<double>> score_rows(const at::Tensor& logits, const std::vector<std::vector<int64_t>>& rows,
                                                     const std::vector<int64_t>& score_last, int64_t T) {
    std::vector<std::vector<double>> out(rows.size());
    for (size_t b = 0; b < rows.size(); ++b) {
      const int64_t n = score_last[b], len = static_cast<int64_t>(rows[b].size());
      if (n == 0) continue;
      const int64_t first = len - 1 - n;  // first scored position in the row
      const auto lp = at::log_softmax(logits[static_cast<int64_t>(b)].narrow(0, T - len + first, n).to(at::kDouble), -1);
      std::vector<int64_t> next(rows[b].begin() + first + 1, rows[b].begin() + first + 1 + n);
      const auto idx = at::tensor(next, at::kLong).to(lp.device()).unsqueeze(1);
      const auto picked = lp.gather(1, idx).squeeze(1).to(at::kCPU).contiguous();
      out[b].assign(picked.data_ptr<double>(), picked.data_ptr<double>() + n);
    }
    return out;
  }

  ScriptModelMeta meta_;
  c10::Device device_;
  torch::jit::Module module_;
  ModelInfo info_;
  bool takes_mask_ = false;
  bool takes_positions_ = false;
};

}  // namespace

std::unique_ptr<CausalLM> make_torchscript_model(torch::jit::Module module, ScriptModelMeta meta,
                                                 const ModelOptions& options) {
  return std::make_unique<TorchScriptModel>(std::move(module), std::move(meta), options);
}

}  // namespace moeroute::detail
