"""bench/cdn_viewer_prefetch.py's replay on a stream small enough to work out by hand."""

from __future__ import annotations

import pytest


@pytest.fixture
def bench(monkeypatch):
    from bench import cdn_viewer_prefetch

    monkeypatch.setattr(cdn_viewer_prefetch, "SIZE", 0.5)  # 4 titles: a cache of 2
    return cdn_viewer_prefetch


# (ts, viewer, title, site): viewer 0 plays 1 and 2, viewer 1 plays 1 in the same hour, viewer
# 2 comes an hour later and plays 2; then title 3 and 4 are played once each.
ROWS = [
    (0.0, 0, 1, "a"),
    (1.0, 0, 2, "a"),
    (2.0, 1, 1, "a"),
    (3600.0, 2, 2, "a"),
    (3601.0, 2, 3, "a"),
    (3602.0, 2, 4, "a"),
]


def test_a_visit_pre_fetches_the_most_played_title_the_viewer_has_not_played(bench):
    (edge,) = bench.replay(ROWS, "popular", 1, 0.5)  # one slot for the list, one for fetches
    # Viewer 0's visit begins with nothing played yet: nothing to fetch. Viewer 1's begins
    # after 1 and 2 were played once: 1 is fetched (ties go to the lower id) and hits. An hour
    # later the list holds 1 (played twice), so viewer 2's visit fetches 2, which hits.
    assert (edge.prefetched, edge.prefetch_hits) == (2, 2)
    assert edge.hits == 2
    # Every lookup that missed went to the origin, and so did every pre-fetch.
    assert edge.origin == (len(ROWS) - edge.hits) + edge.prefetched == 6


def test_the_list_alone_stores_only_its_titles_and_fetches_nothing_ahead(bench):
    (edge,) = bench.replay(ROWS, None, 0, 0.0)
    # The first hour's list is empty (nothing played before it); the second's is title 1,
    # which nobody plays in that hour.
    assert (edge.hits, edge.prefetched, edge.origin) == (0, 0, len(ROWS))


def test_a_viewer_s_own_plays_and_the_list_are_never_pre_fetched(bench):
    rows = [(0.0, 0, 1, "a"), (1.0, 0, 2, "a"), (7200.0, 0, 3, "a"), (7201.0, 0, 4, "a")]
    (edge,) = bench.replay(rows, "popular", 4, 0.5)
    # At 7200 the viewer returns: 1 is the list's, 1 and 2 their own; 3 and 4 were never
    # played, so there is nothing to fetch.
    assert edge.prefetched == 0
