"""Load a transformers MoE checkpoint, trace it, verify the saved file, write it and its sidecars."""
from __future__ import annotations

import os
import platform
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from . import compat, experts, observe, sidecars
from .gates import ExportError, GateInfo, capture_router_outputs, find_gates, install_logits_gates
from .verify import TOLERANCES, Report, Tolerance, compare_logits, compare_routing

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
)


@dataclass
class ExportOptions:
    source: str  # local checkpoint directory or Hugging Face Hub id
    out: Path  # the .pt file to write; sidecars are OUT.json and OUT.routing.safetensors
    dtype: str = "f32"  # weights and activations: f32, bf16 or f16
    seq_len: int = 8  # tokens of the example input that is traced
    verify_seq_len: int | None = None  # tokens of the verification input; None = seq_len + 5
    device: str = "cpu"  # device for loading, tracing and verification
    seed: int = 0  # seeds the random example and verification token ids
    revision: str | None = None  # Hub revision (branch, tag or commit); None = default branch
    experts_implementation: str = "batched_mm"  # experts kernel traced: batched_mm or moeroute_dense
    attn_implementation: str = "eager"  # eager attention avoids ops LibTorch 1.13 lacks
    atol: float | None = None  # overrides the dtype's default absolute tolerance
    rtol: float | None = None  # overrides the dtype's default relative tolerance
    require_libtorch_1_13: bool = False  # refuse exports using ops Debian's LibTorch 1.13 lacks


def _check_versions() -> tuple[str, str]:
    import transformers

    major = int(transformers.__version__.split(".")[0])
    if major < 5:
        raise ExportError(
            f"transformers {transformers.__version__} is too old: the exporter needs transformers >= 5 "
            "(experts_implementation='batched_mm' and routers returning logits); see tools/requirements-export.txt"
        )
    return torch.__version__, transformers.__version__


def _load_model(opts: ExportOptions, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            opts.source,
            revision=opts.revision,
            dtype=dtype,
            attn_implementation=opts.attn_implementation,
            experts_implementation="eager",
        )
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"cannot load '{opts.source}' with transformers: {e}") from e
    return model.to(opts.device).eval()


def _portable_path(path: str | Path, out: Path) -> str:
    """A local path relative to the export's directory when near it (fixtures move with the repo)."""
    if not Path(path).exists():
        return str(path)  # a Hub id
    absolute = Path(path).resolve()
    try:
        rel = os.path.relpath(absolute, out.resolve().parent)
    except ValueError:
        return str(absolute)
    return str(absolute) if rel.startswith(os.path.join("..", "..", "..")) else rel


def _tokenizer_location(opts: ExportOptions) -> dict | None:
    """Where moeroute finds the tokenizer: a directory relative to the export's, or absolute."""
    from transformers.utils import cached_file

    found: list[Path] = []
    for name in TOKENIZER_FILES:
        local = Path(opts.source) / name
        if local.is_file():
            found.append(local)
            continue
        if not Path(opts.source).is_dir():
            try:
                path = cached_file(opts.source, name, revision=opts.revision,
                                   _raise_exceptions_for_missing_entries=False)
            except OSError:
                path = None
            if path:
                found.append(Path(path))
    if not any(p.name == "tokenizer.json" for p in found):
        return None
    location = {"dir": _portable_path(found[0].parent, opts.out), "files": [p.name for p in found]}
    if not Path(opts.source).is_dir():
        location["hub_id"] = opts.source
    return location


def _inputs(opts: ExportOptions, vocab: int):
    """Example (traced), verification (different length and tokens) and batch-of-two inputs."""
    gen = torch.Generator().manual_seed(opts.seed)
    verify_len = opts.verify_seq_len or opts.seq_len + 5
    example = torch.randint(0, vocab, (1, opts.seq_len), generator=gen)
    verify = torch.randint(0, vocab, (1, verify_len), generator=gen)
    batch = torch.randint(0, vocab, (2, opts.seq_len + 2), generator=gen)
    if verify_len == opts.seq_len and torch.equal(example, verify):
        raise ExportError("verification input equals the example input; choose another --seed")
    return [t.to(opts.device) for t in (example, verify, batch)]


def _eager_logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=False).logits


def _logits_only_forward(model) -> None:
    """forward(input_ids) -> logits; an all-ones attention mask keeps batch size dynamic in the trace
    (without one, transformers' packed-sequence check bakes the example's batch size in)."""
    full_forward = model.forward

    def forward(self, input_ids):
        return full_forward(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=False).logits

    model.forward = types.MethodType(forward, model)


