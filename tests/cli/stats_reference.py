"""Independent NumPy implementation of `moeroute stats` (docs/metrics.md, "Routing statistics"),
written from the definitions, not from the C++: vectorised float64 NumPy as a careful user would
write it. Used by the CLI tests (to check stats.json) and by bench/stats_numpy.py (to time it).

Input: a list of chunks, each a dict of NumPy arrays in the trace layout (topk_ids [L, T, K],
gate_weights [L, T, K], router_logits [L, T, E], token_ids [T], sequence_ids [T], positions [T])
plus "source" (str), "labels" ({sequence id: label}) and "losses" ({sequence id: loss or None}).
"""
import math

import numpy as np
from scipy.spatial.distance import jensenshannon


def concat(chunks):
    """All chunks' rows side by side; samples keyed by (source, id), numbered in key order."""
    labels, losses, num_tokens = {}, {}, {}
    for c in chunks:
        T = c["topk_ids"].shape[1]
        seq = c.get("sequence_ids", np.zeros(T, np.int64))
        for s in np.unique(seq):
            key = (c["source"], int(s))
            labels[key] = c["labels"].get(int(s), "")
            losses[key] = c["losses"].get(int(s))
            num_tokens[key] = c["num_tokens"].get(int(s), T)
    order = sorted(labels)
    number = {k: i for i, k in enumerate(order)}
    sample = []
    for c in chunks:
        T = c["topk_ids"].shape[1]
        seq = c.get("sequence_ids", np.zeros(T, np.int64))
        ids, inv = np.unique(seq, return_inverse=True)
        sample.append(np.array([number[(c["source"], int(s))] for s in ids], np.int64)[inv])
    out = {
        "topk_ids": np.concatenate([c["topk_ids"] for c in chunks], axis=1),
        "positions": np.concatenate([c.get("positions", np.arange(c["topk_ids"].shape[1])) for c in chunks]),
        "sample": np.concatenate(sample), "keys": order,
        "labels": labels, "losses": losses, "num_tokens": num_tokens,
    }
    for name in ("gate_weights", "router_logits"):
        if all(name in c for c in chunks):
            out[name] = np.concatenate([c[name] for c in chunks], axis=1)
    if all("token_ids" in c for c in chunks):
        out["token_ids"] = np.concatenate([c["token_ids"] for c in chunks])
    return out


def softmax_entropy_bits(x):
    x = x.astype(np.float64)
    d = x - x.max(-1, keepdims=True)
    e = np.exp(d)
    z = e.sum(-1)
    return (np.log(z) - (e * d).sum(-1) / z) / math.log(2)


def weights_entropy_bits(w):
    q = w.astype(np.float64)
    q = q / q.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1)), 0.0)
    return -t.sum(-1)


def summary(h, hmax, bins):
    flat = h.reshape(-1)
    hist = np.clip((flat / hmax * bins).astype(np.int64), 0, bins - 1) if hmax > 0 else np.zeros(flat.size, np.int64)
    return {"count": int(flat.size), "mean": float(flat.mean()), "std": float(flat.std()), "min": float(flat.min()),
            "max": float(flat.max()), "max_possible": hmax, "histogram": np.bincount(hist, minlength=bins).tolist()}


def entropy_of(counts):
    c = counts[counts > 0].astype(np.float64)
    if c.size == 0:
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def gini(c):
    c = np.sort(c.astype(np.float64))
    n = c.size
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * c).sum() / (n * c.sum())) if c.sum() > 0 else 0.0


