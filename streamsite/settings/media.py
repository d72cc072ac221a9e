"""Media: the ffmpeg pipeline, its ladder, the quality report, job heartbeats, sweeps, uploads."""

from __future__ import annotations

from .project import env

# ffmpeg binaries: empty means auto-detect (Debian's on PATH, else imageio-ffmpeg's static build;
# quality uses the first one that has libvmaf, else SSIM). See docs/media.md.
MEDIA_FFMPEG_BINARY = env.str("MEDIA_FFMPEG_BINARY", "")
MEDIA_FFPROBE_BINARY = env.str("MEDIA_FFPROBE_BINARY", "")
MEDIA_QUALITY_FFMPEG_BINARY = env.str("MEDIA_QUALITY_FFMPEG_BINARY", "")
MEDIA_LADDER = env.choice("MEDIA_LADDER", ("per_title", "fixed"), "per_title")
MEDIA_SEGMENT_SECONDS = env.int("MEDIA_SEGMENT_SECONDS", 4, min=4, max=6)
MEDIA_X264_PRESET = env.choice(
    "MEDIA_X264_PRESET",
    ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"),
    "veryfast",
)
# Seconds of each rendition compared with the source for the quality report (0: skip).
MEDIA_QUALITY_SAMPLE_SECONDS = env.int("MEDIA_QUALITY_SAMPLE_SECONDS", 10, min=0, max=600)
# A running job writes a heartbeat this often (a thread of its own, whatever step it is in)...
MEDIA_HEARTBEAT_SECONDS = env.int("MEDIA_HEARTBEAT_SECONDS", 10, min=1, max=60)
# ...and one whose heartbeat is older than this has lost its worker. With the sweep every 30 s,
# a killed transcode is requeued at most timeout + 30 s = 90 s after its last heartbeat.
MEDIA_HEARTBEAT_TIMEOUT = env.int("MEDIA_HEARTBEAT_TIMEOUT", 60, min=30)
# Uploads are refused (507) unless the media disk keeps this much free after the file.
MEDIA_FREE_SPACE_RESERVE_MB = env.int("MEDIA_FREE_SPACE_RESERVE_MB", 512, min=0)
# A source file no asset row points to is deleted once older than this (an upload in flight
# writes its file before its row commits).
MEDIA_ORPHAN_GRACE_SECONDS = env.int("MEDIA_ORPHAN_GRACE_SECONDS", 6 * 3600, min=600)
# A job still queued after this long has its message sent again (claims make that harmless).
MEDIA_QUEUED_RESEND_AFTER = env.int("MEDIA_QUEUED_RESEND_AFTER", 3600, min=60)
MEDIA_MAX_ATTEMPTS = env.int("MEDIA_MAX_ATTEMPTS", 3, min=1, max=20)
MEDIA_WORK_DIR = env.str("MEDIA_WORK_DIR", "") or None  # scratch space; default: the system tmp
