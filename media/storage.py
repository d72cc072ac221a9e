"""Media files through Django's default storage (local disk or S3): exact keys, prefixes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 1024 * 1024


class StorageError(RuntimeError):
    pass


def save_exact(key: str, content: IO[bytes]) -> None:
    """Write `key` exactly (storages rename on clash; a clash here means a stale write)."""
    saved = default_storage.save(key, File(content))
    if saved != key:
        default_storage.delete(saved)
        raise StorageError(f"storage refused the exact key {key!r} (it already exists)")


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
