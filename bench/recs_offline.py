"""Offline recommender benchmark: popularity, item-kNN, implicit ALS (defaults) and EASE.

Same temporal split for every model, full ranking over all items, seen items excluded.
Default data: the planted synthetic set at MovieLens-100k size (943 x 1682, ~100k
interactions). `--ratings FILE` runs on a local MovieLens file instead (u.data or
ratings.csv: user, item, rating, timestamp). No Django needed.

    .venv/bin/python bench/recs_offline.py [--seed 0] [--holdout-fraction 0.2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommendations import algorithms  # noqa: E402
from recommendations.algorithms import InteractionData  # noqa: E402
from recommendations.evaluation import (  # noqa: E402
    Row,
    evaluate,
    fit_timed,
    format_table,
    search,
    temporal_split,
)
from recommendations.synthetic import generate  # noqa: E402


def load_ratings(path: Path) -> InteractionData:
    sep = "\t" if path.name == "u.data" else ","
    raw = np.genfromtxt(path, delimiter=sep, skip_header=0 if sep == "\t" else 1)
    users, uidx = np.unique(raw[:, 0].astype(np.int64), return_inverse=True)
    items, iidx = np.unique(raw[:, 1].astype(np.int64), return_inverse=True)
    return InteractionData.from_triples(
        uidx,
        iidx,
        raw[:, 2].astype(np.float32),
        raw[:, 3].astype(np.float64),
        shape=(users.size, items.size),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout-fraction", type=float, default=0.2)
    ap.add_argument("--ratings", type=Path, default=None)
    ap.add_argument("--latency-users", type=int, default=500)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    if args.ratings:
        data, source = load_ratings(args.ratings), str(args.ratings)
    else:
        data, source = generate(seed=args.seed).data, f"synthetic planted, seed {args.seed}"
    n_users, n_items = data.shape
    print(f"data: {source}: {n_users} users x {n_items} items, {data.nnz} interactions")
    split = temporal_split(data, holdout_fraction=args.holdout_fraction)
    print(f"split: newest {args.holdout_fraction:.0%} of each user held out ({split.test.nnz})")

    plan = [
        ("popularity", "popularity (validated half-life)", None),
        ("itemknn", "item-kNN (validated)", None),
        ("als", "implicit ALS (defaults)", {}),
        ("als", "implicit ALS (validated)", None),
        ("ease", "EASE (validated lambda) = ours", None),
    ]
    rows: list[Row] = []
    latency: dict[str, dict[str, float]] = {}
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(n_users, size=min(args.latency_users, n_users), replace=False)
    for algorithm, label, params in plan:
        search_seconds = 0.0
        if params is None:
            t0 = time.perf_counter()
            params = search(
                algorithm, split.train, holdout_fraction=args.holdout_fraction
            ).best_params
            search_seconds = time.perf_counter() - t0
        model = algorithms.build(algorithm, params)
        seconds = fit_timed(model, split.train)
        m = evaluate(model, split)
        rows.append(Row(label, model.params, m.as_dict(), round(seconds, 3), search_seconds > 0))
        # on-the-fly top-10 for one user from their history vector (fold-in, ALS recalculates)
        times = []
        for u in sample:
            hist = split.train.weights[int(u)]
            t0 = time.perf_counter()
            model.recommend(
                hist,
                k=10,
                group=int(split.train.groups[u]) if split.train.groups is not None else None,
            )
            times.append((time.perf_counter() - t0) * 1000)
        latency[label] = {
            "p50_ms": round(float(np.percentile(times, 50)), 3),
            "p95_ms": round(float(np.percentile(times, 95)), 3),
            "search_s": round(search_seconds, 2),
        }
        print(
            f"  {label}: ndcg@10={m.ndcg:.4f} fit={seconds:.2f}s search={search_seconds:.1f}s",
            flush=True,
        )

    print()
    print(format_table(rows))
    print()
    print("| algorithm | validation search s | one-user top-10 p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, lat in latency.items():
        print(f"| {label} | {lat['search_s']:.1f} | {lat['p50_ms']:.2f} | {lat['p95_ms']:.2f} |")
    print(
        f"\nmachine: {platform.machine()}, python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "source": source,
                    "shape": [n_users, n_items],
                    "interactions": data.nnz,
                    "holdout_fraction": args.holdout_fraction,
                    "results": [r.as_dict() for r in rows],
                    "latency": latency,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
