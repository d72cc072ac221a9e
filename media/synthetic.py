"""Synthetic test clips from ffmpeg's lavfi sources: demo content, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from media import ffmpeg

# name -> (video source expression, visual complexity)
SOURCES: dict[str, tuple[str, str]] = {
    "bars": ("smptehdbars=size={w}x{h}:rate={fps}", "low"),
    "testsrc": ("testsrc2=size={w}x{h}:rate={fps}", "medium"),
    # mandelbrot is costly to render per pixel: drawn small, then scaled up.
    "mandelbrot": ("mandelbrot=size=320x180:rate={fps},scale={w}:{h}", "medium"),
    "life": ("life=size={w}x{h}:rate={fps}:mold=10:ratio=0.5:death_color=#202040", "medium"),
    "noise": ("testsrc2=size={w}x{h}:rate={fps},noise=alls=40:allf=t+u", "high"),
    # Documentary shots over one still picture (a Mandelbrot frame): low complexity, yet every
    # frame differs. "pan" drifts over a soft, upscaled still (a photograph's Ken Burns pan);
    # "zoom" zooms into a sharp one (zoompan steps in whole pixels, so it shimmers: harder).
    "pan": (
        "mandelbrot=size=640x360:rate={fps},trim=end_frame=1,loop=loop=-1:size=1,"
        "scale=2*{w}:2*{h}:flags=bicubic,crop={w}:{h}:x='t*24':y='t*8'",
        "low",
    ),
    "zoom": (
        "mandelbrot=size=1920x1080:rate={fps},trim=end_frame=1,loop=loop=-1:size=1,"
        "zoompan=z='1+0.0015*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s={w}x{h}"
        ":fps={fps}",
        "low",
    ),
}


def make_clip(
    out: Path,
    *,
    kind: str = "testsrc",
    width: int = 320,
    height: int = 240,
    seconds: float = 2.0,
    fps: int = 25,
    audio: bool = True,
    faststart: bool = True,
    languages: tuple[str, ...] = (),
) -> Path:
    """Write an H.264/AAC MP4 clip of a lavfi source (with a tone when `audio`). `languages`
    gives it one audio stream per tag instead (tones of different pitch, each tagged)."""
    video = SOURCES[kind][0].format(w=width, h=height, fps=fps)
    args = ["-f", "lavfi", "-i", video]
    tones = [440 + 220 * i for i in range(len(languages) or (1 if audio else 0))]
    for frequency in tones:
        args += ["-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=48000"]
    args += ["-map", "0:v"] + [x for i in range(len(tones)) for x in ("-map", f"{i + 1}:a")]
    for i, language in enumerate(languages):
        args += [f"-metadata:s:a:{i}", f"language={language}"]
    args += ["-t", f"{seconds:.3f}", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"]
    args += ["-pix_fmt", "yuv420p"]
    if tones:
        args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg.run([*args, str(out)], timeout=300)
    return out


def make_audio(out: Path, *, seconds: float = 2.0) -> Path:
    """An audio-only file (for the "no video stream" refusal)."""
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=220",
            "-t",
            f"{seconds:.3f}",
            "-c:a",
            "aac",
            str(out),
        ],
        timeout=120,
    )
    return out
