"""Keep-hot touches of real edges in the database: the replay keeps each edge's read counts and
its touch list (and touches the LRU arm as the edge will be), which edges are touched, and the
sender's failures recorded, not raised. Against a real nginx edge:
tests/cdn/test_nginx_equivalence.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cdn import tasks, touches
from cdn.edge_logs import ingest_log
from cdn.edge_mode import Arms
from cdn.keep_hot import Heat
from cdn.models import Edge, EdgeMode
from cdn.selectors import touch_list_sizes
from cdn.services import edge_mode_choose
from tests.cdn.conftest import free_port
from tests.cdn.factories import EdgeFactory
from tests.cdn.test_edge_mode_ingest import NOW, T0, lookups, replay_all

pytestmark = pytest.mark.django_db
A, B, C = "hls/a/v1/s0.ts", "hls/b/v1/s0.ts", "hls/c/v1/s0.ts"


@pytest.fixture(autouse=True)
def touches_on(settings):
    settings.CDN_EDGE_MODE_EVERY = 3600
    settings.CDN_EDGE_MODE_FILES = 4
    settings.CDN_EDGE_TOUCH_PERCENT = 50  # 2 of the 4 files


def ingest(tmp_path: Path, keys: list[str], start: float) -> None:
    log = tmp_path / "access.log"
    with log.open("a") as fh:
        fh.write("\n".join(lookups("e1", keys, start)) + "\n")
    ingest_log(path=str(log), max_bytes=1 << 20)


def arms_of(row: EdgeMode) -> Arms:
    return Arms.loads(bytes(row.arms), min_uses=2, inactive=365 * 86_400.0, valid=365 * 86_400.0)


def test_the_replay_keeps_the_read_counts_and_the_files_to_touch_coldest_first(tmp_path):
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={"e1": []}, played=["hls/a/v1/", "hls/b/v1/"], now=NOW)
    ingest(tmp_path, [A, A, B, B, B, C], T0)
    replay_all()
    row = EdgeMode.objects.get(edge__name="e1")
    assert row.touch_keys == [A, B]  # the two read most, the hottest (B) last
    # The LRU arm was touched now, as the edge will be: A then B at the head, though C was
    # looked up last.
    assert list(arms_of(row).lru.nodes)[-2:] == [A, B]
    # The counts carry over to the next run's lookups: C read twice more has B's three reads,
    # later, so it passes both.
    ingest(tmp_path, [C, C], T0 + 60)
    replay_all()
    row.refresh_from_db()
    assert row.touch_keys == [B, C]
    heat = Heat.loads(bytes(row.heat), half_life=6 * 3600)
    assert set(heat.values) == {A, B, C}


def test_with_touches_off_nothing_is_counted_or_listed(tmp_path, settings):
    settings.CDN_EDGE_TOUCH_PERCENT = 0
    EdgeFactory(name="e1")
    edge_mode_choose(names=["e1"], pinned={"e1": []}, played=["hls/a/v1/"], now=NOW)
    ingest(tmp_path, [A, A, B], T0)
    replay_all()
    row = EdgeMode.objects.get(edge__name="e1")
    assert (bytes(row.heat), row.touch_keys) == (b"", [])
    assert tasks.touch_edges() == 0


def _mode(name: str, *, mode: str = "lru", keys=(A,), updated=NOW, **edge) -> Edge:
    e = EdgeFactory(name=name, **edge)
    EdgeMode.objects.create(edge=e, mode=mode, touch_keys=list(keys), updated_at=updated)
    return e


def test_only_online_healthy_lru_mode_edges_with_a_fresh_list_are_touched():
    touched = _mode("lru")
    _mode("pin", mode="pin")
    _mode("empty", keys=())
    _mode("stale", updated=NOW - timedelta(hours=3))
    _mode("down", healthy=False)
    _mode("drain", admin_state=Edge.AdminState.DRAIN)
    assert touches.edges_to_touch(now=NOW) == [touched.pk]


class Refused(touches.EdgeConnection):
    """The edge's address with nothing listening."""

    def __init__(self, base_url: str) -> None:
        super().__init__(f"http://127.0.0.1:{free_port()}/")


def test_an_edge_that_cannot_be_reached_is_recorded_as_failed_not_raised():
    edge = _mode("e1", keys=(A, B))
    assert touches.touch_edge(edge_id=edge.pk, now=lambda: NOW, connect=Refused) == "failed"
    row = EdgeMode.objects.get(edge=edge)
    assert (row.touches, row.touch_hits, row.touched_at) == (0, 0, NOW)
    assert row.touch_error.startswith("ConnectionRefusedError")


