#include "torch/builtins/tiny_moe.h"

#include "torch/builtins/builtins.h"

#include <cmath>

#include <fmt/format.h>

#include "moeroute/error.h"
#include "moeroute/torch/torchscript.h"
#include "torch/builtins/weight_stream.h"
#include "torch/torchscript/torchscript_model.h"

namespace moeroute::detail {

namespace {

using torch::jit::Module;

struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();
  WeightStream rng;
  explicit Builder(uint64_t seed) : rng(seed) {}

  Module module(const std::string& cls) {
    return Module(c10::QualifiedName("__torch__.moeroute.tiny_moe." + cls), cu, /*shouldMangle=*/true);
  }
  // Uniform(±√3·std): the std a normal init of that fan-in would have.
  at::Tensor weight(at::IntArrayRef shape, double std) { return rng.uniform(shape, std * std::sqrt(3.0)); }

  Module linear(int64_t out, int64_t in, double std) {
    auto m = module("Linear");
    m.register_parameter("weight", weight({out, in}, std), false);
    m.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.linear(x, self.weight)\n");
    return m;
  }
  Module rms_norm(int64_t width) {
    auto m = module("RMSNorm");
    m.register_parameter("weight", at::ones({width}), false);
    m.define(R"(
def forward(self, x: Tensor) -> Tensor:
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
    return self.weight * h.to(x.dtype)
)");
    return m;
  }
};

Module attention(Builder& b, const TinyMoeConfig& c) {
  auto m = b.module("Attention");
  const double std = 1.0 / std::sqrt(static_cast<double>(c.hidden));
  for (const char* name : {"q_proj", "k_proj", "v_proj", "o_proj"}) m.register_module(name, b.linear(c.hidden, c.hidden, std));
  const int64_t hd = c.hidden / c.heads;
  m.define(fmt::format(R"(
def rotate_half(self, x: Tensor) -> Tensor:
    return torch.cat([-x[..., {half}:], x[..., :{half}]], -1)

def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor) -> Tensor:
    b = x.size(0)
    t = x.size(1)
    q = self.q_proj.forward(x).view(b, t, {heads}, {hd}).transpose(1, 2)
    k = self.k_proj.forward(x).view(b, t, {heads}, {hd}).transpose(1, 2)
    v = self.v_proj.forward(x).view(b, t, {heads}, {hd}).transpose(1, 2)
    c = cos.unsqueeze(1)
    s = sin.unsqueeze(1)
    q = q * c + self.rotate_half(q) * s
    k = k * c + self.rotate_half(k) * s
    scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) * {scale} + mask
    p = torch.softmax(scores, -1).to(v.dtype)
    o = torch.matmul(p, v).transpose(1, 2).reshape(b, t, {hidden})
    return self.o_proj.forward(o)
)",
                       fmt::arg("half", hd / 2), fmt::arg("heads", c.heads), fmt::arg("hd", hd),
                       fmt::arg("scale", 1.0 / std::sqrt(static_cast<double>(hd))), fmt::arg("hidden", c.hidden)));
  return m;
}

Module moe_block(Builder& b, const TinyMoeConfig& c) {
  auto gate = b.module("TopKRouter");
  // A wide gate init keeps the router distribution peaked enough that prompts route differently.
  gate.register_parameter("weight", b.weight({c.experts, c.hidden}, 2.0 / std::sqrt(static_cast<double>(c.hidden))), false);
  gate.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.linear(x, self.weight)\n");

  auto experts = b.module("Experts");
  experts.register_parameter("gate_up_proj",
                             b.weight({c.experts, 2 * c.intermediate, c.hidden}, 1.0 / std::sqrt(double(c.hidden))), false);
  experts.register_parameter("down_proj",
                             b.weight({c.experts, c.hidden, c.intermediate}, 1.0 / std::sqrt(double(c.intermediate))), false);
  // Every expert runs densely and unchosen ones get weight 0: no data-dependent control flow.
  experts.define(fmt::format(R"(
def forward(self, x: Tensor, routing: Tensor) -> Tensor:
    gu = torch.einsum("nh,efh->nef", x, self.gate_up_proj)
    g = gu[..., :{i}]
    u = gu[..., {i}:]
    a = g * torch.sigmoid(g) * u
    y = torch.einsum("nef,ehf->neh", a, self.down_proj)
    return (y * routing.unsqueeze(-1)).sum(1)
)",
                             fmt::arg("i", c.intermediate)));

  auto m = b.module("SparseMoeBlock");
  m.register_module("gate", gate);
  m.register_module("experts", experts);
  m.define(fmt::format(R"(
def forward(self, h: Tensor) -> Tensor:
    b = h.size(0)
    t = h.size(1)
    x = h.reshape(-1, {hidden})
    router_logits = self.gate.forward(x)
    probs = torch.softmax(router_logits, -1, dtype=6)  # 6 = torch.float32
    w, ids = torch.topk(probs, {k}, -1)
    w = w / w.sum(-1, keepdim=True)
    routing = torch.zeros_like(probs).scatter(1, ids, w).to(x.dtype)
    return self.experts.forward(x, routing).reshape(b, t, {hidden})
)",
                       fmt::arg("hidden", c.hidden), fmt::arg("k", c.top_k)));
  return m;
}

