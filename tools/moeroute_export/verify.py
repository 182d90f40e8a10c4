"""Compare the loaded export against eager transformers: final logits, router logits, top-k."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .gates import GateInfo


@dataclass(frozen=True)
class Tolerance:
    atol: float  # absolute part of the bound max|a-b| <= atol + rtol * max|ref|
    rtol: float  # relative part, scaled by the largest reference magnitude
    tie: float  # k-th vs (k+1)-th reference logit gap below which a different choice is a tie


TOLERANCES = {
    torch.float32: Tolerance(atol=1e-4, rtol=1e-4, tie=1e-3),
    torch.bfloat16: Tolerance(atol=5e-2, rtol=2e-2, tie=1e-1),
    torch.float16: Tolerance(atol=2e-2, rtol=1e-2, tie=5e-2),
}


@dataclass
class Report:
    max_logit_diff: float = 0.0  # final logits, verification input
    max_batch_logit_diff: float = 0.0  # final logits, batch-of-two input
    max_router_logit_diff: dict[int, float] = field(default_factory=dict)
    topk_mismatches: dict[int, int] = field(default_factory=dict)  # tokens whose expert set differs
    near_ties: dict[int, int] = field(default_factory=dict)  # differing tokens explained by a tie
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "max_abs_logit_diff": self.max_logit_diff,
            "max_abs_batch_logit_diff": self.max_batch_logit_diff,
            "max_abs_router_logit_diff": {str(k): v for k, v in self.max_router_logit_diff.items()},
            "topk_mismatches": sum(self.topk_mismatches.values()),
            "near_ties": sum(self.near_ties.values()),
        }


def _max_diff(got: torch.Tensor, ref: torch.Tensor) -> float:
    return float((got.float() - ref.float()).abs().max()) if ref.numel() else 0.0


def _within(got: torch.Tensor, ref: torch.Tensor, tol: Tolerance) -> tuple[bool, float]:
    diff = _max_diff(got, ref)
    bound = tol.atol + tol.rtol * float(ref.float().abs().max())
    return diff <= bound, diff


def compare_logits(report: Report, what: str, got: torch.Tensor, ref: torch.Tensor, tol: Tolerance) -> float:
    if got.shape != ref.shape:
        report.failures.append(f"{what}: shape {tuple(got.shape)} != eager {tuple(ref.shape)}")
        return float("inf")
    ok, diff = _within(got, ref, tol)
    if not ok:
        report.failures.append(f"{what}: max |export - eager| = {diff:.3g} exceeds tolerance")
    return diff


def compare_routing(
    report: Report,
    gate: GateInfo,
    got_logits: torch.Tensor | None,
    ref: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    tol: Tolerance,
) -> None:
    """Gate logits and top-k expert sets of one layer; `ref` is transformers' (logits, scores, ids)."""
    layer = gate.layer
    ref_logits, _ref_scores, ref_ids = ref
    if got_logits is None:
        report.failures.append(f"layer {layer}: gate {gate.path} was not observed in the export")
        return
    if got_logits.shape != ref_logits.shape:
        report.failures.append(
            f"layer {layer}: gate logits shape {tuple(got_logits.shape)} != eager {tuple(ref_logits.shape)}"
        )
        return
    ok, diff = _within(got_logits, ref_logits, tol)
    report.max_router_logit_diff[layer] = diff
    if not ok:
        report.failures.append(f"layer {layer}: max |router logits export - eager| = {diff:.3g}")
    got_ids = gate.family.rule(got_logits, gate.top_k, gate.norm_topk_prob)[2]
    differs = (got_ids.sort(dim=-1).values != ref_ids.sort(dim=-1).values).any(dim=-1)
    sorted_ref = ref_logits.float().sort(dim=-1, descending=True).values
    if gate.top_k < gate.num_experts:
        gap = sorted_ref[:, gate.top_k - 1] - sorted_ref[:, gate.top_k]
        tie = gap <= tol.tie
    else:
        tie = torch.ones_like(differs)
    mismatches = int((differs & ~tie).sum())
    report.topk_mismatches[layer] = mismatches
    report.near_ties[layer] = int((differs & tie).sum())
    if mismatches:
        report.failures.append(f"layer {layer}: top-{gate.top_k} experts differ on {mismatches} token(s)")
