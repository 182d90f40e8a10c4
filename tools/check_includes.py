#!/usr/bin/env python3
"""Checks the module structure of libmoeroute (docs/design.md, "Modules").

- Builds the module graph from #include lines: a file in libmoeroute/src/<m>/ (or a public header
  implemented there) that includes a private header "<n>/…" or a public header implemented in
  module n depends on n. A public header belongs to the module whose source includes it as its
  own header (the first #include of a .cpp); a header no source implements (error.h, say) is
  header-only and stands for what it includes.
- Fails on any cycle between modules, and on any LibTorch header (<torch/…>, <ATen/…>, <c10/…>,
  "moeroute/torch/…", "torch/…") reached from a module other than `torch`.

Usage: check_includes.py [REPO_ROOT]   (exit 0 = clean; prints the graph)
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
TORCH_SYSTEM = ("torch/", "ATen/", "c10/")


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    lib = root / "libmoeroute"
    src, inc = lib / "src", lib / "include"
    modules = sorted(p.name for p in src.iterdir() if p.is_dir())
    files = {}  # path -> (module or None for public headers, includes)
    for path in list(src.rglob("*.h")) + list(src.rglob("*.cpp")) + list(src.rglob("*.inc")):
        parts = path.relative_to(src).parts
        module = parts[0] if len(parts) > 1 else "torch"  # src/torch_pch.h is the plugin's
        files[path] = (module, INCLUDE.findall(path.read_text(errors="replace")))
    public = {}
    for path in inc.rglob("*.h"):
        public["/".join(path.relative_to(inc).parts)] = INCLUDE.findall(path.read_text(errors="replace"))

    # Owner of each public header.
    owner = {}
    for path, (module, includes) in files.items():
        if path.suffix == ".cpp" and includes and includes[0].startswith("moeroute/"):
            header = includes[0]
            if Path(header).stem == path.stem or header not in owner:
                owner[header] = module
    def expand(includes, seen=None):
        """Includes with header-only public headers replaced by what they include."""
        seen = set() if seen is None else seen
        out = []
        for i in includes:
            if i in public and i not in owner:
                if i not in seen:
                    seen.add(i)
                    out += expand(public[i], seen)
            else:
                out.append(i)
        return out

    def deps_of(module, includes):
        out = set()
        for i in expand(includes):
            if i in public:
                out.add(owner[i])
            elif (src / i).exists():
                out.add(i.split("/")[0])
        out.discard(module)
        return out

    def torch_headers(includes):
        return [i for i in expand(includes)
                if (i.startswith(TORCH_SYSTEM) and not (src / i).exists()) or i.startswith("moeroute/torch/")
                or (i.startswith("torch/") and (src / i).exists())]

    graph = defaultdict(set)
    problems = []
    for path, (module, includes) in files.items():
        graph[module] |= deps_of(module, includes)
        if module != "torch":
            for i in torch_headers(includes):
                problems.append(f"{path.relative_to(root)}: module '{module}' includes LibTorch header {i}")
    for header, includes in public.items():
        module = owner.get(header)
        if module is None:  # header-only: checked where it is included
            module = "torch" if header.startswith("moeroute/torch/") else None
        if module:
            graph[module] |= deps_of(module, includes)
        if not header.startswith("moeroute/torch/"):
            for i in torch_headers(includes):
                problems.append(f"include/{header}: torch-free public header includes {i}")

    # Cycles: Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(comp)

    for m in sorted(set(graph) | set(modules)):
        if m not in index:
            visit(m)
    for comp in sccs:
        if len(comp) > 1:
            cycle = sorted(comp)
            detail = "; ".join(f"{a} → {b}" for a in cycle for b in sorted(graph[a]) if b in comp)
            problems.append(f"include loop between modules {', '.join(cycle)}: {detail}")

    for m in sorted(graph):
        print(f"{m:10s} → {', '.join(sorted(graph[m])) or '—'}")
    for p in problems:
        print("error:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
