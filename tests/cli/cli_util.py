"""Running the moeroute binary from the CLI tests."""
import json
import subprocess
import tempfile
from pathlib import Path


def run(binary, *args, env=None):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, env=env)


def assert_refused(test, binary, args, fragment):
    """`moeroute ARGS --out DIR` must exit 2, say `fragment` on stderr and leave no DIR."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        r = run(binary, *args, "--out", out)
        test.assertEqual(r.returncode, 2, r.stderr)
        test.assertIn(fragment, r.stderr)
        test.assertFalse(out.exists(), "no output may be left behind")


def write_input(examples, tmp, **fields):
    """examples/input.json with `fields` replaced, written to TMP/input.json; returns its path."""
    data = json.loads((Path(examples) / "input.json").read_text())
    data.update(fields)
    path = Path(tmp) / "input.json"
    path.write_text(json.dumps(data))
    return path
