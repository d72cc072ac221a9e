"""Demo content for recommendations: interactions from the demo history, and a live model."""

from __future__ import annotations

from typing import Any

from recommendations import activity, services
from recommendations.models import ModelVersion


def seed(*, stdout: Any = None) -> None:
    """Rebuild interactions from the catalogue demo's viewing history, train EASE, go live.

    Safe to run again: the rebuild writes absolute values; a retrain only replaces the live
    model when the gate says it is better.
    """
    written = activity.rebuild_all()
    version = services.train(algorithm="ease")
    if version.status == ModelVersion.Status.CANDIDATE and not ModelVersion.objects.live().exists():
        version = services.promote(version=version)
    if stdout is not None:
        ndcg = version.metric("ndcg@10")
        stdout.write(
            f"Recommendations: {written} interactions, model #{version.pk} "
            f"({version.algorithm}, NDCG@10 {ndcg if ndcg is None else round(ndcg, 4)}) "
            f"is {version.status}."
        )
