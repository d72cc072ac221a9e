"""Invalidation of this process's and every other process's ready-asset copies
(media.ready_copies) on any save or delete that can change them, whoever writes: the pipeline,
the subtitle upload, the admin, a title's deletion cascading to its assets."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from media import ready_copies
from media.models import MediaAsset, Subtitle


def _asset_saved(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if ready_copies.touches_copies(update_fields):
        ready_copies.ready_changed()


def _changed(sender: Any, **kwargs: Any) -> None:
    ready_copies.ready_changed()


def connect() -> None:
    post_save.connect(_asset_saved, sender=MediaAsset, dispatch_uid="media-ready-asset-save")
    post_delete.connect(_changed, sender=MediaAsset, dispatch_uid="media-ready-asset-delete")
    post_save.connect(_changed, sender=Subtitle, dispatch_uid="media-ready-subtitle-save")
    post_delete.connect(_changed, sender=Subtitle, dispatch_uid="media-ready-subtitle-delete")
