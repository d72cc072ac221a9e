"""Playback's demo data (`make demo`): the demo viewers with a taste-structured viewing history,
then a tiny playable test pattern. Runs after the catalogue's and the media pipeline's seeders."""

from __future__ import annotations

from typing import Any

from playback.demo import clip, viewers


def seed(*, stdout: Any = None) -> None:
    viewers.seed(stdout=stdout)
    if stdout is not None:
        clip.seed_demo(stdout=stdout)
    else:
        import io

        clip.seed_demo(stdout=io.StringIO())
