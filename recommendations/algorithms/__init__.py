"""Recommendation algorithms: pure numpy/scipy (no Django), one common interface."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from recommendations.algorithms.als import ImplicitALS
from recommendations.algorithms.base import InteractionData, Recommendation, Recommender, top_k
from recommendations.algorithms.ease import EASE
from recommendations.algorithms.itemknn import ItemKNN
from recommendations.algorithms.popularity import Popularity
from recommendations.algorithms.twostage import TwoStage

ALGORITHMS: dict[str, type[Recommender]] = {
    cls.name: cls for cls in (Popularity, ItemKNN, EASE, ImplicitALS, TwoStage)
}


def build(name: str, params: dict[str, Any] | None = None) -> Recommender:
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; choose one of {', '.join(sorted(ALGORITHMS))}"
        ) from None
    return cls(**(params or {}))


def dumps(model: Recommender, extra: dict[str, np.ndarray] | None = None) -> bytes:
    """A model (plus extra arrays, e.g. id maps) as .npz bytes."""
    arrays = {f"model__{k}": v for k, v in model.to_arrays().items()}
    arrays["meta"] = np.frombuffer(
        json.dumps({"algorithm": model.name, "params": model.params}).encode(), dtype=np.uint8
    )
    for k, v in (extra or {}).items():
        arrays[f"extra__{k}"] = v
    # an uncompressed .npz: model arrays are floats that deflate poorly (MovieLens-100K's
    # two-stage artifact: 13.5 MB stored, 11.5 MB deflated) and deflating cost 0.55 s of CPU,
    # a tenth of a retrain (docs/benchmarks.md)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def loads(blob: bytes) -> tuple[Recommender, dict[str, np.ndarray]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        files = {k: npz[k] for k in npz.files}
    meta = json.loads(files.pop("meta").tobytes().decode())
    model = build(meta["algorithm"], meta["params"])
    model.load_arrays({k[7:]: v for k, v in files.items() if k.startswith("model__")})
    extra = {k[7:]: v for k, v in files.items() if k.startswith("extra__")}
    return model, extra


__all__ = [
    "ALGORITHMS",
    "EASE",
    "ImplicitALS",
    "InteractionData",
    "ItemKNN",
    "Popularity",
    "Recommendation",
    "Recommender",
    "TwoStage",
    "build",
    "dumps",
    "loads",
    "top_k",
]
