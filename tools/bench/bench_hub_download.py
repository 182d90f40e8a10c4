"""Download speed, moeroute vs huggingface_hub, from one test Hub over loopback, in one run.

Both clients fetch the same generated model repository (safetensors shards redirected to the
test Hub's CDN, a few small files) into fresh caches, REPEATS times each, alternating; the best
wall time of each is reported with the rate and the ratio. moeroute also verifies every shard's
sha256 while downloading; huggingface_hub checks sizes only. Loopback measures the clients (and
the shared test server), not a network.

usage: .venv/bin/python tools/bench/bench_hub_download.py build/notorch [--shards 4] [--shard-mb 64] [--repeats 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "hub"))
from hub_util import TestHubProcess, hub_env  # noqa: E402

PY_DOWNLOAD = ("import sys, huggingface_hub; "
               "print(huggingface_hub.snapshot_download(sys.argv[1]))")


def make_repo(root, shards, shard_mb):
    root.mkdir(parents=True)
    names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    for name in names:
        with open(root / name, "wb") as f:
            for _ in range(shard_mb):
                f.write(os.urandom(1 << 20))
    (root / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {f"w{i}": n for i, n in enumerate(names)}}))
    (root / "config.json").write_text('{"model_type": "qwen3_moe"}')
    (root / "tokenizer.json").write_text('{"model": {"type": "BPE"}}')
    return sum(f.stat().st_size for f in root.iterdir())


def timed(cmd, env):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{r.stderr}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--shard-mb", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    moeroute = a.build_dir / "apps" / "moeroute" / "moeroute"
    test_hub = a.build_dir / "tests" / "hub" / "moeroute_test_hub"
    tmp = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    try:
        size = make_repo(tmp / "repo", a.shards, a.shard_mb)
        best = {"moeroute": float("inf"), "huggingface_hub": float("inf")}
        with TestHubProcess(test_hub, "--repo", f"model:bench/model={tmp / 'repo'}") as hub:
            for i in range(a.repeats):
                for who in best:
                    cache = tmp / f"cache-{who}-{i}"
                    env = hub_env(hub.endpoint, cache, HF_HUB_DISABLE_PROGRESS_BARS=1)
                    cmd = ([str(moeroute), "download", "bench/model"] if who == "moeroute"
                           else [sys.executable, "-c", PY_DOWNLOAD, "bench/model"])
                    best[who] = min(best[who], timed(cmd, env))
                    shutil.rmtree(cache)
        startup = min(timed([sys.executable, "-c", "from huggingface_hub import snapshot_download"], os.environ.copy())
                      for _ in range(a.repeats))
        import huggingface_hub
        print(f"repository: {a.shards} shards x {a.shard_mb} MiB + 3 small files = {size / 1e6:.1f} MB; "
              f"best of {a.repeats}; huggingface_hub {huggingface_hub.__version__}")
        print(f"{'client':<16} {'time':>8} {'rate':>11}")
        for who, t in best.items():
            print(f"{who:<16} {t:7.2f}s {size / t / 1e6:8.1f} MB/s")
        print(f"moeroute is faster by {best['huggingface_hub'] / best['moeroute']:.2f}x "
              f"(huggingface_hub's time includes {startup:.2f}s of interpreter start and import; without it "
              f"{(best['huggingface_hub'] - startup) / best['moeroute']:.2f}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
