"""A dense, loop-free experts implementation that never gathers expert weights per token.

transformers' `batched_mm` copies the weights of every chosen expert for every token
(`gate_up_proj[expert_ids]`): exact compute, but the copy is tokens x top_k x (expert size),
e.g. ~50 MB per token-expert pair for gpt-oss-20b in bf16. `moeroute_dense` runs every expert
on every token with one bmm per projection and zero weights for unchosen experts: memory
experts x tokens x intermediate, compute num_experts / top_k times the sparse work. Both trace
without data-dependent control flow; the export's verification covers either.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

NAME = "moeroute_dense"


def _project(x: torch.Tensor, weight: torch.Tensor, bias, transposed: bool) -> torch.Tensor:
    """x (E, T, in) with per-expert weight (E, out, in), or (E, in, out) when transposed."""
    out = torch.bmm(x, weight if transposed else weight.transpose(1, 2))
    return out if bias is None else out + bias.unsqueeze(1)


def dense_experts_forward(self, hidden_states: torch.Tensor, top_k_index: torch.Tensor,
                          top_k_weights: torch.Tensor) -> torch.Tensor:
    num_tokens, hidden_dim = hidden_states.shape
    num_experts = self.num_experts
    # new_zeros, not zeros(device=...): a traced device argument would pin the export to one device
    weights = top_k_weights.new_zeros((num_tokens, num_experts))
    weights = weights.scatter(1, top_k_index, top_k_weights)  # (T, E), zero for unchosen experts
    x = hidden_states.unsqueeze(0).expand(num_experts, num_tokens, hidden_dim)
    transposed = self.is_transposed
    has_bias = self.has_bias
    if getattr(self, "has_gate", True):  # transformers 5.0 experts have no has_gate flag: always gated
        bias = self.gate_up_proj_bias if has_bias else None
        proj = self._apply_gate(_project(x, self.gate_up_proj, bias, transposed))
    else:
        bias = self.up_proj_bias if has_bias else None
        proj = self.act_fn(_project(x, self.up_proj, bias, transposed))
    out = _project(proj, self.down_proj, self.down_proj_bias if has_bias else None, transposed)
    if getattr(self, "has_post_expert_norm", False):
        out = self.post_expert_norm(out)
    out = out * weights.t().unsqueeze(-1).to(out.dtype)  # (E, T, H)
    return out.sum(dim=0).to(hidden_states.dtype)


@contextmanager
def selected(name: str):
    """Yield the transformers experts implementation to set for `name`.

    transformers 5.0 accepts only its own names, so `moeroute_dense` runs under the name
    `batched_mm`, whose entry in transformers' ExpertsInterface is overridden until exit."""
    if name != NAME:
        yield name
        return
    from transformers.integrations.moe import ALL_EXPERTS_FUNCTIONS

    had_local = "batched_mm" in ALL_EXPERTS_FUNCTIONS._local_mapping
    previous = ALL_EXPERTS_FUNCTIONS._local_mapping.get("batched_mm")
    ALL_EXPERTS_FUNCTIONS["batched_mm"] = dense_experts_forward
    try:
        yield "batched_mm"
    finally:
        if had_local:
            ALL_EXPERTS_FUNCTIONS["batched_mm"] = previous
        else:
            del ALL_EXPERTS_FUNCTIONS["batched_mm"]
