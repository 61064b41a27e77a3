"""A short video with two real faces for the redaction tests (R27).

The face is scikit-image's bundled astronaut photo, placed twice: large on the left (the
requester, in view all the time) and small on the right (a bystander, drifting right). The
sound is ffmpeg's ``sine`` source. Built with the ffmpeg binary of imageio-ffmpeg.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from skimage import data
from skimage.transform import resize

from rights_portal.media.ffmpeg import ffmpeg_exe

WIDTH, HEIGHT, FPS = 640, 360, 25
REQUESTER = (100, 60, 300, 240)  # y1, x1, y2, x2 of the large face's picture
BYSTANDER_Y, BYSTANDER_X, BYSTANDER_H, BYSTANDER_W = 60, 420, 80, 72
BACKGROUND = 60


def _head() -> np.ndarray:
    return data.astronaut()[20:220, 140:320]  # 200 x 180: the head and shoulders


def bystander_box(frame_index: int) -> tuple[int, int, int, int]:
    """Where the small face is in frame ``frame_index``: y1, x1, y2, x2."""
    x = BYSTANDER_X + frame_index
    return BYSTANDER_Y, x, BYSTANDER_Y + BYSTANDER_H, x + BYSTANDER_W


def frame_at(index: int, away: range = range(0)) -> np.ndarray:
    """The input picture of frame ``index`` (the bystander turned away in ``away``)."""
    frame = np.full((HEIGHT, WIDTH, 3), BACKGROUND, np.uint8)
    y1, x1, y2, x2 = REQUESTER
    frame[y1:y2, x1:x2] = _head()
    by1, bx1, by2, bx2 = bystander_box(index)
    if index in away:
        frame[by1:by2, bx1:bx2] = (90, 60, 40)  # the back of a head: no face to find
    else:
        small = resize(_head(), (BYSTANDER_H, BYSTANDER_W), anti_aliasing=True)
        frame[by1:by2, bx1:bx2] = (small * 255).astype(np.uint8)
    return frame


def make_video(path: Path, seconds: float = 2.0, away: range = range(0)) -> Path:
    """Write the test video (H.264 + AAC sine) to ``path``."""
    frames = round(seconds * FPS)
    process = subprocess.Popen(
        [
            ffmpeg_exe(), "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS),
            "-i", "-", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(path),
        ],
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    for index in range(frames):
        process.stdin.write(frame_at(index, away).tobytes())
    process.stdin.close()
    assert process.wait(60) == 0
    return path


def make_image(path: Path) -> Path:
    """A screenshot (PNG) with both faces."""
    subprocess.run(
        [
            ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{WIDTH}x{HEIGHT}", "-i", "-", "-frames:v", "1", str(path),
        ],
        input=frame_at(0).tobytes(),
        check=True,
    )
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of ``path`` as RGB (the test videos are short)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    size = WIDTH * HEIGHT * 3
    return [
        np.frombuffer(raw[i : i + size], np.uint8).reshape(HEIGHT, WIDTH, 3)
        for i in range(0, len(raw), size)
    ]


def audio_samples(path: Path) -> np.ndarray:
    """The sound of ``path`` as mono 16-bit samples at 8 kHz."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
         "-ar", "8000", "-f", "s16le", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.int16)


def streams(path: Path) -> tuple[list[str], float]:
    """The stream lines and the duration that ``ffmpeg -i`` reports for ``path``."""
    report = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    lines = [line.strip() for line in report.splitlines() if line.strip().startswith("Stream")]
    h, m, s = report.split("Duration: ", 1)[1].split(",", 1)[0].split(":")
    return lines, int(h) * 3600 + int(m) * 60 + float(s)


def bystander_covered(frame: np.ndarray, index: int) -> bool:
    """Whether the small face (eyes to chin, cheek to cheek) in ``frame`` is the flat cover."""
    y1, x1, _, _ = bystander_box(index)
    core = frame[y1 + 20 : y1 + 60, x1 + 18 : x1 + 50].astype(int)
    return bool(np.abs(core - 128).max() <= 6)


def requester_difference(frame: np.ndarray) -> float:
    """Mean absolute difference of the requester's picture from the input."""
    y1, x1, y2, x2 = REQUESTER
    return float(np.abs(frame[y1:y2, x1:x2].astype(int) - frame_at(0)[y1:y2, x1:x2]).mean())
