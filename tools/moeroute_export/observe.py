"""Record gate outputs from a *loaded* TorchScript export, the way moeroute does in C++.

Forward hooks cannot be added to a loaded ScriptModule (its graphs call submodules directly),
so before the first forward we rewrite the graph of each gate's parent method: after the
`prim::CallMethod` on the gate, insert `moeroute_verify::observe(logits, layer)`. The op is
registered with CONSERVATIVE alias analysis so the executor keeps it. This checks the file
itself (not the Python module we traced) and proves the gate paths are hookable.
"""
from __future__ import annotations

import torch

from .gates import ExportError

_LIBRARY: torch.library.Library | None = None
_RECORDS: list[tuple[int, torch.Tensor]] = []


def _observe(logits: torch.Tensor, layer: int) -> None:
    _RECORDS.append((layer, logits.detach().clone()))


def _ensure_op() -> None:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = torch.library.Library("moeroute_verify", "DEF")
        _LIBRARY.define("observe(Tensor logits, int layer) -> ()", alias_analysis="CONSERVATIVE")
        _LIBRARY.impl("observe", _observe, "CompositeExplicitAutograd")


def _submodule(module: torch.jit.ScriptModule, path: str) -> torch.jit.ScriptModule:
    for part in path.split("."):
        if not hasattr(module, part):
            raise ExportError(f"exported module has no submodule '{path}' (missing '{part}')")
        module = getattr(module, part)
    return module


def _gate_calls(graph: torch._C.Graph, attr: str) -> list[torch._C.Node]:
    """prim::CallMethod[forward] nodes whose callee is `self.<attr>`."""
    self_value = next(graph.inputs())
    calls = []
    for node in graph.nodes():
        if node.kind() != "prim::CallMethod" or node.s("name") != "forward":
            continue
        callee = node.inputsAt(0).node()
        if (
            callee.kind() == "prim::GetAttr"
            and callee.s("name") == attr
            and callee.inputsAt(0).debugName() == self_value.debugName()
        ):
            calls.append(node)
    return calls


def install_observers(module: torch.jit.ScriptModule, gate_paths: dict[int, str]) -> None:
    """Rewrite the loaded module's graphs; must run before the module's first forward."""
    _ensure_op()
    seen_types: set[str] = set()
    for layer, path in gate_paths.items():
        parent_path, attr = path.rsplit(".", 1)
        parent = _submodule(module, parent_path)
        type_name = parent._c._type().qualified_name()
        if type_name in seen_types:
            raise ExportError(f"{parent_path} shares its TorchScript type with another MoE block")
        seen_types.add(type_name)
        graph = parent._c._get_method("forward").graph
        calls = _gate_calls(graph, attr)
        if len(calls) != 1:
            raise ExportError(f"expected one call of {path} in {parent_path}.forward, found {len(calls)}")
        call = calls[0]
        if call.outputsSize() != 1 or not isinstance(call.output().type(), torch._C.TensorType):
            raise ExportError(f"exported gate {path} does not return a single logits tensor: {call}")
        constant = graph.create("prim::Constant")
        constant.i_("value", layer)
        constant.output().setType(torch._C.IntType.get())
        constant.insertAfter(call)
        observe = graph.create("moeroute_verify::observe", [call.output(), constant.output()], 0)
        observe.insertAfter(constant)


def run_observed(module: torch.jit.ScriptModule, input_ids: torch.Tensor):
    """One forward; returns (final logits, {layer: gate logits})."""
    _RECORDS.clear()
    with torch.no_grad():
        logits = module(input_ids)
    recorded: dict[int, torch.Tensor] = {}
    for layer, tensor in _RECORDS:
        if layer in recorded:
            raise ExportError(f"gate of layer {layer} ran twice in one forward")
        recorded[layer] = tensor
    _RECORDS.clear()
    return logits, recorded
