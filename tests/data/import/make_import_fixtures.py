#!/usr/bin/env python3
"""Fixtures for the importer tests (tests/unit/test_import_formats.cpp), written by the engines'
own writers where they run on CPU and otherwise by code that follows their source
(docs/import.md cites file and commit for each):

  numpy.save / numpy.savez / vLLM's numpy2base64 (np.save + base64)   -> vllm_*
  torch.save of the dicts SGLang's ExpertDistributionRecorder dumps     -> sglang_*.pt
  base64 of int32 bytes as SGLang's detokenizer encodes routed_experts  -> sglang_generate.jsonl
  Megatron-Core's own RouterTracer (router_trace.py, loaded from a
  Megatron-LM checkout given with --megatron-src)                       -> megatron/

One made-up model routes two requests: 4 decoder layers (layer 0 dense, MoE layers 1-3),
8 experts, top-2. Request A: 5 prompt + 4 generated tokens; request B: 3 + 3. The routing of
every token is drawn once (the "truth"); each fixture records it the way its engine does. Next
to them, the traces the importers must produce are written with an independent safetensors
writer (expected_*.safetensors, docs/trace-format.md), plus truth_a.safetensors: request A as
moeroute's own recorder would store it (one sequence, prompt_length 5), for the diff tests.

Usage (pinned versions: tests/data/import/requirements.txt):
  python tests/data/import/make_import_fixtures.py --megatron-src PATH/Megatron-LM [--out DIR]
"""
import argparse
import base64
import importlib.util
import io
import json
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

LAYERS, MOE, EXPERTS, K = 4, [1, 2, 3], 8, 2
rng = np.random.default_rng(20261201)
PROMPT = {"A": rng.integers(0, 500, 5).tolist(), "B": rng.integers(0, 500, 3).tolist()}
OUTPUT = {"A": rng.integers(0, 500, 4).tolist(), "B": rng.integers(0, 500, 3).tolist()}


def draw(tokens):
    """[tokens, MoE layers, K] distinct experts per token and layer, best first."""
    return np.stack([np.stack([rng.permutation(EXPERTS)[:K] for _ in MOE]) for _ in range(tokens)]).astype(np.int32)


# Routing of every token that is fed to the model: prompt + all generated but the last.
TRUTH = {r: draw(len(PROMPT[r]) + len(OUTPUT[r]) - 1) for r in "AB"}


def all_layers(ids):
    """[tokens, MoE, K] -> [tokens, decoder layers, K] with the dense layer 0 all zeros (never written)."""
    out = np.zeros((ids.shape[0], LAYERS, K), ids.dtype)
    out[:, MOE] = ids
    return out


# --- a safetensors writer of our own (docs/trace-format.md) --------------------------------------

def write_trace(path, topk, meta_extra, rows, layer_names, layer_index, token_ids=None, logits=None, version=2,
                experts=EXPERTS, physical_to_logical=None):
    """topk [L, T, K]; rows: dict of per-row arrays (sequence_ids, positions, segments) or {};
    physical_to_logical [L, experts]: the ids are physical slots mapped by it."""
    tensors = {}
    for name in ("sequence_ids", "positions"):
        if name in rows:
            tensors[name] = np.asarray(rows[name], np.int64)
    if "segments" in rows:
        tensors["segments"] = np.asarray(rows["segments"], np.uint8)
    if token_ids is not None:
        tensors["token_ids"] = np.asarray(token_ids, np.int64)
    tensors["topk_ids"] = np.ascontiguousarray(topk, np.int32)
    if logits is not None:
        tensors["router_logits"] = np.ascontiguousarray(logits, np.float32)
    if physical_to_logical is not None:
        tensors["physical_to_logical"] = np.ascontiguousarray(physical_to_logical, np.int32)
    meta = {"model_id": "fixture", "source": "tests/data/import/make_import_fixtures.py", "routing_rule": "",
            "num_experts": experts, "top_k": int(topk.shape[2]), "num_positions": int(topk.shape[1]),
            "prompt_length": meta_extra.pop("prompt_length", 0),
            "layers": [{"name": n, "index": i} for n, i in zip(layer_names, layer_index)],
            "fields": list(tensors), "extra": meta_extra}
    if "sequences" in meta_extra:
        meta["sequences"] = meta_extra.pop("sequences")
    if physical_to_logical is not None:
        meta["id_space"] = "physical"
        meta["num_logical_experts"] = int(physical_to_logical.max()) + 1
    header = {"__metadata__": {"moeroute.format": "moeroute.trace", "moeroute.format_version": str(version),
                               "moeroute.trace": json.dumps(meta)}}
    offset, blobs = 0, []
    for name, arr in tensors.items():
        dtype = {np.dtype("int32"): "I32", np.dtype("int64"): "I64", np.dtype("uint8"): "U8",
                 np.dtype("float32"): "F32"}[arr.dtype]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        blobs.append(arr.tobytes())
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def request_rows(requests, first_rows=None):
    """What an importer makes of whole requests: one sequence each, positions 0…, segments."""
    seq, pos, seg, tok, ids = [], [], [], [], []
    for s, r in enumerate(requests):
        p, g = len(PROMPT[r]), len(OUTPUT[r])
        start = 0 if first_rows is None else first_rows[s]
        tokens = PROMPT[r] + OUTPUT[r]
        for t in range(start, p + g - 1):
            seq.append(s), pos.append(t), seg.append(0 if t < p else 1), tok.append(tokens[t])
            ids.append(TRUTH[r][t])
    return {"sequence_ids": seq, "positions": pos, "segments": seg}, tok, np.stack(ids).transpose(1, 0, 2)


