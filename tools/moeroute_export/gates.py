"""Find the routers of a transformers MoE model and turn them into logits-returning gates."""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .routing import ROUTER_FAMILIES, RouterFamily, norm_topk_prob_of


class ExportError(RuntimeError):
    """The model cannot be exported or the export failed verification (exit code 2)."""


@dataclass
class GateInfo:
    layer: int  # decoder layer index taken from the module path
    path: str  # module path of the router, e.g. model.layers.3.mlp.gate
    router: nn.Module  # the original transformers router module
    family: RouterFamily
    num_experts: int
    top_k: int
    norm_topk_prob: bool
    has_bias: bool


_LAYER_RE = re.compile(r"(?:^|\.)layers\.(\d+)\.")


def find_gates(model: nn.Module) -> list[GateInfo]:
    """Every known router in layer order; refuses a model with none or with unknown routers."""
    gates: list[GateInfo] = []
    unknown: list[str] = []
    for path, module in model.named_modules():
        name = type(module).__name__
        family = ROUTER_FAMILIES.get(name)
        if family is None:
            if name.endswith("Router") or name.endswith("TopkRouter"):
                unknown.append(f"{path} ({name})")
            continue
        match = _LAYER_RE.search(path)
        if match is None:
            raise ExportError(f"router {path} ({name}) is not inside a 'layers.N.' module path")
        bias = getattr(module, "bias", None)
        gates.append(
            GateInfo(
                layer=int(match.group(1)),
                path=path,
                router=module,
                family=family,
                num_experts=int(module.num_experts),
                top_k=int(module.top_k),
                norm_topk_prob=norm_topk_prob_of(module, family),
                has_bias=isinstance(bias, torch.Tensor),
            )
        )
    if unknown:
        raise ExportError(
            "unsupported router modules (their routing rule is not known to the exporter): "
            + ", ".join(unknown)
            + f"; supported router classes: {', '.join(sorted(ROUTER_FAMILIES))}"
        )
    if not gates:
        raise ExportError(
            "no MoE router found; supported router classes (transformers >= 5): "
            + ", ".join(sorted(ROUTER_FAMILIES))
        )
    gates.sort(key=lambda g: g.layer)
    return gates


class LogitsGate(nn.Module):
    """Stands at the router's module path and returns only the raw router logits.

    It owns the router's own Parameter objects, so parameter names (`...mlp.gate.weight`)
    and values are unchanged. The family rule runs in a forward hook; torch.jit.trace records
    hooks in the *caller's* scope, so the exported gate module returns exactly the logits and
    the rule's ops land in the MoE block that consumes them.
    """

    def __init__(self, info: GateInfo):
        super().__init__()
        self.weight = info.router.weight
        self.bias = info.router.bias if info.has_bias else None
        self.flattens_input = info.family.flattens_input

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.flattens_input:
            hidden_states = hidden_states.reshape(-1, self.weight.shape[1])
        return F.linear(hidden_states, self.weight, self.bias)


def install_logits_gates(model: nn.Module, gates: list[GateInfo]) -> None:
    """Replace each router by a LogitsGate plus a hook that applies the family rule."""
    for info in gates:
        parent_path, attr = info.path.rsplit(".", 1)
        parent = model.get_submodule(parent_path)
        gate = LogitsGate(info)
        rule, top_k, norm = info.family.rule, info.top_k, info.norm_topk_prob
        gate.register_forward_hook(lambda _m, _args, logits, rule=rule, k=top_k, n=norm: rule(logits, k, n))
        setattr(parent, attr, gate)


def capture_router_outputs(gates: list[GateInfo]):
    """Forward hooks on the original routers that keep (raw logits, scores, indices) per layer.

    The logits are recomputed from the router's input and weights with the router's own op:
    what transformers returns as `router_logits` changed meaning (transformers 5.0's Qwen
    routers return softmax probabilities under that name; 5.23's return raw logits).
    """
    captured: dict[int, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {g.layer: [] for g in gates}
    handles = []
    for info in gates:
        def hook(module, args, out, layer=info.layer, has_bias=info.has_bias):
            if not (isinstance(out, tuple) and len(out) == 3):
                raise ExportError(
                    f"router of layer {layer} returned {type(out).__name__}, expected the transformers >= 5 "
                    "(logits, scores, indices) tuple"
                )
            hidden = args[0].reshape(-1, module.weight.shape[1])
            logits = F.linear(hidden, module.weight, module.bias if has_bias else None)
            captured[layer].append((logits.detach().clone(), out[1].detach().clone(), out[2].detach().clone()))
        handles.append(info.router.register_forward_hook(hook))
    return captured, handles
