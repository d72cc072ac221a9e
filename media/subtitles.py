"""Subtitles: SRT or WebVTT uploads stored as WebVTT, and each language's playlist published
inside an asset's version prefix (the master lists it; media.selectors writes the master)."""

from __future__ import annotations

import hashlib
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from audit.services import record
from media import hls
from media.models import MediaAsset, Subtitle
from streamsite.errors import ValidationFailed

MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

_SRT_TIME = re.compile(r"(\d{1,2}:\d{2}:\d{2}),(\d{3})")


def to_webvtt(raw: bytes) -> str:
    """SRT or WebVTT bytes -> WebVTT text; refuses anything else."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("Subtitles must be UTF-8 text.") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if text.startswith("WEBVTT"):
        if "-->" not in text:
            raise ValidationFailed("This WebVTT file has no cues.")
        return text + "\n"
    blocks = [b for b in text.split("\n\n") if b.strip()]
    cues = []
    for block in blocks:
        lines = block.split("\n")
        if lines and lines[0].strip().isdigit():
            lines = lines[1:]
        if not lines or "-->" not in lines[0]:
            raise ValidationFailed("Not an SRT or WebVTT file (a cue has no timing line).")
        lines[0] = _SRT_TIME.sub(r"\1.\2", lines[0])
        cues.append("\n".join(lines))
    if not cues:
        raise ValidationFailed("Not an SRT or WebVTT file (no cues).")
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def subtitle_put(*, asset: MediaAsset, language: str, label: str, upload: UploadedFile) -> Subtitle:
    """Add or replace one language's subtitles; a ready asset gets them in its playlist now."""
    language = language.strip()
    if not LANGUAGE_RE.match(language):
        raise ValidationFailed(
            "The language must be a BCP 47 tag such as en or pt-BR.",
            extra={"fields": {"language": ["Not a language tag."]}},
        )
    if (upload.size or 0) > MAX_SUBTITLE_BYTES:
        raise ValidationFailed("Subtitle files are limited to 2 MB.")
    vtt = to_webvtt(upload.read())
    digest = hashlib.sha256(vtt.encode()).hexdigest()[:16]
    key = f"subs/{asset.uuid}/{language}-{digest}.vtt"
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(vtt.encode()))
    with transaction.atomic():
        locked = MediaAsset.objects.select_for_update().get(pk=asset.pk)
        subtitle, _ = Subtitle.objects.update_or_create(
            asset=locked, language=language, defaults={"label": label.strip()[:64], "vtt_key": key}
        )
        record(action="media.subtitle_put", obj=locked, after={"language": language})
        if locked.content_key:
            from media.selectors import write_static_master

            publish_subtitle(locked.content_key, subtitle, locked.duration or 0.0)
            write_static_master(locked)
    return subtitle


def subtitle_keys(content_key: str, language: str) -> tuple[str, str]:
    """(playlist, vtt) keys of a language inside a version prefix."""
    return f"{content_key}/subs/{language}.m3u8", f"{content_key}/subs/{language}.vtt"


def publish_subtitle(content_key: str, subtitle: Subtitle, duration: float) -> None:
    """Copy one language's WebVTT and its playlist into a published version's prefix."""
    playlist_key, vtt_key = subtitle_keys(content_key, subtitle.language)
    with default_storage.open(subtitle.vtt_key, "rb") as fh:
        data = fh.read()
    for key, body in (
        (vtt_key, data),
        (playlist_key, hls.subtitle_playlist(f"{subtitle.language}.vtt", duration).encode()),
    ):
        if default_storage.exists(key):
            default_storage.delete(key)
        default_storage.save(key, ContentFile(body))
