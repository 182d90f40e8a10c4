"""moeroute and Python's huggingface_hub (pinned in tools/requirements-refs.txt) share one cache:
each finds offline what the other downloaded from the test Hub, and both write the same layout.
The repository is a real checkpoint directory (tests/data/golden/qwen3_moe) served by the test Hub.

usage: test_hub_interop.py MOEROUTE TEST_HUB CHECKPOINT_DIR CASE
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from hub_util import TestHubProcess, hub_env, run, snapshot_files  # noqa: E402

MOEROUTE = TEST_HUB = CHECKPOINT = None
REPO = "moeroute-test/qwen3-moe-golden"
# What moeroute needs of this checkpoint: not golden.safetensors, which is no part of the model.
NEEDED = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
          "model.safetensors.index.json"]


def python(code, env):
    """Runs `code` in a fresh interpreter (huggingface_hub reads its environment at import) and returns
    what it printed as JSON."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"python failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def layout(cache):
    """Everything in a cache: a link's target; a directory's, lock's or file's mode, and a file's sha256."""
    out = {}
    for p in sorted(Path(cache).rglob("*")):
        rel = str(p.relative_to(cache))
        mode = oct(p.lstat().st_mode & 0o7777)
        if p.is_symlink():
            out[rel] = "link -> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = ("dir", mode)
        elif rel.startswith(".locks/"):
            out[rel] = ("lock", mode)
        elif "/trees/" in rel:
            # Same listing; the JSON's spacing and the mode (Python's mkstemp makes it 0600) may differ.
            out[rel] = json.loads(p.read_text())
        else:
            out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), mode)
    return out


