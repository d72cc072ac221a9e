"""Hysteresis, versioned publishing, and the poller command."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from cdn.health import EdgeTarget, LocalStore, Poller, Tracker
from cdn.models import Edge
from cdn.snapshot import EdgeHealth
from tests.cdn.factories import EdgeFactory


def test_down_after_k_failures_up_after_m_successes():
    tracker = Tracker()
    flips = [
        tracker.observe(ok, down_after=2, up_after=3, now=float(i))
        for i, ok in enumerate([False, True, False, False, True, True, False, True, True, True])
    ]
    assert flips == [False, False, False, True, False, False, False, False, False, True]
    assert (tracker.up, tracker.changed_at) == (True, 9.0)


class Script:
    """A probe that answers from a per-edge script of (ok, load)."""

    def __init__(self, answers):
        self.answers = answers

    def __call__(self, target, *, timeout):
        return self.answers[target.id].pop(0)


def test_poller_publishes_a_new_version_only_when_something_changes():
    store = LocalStore()
    targets = [EdgeTarget(id=i, health_url="", status_url="", capacity=10) for i in (1, 2)]
    script = Script({1: [(True, 0.1)] * 3 + [(False, 0)] * 2, 2: [(True, 0.5)] * 5})
    seen = []
    poller = Poller(
        store=store,
        targets=lambda: targets,
        down_after=2,
        up_after=2,
        timeout=0.1,
        probe_fn=script,
        on_change=seen.append,
    )
    for _ in range(5):
        poller.round()
    assert store.health_version == 2
    assert store.read_health() == (2, {1: EdgeHealth(up=False, load=0.1), 2: EdgeHealth(True, 0.5)})
    assert len(seen) == 2


def test_poller_keeps_probing_when_the_store_is_away():
    class Away(LocalStore):
        def publish_health(self, health):
            raise ConnectionError("down")

    target = EdgeTarget(id=1, health_url="", status_url="", capacity=10)
    poller = Poller(
        store=Away(),
        targets=lambda: [target],
        down_after=1,
        up_after=1,
        timeout=0.1,
        probe_fn=Script({1: [(False, 0), (True, 0)]}),
    )
    assert poller.round() == {1: EdgeHealth(up=False, load=0.0)}
    assert poller.round() == {1: EdgeHealth(up=True, load=0.0)}


@pytest.mark.django_db
def test_poller_command_once_marks_unreachable_edges_down(cdn_store, settings):
    edge = EdgeFactory(name="gone", base_url="http://127.0.0.1:9/")
    EdgeFactory(name="off", base_url="http://127.0.0.1:9/", admin_state="offline")
    out = __import__("io").StringIO()
    call_command(
        "cdn_health_poller",
        "--rounds=2",
        "--down-after=2",
        "--interval=0.01",
        "--timeout=0.2",
        stdout=out,
    )
    assert out.getvalue().splitlines() == ["round 1: 1/1 edges up", "round 2: 0/1 edges up"]
    assert cdn_store.read_health()[1] == {edge.id: EdgeHealth(up=False, load=0.0)}
    edge.refresh_from_db()
    assert (edge.healthy, edge.health_checked_at is not None) == (False, True)
    assert Edge.objects.get(name="off").healthy is True
