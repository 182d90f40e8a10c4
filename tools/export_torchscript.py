#!/usr/bin/env python3
"""Export a Hugging Face MoE checkpoint to a TorchScript file that moeroute can load and hook.

    tools/export_torchscript.py MODEL_DIR_OR_HUB_ID --out model.pt [--dtype f32|bf16|f16]
        [--seq-len N] [--device cpu|cuda]

Writes model.pt (traced, not frozen: gate modules keep their paths and return router logits),
model.pt.json (what moeroute needs to configure itself) and model.pt.routing.safetensors
(eager transformers' routing on the verification input). Refuses (exit 2, nothing written)
when the saved export's logits or routing differ from eager transformers. See docs/export.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moeroute_export.export import DTYPES, ExportOptions, export  # noqa: E402
from moeroute_export.gates import ExportError  # noqa: E402


def parse_args(argv: list[str]) -> tuple[ExportOptions, bool]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="local checkpoint directory or Hugging Face Hub id")
    p.add_argument("--out", required=True, type=Path, help="TorchScript file to write")
    p.add_argument("--dtype", default="f32", choices=sorted(DTYPES), help="weights/activations dtype")
    p.add_argument("--seq-len", type=int, default=8, help="tokens in the traced example input")
    p.add_argument("--verify-seq-len", type=int, help="tokens in the verification input (default seq-len + 5)")
    p.add_argument("--device", default="cpu", help="device for loading, tracing and verifying")
    p.add_argument("--seed", type=int, default=0, help="seed of the random example/verification token ids")
    p.add_argument("--revision", help="Hub revision (branch, tag or commit)")
    p.add_argument("--atol", type=float, help="absolute tolerance (default depends on dtype)")
    p.add_argument("--rtol", type=float, help="relative tolerance (default depends on dtype)")
    p.add_argument("--experts-implementation", default="batched_mm",
                   help="experts kernel to trace: batched_mm (exact work, gathers expert weights per "
                        "token) or moeroute_dense (all experts on all tokens, little memory)")
    p.add_argument("--attn-implementation", default="eager",
                   help="transformers attention to trace (eager loads in LibTorch 1.13)")
    p.add_argument("--require-libtorch-1.13", dest="require_libtorch_1_13", action="store_true",
                   help="refuse an export that uses ops Debian's LibTorch 1.13 lacks")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracer warnings")
    a = p.parse_args(argv)
    if a.seq_len < 1 or (a.verify_seq_len is not None and a.verify_seq_len < 1):
        p.error("--seq-len and --verify-seq-len must be >= 1")
    opts = ExportOptions(
        source=a.source, out=a.out, dtype=a.dtype, seq_len=a.seq_len, verify_seq_len=a.verify_seq_len,
        device=a.device, seed=a.seed, revision=a.revision, atol=a.atol, rtol=a.rtol,
        experts_implementation=a.experts_implementation, attn_implementation=a.attn_implementation,
        require_libtorch_1_13=a.require_libtorch_1_13,
    )
    return opts, a.verbose


def main(argv: list[str]) -> int:
    opts, verbose = parse_args(argv)
    try:
        data = export(opts, verbose=verbose)
    except ExportError as e:
        print(f"export_torchscript: error: {e}", file=sys.stderr)
        return 2
    v = data["verification"]
    missing = data["libtorch_1_13"]["missing_ops"]
    if missing:
        print(f"export_torchscript: warning: LibTorch 1.13 lacks {', '.join(missing)}; this export needs "
              "LibTorch >= the exporting torch (see docs/export.md)", file=sys.stderr)
    print(
        f"wrote {opts.out} ({data['model_type']}, {len(data['gate_paths'])} MoE layers, "
        f"{data['num_experts']} experts, top-{data['top_k']}, {data['routing_rule']}); "
        f"max |export - eager|: logits {v['max_abs_logit_diff']:.3g}, "
        f"router logits {max(v['max_abs_router_logit_diff'].values()):.3g}, "
        f"top-k mismatches {v['topk_mismatches']} (near ties {v['near_ties']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
