#!/usr/bin/env python3
"""`moeroute compare` with a Hub id as model_id: the test Hub serves a real Qwen3-MoE checkpoint
directory with its tokenizer (tests/data/torchscript/hf/qwen3_moe_tiny); compare downloads it into
an empty cache, runs it natively and names the model by its id. A second run works offline from
the cache. Run by ctest as
    python test_compare_from_hub.py MOEROUTE TEST_HUB MODEL_DIR INPUT_JSON
"""
import json
import sys
import tempfile
import unittest
from pathlib import Path

from hub_util import TestHubProcess, hub_env, run

MOEROUTE = TEST_HUB = MODEL_DIR = INPUT = None
REPO = "test-org/qwen3-tiny"


class CompareFromTheHub(unittest.TestCase):
    def test_downloads_then_runs_offline(self):
        with tempfile.TemporaryDirectory() as tmp, TestHubProcess(TEST_HUB, "--repo", f"model:{REPO}={MODEL_DIR}") as hub:
            tmp = Path(tmp)
            data = json.loads(Path(INPUT).read_text())
            data.update(model_id=REPO, max_new_tokens=4)
            (tmp / "input.json").write_text(json.dumps(data))
            cache = tmp / "hub"
            env = hub_env(hub.endpoint, cache)
            r = run(MOEROUTE, "compare", tmp / "input.json", "--out", tmp / "out", "--no-plots", env=env, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            meta = json.loads((tmp / "out" / "meta.json").read_text())
            self.assertEqual(meta["model"], REPO)
            self.assertEqual(meta["model_id_base"], REPO)
            snapshots = list((cache / "models--test-org--qwen3-tiny" / "snapshots").iterdir())
            self.assertEqual(len(snapshots), 1)
            self.assertTrue((snapshots[0] / "tokenizer.json").is_file())
            # Offline, from the cache, the same outputs.
            offline = hub_env("http://127.0.0.1:9", cache, HF_HUB_OFFLINE=1)
            r = run(MOEROUTE, "compare", tmp / "input.json", "--out", tmp / "out2", "--no-plots", env=offline, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual((tmp / "out" / "jsd.csv").read_text(), (tmp / "out2" / "jsd.csv").read_text())
            # A repo the Hub does not have: exit 2, nothing written.
            data.update(model_id="test-org/missing")
            (tmp / "missing.json").write_text(json.dumps(data))
            r = run(MOEROUTE, "compare", tmp / "missing.json", "--out", tmp / "out3", env=env)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertFalse((tmp / "out3").exists())


if __name__ == "__main__":
    MOEROUTE, TEST_HUB, MODEL_DIR, INPUT = sys.argv[1:5]
    unittest.main(argv=[sys.argv[0], *sys.argv[5:]], verbosity=2)
