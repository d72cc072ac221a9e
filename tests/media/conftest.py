"""Fixtures for the media pipeline: a private media storage, tiny generated clips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media import synthetic


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/media/"},
        },
    }
    settings.MEDIA_QUALITY_SAMPLE_SECONDS = 0
    settings.MEDIA_WORK_DIR = str(tmp_path)
    return root


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Generated once per session: a 480p 6 s clip, a 240p 2 s clip, non-media and broken files."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required for the media tests (.ci/packages.sh installs it)")
    d = tmp_path_factory.mktemp("clips")
    found = {
        "480p": synthetic.make_clip(d / "480p.mp4", width=640, height=480, seconds=6),
        "240p": synthetic.make_clip(d / "240p.mp4", kind="bars", width=320, height=240, seconds=2),
    }
    text = d / "notes.mp4"
    text.write_bytes(b"these are not the frames you are looking for\n" * 200)
    found["text"] = text
    # An MP4 written without faststart keeps its index at the end: cut it off.
    whole = d / "whole.mp4"
    synthetic.make_clip(whole, width=320, height=240, seconds=2, faststart=False)
    cut = d / "truncated.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    found["truncated"] = cut
    audio = d / "audio.m4a"
    synthetic.make_audio(audio, seconds=2)
    found["audio"] = audio
    return found


def stored_keys(root: Path, prefix: str = "") -> list[str]:
    base = root / prefix if prefix else root
    if not base.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())
