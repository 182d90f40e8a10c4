"""Starting the test Hub program (moeroute_test_hub) and running moeroute against it."""
import json
import os
import subprocess
import urllib.request
from pathlib import Path


class TestHubProcess:
    """`with TestHubProcess(binary, "--repo", "model:org/m=DIR") as hub:` serves until the block ends."""

    def __init__(self, binary, *args):
        self.proc = subprocess.Popen([str(binary), *map(str, args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.commits = {}
        for line in self.proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "endpoint":
                self.endpoint = rest
            elif word == "commit":
                repo, commit = rest.split()
                self.commits[repo] = commit
            elif word == "ready":
                break
        else:
            raise RuntimeError("the test Hub did not start")

    def requests(self):
        with urllib.request.urlopen(self.endpoint + "/_test/requests") as r:
            return json.load(r)

    def close(self):
        # Closing stdin asks the Hub to stop; one that does not (a handler stuck on a client that
        # died) is killed, so a failed test never leaves a server holding ctest's output pipe.
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def hub_env(endpoint, cache, **extra):
    """An environment that points Hugging Face tools at `endpoint` and `cache` and nowhere else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(cache), HF_HOME=str(Path(cache).parent / "hf_home"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_UPDATE_CHECK="1", NO_PROXY="*")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(binary, *args, env=None, timeout=120):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def noise(n, seed):
    """Deterministic bytes that do not compress."""
    out = bytearray(n)
    for i in range(n):
        seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = seed >> 24
    return bytes(out)


def make_model_dir(root, shard_size=100_000):
    """A Hub-shaped model directory: what moeroute needs plus files it must not fetch."""
    root = Path(root)
    files = {
        "config.json": b'{"model_type": "qwen3_moe"}',
        "tokenizer.json": b'{"model": {"type": "BPE"}}',
        "model.safetensors.index.json": json.dumps({"weight_map": {
            "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}).encode(),
        "model-00001-of-00002.safetensors": noise(shard_size, 1),
        "model-00002-of-00002.safetensors": noise(shard_size // 2, 2),
        "README.md": b"# test model",
        "original/model.safetensors": noise(30_000, 3),
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return files


NEEDED = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
          "model.safetensors.index.json", "tokenizer.json"]


def snapshot_files(snapshot):
    snapshot = Path(snapshot)
    return sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if not p.is_dir())


def fmt_bytes(n):
    """moeroute's decimal size format (docs/models.md): 532 B, 12.40 kB, 150.2 kB, 1.23 GB."""
    if n < 1000:
        return f"{n} B"
    v, units = n / 1000, ["kB", "MB", "GB", "TB", "PB"]
    u = 0
    while v >= 999.95 and u < 4:
        v /= 1000
        u += 1
    return f"{v:.2f} {units[u]}" if v < 99.995 else f"{v:.1f} {units[u]}"
