"""Warming in the simulator: it raises the hit ratio, and it only knows the past and the
catalogue's release schedule, never the requests still to come."""

from __future__ import annotations

import pytest

from cdn import warming
from cdn.routed_trace import route, synthetic_snapshot
from cdn.sim_warming import Warmer
from cdn.simulator import simulate
from cdn.snapshot import stable_hash
from cdn.steering import Steerer, rendezvous_rank
from cdn.traces import DAY, DEFAULT_START, CatalogEntry, Request, generate_workload

CHUNK = 100_000_000


def steerer() -> Steerer:
    return Steerer(synthetic_snapshot(regions=2, edges_per_site=2), origin_url="o")


def small_workload():
    return generate_workload(
        requests=3000, titles=300, regions=2, days=3, new_releases_per_day=10, seed=7
    )


def test_warming_raises_object_and_byte_hit_ratio_for_lru_and_s3fifo():
    trace, catalog = small_workload()
    s = steerer()
    routed = route(trace, s, chunk_bytes=CHUNK)
    warmer = Warmer(routed, s, chunk_bytes=CHUNK, catalog=catalog)
    results = {
        (r.policy, r.warming): r
        for r in simulate(routed, s, fraction=0.1, warmer=warmer, policies=("lru", "s3fifo"))
    }
    gained = {
        policy: (
            results[(policy, True)].hits - results[(policy, False)].hits,
            results[(policy, True)].bytes_hit > results[(policy, False)].bytes_hit,
        )
        for policy in ("lru", "s3fifo")
    }
    assert gained == {"lru": (146, True), "s3fifo": (595, True)}


def test_the_plan_at_a_fill_is_the_same_whatever_comes_after_it():
    trace, catalog = small_workload()
    fill = DEFAULT_START + DAY + 7 * 3600
    past = [r for r in trace if r.ts < fill]
    # The same past, then a different future: other titles, other regions, other sizes.
    other_future = past + [
        Request(r.ts, f"10.{1 - int(r.client.split('.')[1])}.0.1", "hls/t00299/v1/", 7)
        for r in trace
        if r.ts >= fill
    ]
    plans = []
    for requests in (trace, past, other_future):
        s = steerer()
        routed = route(requests, s, chunk_bytes=CHUNK)
        warmer = Warmer(routed, s, chunk_bytes=CHUNK, catalog=catalog)
        plans.append({site: warmer.plan(site, fill) for site in ("r0", "r1")})
    assert plans[0] == plans[1] == plans[2]
    assert plans[0]["r0"] != {}


def test_a_scheduled_release_is_warmed_before_its_first_play_on_the_edge_steering_picks():
    launch = DEFAULT_START + DAY + 8 * 3600
    release = "hls/new/v1/"
    catalog = {
        "hls/old/v1/": CatalogEntry(3 * CHUNK),
        release: CatalogEntry(2 * CHUNK, launch),
        "hls/surprise/v1/": CatalogEntry(CHUNK),  # in the catalogue, but no launch date
    }
    trace = [Request(DEFAULT_START + 3600 * h, "r0", "hls/old/v1/", 3 * CHUNK) for h in range(9)]
    trace += [
        Request(launch + 60, "r0", release, 2 * CHUNK),
        Request(launch + 120, "r0", "hls/surprise/v1/", CHUNK),
    ]
    s = steerer()
    routed = route(trace, s, chunk_bytes=CHUNK)
    plan = Warmer(routed, s, chunk_bytes=CHUNK, catalog=catalog).plan("r0", launch - 3600)
    site_edges = [e for e in s.snapshot.edges.values() if e.name.startswith("r0-")]
    first = rendezvous_rank(stable_hash(release), site_edges)[0].name
    assert (release, 0) in plan[first] and (release, 1) in plan[first]
    assert all(key != "hls/surprise/v1/" for chunks in plan.values() for key, _ in chunks)
    results = {
        r.warming: r
        for r in simulate(
            routed,
            s,
            fraction=1.0,
            warm_share=1.0,
            policies=("lru",),
            catalog=catalog,
            chunk_bytes=CHUNK,
            diagnostics=True,
        )
    }
    # Warm: the release's two chunks hit on their first read; the rest is as cold.
    assert results[True].hits - results[False].hits == 2
    # Only the launch is planned (the old title is cached already); the release's second copy
    # (hot keys also go to the second-ranked edge) is fetched and never read.
    assert results[True].warm == {
        "fetched": 4,
        "read_cached": 2,
        "unread_kept": 2,
        "release_first_reads": 2,
        "release_first_hits": 2,
    }
    assert results[False].warm == {}


def test_release_prior_is_learned_from_earlier_launches_and_ignores_later_plays():
    now = 10 * DAY
    releases = {"hls/a/v1/": now - 3 * DAY, "hls/b/v1/": now - 2 * DAY, "hls/c/v1/": now + 3600}
    plays = [
        ("nyc", "hls/a/v1/", now - 3 * DAY + 60),
        ("nyc", "hls/a/v1/", now - 3 * DAY + 120),
        ("nyc", "hls/a/v1/", now - 3 * DAY + 120),
        ("nyc", "hls/b/v1/", now - 2 * DAY + 60),
        ("nyc", "hls/a/v1/", now - DAY),  # after its first day: not part of the prior
        ("nyc", "hls/c/v1/", now + 7200),  # the future: never read
    ]
    base = {"nyc": {"hls/old/v1/": 5.0}, "lon": {}}
    out = warming.with_releases(base, releases, now=now, plays=plays)
    assert out == {
        "nyc": {"hls/old/v1/": 5.0, "hls/c/v1/": 2.0},  # (3 + 1) plays / 2 launches
        "lon": {"hls/c/v1/": 0.0},
    }
    demand = warming.decayed_demand(plays, now=now)
    assert demand["nyc"] == {
        "hls/a/v1/": pytest.approx(0.5 + 3 * 0.125, abs=1e-3),  # the future play left out
        "hls/b/v1/": pytest.approx(0.25, abs=1e-3),
    }


