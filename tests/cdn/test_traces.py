"""Trace files: a bad line stops the replay with its line number and what was expected there;
traces built from real timestamps keep every play at its own time and region."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from cdn.traces import (
    Request,
    TraceError,
    check_clients,
    movielens_plays,
    movielens_regions,
    read_trace,
    site_by_hash,
    trace_from_plays,
)

GOOD = "1700000000,10.0.0.1,hls/t00001/v1/,50000000\n"


def write(tmp_path, text: str) -> str:
    path = tmp_path / "trace.csv"
    path.write_text("timestamp,client,content_key,bytes\n" + text)
    return str(path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "1700000001,10.0.0.1,hls/t1/v1/",
            "expected 4 columns (timestamp,client,content_key,"
            "bytes), got 3: '1700000001,10.0.0.1,hls/t1/v1/'",
        ),
        (
            "yesterday,10.0.0.1,hls/t1/v1/,5",
            "timestamp 'yesterday' is not a number (expected Unix seconds)",
        ),
        ("1700000001,10.0.0.1,hls/t1/v1/,0", "bytes '0' is not a positive whole number"),
        ("1700000001,10.0.0.1,hls/t1/v1/,1.5", "bytes '1.5' is not a positive whole number"),
        ("1700000001,,hls/t1/v1/,5", "the client is empty (expected an IP address or a site)"),
        ("1700000001,10.0.0.1,,5", "the content key is empty (expected hls/<asset>/<ver>/)"),
    ],
)
def test_a_bad_line_is_named_with_what_was_expected(tmp_path, line, expected):
    path = write(tmp_path, GOOD + GOOD + line + "\n" + GOOD)
    with pytest.raises(TraceError) as info:
        read_trace(path)
    assert str(info.value) == f"{path}:4: {expected}"


def test_an_unknown_region_stops_the_command_with_its_line_and_the_site_names(tmp_path):
    path = write(tmp_path, GOOD + "1700000002,region-4,hls/t00002/v1/,50000000\n")
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("cdn_simulate", trace=path, regions=3, stdout=out)
    assert str(info.value) == (
        f"Cannot replay the trace: {path}:3: unknown client 'region-4': expected an IP "
        "address or one of the sites r0, r1, r2"
    )
    assert out.getvalue() == ""  # nothing was replayed


def test_a_session_too_long_for_its_chunks_stops_the_command_with_its_line(tmp_path):
    # 1 MB chunks: chunk numbers (20 bits) name at most 1,048,575 of them.
    path = write(tmp_path, GOOD + "1700000002,10.0.0.2,hls/t00002/v1/,1048575000001\n")
    with pytest.raises(CommandError) as info:
        call_command("cdn_simulate", trace=path, regions=3, chunk_mb=1, stdout=io.StringIO())
    assert str(info.value) == (
        f"Cannot replay the trace: {path}:3: bytes 1048575000001 is more than 1048575 chunks "
        "of 1000000 (expected at most 1048575000000 bytes per session, or a larger --chunk-mb)"
    )


def test_clients_may_be_addresses_or_site_names():
    requests = [
        Request(1.0, "10.1.2.3", "k", 1, 2),
        Request(2.0, "r1", "k", 1, 3),
        Request(3.0, "2001:db8::1", "k", 1, 4),
    ]
    check_clients(requests, ["r0", "r1"])  # no error
    with pytest.raises(TraceError, match=r"^line 5: unknown client 'r7'"):
        check_clients([*requests, Request(4.0, "r7", "k", 1, 5)], ["r0", "r1"])


def test_an_unsorted_trace_is_replayed_in_time_order_keeping_file_order_for_ties(tmp_path):
    path = write(
        tmp_path,
        "30,10.0.0.1,hls/c/v1/,1\n10,10.0.0.1,hls/a/v1/,1\n30,10.0.0.1,hls/d/v1/,1\n"
        "20,10.0.0.1,hls/b/v1/,1\n",
    )
    assert [(r.key, r.line) for r in read_trace(path)] == [
        ("hls/a/v1/", 3),
        ("hls/b/v1/", 5),
        ("hls/c/v1/", 2),
        ("hls/d/v1/", 4),
    ]


def test_movielens_plays_become_one_session_per_rating_at_its_time(tmp_path):
    data = tmp_path / "u.data"
    data.write_text("1\t10\t4\t900\n2\t10\t3\t800\n1\t11\t5\t850\n")
    users = tmp_path / "u.user"
    users.write_text("1|24|M|technician|85711\n2|53|F|other|85702\n")
    regions = movielens_regions(str(users), ["a", "b", "c"])
    # Same sectional centre (857): same region, whatever the rest of the zip code.
    assert regions["1"] == regions["2"] == site_by_hash(["a", "b", "c"])("zip:857")
    trace = trace_from_plays(
        movielens_plays(str(data)),
        region_of=regions.__getitem__,
        nbytes=7,
        key_of=lambda item: f"hls/m{item}/v1/",
    )
    assert [(r.ts, r.client, r.key, r.nbytes) for r in trace] == [
        (800.0, regions["2"], "hls/m10/v1/", 7),
        (850.0, regions["1"], "hls/m11/v1/", 7),
        (900.0, regions["1"], "hls/m10/v1/", 7),
    ]


def test_ratings_csv_is_read_with_its_header_and_a_bad_timestamp_is_named(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,soon\n")
    with pytest.raises(TraceError) as info:
        movielens_plays(str(path))
    assert str(info.value) == f"{path}:3: timestamp 'soon' is not a number"
    path.write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
    assert movielens_plays(str(path)) == [(964982703.0, "1", "1")]


@pytest.mark.django_db
def test_from_activity_writes_one_session_per_recorded_play_from_its_site(tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from cdn.models import SteeringDecision

    now = timezone.now().replace(microsecond=0)
    for minutes, site, key in [
        (5, "paris", "hls/a/v1/"),
        (30, "lyon", "hls/b/v1/"),
        (10, "", "hls/c/v1/"),  # steered to the origin: no edge saw it
        (60 * 24 * 4, "paris", "hls/d/v1/"),  # older than --days
    ]:
        SteeringDecision.objects.create(
            created_at=now - timedelta(minutes=minutes),
            client_ip="10.0.0.1",
            content_key=key,
            located_by="coverage_zone",
            site_name=site,
        )
    out = tmp_path / "activity.csv"
    stdout = io.StringIO()
    call_command(
        "cdn_trace", out=str(out), from_activity=True, days=3, session_bytes=9, stdout=stdout
    )
    assert stdout.getvalue() == f"wrote 2 sessions to {out}\n"
    assert [(r.ts, r.client, r.key, r.nbytes) for r in read_trace(str(out))] == [
        ((now - timedelta(minutes=30)).timestamp(), "lyon", "hls/b/v1/", 9),
        ((now - timedelta(minutes=5)).timestamp(), "paris", "hls/a/v1/", 9),
    ]


@pytest.mark.django_db
def test_from_activity_with_nothing_recorded_says_so(tmp_path):
    with pytest.raises(CommandError, match="^No recorded plays since .* UTC"):
        call_command("cdn_trace", out=str(tmp_path / "t.csv"), from_activity=True)
    assert not (tmp_path / "t.csv").exists()


def test_from_ratings_maps_users_by_zip_prefix(tmp_path):
    data = tmp_path / "u.data"
    data.write_text("1\t10\t4\t900\n2\t11\t3\t800\n")
    users = tmp_path / "u.user"
    users.write_text("1|24|M|technician|85711\n2|53|F|other|10001\n")
    out = tmp_path / "t.csv"
    stdout = io.StringIO()
    call_command(
        "cdn_trace",
        out=str(out),
        from_ratings=str(data),
        users=str(users),
        regions=19,
        stdout=stdout,
    )
    pick = site_by_hash([f"r{i}" for i in range(19)])
    assert [(r.ts, r.client, r.key) for r in read_trace(str(out))] == [
        (800.0, pick("zip:100"), "hls/m11/v1/"),
        (900.0, pick("zip:857"), "hls/m10/v1/"),
    ]
    assert "replay with cdn_simulate --regions 19 --edges-per-site 1" in stdout.getvalue()
