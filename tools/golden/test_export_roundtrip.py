#!/usr/bin/env python3
"""Re-verify the committed TorchScript fixtures against eager transformers (needs torch + transformers).

    .venv/bin/python -m unittest tools/golden/test_export_roundtrip.py -v

Skips every test when torch or transformers >= 5 is not installed (CI uses the committed fixtures;
installing the reference packages is optional, see docs/export.md). References are independent of
the exporter's output: eager transformers run on the committed checkpoints.
"""
from __future__ import annotations

import json
import sys
import tempfile
import unittest
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "torchscript"
NAMES = ("qwen3_moe_tiny", "gpt_oss_tiny")
sys.path.insert(0, str(REPO / "tools"))

try:
    import torch
    import transformers
    from safetensors.torch import load_file

    HAVE_REFS = int(transformers.__version__.split(".")[0]) >= 5
except ImportError:
    HAVE_REFS = False

if HAVE_REFS:
    from moeroute_export import observe, routing
    from moeroute_export.export import ExportOptions, export
    from moeroute_export.gates import ExportError, capture_router_outputs, find_gates


def load_export(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path))


def eager_reference(checkpoint: Path, input_ids):
    """Unmodified transformers on the committed checkpoint: final logits and router outputs."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(checkpoint), dtype=torch.float32, attn_implementation="eager", experts_implementation="eager"
    ).eval()
    gates = find_gates(model)
    captured, handles = capture_router_outputs(gates)
    with torch.no_grad():
        logits = model(input_ids=input_ids, use_cache=False).logits
    for h in handles:
        h.remove()
    return logits, {layer: outs[0] for layer, outs in captured.items()}


@unittest.skipUnless(HAVE_REFS, "torch and transformers >= 5 not installed (tools/requirements-export.txt)")
class CommittedFixtures(unittest.TestCase):
    def test_sidecar_describes_export(self):
        for name in NAMES:
            with self.subTest(name):
                meta = json.loads((FIXTURES / f"{name}.pt.json").read_text())
                config = json.loads((FIXTURES / "hf" / name / "config.json").read_text())
                module = load_export(FIXTURES / f"{name}.pt")
                paths = {p for p, _ in module.named_modules()}
                self.assertEqual(meta["model_type"], config["model_type"])
                self.assertEqual(meta["vocab_size"], config["vocab_size"])
                self.assertEqual(meta["top_k"], config["num_experts_per_tok"])
                self.assertEqual(meta["num_experts"], config.get("num_experts", config.get("num_local_experts")))
                self.assertTrue(set(meta["gate_paths"]) <= paths, meta["gate_paths"])
                self.assertFalse(meta["exported_with"]["frozen"])
                self.assertEqual(meta["libtorch_1_13"]["missing_ops"], [])
                self.assertTrue((FIXTURES / meta["tokenizer"]["dir"] / "tokenizer.json").is_file())

    def test_committed_export_matches_eager_transformers(self):
        """Hook the committed file's gates (as moeroute does) and compare with eager transformers."""
        for name in NAMES:
            with self.subTest(name):
                meta = json.loads((FIXTURES / f"{name}.pt.json").read_text())
                side = load_file(str(FIXTURES / f"{name}.pt.routing.safetensors"))
                ids = side["input_ids"]
                ref_logits, ref_router = eager_reference(FIXTURES / "hf" / name, ids)
                module = load_export(FIXTURES / f"{name}.pt")
                observe.install_observers(module, dict(zip(meta["moe_layers"], meta["gate_paths"])))
                logits, recorded = observe.run_observed(module, ids)
                torch.testing.assert_close(logits, ref_logits, atol=1e-4, rtol=1e-4)
                torch.testing.assert_close(side["logits"], ref_logits, atol=1e-4, rtol=1e-4)
                self.assertEqual(sorted(recorded), meta["moe_layers"])
                for layer in meta["moe_layers"]:
                    ref_l, ref_w, ref_i = ref_router[layer]
                    torch.testing.assert_close(recorded[layer], ref_l, atol=1e-4, rtol=1e-4)
                    torch.testing.assert_close(side[f"router_logits.{layer}"], ref_l, atol=1e-4, rtol=1e-4)
                    self.assertTrue(torch.equal(side[f"topk_ids.{layer}"], ref_i))
                    torch.testing.assert_close(side[f"topk_weights.{layer}"], ref_w, atol=1e-5, rtol=1e-5)
                    got_ids = recorded[layer].topk(meta["top_k"], dim=-1).indices
                    self.assertTrue(torch.equal(got_ids.sort(-1).values, ref_i.sort(-1).values), f"layer {layer}")

    def test_routing_varies_over_tokens(self):
        """A fixture whose every token picks the same experts could not catch a baked-in routing."""
        for name in NAMES:
            with self.subTest(name):
                side = load_file(str(FIXTURES / f"{name}.pt.routing.safetensors"))
                for key in (k for k in side if k.startswith("topk_ids.")):
                    sets = {tuple(sorted(row.tolist())) for row in side[key]}
                    self.assertGreater(len(sets), 3, key)


