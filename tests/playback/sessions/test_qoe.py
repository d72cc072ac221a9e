"""QoE reports from the player: strict validation at the heartbeat and the stop beacon, and a
scripted session folded into the summary row and the minute sums with exact numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from playback.models import PlaybackSession, QoeMinute, QoeSession
from playback.services.qoe import QoeReport, qoe_record
from tests.playback.sessions.conftest import client_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 20, 0, 0, tzinfo=UTC)


@pytest.fixture
def started(alice, alice_profile, movie):
    api = client_for(alice, alice_profile)
    response = api.post("/api/v1/playback/sessions", {"title_id": movie.pk}, format="json")
    assert response.status_code == 201
    return api, response.json()["session_id"]


def _beat(api, session_id, seq, qoe, fmt="json"):
    return api.post(
        f"/api/v1/playback/sessions/{session_id}/heartbeat",
        {"seq": seq, "position": 1.0, "qoe": qoe},
        format=fmt,
    )


@pytest.mark.parametrize(
    ("qoe", "field"),
    [
        ({"startup_ms": 900, "colour": "red"}, "colour"),
        ({"played_ms": -1}, "played_ms"),
        ({"played_ms": 3_600_001}, "played_ms"),
        ({"stall_ms": 1.5}, "stall_ms"),
        ({"stall_count": True}, "stall_count"),
        ({"level": 64}, "level"),
        ({"edge": "edge one"}, "edge"),
        ({"edge": "x" * 256}, "edge"),
        ({"avg_kbps": 200_001}, "avg_kbps"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field_and_nothing_is_stored(started, qoe, field):
    api, session_id = started
    response = _beat(api, session_id, 1, qoe)
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["qoe"]
    assert list(error["fields"]["qoe"]) == [field]
    assert QoeSession.objects.count() == 0
    assert QoeMinute.objects.count() == 0
    assert PlaybackSession.objects.get().last_seq == -1


@pytest.mark.parametrize("raw", ['{"avg_kbps": NaN}', '{"avg_kbps": Infinity}', "[1, 2]", "{"])
def test_a_beacon_report_must_be_a_finite_json_object(started, raw):
    api, session_id = started
    response = api.post(
        f"/api/v1/playback/sessions/{session_id}/stop",
        {"seq": "1", "position": "2", "qoe": raw},
        format="multipart",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["qoe"]
    assert QoeSession.objects.count() == 0
    assert PlaybackSession.objects.get().ended_at is None


def test_heartbeat_and_beacon_reports_add_up_and_a_replayed_beat_is_not_counted(started):
    api, session_id = started
    first = {"startup_ms": 850, "played_ms": 9000, "avg_kbps": 1200, "level": 1, "edge": "e1:81"}
    assert _beat(api, session_id, 1, first).json()["qoe_accepted"] is True
    # The same sequence number again (a retried request): lease renewed, report not folded.
    assert _beat(api, session_id, 1, first).json()["qoe_accepted"] is False
    second = {"played_ms": 6000, "avg_kbps": 800, "stall_count": 1, "stall_ms": 1500, "level": 0}
    assert _beat(api, session_id, 2, second).json()["qoe_accepted"] is True
    # The stop beacon: a form body carrying the report as a JSON string.
    last = {"played_ms": 1000, "avg_kbps": 800, "dropped_frames": 4, "recovered_errors": 1}
    response = api.post(
        f"/api/v1/playback/sessions/{session_id}/stop",
        {"seq": "3", "position": "16", "qoe": json.dumps(last)},
        format="multipart",
    )
    assert response.status_code == 204
    # A second beacon after the stop changes nothing.
    api.post(
        f"/api/v1/playback/sessions/{session_id}/stop",
        {"seq": "4", "position": "16", "qoe": json.dumps(last)},
        format="multipart",
    )
    summary = QoeSession.objects.get()
    assert (summary.startup_ms, summary.played_ms, summary.stall_count, summary.stall_ms) == (
        850,
        16000,
        1,
        1500,
    )
    assert summary.bitrate_kbps_ms == 9000 * 1200 + 6000 * 800 + 1000 * 800
    assert summary.average_kbps == 1025.0  # (10.8M + 4.8M + 0.8M) / 16 000 ms
    assert summary.rebuffering_ratio == 1500 / 17500
    assert (summary.level, summary.edge, summary.reports) == (0, "e1:81", 3)
    assert (summary.dropped_frames, summary.recovered_errors, summary.fatal_errors) == (4, 1, 0)


def test_a_scripted_session_gives_exact_summary_and_minute_sums(alice, alice_profile, movie):
    session = PlaybackSession.objects.create(
        account=alice,
        profile=alice_profile,
        title=movie,
        max_height=1080,
        created_at=T0,
        expires_at=T0 + timedelta(minutes=5),
    )
    script = [
        (
            T0 + timedelta(seconds=10),
            QoeReport(startup_ms=1200, played_ms=8000, avg_kbps=3000, level=2, edge="edge-a:80"),
        ),
        (
            T0 + timedelta(seconds=20),
            QoeReport(
                played_ms=7000, avg_kbps=1500, stall_count=2, stall_ms=3000, switches=1, level=1
            ),
        ),
        (
            T0 + timedelta(seconds=70),
            QoeReport(
                played_ms=10000,
                avg_kbps=1500,
                dropped_frames=12,
                fatal_errors=1,
                recovered_errors=2,
                edge="edge-b:80",
            ),
        ),
        # A second first-frame report changes nothing: the start happens once.
        (T0 + timedelta(seconds=80), QoeReport(startup_ms=5, played_ms=5000, avg_kbps=1000)),
    ]
    for at, report in script:
        assert qoe_record(session=session, report=report, now=at) is True

    summary = QoeSession.objects.get(session=session)
    assert summary.started_at == T0
    assert summary.startup_ms == 1200
    assert summary.played_ms == 30000
    assert summary.stall_count == 2
    assert summary.stall_ms == 3000
    assert summary.bitrate_kbps_ms == 8000 * 3000 + 7000 * 1500 + 10000 * 1500 + 5000 * 1000
    assert summary.average_kbps == 54_500_000 / 30000
    assert summary.rebuffering_ratio == 3000 / 33000
    assert (summary.switches, summary.level, summary.edge, summary.reports) == (
        1,
        1,  # the last level reported
        "edge-b:80",
        4,
    )
    assert (summary.dropped_frames, summary.fatal_errors, summary.recovered_errors) == (12, 1, 2)

    minutes = list(
        QoeMinute.objects.order_by("minute", "edge").values_list(
            "minute",
            "edge",
            "reports",
            "starts",
            "startup_ms",
            "played_ms",
            "stall_count",
            "stall_ms",
            "bitrate_kbps_ms",
            "switches",
            "dropped_frames",
            "fatal_errors",
            "recovered_errors",
        )
    )
    assert minutes == [
        (T0, "edge-a:80", 2, 1, 1200, 15000, 2, 3000, 34_500_000, 1, 0, 0, 0),
        (T0 + timedelta(minutes=1), "edge-b:80", 2, 0, 0, 15000, 0, 0, 20_000_000, 0, 12, 1, 2),
    ]


def test_reports_over_the_rate_are_dropped_but_the_heartbeat_still_renews(started, settings):
    settings.PLAYBACK_QOE_REPORTS_PER_MINUTE = 2
    api, session_id = started
    replies = [_beat(api, session_id, seq, {"played_ms": 1000}).json() for seq in (1, 2, 3)]
    assert [r["qoe_accepted"] for r in replies] == [True, True, False]
    assert [r["applied"] for r in replies] == [True, True, True]  # each position buffered
    assert QoeSession.objects.get().played_ms == 2000
    assert QoeMinute.objects.get().reports == 2


def test_old_minute_sums_are_pruned_in_batches(alice, alice_profile, movie):
    from playback.services.qoe import qoe_minutes_prune

    for minutes in (0, 1, 2, 60):
        QoeMinute.objects.create(minute=T0 + timedelta(minutes=minutes), edge="e")
    assert qoe_minutes_prune(before=T0 + timedelta(minutes=3), batch=2) == 2
    assert qoe_minutes_prune(before=T0 + timedelta(minutes=3), batch=2) == 1
    assert qoe_minutes_prune(before=T0 + timedelta(minutes=3), batch=2) == 0
    assert list(QoeMinute.objects.values_list("minute", flat=True)) == [T0 + timedelta(hours=1)]