def names(indices):
    return [f"layers.{i}" for i in indices]


# --- vLLM -----------------------------------------------------------------------------------------

def numpy2base64(array):
    """vllm/utils/serial_utils.py (0.33.0): np.save into a buffer, then base64."""
    with io.BytesIO() as buffer:
        np.save(buffer, array, allow_pickle=False)
        return base64.b64encode(buffer.getbuffer()).decode("ascii")


def vllm(out):
    # 0.33: one routed_experts array per choice over every token but the last, all decoder layers,
    # uint8 (<= 256 experts); the OpenAI server sends numpy2base64 of it. Request B was sent with
    # routed_experts_prompt_start = 1, so its array starts at position 1.
    lines = []
    for r, start in (("A", 0), ("B", 1)):
        arr = all_layers(TRUTH[r][start:]).astype(np.uint8)
        lines.append({"id": f"chatcmpl-{r}", "object": "chat.completion", "model": "fixture",
                      "prompt_token_ids": PROMPT[r],
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "..."},
                                   "finish_reason": "length", "token_ids": OUTPUT[r],
                                   "routed_experts": numpy2base64(arr)}]})
    (out / "vllm_033.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    rows, tok, ids = request_rows("AB", [0, 1])
    write_trace(out / "expected_vllm_033.safetensors", ids,
                {"sequences": [{"id": 0, "label": "chatcmpl-A#0", "loss": None, "num_tokens": 8},
                               {"id": 1, "label": "chatcmpl-B#0", "loss": None, "num_tokens": 4}]},
                rows, names(MOE), MOE, tok)
    # 0.21: response-level prompt_routed_experts [P, MoE layers, K] and per choice routed_experts
    # [generated fed tokens, MoE layers, K], nested lists (int16 .tolist()); layers are MoE ordinals.
    lines = []
    for r in "AB":
        p = len(PROMPT[r])
        lines.append({"id": f"cmpl-{r}", "object": "text_completion", "prompt_token_ids": PROMPT[r],
                      "prompt_routed_experts": TRUTH[r][:p].astype(np.int16).tolist(),
                      "choices": [{"index": 0, "text": "...", "token_ids": OUTPUT[r],
                                   "routed_experts": TRUTH[r][p:].astype(np.int16).tolist()}]})
    (out / "vllm_021.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
    # Every fed token of both requests (also what SGLang's /generate routing gives).
    rows, tok, ids = request_rows("AB")
    write_trace(out / "expected_requests.safetensors", ids, {}, rows, names(MOE), MOE, tok)
    # One request saved by a user with numpy (docs/import.md): .npz of the 0.33 layout, and a
    # bare .npy of the 0.21 generated rows.
    np.savez(out / "vllm_request_a.npz", routed_experts=all_layers(TRUTH["A"]).astype(np.uint8),
             prompt_token_ids=np.array(PROMPT["A"], np.int64), token_ids=np.array(OUTPUT["A"], np.int64))
    np.save(out / "vllm_routed_a.npy", TRUTH["A"].astype(np.int16))


# --- SGLang ---------------------------------------------------------------------------------------

PHYSICAL = 10  # slots 8 and 9 replicate experts 2 and 5 (EPLB)
P2L = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 2, 5]] * LAYERS, np.int64)