def test_a_base_url_that_is_not_http_is_recorded_as_failed():
    edge = _mode("e1", base_url="ftp://edge.example/")
    assert touches.touch_edge(edge_id=edge.pk, now=lambda: NOW) == "failed"
    assert "not an http(s) base URL" in EdgeMode.objects.get(edge=edge).touch_error


def test_an_edge_in_the_pin_mode_or_without_a_list_is_skipped():
    pin = _mode("pin", mode="pin")
    empty = _mode("empty", keys=())
    for edge in (pin, empty):
        assert touches.touch_edge(edge_id=edge.pk, connect=Refused) == "skipped"
        assert EdgeMode.objects.get(edge=edge).touched_at is None
    assert touches.touch_edge(edge_id=10**9) == "skipped"


class Answering(touches.EdgeConnection):
    """An edge that answers every touch 204 after `seconds` on a shared clock (the edge itself
    is tested on real nginx; here the run's pacing is)."""

    clock = [0.0]
    seconds = 10.0

    def __init__(self, base_url: str) -> None:
        self.paths: list[str] = []
        Answering.sent = self.paths

    def head(self, path: str) -> tuple[int, str]:
        self.paths.append(path)
        seconds = self.seconds
        Answering.clock[0] += seconds.pop(0) if isinstance(seconds, list) else seconds
        return 204, "MISS"

    def close(self) -> None:
        pass


def run_paced(keys: list[str], *, budget: float, seconds: float | list[float] = 10.0) -> EdgeMode:
    edge = _mode("e1", keys=keys)
    Answering.clock, Answering.seconds = [0.0], seconds
    result = touches.touch_edge(
        edge_id=edge.pk, connect=Answering, budget=budget, clock=lambda: Answering.clock[0]
    )
    row = EdgeMode.objects.get(edge=edge)
    row.result = result
    return row


def test_a_run_that_will_not_fit_its_budget_skips_the_coldest_and_touches_the_hottest():
    keys = [f"hls/k{i}/v1/s0.ts" for i in range(5)]  # coldest first
    # 10 s a touch, 25 s in all: after the first, one more fits: the hottest.
    row = run_paced(keys, budget=25.0)
    assert Answering.sent == ["_touch/" + keys[0], "_touch/" + keys[4]]
    assert (row.result, row.touches, row.touches_skipped, row.touch_error) == ("done", 2, 3, "")


def test_a_last_touch_past_the_budget_ends_the_run_done_with_nothing_skipped():
    keys = [f"hls/k{i}/v1/s0.ts" for i in range(3)]
    # The pace says all three fit in 10 s; the last one takes 30: nothing is left to skip.
    row = run_paced(keys, budget=10.0, seconds=[1.0, 1.0, 30.0])
    assert Answering.sent == ["_touch/" + k for k in keys]
    assert (row.result, row.touches, row.touches_skipped, row.touch_error) == ("done", 3, 0, "")


def test_a_run_within_its_budget_sends_every_touch():
    keys = [f"hls/k{i}/v1/s0.ts" for i in range(5)]
    row = run_paced(keys, budget=60.0)
    assert Answering.sent == ["_touch/" + k for k in keys]
    assert (row.result, row.touches, row.touches_skipped) == ("done", 5, 0)


def test_a_first_touch_that_takes_the_whole_budget_stops_the_run():
    row = run_paced([A, B, C], budget=5.0)
    assert (row.result, row.touches) == ("failed", 1)
    assert row.touch_error == "stopped after 10 s, its budget; 2 not sent"


def test_the_default_budget_is_within_the_tasks_soft_time_limit(settings):
    settings.CELERY_QUEUE_TIME_LIMITS = {**settings.CELERY_QUEUE_TIME_LIMITS, "batch": (100, 120)}
    edge = _mode("e1", keys=[A] * 20)
    Answering.clock, Answering.seconds = [0.0], 10.0
    assert (
        touches.touch_edge(edge_id=edge.pk, connect=Answering, clock=lambda: Answering.clock[0])
        == "done"
    )
    assert len(Answering.sent) == 9  # 90 s of 10 s touches: the other 11 skipped


def test_the_touch_lists_are_counted_by_the_database():
    for name, keys in (("e1", [A, B, C]), ("e2", [])):
        EdgeMode.objects.create(edge=EdgeFactory(name=name), touch_keys=keys)
    EdgeFactory(name="e3")  # no per-edge mode row
    assert touch_list_sizes(names=["e1", "e2", "e3"]) == {"e1": 3, "e2": 0}
    assert touch_list_sizes(names=["e2"]) == {"e2": 0}