def release_workload():
    launch = DEFAULT_START + DAY + 8 * 3600
    catalog = {
        "hls/old/v1/": CatalogEntry(3 * CHUNK),
        "hls/new/v1/": CatalogEntry(2 * CHUNK, launch),
    }
    trace = [Request(DEFAULT_START + 3600 * h, "r0", "hls/old/v1/", 3 * CHUNK) for h in range(9)]
    trace += [Request(launch + 60, "r0", "hls/new/v1/", 2 * CHUNK)]
    return launch, trace, catalog


def test_only_launches_are_planned_unless_refill_is_asked_for():
    launch, trace, catalog = release_workload()
    s = steerer()
    routed = route(trace, s, chunk_bytes=CHUNK)
    planned = {}
    for refill in (False, True):
        plan = Warmer(routed, s, chunk_bytes=CHUNK, catalog=catalog, refill=refill).plan(
            "r0", launch - 3600
        )
        planned[refill] = sorted({key for chunks in plan.values() for key, _ in chunks})
    assert planned == {False: ["hls/new/v1/"], True: ["hls/new/v1/", "hls/old/v1/"]}


def test_first_reads_the_fill_left_out_are_counted_with_their_reason():
    launch, trace, catalog = release_workload()
    s = steerer()
    routed = route(trace, s, chunk_bytes=CHUNK)
    # The release's edge holds 2 chunks; a quarter of that is no fetch at all, a half is one.
    warm = {}
    for share in (0.25, 0.5):
        (result,) = simulate(
            routed,
            s,
            fraction=1.0,
            warm_share=share,
            policies=("lru",),
            warming=(True,),
            catalog=catalog,
            chunk_bytes=CHUNK,
            diagnostics=True,
        )
        warm[share] = (
            result.warm["release_first_reads"],
            result.warm.get("release_first_hits", 0),
            result.warm.get("miss_beyond_budget", 0),
        )
    # (first reads of release chunks, of which hits, misses the budget left out)
    assert warm == {0.25: (2, 0, 2), 0.5: (2, 1, 1)}


def test_pinned_launch_chunks_are_held_outside_the_policy_until_read():
    launch, trace, catalog = release_workload()
    s = steerer()
    routed = route(trace, s, chunk_bytes=CHUNK)
    results = {
        r.warming: r
        for r in simulate(
            routed,
            s,
            fraction=1.0,
            warm_share=1.0,
            pin_share=1.0,
            policies=("s3fifo",),
            catalog=catalog,
            chunk_bytes=CHUNK,
        )
    }
    assert results[True].hits - results[False].hits == 2
    # The release's edge pins its two chunks (the other edge sees no request after day 0, so
    # it has no later fill); nothing goes through the policy.
    assert results[True].warm["pinned"] == 2
    assert results[True].warm["fetched"] == 0
    assert results[True].warm["release_first_hits"] == 2


def test_a_top_up_refetches_launch_chunks_evicted_before_their_first_read():
    launch, trace, catalog = release_workload()
    trace = trace[:-1]  # the release is read later here
    s = steerer()
    site_edges = [e for e in s.snapshot.edges.values() if e.name.startswith("r0-")]

    def first_edge(key):
        return rendezvous_rank(stable_hash(key), site_edges)[0].name

    filler = next(
        key
        for key in (f"hls/filler{i}/v1/" for i in range(100))
        if first_edge(key) == first_edge("hls/new/v1/")
    )
    catalog[filler] = CatalogEntry(3 * CHUNK)
    # After the launch, three other chunks go through the release's edge (a cache of three)
    # before anyone opens the release at 14:00.
    trace += [
        Request(launch + 600, "r0", filler, 3 * CHUNK),
        Request(launch + 6 * 3600, "r0", "hls/new/v1/", 2 * CHUNK),
    ]
    routed = route(trace, s, chunk_bytes=CHUNK)
    gains = {}
    for topup in (None, 13.0):
        warmer = Warmer(routed, s, chunk_bytes=CHUNK, catalog=catalog, topup_hour=topup)
        for policy in ("lru", "s3fifo"):
            cold, warm = simulate(
                routed,
                s,
                fraction=0.6,
                warm_share=1.0,
                warmer=warmer,
                policies=(policy,),
                chunk_bytes=CHUNK,
            )
            gains[(topup, policy)] = (warm.hits - cold.hits, warm.warm.get("topup_fetched", 0))
    # LRU lets the three misses push the warmed chunks out, so only the top-up saves them;
    # S3-FIFO sends the misses through its small queue and keeps the launch in main.
    assert gains == {
        (None, "lru"): (0, 0),
        (None, "s3fifo"): (2, 0),
        (13.0, "lru"): (2, 2),
        (13.0, "s3fifo"): (2, 0),
    }
