"""Static check: which operators of an export are unknown to Debian's LibTorch 1.13.

The real proof is loading the file with LibTorch 1.13 (the recorder's C++ tests do); this scan
explains a failure early and names the ops. libtorch_1_13_ops.txt lists 1.13's registered
operators as 'name[.overload] num_args' (tools/golden/dump_libtorch_ops regenerates it).
"""
from __future__ import annotations

from pathlib import Path

import torch

OPS_FILE = Path(__file__).with_name("libtorch_1_13_ops.txt")
IGNORED_NAMESPACE = "moeroute_verify::"  # the verification's own observer op


def _known_ops() -> tuple[set[str], dict[str, int]]:
    names: set[str] = set()
    overloads: dict[str, int] = {}
    for line in OPS_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        qualified, nargs = line.rsplit(" ", 1)
        names.add(qualified.split(".", 1)[0] if "::" in qualified else qualified)
        overloads[qualified] = int(nargs)
    return names, overloads


def _nodes(block):
    for node in block.nodes():
        yield node
        for sub in node.blocks():
            yield from _nodes(sub)


def scan(module: torch.jit.ScriptModule) -> dict:
    """{'missing_ops': ops 1.13 lacks, 'unknown_overloads': overloads it lacks or with more args}."""
    names, overloads = _known_ops()
    graph = module.forward.graph.copy()
    torch._C._jit_pass_inline(graph)
    missing: set[str] = set()
    unknown: set[str] = set()
    for node in _nodes(graph):
        schema = node.schema()
        if schema == "(no schema)":
            continue
        qualified = schema.split("(", 1)[0]
        if qualified.startswith(IGNORED_NAMESPACE):
            continue
        base = qualified.split(".", 1)[0]
        if base not in names:
            missing.add(base)
        elif qualified not in overloads or overloads[qualified] < node.inputsSize():
            unknown.add(qualified)
    return {"missing_ops": sorted(missing), "unknown_overloads": sorted(unknown)}