def compute(chunks, E, capacity_factors=(1.0, 1.25), capacity_group=0, position_window=128, bins=20,
            rare_ratio=0.1, dominant_ratio=2.0, top_n=10, min_token_count=10):
    d = concat(chunks)
    ids = d["topk_ids"].astype(np.int64)
    L, T, K = ids.shape
    r = {"tokens": T, "layers": []}
    counts = np.stack([np.bincount(ids[l].reshape(-1), minlength=E) for l in range(L)])
    top1 = np.stack([np.bincount(ids[l, :, 0], minlength=E) for l in range(L)])
    r["counts"], r["top1"] = counts, top1
    if "gate_weights" in d:
        w = d["gate_weights"].astype(np.float64)
        r["weight_sum"] = np.stack([np.bincount(ids[l].reshape(-1), weights=w[l].reshape(-1), minlength=E)
                                    for l in range(L)])
        r["entropy_topk"] = [summary(weights_entropy_bits(w[l]), math.log2(K), bins) for l in range(L)]
        r["entropy_topk_rows"] = np.stack([weights_entropy_bits(w[l]) for l in range(L)])
    if "router_logits" in d:
        hf = np.stack([softmax_entropy_bits(d["router_logits"][l]) for l in range(L)])
        r["entropy_full"] = [summary(hf[l], math.log2(E), bins) for l in range(L)]
        r["entropy_full_rows"] = hf
    mean = T * K / E
    r["cv"] = counts.std(axis=1) / mean
    r["max_over_mean"] = counts.max(axis=1) / mean
    r["min_over_mean"] = counts.min(axis=1) / mean
    r["gini"] = np.array([gini(counts[l]) for l in range(L)])
    u = counts / (T * K)
    r["utilisation"] = u
    r["status"] = np.where(counts == 0, "dead", np.where(u < rare_ratio / E, "rare", np.where(u > dominant_ratio / E,
                                                                                               "dominant", "")))

    # Capacity overflow per group (a sequence, or windows of capacity_group positions in it).
    sample = d["sample"]
    S = len(d["keys"])
    window = d["positions"] // capacity_group if capacity_group else np.zeros(T, np.int64)
    groups, gidx = np.unique(sample * (int(window.max()) + 1) + window, return_inverse=True)
    G = groups.size
    group_sample = groups // (int(window.max()) + 1)
    sizes = np.bincount(gidx, minlength=G)
    dropped = np.zeros((L, len(capacity_factors)), np.int64)
    group_dropped = np.zeros((G, len(capacity_factors)), np.int64)
    for l in range(L):
        gc = np.bincount(np.repeat(gidx, K) * E + ids[l].reshape(-1), minlength=G * E).reshape(G, E)
        for f, cf in enumerate(capacity_factors):
            cap = np.ceil(cf * K * sizes / E)
            over = np.maximum(0, gc - cap[:, None]).sum(1).astype(np.int64)
            dropped[l, f] = over.sum()
            group_dropped[:, f] += over
    r["overflow"] = dropped / (T * K)
    r["dropped"] = dropped

    # Co-activation over all pairs of the top-k.
    r["coactivation"] = []
    for l in range(L):
        a, b = [], []
        for k in range(K):
            for k2 in range(k + 1, K):
                a.append(np.minimum(ids[l, :, k], ids[l, :, k2]))
                b.append(np.maximum(ids[l, :, k], ids[l, :, k2]))
        m = np.bincount(np.concatenate(a) * E + np.concatenate(b), minlength=E * E).reshape(E, E) if a else np.zeros((E, E), np.int64)
        r["coactivation"].append(m)

    # Cross-layer consistency of the first choice.
    r["cross_layer"] = []
    for l in range(L - 1):
        C = np.bincount(ids[l, :, 0] * E + ids[l + 1, :, 0], minlength=E * E).reshape(E, E)
        hb = entropy_of(C.sum(0))
        hcond = max(0.0, entropy_of(C.reshape(-1)) - entropy_of(C.sum(1)))
        mi = max(0.0, hb - hcond)
        r["cross_layer"].append({"entropy_next": hb, "conditional_entropy": hcond, "mutual_information": mi,
                                 "normalised_mi": mi / hb if hb > 0 else 0.0, "accuracy": C.max(1).sum() / T,
                                 "baseline_accuracy": C.sum(0).max() / T})

    # Token → expert: per layer a [vocabulary, experts] count table, every expert at once.
    if "token_ids" in d:
        tok = d["token_ids"]
        vocab, inv = np.unique(tok, return_inverse=True)
        V = vocab.size
        occ = np.bincount(inv, minlength=V)
        eligible = occ >= min_token_count
        r["token_experts"] = []
        for l in range(L):
            table = np.bincount(np.repeat(inv, K) * E + ids[l].reshape(-1), minlength=V * E).reshape(V, E)
            n = table.sum(0)
            p = table / np.maximum(n, 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = -np.where(table > 0, p * np.log2(np.where(table > 0, p, 1)), 0).sum(0)
            # Rows are in token-id order (np.unique), so a stable sort breaks ties by lower id.
            by_count = np.argsort(-table, axis=0, kind="stable")[:top_n]
            share = np.where(eligible[:, None] & (table > 0), table / occ[:, None], -1.0)
            by_share = np.argsort(-share, axis=0, kind="stable")[:top_n]
            for e in range(E):
                top = [v for v in by_count[:, e] if table[v, e] > 0]
                spec = [v for v in by_share[:, e] if share[v, e] >= 0]
                r["token_experts"].append({
                    "layer": l, "expert": e, "assignments": int(n[e]), "distinct_tokens": int((table[:, e] > 0).sum()),
                    "vocab_entropy": float(h[e]),
                    "top_tokens": [(int(vocab[v]), int(table[v, e]), int(occ[v])) for v in top],
                    "specialised_tokens": [(int(vocab[v]), int(table[v, e]), int(occ[v])) for v in spec]})

    # Per dataset label and per sample.
    keys = d["keys"]
    sample_label = np.array([d["labels"][k] for k in keys])
    label_of_row = sample_label[sample]
    r["datasets"] = {}
    for lab in sorted(set(d["labels"].values())):
        rows = label_of_row == lab
        n = int(rows.sum())
        c = np.stack([np.bincount(ids[l][rows].reshape(-1), minlength=E) for l in range(L)])
        samples = [k for k in keys if d["labels"][k] == lab]
        losses = [d["losses"][k] for k in samples if d["losses"][k] is not None]
        pred = [max(d["num_tokens"][k] - 1, 0) for k in samples if d["losses"][k] is not None]
        x = {"samples": len(samples), "tokens": n, "utilisation": c / (n * K), "counts": c,
             "mean_loss": float(np.mean(losses)) if losses else None,
             "token_weighted_loss": float(np.dot(losses, pred) / sum(pred)) if losses and sum(pred) else None}
        if "entropy_full_rows" in r:
            x["entropy_full_mean"] = float(r["entropy_full_rows"][:, rows].mean())
        if "entropy_topk_rows" in r:
            x["entropy_topk_mean"] = float(r["entropy_topk_rows"][:, rows].mean())
        r["datasets"][lab] = x
    labs = sorted(r["datasets"])
    r["dataset_divergence"] = {}
    for i, a in enumerate(labs):
        for b in labs[i + 1:]:
            j = [jensenshannon(r["datasets"][a]["utilisation"][l], r["datasets"][b]["utilisation"][l], base=2) ** 2
                 for l in range(L)]
            r["dataset_divergence"][(a, b)] = (j, float(np.mean(j)))
    tokens = np.bincount(sample, minlength=S)
    per_sample = {}
    for kind in ("entropy_full", "entropy_topk"):
        if kind + "_rows" in r:
            per_sample[kind] = np.bincount(sample, weights=r[kind + "_rows"].sum(0), minlength=S) / (tokens * L)
    sample_dropped = np.zeros((S, len(capacity_factors)))
    for f in range(len(capacity_factors)):
        sample_dropped[:, f] = np.bincount(group_sample, weights=group_dropped[:, f], minlength=S)
    r["samples"] = {}
    for i, k in enumerate(keys):
        x = {"tokens": int(tokens[i]), "label": d["labels"][k], "loss": d["losses"][k],
             "overflow": (sample_dropped[i] / (tokens[i] * K * L)).tolist()}
        for kind, v in per_sample.items():
            x[kind + "_mean"] = float(v[i])
        r["samples"][k] = x

    # Usage over position windows.
    win = d["positions"] // position_window
    r["windows"] = []
    for w in range(int(win.max()) + 1):
        rows = win == w
        c = np.stack([np.bincount(ids[l][rows].reshape(-1), minlength=E) for l in range(L)])
        r["windows"].append({"begin": w * position_window, "tokens": int(rows.sum()), "counts": c,
                             "entropy": [entropy_of(c[l]) if rows.any() else None for l in range(L)]})
    return r