Module decoder_layer(Builder& b, const TinyMoeConfig& c) {
  auto m = b.module("DecoderLayer");
  m.register_module("input_layernorm", b.rms_norm(c.hidden));
  m.register_module("self_attn", attention(b, c));
  m.register_module("post_attention_layernorm", b.rms_norm(c.hidden));
  m.register_module("mlp", moe_block(b, c));
  m.define(R"(
def forward(self, h: Tensor, cos: Tensor, sin: Tensor, mask: Tensor) -> Tensor:
    h = h + self.self_attn.forward(self.input_layernorm.forward(h), cos, sin, mask)
    return h + self.mlp.forward(self.post_attention_layernorm.forward(h))
)");
  return m;
}

// Next-token bias towards printable text, so the demo's output reads as (nonsense) text.
at::Tensor byte_text_bias() {
  auto bias = at::full({kTinyMoeVocab}, -4.0f);
  float* p = bias.data_ptr<float>();
  for (int c = 0x20; c < 0x7f; ++c) p[c] = 0.0f;
  for (int c = 'a'; c <= 'z'; ++c) p[c] = 2.0f;
  for (int c = 'A'; c <= 'Z'; ++c) p[c] = 1.0f;
  for (char c : std::string(" .,?!'")) p[static_cast<unsigned char>(c)] = c == ' ' ? 2.5f : 1.0f;
  p['\n'] = 0.0f;
  p[258] = -1.0f;  // <|im_end|>: the demo ends a turn now and then
  return bias;
}

}  // namespace

std::vector<std::string> tiny_moe_special_tokens() { return {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}; }

torch::jit::Module build_tiny_moe(const TinyMoeConfig& c) {
  Builder b(c.seed);
  auto embed = b.module("Embedding");
  embed.register_parameter("weight", b.weight({kTinyMoeVocab, c.hidden}, 1.0), false);
  embed.define("def forward(self, ids: Tensor) -> Tensor:\n    return torch.embedding(self.weight, ids)\n");

  const int64_t hd = c.hidden / c.heads;
  auto rotary = b.module("RotaryEmbedding");
  rotary.register_buffer("inv_freq", at::pow(10000.0, -at::arange(0, hd, 2, at::kFloat) / static_cast<double>(hd)));
  rotary.define(R"(
def forward(self, position_ids: Tensor, dtype: int) -> Tuple[Tensor, Tensor]:
    freqs = position_ids.float().unsqueeze(-1) * self.inv_freq.float()
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)
)");

  auto layers = b.module("ModuleList");
  std::string calls;
  for (int64_t i = 0; i < c.layers; ++i) {
    layers.register_module(std::to_string(i), decoder_layer(b, c));
    calls += fmt::format("    h = getattr(self.layers, \"{}\").forward(h, cos, sin, mask)\n", i);
  }

  auto model = b.module("Model");
  model.register_module("embed_tokens", embed);
  model.register_module("layers", layers);
  model.register_module("norm", b.rms_norm(c.hidden));
  model.register_module("rotary_emb", rotary);
  // Left padding: positions count real tokens only; padded keys are masked; a padded query sees
  // itself so no softmax row is empty.
  model.define(R"(
def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    t = input_ids.size(1)
    h = self.embed_tokens.forward(input_ids)
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    cos, sin = self.rotary_emb.forward(positions, h.dtype)
    causal = torch.ones([t, t], device=input_ids.device).tril() > 0
    keys = (attention_mask > 0).unsqueeze(1)
    eye = torch.eye(t, device=input_ids.device) > 0
    allowed = (causal.unsqueeze(0) & keys) | eye.unsqueeze(0)
    mask = torch.zeros(allowed.shape, device=input_ids.device).masked_fill(allowed.logical_not(), -1e9).unsqueeze(1)
)" + calls + "    return self.norm.forward(h)\n");

  auto lm_head = b.module("Linear");
  lm_head.register_parameter("weight", b.weight({kTinyMoeVocab, c.hidden}, 1.0 / std::sqrt(double(c.hidden))), false);
  lm_head.register_parameter("bias", byte_text_bias(), false);
  lm_head.define("def forward(self, x: Tensor) -> Tensor:\n    return torch.linear(x, self.weight, self.bias)\n");

  auto top = b.module("ForCausalLM");
  top.register_module("model", model);
  top.register_module("lm_head", lm_head);
  top.define(R"(
def forward(self, input_ids: Tensor, attention_mask: Optional[Tensor] = None) -> Tensor:
    if attention_mask is None:
        mask = torch.ones_like(input_ids)
    else:
        mask = attention_mask
    return self.lm_head.forward(self.model.forward(input_ids, mask))
)");
  top.eval();
  return top;
}

std::unique_ptr<CausalLM> load_tiny_moe(const ModelOptions& options) {
  const TinyMoeConfig config;
  ScriptModelMeta meta;
  meta.model_id = "builtin:tiny-moe";
  meta.what = meta.model_id;
  meta.routing_rule = qwen_moe_rule(static_cast<int>(config.top_k), true).to_string();
  meta.tokenizer = options.tokenizer ? options.tokenizer : make_byte_tokenizer(tiny_moe_special_tokens());
  meta.stop_token_ids = {256, 258};  // <|endoftext|>, <|im_end|>
  meta.pad_token_id = 256;
  meta.chat_template = "chatml";  // its vocabulary has ChatML's markers
  return make_torchscript_model(build_tiny_moe(config), std::move(meta), options);
}

}  // namespace moeroute::detail

namespace moeroute {

torch::jit::Module builtin_module(const std::string& name) {
  if (name != "tiny-moe")
    throw InputError(fmt::format("builtin:{} is not a TorchScript module (only builtin:tiny-moe is)", name));
  return detail::build_tiny_moe();
}

}  // namespace moeroute
