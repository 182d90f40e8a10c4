"""The two files written next to an export: MODEL.pt.json and MODEL.pt.routing.safetensors."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

FORMAT_VERSION = 1


def write_atomic(path: Path, write) -> None:
    """write(tmp_path) then rename, so readers never see a half-written sidecar."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8"))


def write_routing(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_atomic(path, lambda tmp: save_file(contiguous, str(tmp), metadata=metadata))