@unittest.skipUnless(HAVE_REFS, "torch and transformers >= 5 not installed (tools/requirements-export.txt)")
class Exporter(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = Path(self.tmp.name) / "model.pt"

    def tearDown(self):
        self.tmp.cleanup()

    def test_reexport_reproduces_committed_routing(self):
        for name in NAMES:
            with self.subTest(name):
                export(ExportOptions(source=str(FIXTURES / "hf" / name), out=self.out, seq_len=8, verify_seq_len=13))
                new = load_file(str(self.out) + ".routing.safetensors")
                old = load_file(str(FIXTURES / f"{name}.pt.routing.safetensors"))
                self.assertEqual(sorted(new), sorted(old))
                for key in old:
                    torch.testing.assert_close(new[key], old[key], atol=1e-4, rtol=1e-4, msg=key)

    def test_dense_experts_export_matches_committed_routing(self):
        name = "gpt_oss_tiny"
        export(ExportOptions(source=str(FIXTURES / "hf" / name), out=self.out, seq_len=8, verify_seq_len=13,
                             experts_implementation="moeroute_dense"))
        meta = json.loads(Path(str(self.out) + ".json").read_text())
        self.assertEqual(meta["exported_with"]["experts_implementation"], "moeroute_dense")
        self.assertEqual(meta["libtorch_1_13"]["missing_ops"], [])
        new = load_file(str(self.out) + ".routing.safetensors")
        old = load_file(str(FIXTURES / f"{name}.pt.routing.safetensors"))
        torch.testing.assert_close(new["traced_logits"], old["logits"], atol=1e-4, rtol=1e-4)

    def test_loop_experts_are_refused(self):
        """transformers' eager experts loop bakes the example's expert choice into the trace."""
        opts = ExportOptions(source=str(FIXTURES / "hf" / "qwen3_moe_tiny"), out=self.out,
                             experts_implementation="eager")
        with self.assertRaises(ExportError):
            export(opts)
        self.assertEqual(list(Path(self.tmp.name).iterdir()), [])

    def test_wrong_routing_rule_is_refused(self):
        """Same expert sets, different weights: only the logits comparison can notice."""
        family = routing.ROUTER_FAMILIES["GptOssTopKRouter"]
        wrong = routing.RouterFamily(family.rule_name, routing.softmax_topk, family.flattens_input)
        routing.ROUTER_FAMILIES["GptOssTopKRouter"] = wrong
        try:
            with self.assertRaisesRegex(ExportError, "final logits"):
                export(ExportOptions(source=str(FIXTURES / "hf" / "gpt_oss_tiny"), out=self.out))
        finally:
            routing.ROUTER_FAMILIES["GptOssTopKRouter"] = family
        self.assertEqual(list(Path(self.tmp.name).iterdir()), [])


if __name__ == "__main__":
    unittest.main()
