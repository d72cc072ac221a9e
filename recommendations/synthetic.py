"""Synthetic implicit feedback with a PLANTED taste structure, for tests and the benchmark.

Users belong to taste clusters; each cluster prefers one group of items. Item popularity is
Zipf-skewed inside and across groups. Each user's interactions mix in-taste picks (share
`taste_strength`) with globally popular ones, spread over a time window, so a model that
learns co-occurrence should beat popularity by a wide margin while popularity is not useless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommendations.algorithms.base import InteractionData


@dataclass
class SyntheticData:
    data: InteractionData
    user_cluster: np.ndarray
    item_cluster: np.ndarray


def generate(
    *,
    n_users: int = 943,
    n_items: int = 1682,
    n_interactions: int = 100_000,
    n_clusters: int = 12,
    n_countries: int = 3,
    taste_strength: float = 0.75,
    zipf: float = 1.0,
    start: float = 1_700_000_000.0,
    days: float = 365.0,
    seed: int = 0,
) -> SyntheticData:
    rng = np.random.default_rng(seed)
    user_cluster = rng.integers(0, n_clusters, size=n_users)
    item_cluster = rng.integers(0, n_clusters, size=n_items)
    # Zipf popularity over a random permutation of items.
    ranks = rng.permutation(n_items) + 1
    pop = 1.0 / np.power(ranks, zipf)
    pop /= pop.sum()
    # Activity: a long tail of users (lognormal), at least 5 each, roughly n_interactions in all.
    activity = rng.lognormal(mean=0.0, sigma=0.8, size=n_users)
    counts = np.maximum(5, np.round(activity / activity.sum() * n_interactions)).astype(int)
    counts = np.minimum(counts, n_items // 2)
    cluster_probs = []
    for c in range(n_clusters):
        p = np.where(item_cluster == c, pop, 0.0)
        p = p / p.sum() if p.sum() > 0 else pop
        cluster_probs.append(p)
    users, items, weights, stamps = [], [], [], []
    span = days * 86400.0
    for u in range(n_users):
        mix = taste_strength * cluster_probs[user_cluster[u]] + (1 - taste_strength) * pop
        chosen = rng.choice(n_items, size=counts[u], replace=False, p=mix)
        users.append(np.full(chosen.size, u))
        items.append(chosen)
        weights.append(1.0 + rng.integers(0, 3, size=chosen.size).astype(np.float32))
        first = start + rng.uniform(0, span * 0.5)
        stamps.append(np.sort(rng.uniform(first, start + span, size=chosen.size)))
    countries = (user_cluster + rng.integers(0, 2, size=n_users)) % max(n_countries, 1)
    data = InteractionData.from_triples(
        np.concatenate(users),
        np.concatenate(items),
        np.concatenate(weights),
        np.concatenate(stamps),
        shape=(n_users, n_items),
        groups=countries.astype(np.int64),
    )
    return SyntheticData(data=data, user_cluster=user_cluster, item_cluster=item_cluster)
