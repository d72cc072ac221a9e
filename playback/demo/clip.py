"""A tiny real HLS asset made with ffmpeg (2 renditions, 2 s segments, subtitles, trickplay),
laid out as a local asset (playback.ports.local_asset_folder). Used by the browser tests and
the demo."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from media.playlists import subtitle_playlist

RENDITIONS = (("360p", 640, 360, "700k"), ("180p", 320, 180, "250k"))


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def _vtt_time(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{secs:06.3f}"


def make_hls_asset(
    root: Path,
    *,
    seconds: int = 8,
    markers: dict[str, float] | None = None,
    label: str = "Streamsite",
    renditions: tuple[tuple[str, int, int, str], ...] = RENDITIONS,
) -> Path:
    """Write master.m3u8, one variant playlist per rendition (name, width, height, video
    bitrate; two small ones by default) with their segments, English subtitles, a trickplay
    sprite with its WebVTT map, and asset.json into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    split = ";".join(
        [f"[0:v]split={len(renditions)}" + "".join(f"[s{i}]" for i in range(len(renditions)))]
        + [f"[s{i}]scale={w}:{h}[v{i}]" for i, (_, w, h, _) in enumerate(renditions)]
    )
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=24:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-filter_complex", split,
    ]  # fmt: skip
    stream_map = []
    for i, (name, _, _, bitrate) in enumerate(renditions):
        command += ["-map", f"[v{i}]", "-map", "1:a", f"-b:v:{i}", bitrate]
        stream_map.append(f"v:{i},a:{i},name:{name}")
    command += [
        "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main", "-pix_fmt", "yuv420p",
        "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", "-ac", "2",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(root / "%v" / "seg_%03d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(stream_map),
        str(root / "%v" / "index.m3u8"),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=120)  # noqa: S603

    # Trickplay: one 160x90 thumbnail every 2 s, tiled into one sprite, mapped by WebVTT.
    frames = max(1, seconds // 2)
    subprocess.run(  # noqa: S603
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=640x360:rate=24:duration={seconds}",
            "-vf",
            f"fps=1/2,scale=160:90,tile={frames}x1",
            "-frames:v",
            "1",
            str(root / "thumbs.jpg"),
        ],  # fmt: skip
        check=True,
        timeout=60,
    )
    cues = ["WEBVTT", ""]
    for i in range(frames):
        cues += [
            f"{_vtt_time(i * 2)} --> {_vtt_time(i * 2 + 2)}",
            f"thumbs.jpg#xywh={i * 160},0,160,90",
            "",
        ]
    (root / "thumbs.vtt").write_text("\n".join(cues), encoding="utf-8")

    subs = root / "subs"
    subs.mkdir(exist_ok=True)
    (subs / "en.vtt").write_text(
        "WEBVTT\n\n"
        f"00:00:00.500 --> 00:00:03.000\n{label}: a test pattern.\n\n"
        f"00:00:03.500 --> {_vtt_time(seconds)}\nPlaying in two renditions.\n",
        encoding="utf-8",
    )
    (subs / "en.m3u8").write_text(subtitle_playlist("en.vtt", seconds), encoding="utf-8")
    meta = {
        "duration": seconds,
        "markers": markers or {},
        "subtitles": [
            {"name": "English", "language": "en", "uri": "subs/en.m3u8", "default": False}
        ],
        "trickplay": {"vtt": "thumbs.vtt", "sprite": "thumbs.jpg"},
    }
    (root / "asset.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return root


DEMO_SLUG = "streamsite-test-pattern"


def seed_demo(*, stdout: Any) -> None:
    """`make demo`: a playable "Test Pattern" title (made with ffmpeg when it is installed)
    and a viewer profile for the demo staff user, so /watch/<id>/ works out of the box."""
    from accounts.models import Profile, User
    from catalog.models import Availability, ContentRating, Title
    from catalog.services.titles import availability_set
    from playback.ports import asset_key_for, local_asset_folder

    title, _ = Title.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Test Pattern",
            "synopsis": "Eight seconds of colour bars in two renditions, with subtitles and "
            "trickplay thumbnails: the smallest thing that exercises the whole player.",
            "year": 2026,
            "runtime_minutes": 1,
            "is_published": True,
            # colour bars suit every profile, Kids included
            "rating": ContentRating.G,
        },
    )
    # A demo database seeded before the title had a rating holds it unrated (NR, adults only):
    # rated as the seed now rates it. Any other rating, chosen since, is kept (an NR chosen
    # since cannot be told from the earlier seed's, so it is rated G too).
    if title.rating == ContentRating.NR:
        title.rating = ContentRating.G
        title.save(update_fields=["rating"])
    # Licensed everywhere from now on, so the URL printed below plays in any country (a title
    # with no licensing window is refused everywhere). Kept if someone has set windows since.
    if not Availability.objects.filter(title=title).exists():
        availability_set(title=title, windows=[("", timezone.now() - timedelta(days=1), None)])
    folder = local_asset_folder(asset_key_for(title=title, episode=None))
    if (folder / "master.m3u8").is_file():
        stdout.write(f"Playback demo: “{title.name}” is ready at /watch/{title.pk}/")
    elif ffmpeg_available():
        stdout.write("Playback demo: encoding the test pattern with ffmpeg (a few seconds)…")
        make_hls_asset(folder, markers={"intro_start": 0, "intro_end": 2, "credits_start": 7})
        stdout.write(f"Playback demo: “{title.name}” is ready at /watch/{title.pk}/")
    else:
        stdout.write("Playback demo: ffmpeg is not installed, so the test pattern has no video.")
    staff = User.objects.filter(email="admin@streamsite.localhost").first()
    if staff is not None and not Profile.objects.filter(account=staff).exists():
        Profile.objects.create(account=staff, name="Admin")
