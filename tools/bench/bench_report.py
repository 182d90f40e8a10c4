#!/usr/bin/env python3
"""The HTML report at the size the issue asks for: two traces of 48 router layers × 128 experts,
top-8, a 100-token prompt and 1000 generated steps (Qwen3-30B-A3B's shape), written with NumPy;
times `moeroute report` on them and the page in chromium (tools/bench/bench_report_load.js, median
of REPEATS). Prints a Markdown table for docs/performance.md.

Usage: /usr/bin/python3 tools/bench/bench_report.py MOEROUTE_BINARY [WORK_DIR] [REPEATS]
"""
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from make_synthetic_traces import write_safetensors  # noqa: E402

LAYERS, EXPERTS, TOP_K, PROMPT, STEPS = 48, 128, 8, 100, 1000


def trace(rng, path, shift):
    rows = PROMPT + STEPS
    logits = (rng.normal(0, 1.0, (LAYERS, rows, EXPERTS)) + shift).astype(np.float32)
    ids = np.argsort(-logits, axis=-1, kind="stable")[..., :TOP_K].astype(np.int32)
    top = np.take_along_axis(logits, ids, -1).astype(np.float64)
    w = np.exp(top - top.max(-1, keepdims=True))
    w = (w / w.sum(-1, keepdims=True)).astype(np.float32)
    text = [f" tok{i % 5000}" for i in range(rows)]
    meta = {"model_id": "synthetic:48x128-top8", "source": "tools/bench/bench_report.py", "routing_rule": "softmax_topk_norm",
            "num_experts": EXPERTS, "top_k": TOP_K, "num_positions": rows, "prompt_length": PROMPT,
            "layers": [{"name": f"model.layers.{i}.mlp.gate", "index": i} for i in range(LAYERS)],
            "fields": ["token_ids", "token_text", "topk_ids", "gate_weights", "router_logits"], "token_text": text, "extra": {}}
    tensors = {"token_ids": np.arange(rows, dtype=np.int64), "topk_ids": ids, "gate_weights": w, "router_logits": logits}
    write_safetensors(path, tensors, {"moeroute.format": "moeroute.trace", "moeroute.format_version": "1",
                                      "moeroute.trace": json.dumps(meta)})


def main():
    binary = sys.argv[1]
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="moeroute-bench-report-"))
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    base, var = work / "base.safetensors", work / "var.safetensors"
    trace(rng, base, 0.0)
    trace(rng, var, rng.normal(0, 0.3, EXPERTS))
    html = work / "report.html"
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([binary, "report", base, var, "-o", html], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    out = subprocess.run(["node", str(ROOT / "tools/bench/bench_report_load.js"), str(html), str(repeats)],
                         check=True, capture_output=True, text=True).stdout
    runs = [json.loads(line) for line in out.splitlines() if line.strip()]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if runs[0][k] is not None}
    print(f"report file: {html.stat().st_size / 1e6:.1f} MB; `moeroute report` best of 3: {min(times) * 1000:.0f} ms")
    print("| measure (median of %d loads) | value |" % len(runs))
    print("|---|---|")
    labels = {"ready_ms": "navigation → first page drawn", "scripts_ms": "our start-up code (decode + draw)",
              "dom_content_loaded_ms": "DOMContentLoaded (HTML parsed, scripts run)", "layer_change_ms": "layer change → redrawn",
              "hover_ms": "heatmap hover → tooltip drawn", "click_ms": "heatmap click → step and layer everywhere",
              "heap_mb": "JS heap (MB)", "dom_nodes": "DOM elements"}
    labels.update({k: "view " + k[5:-3] + " built" for k in med if k.startswith("view_")})
    for k, label in labels.items():
        if k in med:
            print(f"| {label} | {med[k]:.0f}{'' if k in ('heap_mb', 'dom_nodes') else ' ms'} |")


if __name__ == "__main__":
    main()
