"""(d) The disk fills: (1) during uploads, gunicorn's media root on a 16 MB tmpfs and 8 uploads
of 3 MB sent at once: each answer must be 201 with the whole file stored or 507 with nothing
left, and no file may be left without its row; (2) during an encode, the transcode worker's
scratch on a 1 MB tmpfs: the job must end failed with a disk-full reason and nothing
published or left in scratch, then (space added) a retry must end ready."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.chaos import infra
from bench.chaos.core import Clock, Context, Outcome
from bench.chaos.media import MediaWorkers, make_source, media_env, new_movie, storage_at, upload

UPLOAD_MB, DISK_MB, UPLOADS = 3, 16, 8


def _multipart(fields: dict[str, str], file_name: str, body: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"'
        "\r\nContent-Type: video/mp4\r\n\r\n".encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _post(url: str, token: str, fields: dict[str, str], name: str, body: bytes) -> tuple[int, dict]:
    data, content_type = _multipart(fields, name, body)
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


class DiskFull:
    key = "d"
    title = "disk full during upload and during encode"

    def unavailable(self, ctx: Context) -> str | None:
        return infra.SmallDisk.unavailable()

    def run(self, ctx: Context) -> list[Outcome]:
        return [self.uploads(ctx), self.encode(ctx)]

    # --- (1) uploads ------------------------------------------------------------------------
    def uploads(self, ctx: Context) -> Outcome:
        from accounts.models import User
        from accounts.services import api_token_create
        from media.models import MediaAsset

        disk = infra.SmallDisk(ctx.workdir / "d-upload-media", DISK_MB).mount()
        staff = User.objects.create_user(
            email=f"staff-{uuid.uuid4().hex[:8]}@chaos.invalid", is_staff=True, is_superuser=True
        )
        _, token = api_token_create(user=staff, name="chaos d")
        port = infra.free_port()
        env = infra.base_env(
            DJANGO_SETTINGS_MODULE="bench.chaos.settings",
            DATABASE_URL=ctx.database_url,
            CELERY_BROKER_URL=ctx.broker_url,
            MEDIA_ROOT=str(disk.path),
            MEDIA_FREE_SPACE_RESERVE_MB="0",
        )
        web = infra.Process(
            [str(infra.BIN / "gunicorn"), "streamsite.wsgi", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "2", "--threads", "4", "--timeout", "120"],
            env=env,
            log=ctx.workdir / "d-web.log",
        ).start()
        bodies = [
            b"\x00\x00\x00\x18ftypmp42" + os.urandom(UPLOAD_MB * 1024 * 1024 - 12)
            for _ in range(UPLOADS)
        ]
        titles = [new_movie(f"chaos-d-{ctx.workdir.name}-{i}") for i in range(UPLOADS)]
        url = f"http://127.0.0.1:{port}/api/v1/media/assets"
        try:
            if not infra.wait_until(lambda: infra.port_open(port), timeout=120):
                raise RuntimeError("gunicorn did not start:\n" + web.tail())
            clock = Clock()
            with ThreadPoolExecutor(UPLOADS) as pool:
                answers = list(
                    pool.map(
                        lambda i: _post(
                            url, token, {"title_id": str(titles[i].pk)}, f"u{i}.mp4", bodies[i]
                        ),
                        range(UPLOADS),
                    )
                )
            took = clock()
            files = disk.files()
            rows = {a.source_key: a for a in MediaAsset.objects.filter(title__in=titles)}
        finally:
            web.stop()
        clean, statuses, messages = 0, [], set()
        for i, (code, body) in enumerate(answers):
            statuses.append(code)
            if code == 201:
                row = next((a for a in rows.values() if a.title_id == titles[i].pk), None)
                whole = (
                    row is not None
                    and (disk.path / row.source_key).is_file()
                    and hashlib.sha256((disk.path / row.source_key).read_bytes()).hexdigest()
                    == hashlib.sha256(bodies[i]).hexdigest()
                )
                clean += whole
            elif code == 507:
                messages.add(body.get("error", {}).get("message", "")[:60])
                clean += not MediaAsset.objects.filter(title=titles[i]).exists()
        orphans = [f for f in files if f not in rows]
        # The uploads' jobs are not this part's subject: their rows go, their messages then
        # claim nothing (no transcode worker listens here anyway).
        MediaAsset.objects.filter(title__in=titles).delete()
        disk.unmount()
        return Outcome(
            scenario="d",
            kind="uploads, media disk full",
            expected=UPLOADS,
            observed=clean,
            lost=UPLOADS - clean,
            duplicated=len(orphans),
            recovery_s=None,
            note=(
                f"{statuses.count(201)} x 201, {statuses.count(507)} x 507, other "
                f"{[s for s in statuses if s not in (201, 507)]} in {took:.1f} s on a "
                f"{DISK_MB} MB tmpfs; 507 messages: {sorted(messages)}"
                + (f"; orphan files: {orphans[:3]}" if orphans else "")
            ),
        )

    # --- (2) encode -------------------------------------------------------------------------
    def encode(self, ctx: Context) -> Outcome:
        from media import services
        from media.models import MediaAsset, Rendition

        jobs = 1 if ctx.fast else 2
        media_root = ctx.workdir / "d-media"
        scratch = infra.SmallDisk(ctx.workdir / "d-scratch", 1).mount()
        source = make_source(ctx.workdir / "d-source.mp4", seconds=12)
        workers = MediaWorkers(ctx, "d", media_env(ctx, media_root, scratch.path), jobs)
        failed_clean, recovered, reasons = 0, 0, set()
        recovery: float | None = None
        with storage_at(media_root, scratch.path):
            workers.start()
            try:
                ids = [
                    services.asset_create(
                        upload=upload(source),
                        title=new_movie(f"chaos-d-enc-{ctx.workdir.name}-{i}"),
                    ).pk
                    for i in range(jobs)
                ]

                def settled() -> bool:
                    workers.sweep_if_due()
                    return not MediaAsset.objects.filter(
                        pk__in=ids, status__in=MediaAsset.ACTIVE_STATUSES
                    ).exists()

                infra.wait_until(settled, timeout=600, interval=0.5)
                time.sleep(3)  # prefix deletions run after commit on the default worker
                for asset in MediaAsset.objects.filter(pk__in=ids):
                    reasons.add(asset.error[:90])
                    nothing = (
                        asset.status == "failed"
                        and asset.error.startswith("disk full while encoding")
                        and asset.ready_version is None
                        and not Rendition.objects.filter(asset=asset).exists()
                        and not list((media_root / "hls" / str(asset.uuid)).rglob("*.ts"))
                    )
                    failed_clean += nothing
                scratch_left = scratch.files()
                # Space is added; staff retry.
                scratch.resize(512)
                clock = Clock()
                for asset in MediaAsset.objects.filter(pk__in=ids, status="failed"):
                    services.asset_retry(asset=asset)

                def ready() -> bool:
                    workers.sweep_if_due()
                    return MediaAsset.objects.filter(pk__in=ids, status="ready").count() == jobs

                infra.wait_until(ready, timeout=600, interval=0.5)
                recovery = clock()
                recovered = MediaAsset.objects.filter(pk__in=ids, status="ready").count()
            finally:
                workers.stop()
                scratch.unmount()
        whole = min(failed_clean, recovered)
        return Outcome(
            scenario="d",
            kind="encode, scratch disk full",
            expected=jobs,
            observed=whole,
            lost=jobs - whole,
            duplicated=len(scratch_left),
            recovery_s=recovery if recovered == jobs else None,
            note=(
                f"{failed_clean}/{jobs} failed cleanly ({sorted(reasons)}), "
                f"{recovered}/{jobs} ready after space was added and staff retried"
                + (f"; scratch left: {scratch_left[:3]}" if scratch_left else "")
            ),
        )


SCENARIO = DiskFull()
