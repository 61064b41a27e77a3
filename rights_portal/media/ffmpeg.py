"""ffmpeg for the redaction pipeline (R27): what a file holds, and frames through pipes.

The binary is the one of the ``imageio-ffmpeg`` wheel. :func:`probe` reads size, rate, duration
and sound from ``ffmpeg -i``; :class:`Frames` reads rawvideo rgb24 frames from a decoding
process one buffer at a time, so memory does not grow with the length of the video;
:class:`Ffmpeg` runs one process with its complaints in a file. numpy is imported only when
frames are read.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


class MediaError(Exception):
    """ffmpeg could not read or write the file."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg says of a file."""

    width: int
    height: int
    fps: float
    fps_text: str
    duration_s: float
    has_audio: bool
    is_image: bool
    audio_codec: str = ""

    @property
    def frames_estimate(self) -> int:
        """How many frames the duration and rate make (1 for an image)."""
        return max(1, round(self.duration_s * self.fps)) if not self.is_image else 1


_SIZE = re.compile(r"Video: .*?(\d{2,5})x(\d{2,5})")
_FPS = re.compile(r"(\d+(?:\.\d+)?) (?:fps|tbr)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO = re.compile(r"Audio: (\w+)")
# What the MP4 (and MOV) muxer takes as it is; anything else is re-encoded to AAC.
MP4_AUDIO = {"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"}


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Size, rate, duration and whether there is sound, from ``ffmpeg -i``'s report."""
    result = subprocess.run(  # noqa: S603
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    report = result.stderr
    video = next((line for line in report.splitlines() if "Video:" in line), None)
    size = _SIZE.search(video or "")
    if video is None or size is None:
        raise MediaError(f"no picture in {Path(path).name}")
    fps = _FPS.search(video)
    duration = _DURATION.search(report)
    seconds = 0.0
    if duration:
        h, m, s = duration.groups()
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    is_image = Path(path).suffix.lower() in IMAGE_SUFFIXES
    audio = _AUDIO.search(report)
    return MediaInfo(
        width=int(size.group(1)),
        height=int(size.group(2)),
        fps=float(fps.group(1)) if fps else 25.0,
        fps_text=fps.group(1) if fps else "25",
        duration_s=seconds,
        has_audio=audio is not None,
        is_image=is_image,
        audio_codec=audio.group(1) if audio else "",
    )


class Frames:
    """rgb24 frames read from an ffmpeg process's stdout, one buffer reused."""

    def __init__(self, args: list[str], width: int, height: int) -> None:
        self.shape = (height, width, 3)
        self.ffmpeg = Ffmpeg(args, stdout=subprocess.PIPE)

    def __iter__(self) -> Iterator[np.ndarray]:
        import numpy as np  # only where frames are read: the web app never loads it

        size = self.shape[0] * self.shape[1] * 3
        buffer = bytearray(size)
        view = memoryview(buffer)
        stdout = self.ffmpeg.process.stdout
        assert stdout is not None  # noqa: S101 - Popen was given PIPE
        while True:
            got = 0
            while got < size:
                n = stdout.readinto(view[got:])  # type: ignore[attr-defined]
                if not n:
                    break
                got += n
            if got < size:
                return
            yield np.frombuffer(buffer, dtype=np.uint8).reshape(self.shape)

    def close(self, *, check: bool = True) -> None:
        """Wait for the decoder; with ``check``, raise if it failed."""
        self.ffmpeg.finish("decoding", check=check)


class Ffmpeg:
    """One ffmpeg process; its complaints go to a file, never a pipe nobody reads."""

    def __init__(self, args: list[str], **pipes: Any) -> None:
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()
        self.process = subprocess.Popen(  # noqa: S603
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
            stderr=self.errors,
            **pipes,
        )

    def finish(self, what: str, *, check: bool = True) -> None:
        """Close the pipes and wait; with ``check``, raise if ffmpeg failed (else kill it)."""
        process = self.process
        if process.stdin and not process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        if not check and process.poll() is None:
            process.kill()
        if process.stdout:
            process.stdout.close()
        process.wait(timeout=600)
        self.errors.seek(0)
        err = self.errors.read()
        self.errors.close()
        if check and process.returncode != 0:
            raise MediaError(f"ffmpeg failed while {what}: {err.decode(errors='replace')[-500:]}")


