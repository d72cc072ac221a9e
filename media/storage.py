"""Media files through Django's default storage (local disk or S3): exact keys, prefixes,
free space checked before a write and a write the disk could not finish removed."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from streamsite.errors import InsufficientStorage

CHUNK = 1024 * 1024
MB = 1024 * 1024
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageError(RuntimeError):
    pass


class StorageFull(InsufficientStorage):
    """The media disk cannot take this file (checked before writing, or ENOSPC mid-write)."""


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def _existing_dir(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(key: str) -> int | None:
    """Bytes a write under `key` may use (free space less the reserve); None on object storage."""
    local = _local_path(key)
    if local is None:
        return None
    reserve = settings.MEDIA_FREE_SPACE_RESERVE_MB * MB
    return shutil.disk_usage(_existing_dir(local.parent)).free - reserve


def ensure_room(key: str, size: int) -> None:
    """Refuse (507) a `size`-byte write the media disk has no room for, before writing."""
    free = free_bytes(key)
    if free is not None and size > free:
        raise StorageFull(
            f"The media disk is full: this file needs {size / MB:.1f} MB and "
            f"{max(0, free) / MB:.1f} MB are free. Nothing was stored; free space or add "
            "storage, then upload again."
        )


def save_exact(key: str, content: IO[bytes]) -> None:
    """Write `key` exactly (storages rename on clash; a clash here means a stale write).

    A write the disk cannot finish (ENOSPC) leaves nothing behind and raises StorageFull.
    """
    local = _local_path(key)
    if local is not None and local.exists():
        raise StorageError(f"storage refused the exact key {key!r} (it already exists)")
    try:
        saved = default_storage.save(key, File(content))
    except OSError as exc:
        if local is not None:  # object stores write whole objects; a disk keeps the part
            discard(key)
        if is_disk_full(exc):
            raise StorageFull(
                "The media disk filled up while the file was being stored. Nothing was kept; "
                "free space or add storage, then upload again."
            ) from exc
        raise
    if saved != key:
        default_storage.delete(saved)
        raise StorageError(f"storage refused the exact key {key!r} (it already exists)")


def discard(key: str) -> None:
    """Remove `key` (whole or partly written) and, on local disk, its folder if now empty."""
    try:
        default_storage.delete(key)
    except OSError:
        pass
    local = _local_path(key)
    if local is not None:
        try:
            local.parent.rmdir()  # only succeeds when empty
        except OSError:
            pass


def upload_tree(local_dir: Path, prefix: str, *, on_file: None | object = None) -> list[str]:
    """Upload every file under `local_dir` to `prefix/<relative path>`; returns the keys."""
    keys = []
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(local_dir).as_posix()}"
        with path.open("rb") as fh:
            save_exact(key, fh)
        keys.append(key)
        if callable(on_file):
            on_file()
    return keys


def walk(prefix: str) -> Iterator[str]:
    """Every key under `prefix` (recursive)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for name in dirs:
        yield from walk(f"{prefix}/{name}")


def delete_prefix(prefix: str) -> int:
    """Delete everything under `prefix`; returns how many files went."""
    prefix = prefix.strip("/")
    if prefix.count("/") < 2:  # never a whole tree like "hls/" by mistake
        raise ValueError(f"refusing to delete the broad prefix {prefix!r}")
    keys = list(walk(prefix))
    for key in keys:
        default_storage.delete(key)
    local = _local_path(prefix)
    if local is not None and local.is_dir():
        shutil.rmtree(local, ignore_errors=True)
    return len(keys)


def _local_path(key: str) -> Path | None:
    try:
        return Path(default_storage.path(key))
    except NotImplementedError:
        return None


def fetch_to_local(key: str, target: Path) -> Path:
    """A local path for ffmpeg: the file itself on local storage, else a chunked download."""
    local = _local_path(key)
    if local is not None:
        if not local.exists():
            raise FileNotFoundError(key)
        return local
    with default_storage.open(key, "rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    return target
