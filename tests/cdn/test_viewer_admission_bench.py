"""bench/cdn_viewer_admission.py's admission rules on a stream small enough to work out by hand."""

from __future__ import annotations

import pytest

HOUR = 3600.0


@pytest.fixture
def bench(monkeypatch):
    from bench import cdn_viewer_admission

    monkeypatch.setattr(cdn_viewer_admission, "SIZE", 0.5)  # 2 titles: a cache of 1
    return cdn_viewer_admission


def rows(v1_seen_at: float = 10.0, v0_plays_at: float = 11.0) -> list[tuple]:
    # (ts, viewer, title, site): viewer 2 played title 1 long ago; viewer 1 shows up and plays
    # title 3; viewer 0 then plays title 1, and viewer 1 plays it after them.
    return [
        (0.0, 2, 1, "a"),
        (v1_seen_at, 1, 3, "a"),
        (v0_plays_at, 0, 1, "a"),
        (v0_plays_at + 1, 1, 1, "a"),
    ]


def hits(bench, stream, pinned, share, rule, knob):
    return bench.replay([bench.Site(stream)], stream, pinned, share, rule, knob)


def test_a_title_is_admitted_for_an_active_viewer_who_has_not_played_it(bench):
    stream = rows()
    # At viewer 0's lookup, title 1 holds half the ratings so far (500 per mille) and one
    # other active viewer (1) has not played it: score 500. Viewer 2 played it: not counted.
    assert hits(bench, stream, "fixed", 0.0, "viewers", (6, 500)) == 1  # viewer 1's lookup hits
    assert hits(bench, stream, "fixed", 0.0, "viewers", (6, 501)) == 0
    # On its share alone (500 per mille) the title is stored as well, at the same line.
    assert hits(bench, stream, "fixed", 0.0, "popular", (500,)) == 1
    assert hits(bench, stream, "fixed", 0.0, "popular", (501,)) == 0


def test_a_viewer_idle_longer_than_the_window_does_not_count(bench):
    stream = rows(v1_seen_at=0.0, v0_plays_at=7 * HOUR)
    assert hits(bench, stream, "fixed", 0.0, "viewers", (6, 1)) == 0
    assert hits(bench, stream, "fixed", 0.0, "viewers", (8, 1)) == 1


def test_viewers_who_played_the_title_already_do_not_make_it_worth_storing(bench):
    stream = [(0.0, 0, 1, "a"), (1.0, 1, 1, "a"), (2.0, 2, 1, "a"), (3.0, 0, 2, "a")]
    # Each lookup of title 1 finds every other active viewer has played it: never stored.
    assert hits(bench, stream, "fixed", 0.0, "viewers", (6, 1)) == 0
    # Stock nginx stores it at the first lookup: the next two hit.
    assert hits(bench, stream, "fixed", 0.0, "all", ()) == 2


def test_the_references(bench):
    stream = rows()
    # Stock nginx: title 3 pushes title 1 out of the one slot; only the last lookup hits.
    assert hits(bench, stream, "fixed", 0.0, "all", ()) == 1
    # The oracle stores title 1 at lookup 0 only when K reaches its next lookup (2 later).
    assert hits(bench, stream, "fixed", 0.0, "oracle", (1,)) == 1
    assert hits(bench, stream, "fixed", 0.0, "oracle", (2,)) == 2
    # The fixed set, the whole cache: title 1, read three times, held from the start.
    assert hits(bench, stream, "fixed", 1.0, "all", ()) == 3


def test_the_whole_cache_on_the_hourly_list_is_the_prefetch_benchs_list(bench, monkeypatch):
    from bench import cdn_viewer_prefetch

    monkeypatch.setattr(cdn_viewer_prefetch, "SIZE", 0.5)
    stream = [(0.0, 0, 1, "a"), (1.0, 1, 1, "a"), (3600.0, 2, 1, "a"), (3601.0, 2, 2, "a")]
    # The list is empty in the first hour (nothing rated before it): no hit. From the second
    # hour it holds title 1: stored at its first request then, a hit at the next.
    assert hits(bench, stream, "list", 1.0, "all", ()) == 0
    stream.append((3602.0, 0, 1, "a"))
    assert hits(bench, stream, "list", 1.0, "all", ()) == 1
    (edge,) = cdn_viewer_prefetch.replay(stream, None, 0, 0.0)
    assert edge.hits == 1
