"""(c) A transcode worker SIGKILLed mid-encode (its jobs running, ffmpeg and all). The sweeper,
sent on beat's schedule (30 s) with production's heartbeat settings (a beat every 10 s, stale
after 60 s), must resume each job within 2 minutes of the kill; every job ends ready exactly
once, with one version's files and rows, and no scratch folder left. The fast subset halves
the heartbeat settings and sweeps every 10 s."""

from __future__ import annotations

import math
import shutil
import time

from bench.chaos import infra
from bench.chaos.core import Clock, Context, Outcome
from bench.chaos.media import (
    MediaWorkers,
    leftovers,
    make_source,
    media_env,
    new_movie,
    storage_at,
    upload,
)

RESUME_WITHIN = 120.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class TranscodeKilled:
    key = "c"
    title = "transcode worker SIGKILLed mid-job"

    def unavailable(self, ctx: Context) -> str | None:
        return None if shutil.which("ffmpeg") else "needs ffmpeg"

    def run(self, ctx: Context) -> list[Outcome]:
        from media import services
        from media.models import MediaAsset

        rounds = 1 if ctx.fast else 3
        per_round = 2
        media_root, work_dir = ctx.workdir / "c-media", ctx.workdir / "c-scratch"
        work_dir.mkdir(parents=True, exist_ok=True)
        # Long enough that both jobs are seen mid-encode (progress is written every 2 s) even
        # on an idle machine, where a 20 s clip encodes in under 3 s and never is.
        source = make_source(ctx.workdir / "c-source.mp4", seconds=90 if ctx.fast else 120)
        workers = MediaWorkers(ctx, "c", media_env(ctx, media_root, work_dir), per_round)
        clock = Clock()
        resumed: dict[int, float] = {}  # asset -> seconds from its kill to the new attempt
        recovered: dict[int, float] = {}  # asset -> seconds from its kill to ready
        encode: dict[int, float] = {}  # asset -> seconds the resumed attempt took
        ids: list[int] = []
        with storage_at(media_root, work_dir):
            workers.start()
            try:
                for r in range(rounds):
                    batch = [
                        services.asset_create(
                            upload=upload(source),
                            title=new_movie(f"chaos-c-{ctx.workdir.name}-{r}-{i}"),
                        ).pk
                        for i in range(per_round)
                    ]
                    ids += batch

                    def encoding(batch=batch) -> bool:
                        rows = MediaAsset.objects.filter(pk__in=batch)
                        return all(a.status == "transcoding" and a.progress >= 15 for a in rows)

                    if not infra.wait_until(encoding, timeout=600, interval=0.2):
                        raise RuntimeError("the jobs never reached the encode")
                    killed_at = clock()
                    ctx.log(f"  round {r + 1}: transcode worker SIGKILL at {killed_at:.1f} s")
                    workers.kill_transcoder()
                    workers.start_transcoder()  # as a supervisor would restart it
                    deadline = time.monotonic() + 900
                    while time.monotonic() < deadline and len(
                        [pk for pk in batch if pk in recovered]
                    ) < len(batch):
                        workers.sweep_if_due()
                        for asset in MediaAsset.objects.filter(pk__in=batch):
                            if asset.version > 1 and asset.pk not in resumed:
                                resumed[asset.pk] = clock() - killed_at
                            if asset.status == "ready" and asset.pk not in recovered:
                                recovered[asset.pk] = clock() - killed_at
                                if asset.started_at and asset.ready_at:
                                    encode[asset.pk] = (
                                        asset.ready_at - asset.started_at
                                    ).total_seconds()
                            if asset.status == "failed":
                                ctx.log(f"  asset {asset.pk} failed: {asset.error}")
                                recovered.setdefault(asset.pk, float("nan"))
                        time.sleep(0.5)
                time.sleep(5)  # the old versions' deletions run on the default worker
                left = leftovers(media_root, work_dir, ids)
            finally:
                workers.stop()
        ready = MediaAsset.objects.filter(pk__in=ids, status="ready").count()
        in_time = sum(1 for pk in ids if resumed.get(pk, math.inf) < RESUME_WITHIN)
        times = [t for t in recovered.values() if not math.isnan(t)]
        note = (
            f"kill->ready p95 {p95(times):.1f} s (max {max(times):.1f}); "
            f"kill->resumed p95 {p95(list(resumed.values())):.1f} s; "
            f"resumed encode p95 {p95(list(encode.values())):.1f} s"
            if times and resumed and encode
            else "no job recovered"
        )
        if left:
            note += f"; left behind: {left[:3]}"
        return [
            Outcome(
                scenario="c",
                kind="transcodes ready once",
                expected=len(ids),
                observed=ready,
                lost=len(ids) - ready,
                duplicated=len(left),
                recovery_s=p95(times) if times else None,
                note=note,
            ),
            Outcome(
                scenario="c",
                kind=f"resumed within {RESUME_WITHIN:.0f} s",
                expected=len(ids),
                observed=in_time,
                lost=len(ids) - in_time,
                duplicated=0,
                recovery_s=p95(list(resumed.values())) if resumed else None,
            ),
        ]


SCENARIO = TranscodeKilled()
