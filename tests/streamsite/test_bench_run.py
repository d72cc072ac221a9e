"""`make bench` (bench/run.py) runs what this machine has the inputs for and says why it skips
the rest."""

from __future__ import annotations

from pathlib import Path

from bench import run as bench_run


def plan(environ: dict[str, str], files: set[str]) -> dict[str, bench_run.Run]:
    return {r.script: r for r in bench_run.plan(environ, files.__contains__)}


def test_every_bench_script_is_planned():
    scripts = {p.name for p in Path(bench_run.BENCH).glob("*.py")} - {"run.py", "__init__.py"}
    assert set(plan({}, set())) == scripts


def test_a_bare_machine_skips_what_needs_postgres_nginx_or_movielens():
    runs = plan({}, set())
    skipped = {name for name, r in runs.items() if r.skipped}
    assert skipped == {
        "db_connections.py",
        "recs_train_speed.py",
        "recs_serving.py",
        "cdn_viewer_prefetch.py",
        "cdn_viewer_admission.py",
        "cdn_failover.py",
        "cdn_edges_warming.py",
        "playback_heartbeats.py",
    }
    assert runs["cdn_viewer_prefetch.py"].skipped == (
        "needs MovieLens 100K in BENCH_ML100K (/work/data/ml-100k: no u.data and u.user)"
    )
    # the real-trace benches still run on the generator's traces
    assert runs["cdn_real_traces.py"].env == {"BENCH_TRACES": "synthetic,releases"}
    assert runs["cdn_steady_state.py"].env == {"BENCH_TRACES": "synthetic,releases"}


def test_movielens_copies_add_their_traces_and_benches():
    environ = {"BENCH_ML100K": "/d/100k", "BENCH_MLSMALL": "/d/small"}
    files = {"/d/100k/u.data", "/d/100k/u.user", "/d/small/ratings.csv", "nginx"}
    runs = plan(environ, files)
    assert runs["cdn_real_traces.py"].env == {
        "BENCH_TRACES": "synthetic,releases,ml-100k,ml-latest-small"
    }
    assert runs["cdn_bounds.py"].env == {
        "BENCH_TRACES": "synthetic,releases,ml-100k,ml-latest-small"
    }
    assert runs["recs_train_speed.py"].args == ("/d/100k",)
    assert not runs["recs_train_speed.py"].skipped
    assert not runs["cdn_viewer_admission.py"].skipped
    assert not runs["cdn_failover.py"].skipped
    assert runs["db_connections.py"].skipped  # still no DATABASE_URL


def test_postgres_and_redis_unlock_their_benches():
    runs = plan({"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://z"}, set())
    assert not runs["db_connections.py"].skipped
    assert not runs["playback_heartbeats.py"].skipped
    assert plan({"DATABASE_URL": "postgres://x/y"}, set())["playback_heartbeats.py"].skipped