class Interop(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="moeroute-interop-"))
        self.hub = TestHubProcess(TEST_HUB, "--repo", f"model:{REPO}={CHECKPOINT}")
        self.commit = self.hub.commits[f"model:{REPO}"]

    def tearDown(self):
        self.hub.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, cache, **extra):
        return hub_env(self.hub.endpoint, cache, **extra)

    def test_PythonDownloadsMoerouteFindsItOffline(self):
        cache = self.tmp / "cache"
        path = python(f"from huggingface_hub import snapshot_download; import json; "
                      f"print(json.dumps(snapshot_download({REPO!r})))", self.env(cache))
        self.assertEqual(Path(path), cache / "models--moeroute-test--qwen3-moe-golden" / "snapshots" / self.commit)
        before = len(self.hub.requests())
        r = run(MOEROUTE, "download", REPO, env=self.env(cache, HF_HUB_OFFLINE=1))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), path)
        self.assertEqual(len(self.hub.requests()), before, "offline means no request at all")
        # Online, moeroute lists the revision but fetches nothing that Python already has.
        r = run(MOEROUTE, "download", REPO, "--all", env=self.env(cache))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("all of them are cached", r.stderr)
        self.assertFalse([q for q in self.hub.requests()[before:] if "/resolve/" in q["target"] or q["server"] == "cdn"])
        listing = json.loads(run(MOEROUTE, "cache", "list", "--json", env=self.env(cache)).stdout)
        (repo,) = listing["repos"]
        self.assertEqual(repo["id"], REPO)
        self.assertEqual(repo["size_on_disk"], sum(f.stat().st_size for f in Path(CHECKPOINT).iterdir()))
        self.assertEqual(listing["warnings"], [])

        # A cache Python filled only partly (one file) is not taken for the whole model.
        partial = self.tmp / "partial"
        python(f"from huggingface_hub import hf_hub_download; import json; "
               f"print(json.dumps(hf_hub_download({REPO!r}, 'config.json')))", self.env(partial))
        r = run(MOEROUTE, "download", REPO, env=self.env(partial, HF_HUB_OFFLINE=1))
        self.assertEqual(r.returncode, 2)
        self.assertIn("model.safetensors.index.json", r.stderr)
        self.assertIn("HF_HUB_OFFLINE", r.stderr)

    def test_MoerouteDownloadsPythonFindsItOffline(self):
        cache = self.tmp / "cache"
        r = run(MOEROUTE, "download", REPO, env=self.env(cache))
        self.assertEqual(r.returncode, 0, r.stderr)
        snapshot = r.stdout.strip()
        self.assertEqual(snapshot_files(snapshot), NEEDED)
        found = python(f"""
import json
from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download
from huggingface_hub.errors import IncompleteSnapshotError
files = {{n: hf_hub_download({REPO!r}, n) for n in {NEEDED!r}}}
snap = snapshot_download({REPO!r}, allow_patterns={NEEDED!r})
try:
    snapshot_download({REPO!r})
    whole = "complete"
except IncompleteSnapshotError as e:
    whole = str(e)
info = scan_cache_dir()
repo = next(iter(info.repos))
print(json.dumps({{"files": files, "snapshot": snap, "whole": whole, "warnings": [str(w) for w in info.warnings],
                  "nb_files": repo.nb_files, "size": repo.size_on_disk,
                  "refs": {{r.commit_hash: sorted(r.refs) for r in repo.revisions}}}}))
""", self.env(cache, HF_HUB_OFFLINE=1))
        self.assertEqual(found["snapshot"], snapshot)
        for name, path in found["files"].items():
            self.assertEqual(path, str(Path(snapshot) / name))
            self.assertEqual(Path(path).read_bytes(), (Path(CHECKPOINT) / name).read_bytes())
        # moeroute's cached listing tells Python that golden.safetensors was not fetched.
        self.assertIn("golden.safetensors", found["whole"])
        self.assertEqual(found["warnings"], [])
        self.assertEqual(found["nb_files"], len(NEEDED))
        self.assertEqual(found["size"], sum((Path(CHECKPOINT) / n).stat().st_size for n in NEEDED))
        self.assertEqual(found["refs"], {self.commit: ["main"]})

        r = run(MOEROUTE, "download", REPO, "--all", env=self.env(cache))
        self.assertEqual(r.returncode, 0, r.stderr)
        whole = python(f"from huggingface_hub import snapshot_download; import json; "
                       f"print(json.dumps(snapshot_download({REPO!r})))", self.env(cache, HF_HUB_OFFLINE=1))
        self.assertEqual(whole, snapshot)

    def test_ConcurrentWithPython(self):
        # Both clients fetch the same slow blobs into one cache at once: the per-blob lock
        # (.locks/…/<etag>.lock, flock) makes one wait for the other, so each body is sent once.
        self.hub.close()
        self.hub = TestHubProcess(TEST_HUB, "--repo", f"model:{REPO}={CHECKPOINT}",
                                  "--slow", f"model:{REPO}:model-00001-of-00002.safetensors=50",
                                  "--slow", f"model:{REPO}:model-00002-of-00002.safetensors=50")
        cache = self.tmp / "cache"
        env = self.env(cache)
        code = f"from huggingface_hub import snapshot_download; import json; print(json.dumps(snapshot_download({REPO!r})))"
        procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True),
                 subprocess.Popen([str(MOEROUTE), "download", REPO, "--all"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err)
        self.assertEqual(json.loads(outs[0][0].strip().splitlines()[-1]), outs[1][0].strip())
        snapshot = Path(outs[1][0].strip())
        for f in Path(CHECKPOINT).iterdir():
            self.assertEqual((snapshot / f.name).read_bytes(), f.read_bytes())
        log = self.hub.requests()
        cdn_gets = [q["target"] for q in log if q["server"] == "cdn" and q["method"] == "GET"]
        self.assertEqual(len(cdn_gets), len(set(cdn_gets)), cdn_gets)  # no blob body was sent twice
        # Both asked for the first shard before it was complete (a finished snapshot link makes
        # huggingface_hub skip the HEAD), so one of them waited on the other's lock.
        heads = [q["user_agent"] for q in log if q["method"] == "HEAD" and "model-00001-of-00002" in q["target"]]
        self.assertTrue(any(ua.startswith("moeroute/") for ua in heads), heads)
        self.assertTrue(any("hf_hub/" in ua for ua in heads), heads)
        blobs = [p.name for p in (cache / "models--moeroute-test--qwen3-moe-golden" / "blobs").iterdir()]
        self.assertFalse([b for b in blobs if "incomplete" in b], blobs)

    def test_SameLayoutAsPython(self):
        # Besides the checkpoint: nested directories (links with more "../") and a dataset.
        nested = self.tmp / "nested"
        for name, content in {"config.json": b"{}", "a/b/deep.txt": b"deep", "a/weights.safetensors": b"w" * 5000}.items():
            (nested / name).parent.mkdir(parents=True, exist_ok=True)
            (nested / name).write_bytes(content)
        self.hub.close()
        self.hub = TestHubProcess(TEST_HUB, "--repo", f"model:{REPO}={CHECKPOINT}", "--repo", f"model:org/nested={nested}",
                                  "--repo", f"dataset:org/data={nested}")
        py_cache, mr_cache = self.tmp / "python", self.tmp / "moeroute"
        python(f"from huggingface_hub import snapshot_download; import json; "
               f"print(json.dumps([snapshot_download({REPO!r}), snapshot_download('org/nested'), "
               f"snapshot_download('org/data', repo_type='dataset')]))", self.env(py_cache))
        for args in ([REPO, "--all"], ["org/nested", "--all"], ["org/data", "--repo-type", "dataset"]):
            r = run(MOEROUTE, "download", *args, env=self.env(mr_cache))
            self.assertEqual(r.returncode, 0, r.stderr)
        ours, theirs = layout(mr_cache), layout(py_cache)
        self.assertIn("models--org--nested/snapshots/" + self.hub.commits["model:org/nested"] + "/a/b/deep.txt", theirs)
        self.assertEqual(sorted(ours), sorted(theirs))
        for path in theirs:
            with self.subTest(path=path):
                self.assertEqual(ours[path], theirs[path])


if __name__ == "__main__":
    MOEROUTE, TEST_HUB, CHECKPOINT, case = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    result = unittest.TextTestRunner(verbosity=2).run(Interop(f"test_{case}"))
    sys.exit(0 if result.wasSuccessful() else 1)