def physical(ids, salt):
    """Logical -> a physical slot running that expert (the replica for alternate tokens)."""
    out = ids.copy()
    for idx in np.ndindex(*ids.shape[:-1]):
        for j, e in enumerate(ids[idx]):
            if e in (2, 5) and (sum(idx) + j + salt) % 2:
                out[idx + (j,)] = 8 if e == 2 else 9
    return out


def sglang(out):
    # Forward passes as SGLang's scheduler runs them: both prompts in one EXTEND pass, then DECODE
    # passes of one token per running request (forward_batch_info.py: EXTEND = 1, DECODE = 2).
    passes = [("extend", [("A", list(range(5))), ("B", list(range(3)))])]
    for step in range(3):
        passes.append(("decode", [(r, [len(PROMPT[r]) + step]) for r in "AB" if len(PROMPT[r]) + step < len(PROMPT[r]) + len(OUTPUT[r]) - 1]))
    records, truth_rows = [], []
    for pid, (mode, reqs) in enumerate(passes):
        input_ids, positions, logical = [], [], []
        for r, pos in reqs:
            tokens = PROMPT[r] + OUTPUT[r]
            for t in pos:
                input_ids.append(tokens[t]), positions.append(t), logical.append(TRUTH[r][t])
        n = len(input_ids)
        # _DetailSinglePassGatherer: [num_layers, tokens, 8] int32, -1 where nothing was written.
        topk = torch.full((LAYERS, n, 8), -1, dtype=torch.int32)
        phys = physical(np.stack(logical), pid)
        topk[MOE, :, :K] = torch.from_numpy(phys.transpose(1, 0, 2).copy())
        count = torch.zeros((LAYERS, PHYSICAL), dtype=torch.int32)
        for l in range(LAYERS):
            for v in topk[l].flatten().tolist():
                if v >= 0:
                    count[l, v] += 1
        records.append(dict(forward_pass_id=100 + pid, rank=0, gatherer_key="primary", input_ids=input_ids,
                            positions=positions,
                            extend_seq_lens=[len(p) for _, p in reqs] if mode == "extend" else None,
                            forward_mode=1 if mode == "extend" else 2, topk_ids_of_layer=topk,
                            misc_objects=[], global_physical_count=count))
        truth_rows.append((pid, reqs, input_ids, positions, phys, mode))
    torch.save(dict(records=records, last_physical_to_logical_map=torch.from_numpy(P2L)),
               out / "sglang_per_token.pt")
    # The rows the importer must produce: physical ids, one sequence per request per pass.
    seq, pos, seg, tok, ids, labels = [], [], [], [], [], []
    s = 0
    for pid, reqs, input_ids, positions, phys, mode in truth_rows:
        i = 0
        for slot, (r, p) in enumerate(reqs):
            labels.append({"id": s, "label": f"pass {100 + pid} slot {slot}", "loss": None, "num_tokens": len(p)})
            for _ in p:
                seq.append(s), pos.append(positions[i]), seg.append(0 if mode == "extend" else 1)
                tok.append(input_ids[i]), ids.append(phys[i])
                i += 1
            s += 1
    write_trace(out / "expected_sglang_per_token.safetensors", np.stack(ids).transpose(1, 0, 2),
                {"sequences": labels}, {"sequence_ids": seq, "positions": pos, "segments": seg}, names(MOE), MOE, tok,
                experts=PHYSICAL, physical_to_logical=P2L[MOE])
    # per_pass (counts only) and stat dumps.
    torch.save(dict(records=[dict(forward_pass_id=r["forward_pass_id"], rank=0, gatherer_key="primary",
                                  global_physical_count=r["global_physical_count"]) for r in records],
                    last_physical_to_logical_map=torch.from_numpy(P2L)), out / "sglang_per_pass.pt")
    logical = torch.zeros((len(records), LAYERS, EXPERTS), dtype=torch.int32)
    for i, r in enumerate(records):
        logical[i].scatter_add_(1, torch.from_numpy(P2L), r["global_physical_count"])
    torch.save(dict(rank=0, logical_count=logical, average_utilization_rate_over_window=None), out / "sglang_stat.pt")
    np.save(out / "expected_sglang_logical_count.npy", logical.numpy().astype(np.int64))
    # /generate responses: meta_info.routed_experts = base64 of int32 [P + G - 1, num_hidden_layers, K]
    # (detokenizer_manager._b64_encode_per_request); input_ids added by the user from the request.
    lines = []
    for r in "AB":
        arr = all_layers(TRUTH[r]).astype(np.int32)
        lines.append({"text": "...", "output_ids": OUTPUT[r], "input_ids": PROMPT[r],
                      "meta_info": {"id": f"req-{r}", "finish_reason": {"type": "length", "length": len(OUTPUT[r])},
                                    "prompt_tokens": len(PROMPT[r]), "completion_tokens": len(OUTPUT[r]),
                                    "cached_tokens": 0,
                                    "routed_experts": base64.b64encode(arr.tobytes()).decode("utf-8")}})
    (out / "sglang_generate.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))


# --- Megatron-Core --------------------------------------------------------------------------------

class FakeRouter(torch.nn.Module):
    """What RouterTracer reads from a TopKRouter: gating(hidden) -> logits, and topk."""

    def __init__(self, hidden, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = torch.nn.Parameter(torch.randn(EXPERTS, hidden, generator=g))
        self.topk = K

    def gating(self, x):
        return torch.nn.functional.linear(x.float(), self.weight)


def megatron(out, src):
    spec = importlib.util.spec_from_file_location("router_trace", Path(src) / "megatron/core/transformer/moe/router_trace.py")
    rt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rt)
    mdir = out / "megatron"
    mdir.mkdir(exist_ok=True)
    tracer = rt.RouterTracer(str(mdir), max_steps=10, rank=0, training_mode=True, capture_logits=True)
    routers = {l: FakeRouter(16, l) for l in MOE}
    g = torch.Generator().manual_seed(7)
    expected = {l: [] for l in MOE}
    logits_all = {l: [] for l in MOE}
    step_rows = []
    torch.set_grad_enabled(False)
    for step, microbatches in ((10, [4, 3]), (11, [5])):
        for n in microbatches:
            hidden = torch.randn(n, 16, generator=g)
            for l in MOE:  # the decoder's layers in forward order
                logits = routers[l].gating(hidden)
                top = torch.topk(logits, K, dim=-1).indices
                tracer._record(routers[l], (hidden,), (torch.softmax(logits, -1), top), ("decoder", None, l))
                expected[l].append(top.numpy())
                logits_all[l].append(logits.to(torch.bfloat16).float().numpy())
            # A multi-token-prediction head's router, which importers skip.
            tracer._record(routers[1], (hidden,), (None, top), ("mtp", 0, 1))
        step_rows.append((step, sum(microbatches)))
        tracer.advance_step(step_id=step)
    tracer.flush()
    ids = np.stack([np.concatenate(expected[l]) for l in MOE])
    logits = np.stack([np.concatenate(logits_all[l]) for l in MOE])
    seq = [s for s, n in step_rows for _ in range(n)]
    pos = [t for _, n in step_rows for t in range(n)]
    write_trace(out / "expected_megatron.safetensors", ids,
                {"sequences": [{"id": s, "label": f"step {s}", "loss": None, "num_tokens": n} for s, n in step_rows]},
                {"sequence_ids": seq, "positions": pos}, names(MOE), MOE, logits=logits)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--megatron-src", required=True, help="a Megatron-LM checkout (docs/import.md names the commit)")
    ap.add_argument("--out", default=str(Path(__file__).parent))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # Request A as moeroute's own recorder stores it: one sequence, prompt then generated rows.
    p = len(PROMPT["A"])
    write_trace(out / "truth_a.safetensors", TRUTH["A"].transpose(1, 0, 2), {"prompt_length": p}, {},
                [f"model.layers.{i}.mlp.gate" for i in MOE], MOE, (PROMPT["A"] + OUTPUT["A"])[:-1], version=1)
    vllm(out)
    sglang(out)
    megatron(out, a.megatron_src)
    print(f"fixtures written to {out} (torch {torch.__version__}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