def _trace(model, example: torch.Tensor, verbose: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("default" if verbose else "ignore")
        with torch.no_grad():
            return torch.jit.trace(model, (example,), check_trace=False)


def _run_export(loaded, input_ids: torch.Tensor, what: str):
    """Run the saved export; an exception here usually means the trace baked in the example's shapes."""
    try:
        return observe.run_observed(loaded, input_ids)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise ExportError(
            f"the saved export fails on the {what} input of shape {list(input_ids.shape)} "
            f"(the trace depends on the example input): {first}"
        ) from e


def _routing_tensors(verify, ref_logits, traced_logits, captured, gates: list[GateInfo]) -> dict:
    tensors = {
        "input_ids": verify.to(torch.int64),
        "logits": ref_logits.float(),
        "traced_logits": traced_logits.float(),
    }
    for gate in gates:
        logits, scores, ids = captured[gate.layer][0]
        tensors[f"router_logits.{gate.layer}"] = logits.float()
        tensors[f"topk_ids.{gate.layer}"] = ids.to(torch.int64)
        tensors[f"topk_weights.{gate.layer}"] = scores.float()
    return tensors


def _sidecar(opts, model, gates, versions, tokenizer, report: Report, shapes, tol: Tolerance) -> dict:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    first = gates[0]
    return {
        "format": "moeroute-torchscript-export",
        "format_version": sidecars.FORMAT_VERSION,
        "model_type": config.model_type,
        "source": _portable_path(opts.source, opts.out),
        "revision": opts.revision,
        "dtype": str(DTYPES[opts.dtype]).removeprefix("torch."),
        "device": opts.device,  # traced code creates masks/positions on this device: run it there
        "forward": "forward(input_ids: int64[batch, seq]) -> logits: float[batch, seq, vocab]",
        "vocab_size": int(config.vocab_size),
        "hidden_size": int(config.hidden_size),
        "num_layers": int(config.num_hidden_layers),
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
        "sliding_window": getattr(config, "sliding_window", None),
        "layer_types": getattr(config, "layer_types", None),
        "bos_token_id": getattr(config, "bos_token_id", None),
        "eos_token_id": getattr(config, "eos_token_id", None),
        "num_experts": first.num_experts,
        "top_k": first.top_k,
        "norm_topk_prob": first.norm_topk_prob,
        "routing_rule": first.family.rule_name,
        "router_bias": first.has_bias,
        "gate_output": "logits[tokens, num_experts], tokens = batch * seq (row-major)",
        "moe_layers": [g.layer for g in gates],
        "gate_paths": [g.path for g in gates],
        "tokenizer": tokenizer,
        "exported_with": {
            "torch": versions[0],
            "transformers": versions[1],
            "python": platform.python_version(),
            "attn_implementation": opts.attn_implementation,
            "experts_implementation": opts.experts_implementation,
            "traced": True,
            "frozen": False,
        },
        "verification": {
            "reference": "eager transformers (attn_implementation=eager, experts_implementation=eager)",
            "example_shape": shapes[0],
            "verify_shape": shapes[1],
            "batch_shape": shapes[2],
            "seed": opts.seed,
            "atol": tol.atol,
            "rtol": tol.rtol,
            "tie": tol.tie,
            **report.as_json(),
            "routing_sidecar": opts.out.name + ".routing.safetensors",
        },
    }


def export(opts: ExportOptions, verbose: bool = False) -> dict:
    """Export and verify; raises ExportError (nothing written) when verification fails."""
    versions = _check_versions()
    dtype = DTYPES[opts.dtype]
    base_tol = TOLERANCES[dtype]
    tol = Tolerance(opts.atol if opts.atol is not None else base_tol.atol,
                    opts.rtol if opts.rtol is not None else base_tol.rtol, base_tol.tie)
    model = _load_model(opts, dtype)
    gates = find_gates(model)
    config = model.config.get_text_config()
    example, verify, batch = _inputs(opts, int(config.vocab_size))

    captured, handles = capture_router_outputs(gates)
    ref_logits = _eager_logits(model, verify)
    for handle in handles:
        handle.remove()
    ref_batch_logits = _eager_logits(model, batch)

    if not getattr(model, "_can_set_experts_implementation", lambda: False)():
        raise ExportError(f"{type(model).__name__} cannot switch its experts implementation")
    with experts.selected(opts.experts_implementation) as implementation:
        model.set_experts_implementation(implementation)
        install_logits_gates(model, gates)
        _logits_only_forward(model)
        traced = _trace(model, example, verbose)

    opts.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = opts.out.with_name(f"{opts.out.name}.tmp-{os.getpid()}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch >= 2.9 deprecates torch.jit
            torch.jit.save(traced, str(tmp))
            loaded = torch.jit.load(str(tmp), map_location=opts.device)
        observe.install_observers(loaded, {g.layer: g.path for g in gates})
        traced_logits, recorded = _run_export(loaded, verify, "verification")
        report = Report()
        report.max_logit_diff = compare_logits(report, "final logits", traced_logits, ref_logits, tol)
        for gate in gates:
            compare_routing(report, gate, recorded.get(gate.layer), captured[gate.layer][0], tol)
        batch_logits, _ = _run_export(loaded, batch, "batch-of-two")
        report.max_batch_logit_diff = compare_logits(report, "batch final logits", batch_logits, ref_batch_logits, tol)
        # Scan only now: inlining (even a copy) caches callee graphs, so observers added later would not run.
        libtorch_1_13 = compat.scan(loaded)
        if opts.require_libtorch_1_13 and libtorch_1_13["missing_ops"]:
            report.failures.append("the export uses ops LibTorch 1.13 lacks: " + ", ".join(libtorch_1_13["missing_ops"]))
        if report.failures:
            raise ExportError("export refused (verification against eager transformers failed); nothing written:\n  "
                              + "\n  ".join(report.failures))
        shapes = [list(t.shape) for t in (example, verify, batch)]
        data = _sidecar(opts, model, gates, versions, _tokenizer_location(opts), report, shapes, tol)
        data["libtorch_1_13"] = libtorch_1_13
        routing = _routing_tensors(verify, ref_logits, traced_logits, captured, gates)
        metadata = {
            "format": "moeroute-export-routing",
            "format_version": str(sidecars.FORMAT_VERSION),
            "model_type": data["model_type"],
            "routing_rule": data["routing_rule"],
            "moe_layers": ",".join(str(g.layer) for g in gates),
            "reference": data["verification"]["reference"],
            "torch": versions[0],
            "transformers": versions[1],
        }
        sidecars.write_json(opts.out.with_name(opts.out.name + ".json"), data)
        sidecars.write_routing(opts.out.with_name(opts.out.name + ".routing.safetensors"), routing, metadata)
        os.replace(tmp, opts.out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return data
