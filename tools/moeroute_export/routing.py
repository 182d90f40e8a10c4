"""Router families the exporter knows, and their exact routing rules.

transformers >= 5 routers compute `logits = linear(h)` and then the family's rule inside the
router module, returning `(logits, scores, indices)`. A traced export keeps only the tuple
elements the caller uses, so the raw logits would vanish from the exported gate. The exporter
therefore splits each router into a gate that returns the logits (same module path, same
parameters) and the rule below, which runs in the parent MoE block. Each rule repeats
transformers' own ops in the same order; the exporter's verification against the unmodified
model proves that they agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

RuleFn = Callable[[torch.Tensor, int, bool], "tuple[torch.Tensor, torch.Tensor, torch.Tensor]"]


def softmax_topk(logits: torch.Tensor, top_k: int, norm_topk_prob: bool):
    """Qwen2/Qwen3-MoE, OLMoE: softmax over all experts in fp32 -> top-k -> optional renorm."""
    probs = F.softmax(logits, dtype=torch.float, dim=-1)
    top_value, indices = torch.topk(probs, top_k, dim=-1)
    if norm_topk_prob:
        top_value /= top_value.sum(dim=-1, keepdim=True)
    return logits, top_value.to(logits.dtype), indices


def softmax_topk_renorm_fp32(logits: torch.Tensor, top_k: int, norm_topk_prob: bool):
    """Mixtral: softmax in fp32 -> top-k -> always renormalised, weights stay fp32."""
    probs = F.softmax(logits.float(), dim=-1)
    top_value, indices = torch.topk(probs, top_k, dim=-1)
    top_value /= top_value.sum(dim=-1, keepdim=True)
    return logits, top_value, indices


def topk_softmax(logits: torch.Tensor, top_k: int, norm_topk_prob: bool):
    """gpt-oss: top-k over the raw (biased) logits -> softmax over the k chosen values."""
    top_value, indices = torch.topk(logits, top_k, dim=-1)
    scores = F.softmax(top_value, dim=1, dtype=top_value.dtype)
    return logits, scores, indices


@dataclass(frozen=True)
class RouterFamily:
    rule_name: str  # name written to the JSON sidecar; moeroute maps it to its RoutingRule
    rule: RuleFn
    flattens_input: bool  # the router reshapes its input to (-1, hidden) before the linear


# Router class name (transformers >= 5) -> family. Gate module path is the router's own path.
ROUTER_FAMILIES: dict[str, RouterFamily] = {
    "Qwen3MoeTopKRouter": RouterFamily("softmax_topk", softmax_topk, True),
    "Qwen2MoeTopKRouter": RouterFamily("softmax_topk", softmax_topk, True),
    "OlmoeTopKRouter": RouterFamily("softmax_topk", softmax_topk, True),
    "MixtralTopKRouter": RouterFamily("softmax_topk", softmax_topk_renorm_fp32, True),
    "GptOssTopKRouter": RouterFamily("topk_softmax", topk_softmax, False),
}


def norm_topk_prob_of(router: torch.nn.Module, family: RouterFamily) -> bool:
    """The renormalisation flag the family's rule applies (Mixtral always renormalises)."""
    if family.rule is softmax_topk_renorm_fp32:
        return True
    return bool(getattr(router, "norm_topk_prob", False))
