"""The contact sheet (R27): each face the redaction found, where the detector saw it best.

One small tile per track, side by side, for the handler to confirm the requester's face. numpy is
imported only when a sheet is made.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

from .detect import Box
from .ffmpeg import Ffmpeg, Frames, MediaError, MediaInfo, probe

if TYPE_CHECKING:
    import numpy as np


THUMB = 112


def _frame_at(source: str | os.PathLike[str], info: MediaInfo, index: int) -> np.ndarray:
    seconds = 0.0 if info.is_image else index / info.fps
    frames = Frames(
        ["-ss", f"{seconds:.3f}", "-i", str(source), "-map", "0:v:0", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        info.width,
        info.height,
    )
    try:
        picture = next(iter(frames), None)
        found = None if picture is None else picture.copy()
    finally:
        frames.close(check=False)
    if found is None:
        raise MediaError(f"no frame {index}")
    return found


def contact_sheet(source: str | os.PathLike[str], tracks: list[dict[str, Any]]) -> bytes:
    """A JPEG with one picture per track, in order, each where the detector saw it best.

    Made from the original on demand and never stored: the faces of bystanders are not kept
    anywhere beyond the recording itself (R25 deletes them with it).
    """
    import numpy as np
    info = probe(source)
    tiles = []
    for track in tracks:
        tile = np.full((THUMB, THUMB, 3), 200, np.uint8)
        box = track.get("best_box")
        if box:
            frame = _frame_at(source, info, int(track.get("best_frame", 0)))
            b = Box(*box)
            x1, y1, x2, y2 = b.grown(0.3, info.width, info.height)
            if x2 > x1 and y2 > y1:
                crop = frame[y1:y2, x1:x2]
                ys = (np.arange(THUMB) * crop.shape[0] / THUMB).astype(np.intp)
                xs = (np.arange(THUMB) * crop.shape[1] / THUMB).astype(np.intp)
                tile = crop[ys][:, xs]
        tiles.append(tile)
        tiles.append(np.full((THUMB, 4, 3), 255, np.uint8))
    sheet = np.concatenate(tiles[:-1] or [np.full((THUMB, THUMB, 3), 200, np.uint8)], axis=1)
    height, width = sheet.shape[:2]
    encoder = Ffmpeg(
        ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "pipe:0",
         "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", "-f", "image2pipe", "pipe:1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    out, _ = encoder.process.communicate(np.ascontiguousarray(sheet).tobytes(), timeout=60)
    encoder.errors.close()
    if encoder.process.returncode != 0:
        raise MediaError("ffmpeg could not write the contact sheet")
    return out
