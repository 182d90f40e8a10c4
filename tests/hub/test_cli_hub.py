"""`moeroute download` and `moeroute cache` as a user runs them, against the test Hub program:
exit codes and messages, two processes fetching one blob, progress on a terminal and in a log,
a full disk and a read-only cache (tmpfs in a private mount namespace).

usage: test_cli_hub.py MOEROUTE TEST_HUB CASE
"""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from hub_util import NEEDED, TestHubProcess, fmt_bytes, hub_env, make_model_dir, run, snapshot_files  # noqa: E402

MOEROUTE = TEST_HUB = None
SKIP = 77  # ctest SKIP_RETURN_CODE


def can_mount_tmpfs():
    """Tests of a full or read-only disk mount a small tmpfs in a private user+mount namespace."""
    return shutil.which("unshare") and subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True).returncode == 0


class CliHub(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="moeroute-cli-hub-"))
        self.model = self.tmp / "model"
        self.files = make_model_dir(self.model)
        self.cache = self.tmp / "cache"
        self.total = re.escape(fmt_bytes(sum(len(self.files[n]) for n in NEEDED)))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def hub(self, *extra):
        return TestHubProcess(TEST_HUB, "--repo", f"model:org/m={self.model}", *extra)

    def test_DownloadPrintsTheSnapshot(self):
        with self.hub() as hub:
            env = hub_env(hub.endpoint, self.cache)
            r = run(MOEROUTE, "download", "org/m", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            snapshot = Path(r.stdout.strip())
            commit = hub.commits["model:org/m"]
            self.assertEqual(snapshot, self.cache / "models--org--m" / "snapshots" / commit)
            self.assertEqual(snapshot_files(snapshot), NEEDED)
            for name in NEEDED:
                self.assertEqual((snapshot / name).read_bytes(), self.files[name])
            # The plan comes first: files, size, what is cached, the free space.
            self.assertRegex(r.stderr, rf"org/m @ main = {commit[:12]}: 5 files, {self.total} \(what moeroute needs")
            self.assertIn("to download: 5 files", r.stderr)
            self.assertIn("free in", r.stderr)

            again = run(MOEROUTE, "download", "org/m", "--all", env=env)
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertEqual(snapshot_files(snapshot), sorted(self.files))
            self.assertIn("to download: 2 files", again.stderr)

            r = run(MOEROUTE, "download", "org/m", "--revision", commit, "--include", "*.md", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("all of them are cached", r.stderr)
            r = run(MOEROUTE, "download", "org/m@main", "--revision", "v2", env=env)
            self.assertEqual(r.returncode, 2)
            self.assertIn("two revisions given", r.stderr)

    def test_BadInputExitCodes(self):
        with self.hub("--gated", "model:org/m=hf_secret") as hub:
            env = hub_env(hub.endpoint, self.cache)
            cases = [
                (["download", "org/m/x"], env, "is not a Hub repository id"),
                (["download", "org/none"], env, "repository org/none not found"),
                (["download", "org/m"], env, "org/m is gated"),
                (["download", "org/m"], hub_env(hub.endpoint, self.cache, HF_TOKEN="hf_wrong"), "HTTP 403"),
                (["download", "org/m@v9"], hub_env(hub.endpoint, self.cache, HF_TOKEN="hf_secret"),
                 "revision 'v9' not found"),
                (["download", "org/m"], hub_env("http://127.0.0.1:9", self.cache), "HF_HUB_OFFLINE=1"),
                (["download", "org/m"], hub_env(hub.endpoint, self.cache, HF_HUB_OFFLINE="1"), "HF_HUB_OFFLINE is set"),
                (["download", "org/m", "--repo-type", "space"], env, "--repo-type"),
                (["download", "org/m"], hub_env(hub.endpoint, self.cache, HF_HUB_DOWNLOAD_TIMEOUT="x"),
                 "HF_HUB_DOWNLOAD_TIMEOUT"),
            ]
            for args, e, fragment in cases:
                with self.subTest(args=args, fragment=fragment):
                    r = run(MOEROUTE, *args, env=e)
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn(fragment, r.stderr)
                    self.assertEqual(r.stdout, "")
            self.assertFalse((self.cache / "models--org--m" / "snapshots").exists())
            # The token file under HF_HOME is used when HF_TOKEN is not set.
            e = hub_env(hub.endpoint, self.cache)
            Path(e["HF_HOME"]).mkdir(parents=True)
            (Path(e["HF_HOME"]) / "token").write_text("hf_secret\n")
            r = run(MOEROUTE, "download", "org/m", env=e)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_TwoProcessesOneBlob(self):
        with self.hub("--slow", "model:org/m:model-00001-of-00002.safetensors=40") as hub:
            env = hub_env(hub.endpoint, self.cache)
            cmd = [str(MOEROUTE), "download", "org/m"]
            procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
            outs = [p.communicate(timeout=120) for p in procs]
            for p, (out, err) in zip(procs, outs):
                self.assertEqual(p.returncode, 0, err)
            self.assertEqual(outs[0][0], outs[1][0])
            snapshot = Path(outs[0][0].strip())
            self.assertEqual((snapshot / "model-00001-of-00002.safetensors").read_bytes(),
                             self.files["model-00001-of-00002.safetensors"])
            # The blob's body was sent once: the second process waited on the lock and found it.
            cdn_gets = [q for q in hub.requests() if q["server"] == "cdn" and q["method"] == "GET"]
            self.assertEqual(len(cdn_gets), 2, cdn_gets)  # the two shards, once each
            self.assertTrue(any("waiting for another process" in err for _, err in outs), outs)
            blobs = sorted(p.name for p in (self.cache / "models--org--m" / "blobs").iterdir())
            self.assertFalse([b for b in blobs if b.endswith(".incomplete")], blobs)

    def test_ProgressOnATerminal(self):
        with self.hub("--slow", "model:org/m:model-00001-of-00002.safetensors=20") as hub:
            master, slave = pty.openpty()
            proc = subprocess.Popen([str(MOEROUTE), "download", "org/m"], env=hub_env(hub.endpoint, self.cache),
                                    stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            seen = b""
            while True:
                ready, _, _ = select.select([master], [], [], 60)
                if not ready:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            proc.wait(timeout=60)
            os.close(master)
            self.assertEqual(proc.returncode, 0, seen)
            text = seen.decode(errors="replace")
            # A bar redrawn in place: carriage returns, a percentage, bytes, a rate, an ETA, file counts.
            self.assertRegex(text, rf"\r\[[#.]{{24}}\] +\d+% [\d.]+ [kM]?B / {self.total}  ([\d.]+ [kM]?B|--) ?B?/s  ETA \S+  \d/5 files")
            self.assertRegex(text, rf"downloaded {self.total} in \d+s")
            self.assertNotIn("progress:", text)

    def test_ProgressLinesWithoutATerminal(self):
        # ~3 s of download: long enough for a periodic line (every 2 s).
        with self.hub("--slow", "model:org/m:model-00001-of-00002.safetensors=120") as hub:
            r = run(MOEROUTE, "download", "org/m", env=hub_env(hub.endpoint, self.cache))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("\r", r.stderr)
            self.assertRegex(r.stderr, rf"\nprogress: +\d+% [\d.]+ [kM]?B / {self.total}  \S+ \S+/s  ETA \S+  \d/5 files\n")
            for name in NEEDED:
                self.assertRegex(r.stderr, rf"fetched {re.escape(name)} \([\d.]+ k?B\)")
            self.assertRegex(r.stderr, rf"downloaded {self.total} in \d+s")

    def in_namespace(self, script, hub, **env):
        """Runs `script` (sh) in a private mount namespace, with MOEROUTE and CACHE set."""
        e = hub_env(hub.endpoint, self.cache, MOEROUTE=MOEROUTE, CACHE=self.cache, **env)
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=e, timeout=120)

    def test_DiskFull(self):
        if not can_mount_tmpfs():
            print("SKIP: cannot mount a tmpfs in a user namespace here")
            sys.exit(SKIP)
        self.cache.mkdir()
        with self.hub("--slow", "model:org/m:model-00001-of-00002.safetensors=60") as hub:
            # Too little space for the plan: refused before any byte is written.
            r = self.in_namespace('mount -t tmpfs -o size=100k tmpfs "$CACHE" && "$MOEROUTE" download org/m', hub)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("not enough free space in", r.stderr)
            # The disk fills up during the download: ENOSPC is an I/O error, the partial file stays for a
            # later resume, and no blob or snapshot link is made for the file.
            script = '''mount -t tmpfs -o size=400k tmpfs "$CACHE" || exit 90
"$MOEROUTE" download org/m & pid=$!
until ls "$CACHE"/models--org--m/blobs/*.incomplete >/dev/null 2>&1; do sleep 0.02; done
dd if=/dev/zero of="$CACHE/filler" bs=4k 2>/dev/null
wait $pid; rc=$?
ls -1 "$CACHE"/models--org--m/blobs "$CACHE"/models--org--m/snapshots/*
exit $rc'''
            r = self.in_namespace(script, hub)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("No space left on device", r.stderr)
            self.assertIn("free some space or point HF_HUB_CACHE at a larger disk", r.stderr)
            listing = r.stdout.split()
            self.assertNotIn("model-00001-of-00002.safetensors", listing)
            self.assertTrue(any(name.endswith(".incomplete") for name in listing), listing)

    def test_ReadOnlyCache(self):
        if not can_mount_tmpfs():
            print("SKIP: cannot mount a tmpfs in a user namespace here")
            sys.exit(SKIP)
        self.cache.mkdir()
        with self.hub() as hub:
            r = self.in_namespace('mount -t tmpfs -o ro tmpfs "$CACHE" && "$MOEROUTE" download org/m', hub)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("Read-only file system", r.stderr)
            self.assertIn("point HF_HUB_CACHE (or HF_HOME) at a writable directory", r.stderr)
            # A read-only cache that already holds the model is fine, online and offline.
            self.assertEqual(run(MOEROUTE, "download", "org/m", env=hub_env(hub.endpoint, self.cache)).returncode, 0)
            ro = 'mount --bind "$CACHE" "$CACHE" && mount -o remount,ro,bind "$CACHE" && "$MOEROUTE" download org/m'
            for offline in ("0", "1"):
                r = self.in_namespace(ro, hub, HF_HUB_OFFLINE=offline)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("warning", r.stderr)
                self.assertEqual(snapshot_files(r.stdout.strip()), NEEDED)

    def test_CacheListAndRm(self):
        with self.hub() as hub:
            env = hub_env(hub.endpoint, self.cache)
            self.assertEqual(run(MOEROUTE, "download", "org/m", env=env).returncode, 0)
            commit = hub.commits["model:org/m"]
        table = run(MOEROUTE, "cache", "list", env=env)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, rf"org/m +model +{self.total} +5 +- +{commit[:12]} \(main\)")
        listing = json.loads(run(MOEROUTE, "cache", "list", "--json", env=env).stdout)
        self.assertEqual(listing["cache_dir"], str(self.cache))
        (repo,) = listing["repos"]
        self.assertEqual((repo["id"], repo["type"], repo["blobs"]), ("org/m", "model", 5))
        self.assertEqual(repo["size_on_disk"], sum(len(self.files[n]) for n in NEEDED))
        self.assertEqual(repo["revisions"][0]["refs"], ["main"])
        other = run(MOEROUTE, "cache", "list", "--cache-dir", self.tmp / "empty", env=env)
        self.assertIn("0 repositories", other.stdout)

        r = run(MOEROUTE, "cache", "rm", "org/none", env=env)
        self.assertEqual(r.returncode, 2)
        self.assertIn("org/none is not in the cache", r.stderr)
        r = run(MOEROUTE, "cache", "rm", "org/m", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"freed {repo['size_on_disk']} bytes", r.stdout)
        self.assertFalse((self.cache / "models--org--m").exists())


if __name__ == "__main__":
    MOEROUTE, TEST_HUB, case = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    result = unittest.TextTestRunner(verbosity=2).run(CliHub(f"test_{case}"))
    sys.exit(0 if result.wasSuccessful() else 1)
