"""The redaction pipeline (R27): analyse a recording, then write it with bystanders covered.

Owns the streaming through ffmpeg (the binary of the ``imageio-ffmpeg`` wheel): frames travel
as rawvideo rgb24 through pipes, one frame in memory at a time, so memory does not grow with the
length of the video. Two passes:

* :func:`analyse` decodes every ``detect_every``-th frame at detection size, detects and tracks
  faces and writes each detection frame's boxes to a temporary timeline file; it proposes the
  requester's track (largest x longest present).
* :func:`render` decodes every frame at full size, covers the boxes of every track but the
  requester's (those of the detection frames before and after, so a moving face stays covered
  in between) with a solid fill grown by a margin, and encodes; the audio stream is copied
  (re-encoded only where the handler muted time ranges).

Images (screenshots) take the same detector in one pass. Nothing here touches the database.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .detect import DEFAULT_THRESHOLD, MODEL_NAME, Box, FaceDetector, model_version
from .track import Track, Tracker, proposed_requester

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
COVER_VALUE = 128  # a flat mid grey: nothing of the face survives (irreversible, R27)
_RECORD = struct.Struct("<iiffff")  # frame, track id (negative: lost, held), x1, y1, x2, y2

Progress = Callable[[float], None]


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


@dataclass(frozen=True)
class Settings:
    """How a redaction runs; the record keeps these (R27)."""

    threshold: float = DEFAULT_THRESHOLD
    detect_every: int = 5  # detect on every n-th frame, track in between
    detect_side: int = 320  # the longer side the detector sees
    hold_s: float = 1.0  # a lost face stays covered this long
    margin: float = 0.25  # the cover grows by this fraction of the face each side
    cover_all: bool = False  # cover every face, the requester's too
    muted: tuple[tuple[float, float], ...] = ()  # time ranges whose sound is silenced
    threads: int = 1


@dataclass
class Analysis:
    """What :func:`analyse` found: tracks, the proposal, the timeline file.

    The timeline is a temporary file, deleted by :meth:`close` (or leaving ``with``).
    """

    info: MediaInfo
    settings: Settings
    tracks: list[Track]
    proposed_requester: int | None
    frames_analysed: int
    timeline: Path
    provider: str
    scale: tuple[float, float] = (1.0, 1.0)
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Delete the timeline file."""
        self.timeline.unlink(missing_ok=True)

    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _frame_box(self, track: Track) -> list[int] | None:
        if track.best_box is None:
            return None
        sx, sy = self.scale
        b = track.best_box
        return [round(b.x1 * sx), round(b.y1 * sy), round(b.x2 * sx), round(b.y2 * sy)]

    def record(self, requester: int | None, frames_processed: int) -> dict[str, Any]:
        """The partial refusal's record (R13, R27), JSON-ready."""
        covered = covered_tracks(self.tracks, requester, self.settings.cover_all)
        pixel_area = self.scale[0] * self.scale[1]
        return {
            "model": MODEL_NAME,
            "model_version": model_version(),
            "execution_provider": self.provider,
            "threshold": self.settings.threshold,
            "detect_every": self.settings.detect_every,
            "detect_side": self.settings.detect_side,
            "margin": self.settings.margin,
            "frames_processed": frames_processed,
            "tracks_found": len(self.tracks),
            "tracks": [
                {**t.summary(self.info.fps, pixel_area), "best_box": self._frame_box(t)}
                for t in self.tracks
            ],
            "proposed_requester_track": self.proposed_requester,
            "requester_track": None if self.settings.cover_all else requester,
            "tracks_covered": sorted(covered),
            "cover_all": self.settings.cover_all,
            "muted_ranges": [[a, b] for a, b in self.settings.muted],
            "audio_kept": self.info.has_audio,
        }


def covered_tracks(tracks: list[Track], requester: int | None, cover_all: bool) -> set[int]:
    """Every track but the requester's (all of them with ``cover_all``)."""
    return {t.id for t in tracks if cover_all or t.id != requester}


def _detection_size(info: MediaInfo, side: int) -> tuple[int, int]:
    factor = min(1.0, side / max(info.width, info.height))
    return (
        max(32, int(np.ceil(info.width * factor / 32) * 32)),
        max(32, int(np.ceil(info.height * factor / 32) * 32)),
    )


class _Frames:
    """rgb24 frames read from an ffmpeg process's stdout, one buffer reused."""

    def __init__(self, args: list[str], width: int, height: int) -> None:
        self.shape = (height, width, 3)
        self.ffmpeg = _Ffmpeg(args, stdout=subprocess.PIPE)

    def __iter__(self) -> Iterator[np.ndarray]:
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
        self.ffmpeg.finish("decoding", check=check)


class _Ffmpeg:
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


def analyse(
    source: str | os.PathLike[str],
    settings: Settings | None = None,
    progress: Progress | None = None,
    *,
    info: MediaInfo | None = None,
) -> Analysis:
    """Detect and track the faces of ``source``; propose the requester's track."""
    settings = settings or Settings()
    info = info or probe(source)
    detector = FaceDetector(settings.threshold, max_side=1 << 16, threads=settings.threads)
    every = 1 if info.is_image else max(1, settings.detect_every)
    if info.is_image:
        w_in, h_in = _detection_size(info, max(info.width, info.height, 32))
    else:
        w_in, h_in = _detection_size(info, settings.detect_side)
    sx, sy = info.width / w_in, info.height / h_in
    hold = max(1, round(settings.hold_s * info.fps / every)) if not info.is_image else 0
    tracker = Tracker(hold=hold)
    handle, name = tempfile.mkstemp(prefix="redaction-", suffix=".timeline")
    timeline = Path(name)
    chosen = rf"select=not(mod(n\,{every})),scale={w_in}:{h_in}:flags=area"
    frames = _Frames(
        ["-i", str(source), "-map", "0:v:0", "-vf", chosen, "-fps_mode", "passthrough",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        w_in,
        h_in,
    )
    expected = max(1, info.frames_estimate // every)
    analysed = 0
    try:
        with os.fdopen(handle, "wb") as out:
            for k, frame in enumerate(frames):
                index = k * every
                boxes = detector.detect(frame)
                for track_id, box, found in tracker.update(index, boxes):
                    out.write(
                        _RECORD.pack(
                            index, track_id if found else -track_id,
                            box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy,
                        )
                    )
                analysed += 1
                if progress and analysed % 10 == 0:
                    progress(min(1.0, analysed / expected))
        frames.close()
    except BaseException:
        frames.close(check=False)
        timeline.unlink(missing_ok=True)
        raise
    tracks = tracker.tracks()
    return Analysis(
        info=info,
        settings=settings,
        tracks=tracks,
        proposed_requester=proposed_requester(tracks),
        frames_analysed=analysed,
        timeline=timeline,
        provider=detector.provider,
        scale=(sx, sy),
    )


def _keyframes(path: Path) -> Iterator[tuple[int, list[tuple[int, tuple[float, ...]]]]]:
    """The timeline's detection frames in order: (frame, [(track id, box)])."""
    with path.open("rb") as timeline:
        current: int | None = None
        group: list[tuple[int, tuple[float, ...]]] = []
        while chunk := timeline.read(_RECORD.size):
            frame, track_id, *box = _RECORD.unpack(chunk)
            if current is not None and frame != current:
                yield current, group
                group = []
            current = frame
            group.append((abs(track_id), tuple(box)))
        if current is not None:
            yield current, group


def cover(frame: np.ndarray, box: tuple[float, ...], margin: float) -> None:
    """Fill ``box`` grown by ``margin`` with flat grey, in place."""
    height, width = frame.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x1 = max(0, int(np.floor(box[0] - bw * margin)))
    y1 = max(0, int(np.floor(box[1] - bh * margin)))
    x2 = min(width, int(np.ceil(box[2] + bw * margin)))
    y2 = min(height, int(np.ceil(box[3] + bh * margin)))
    if x2 > x1 and y2 > y1:
        frame[y1:y2, x1:x2] = COVER_VALUE


def _audio_args(
    info: MediaInfo, muted: tuple[tuple[float, float], ...], output: Path
) -> list[str]:
    if not info.has_audio:
        return []
    copyable = output.suffix.lower() not in {".mp4", ".mov"} or info.audio_codec in MP4_AUDIO
    if not muted and copyable:
        return ["-map", "1:a:0", "-c:a", "copy"]
    if not muted:  # e.g. Vorbis from a WebM recording: MP4 cannot carry it as it is
        return ["-map", "1:a:0", "-c:a", "aac", "-b:a", "160k"]
    silence = ",".join(f"volume=enable='between(t,{a:.3f},{b:.3f})':volume=0" for a, b in muted)
    return ["-map", "1:a:0", "-af", silence, "-c:a", "aac", "-b:a", "128k"]


def _video_args(output: Path, info: MediaInfo) -> list[str]:
    suffix = output.suffix.lower()
    if info.is_image:
        codec = ["-c:v", "mjpeg", "-q:v", "2"] if suffix in {".jpg", ".jpeg"} else ["-c:v", "png"]
        return ["-frames:v", "1", *codec, "-update", "1"]
    return [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-threads", "1", *(["-movflags", "+faststart"] if suffix in {".mp4", ".mov"} else []),
    ]


def render(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    analysis: Analysis,
    requester: int | None,
    progress: Progress | None = None,
) -> int:
    """Write ``source`` to ``output`` with every track but ``requester`` covered; frames done."""
    info, settings = analysis.info, analysis.settings
    covered = covered_tracks(analysis.tracks, requester, settings.cover_all)
    output = Path(output)
    frames = _Frames(
        ["-i", str(source), "-map", "0:v:0", "-fps_mode", "passthrough",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        info.width,
        info.height,
    )
    encoder = _Ffmpeg(
        ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{info.width}x{info.height}",
         "-r", info.fps_text, "-i", "pipe:0", "-i", str(source), "-map", "0:v:0",
         *_audio_args(info, settings.muted, output), *_video_args(output, info), str(output)],
        stdin=subprocess.PIPE,
    )
    stdin: IO[bytes] | None = encoder.process.stdin
    assert stdin is not None  # noqa: S101 - Popen was given PIPE
    keyframes = _keyframes(analysis.timeline)
    before = next(keyframes, None)
    after = next(keyframes, None)
    done = 0
    expected = info.frames_estimate
    try:
        for index, frame in enumerate(frames):
            while after is not None and after[0] <= index:
                before, after = after, next(keyframes, None)
            for group in (before, after):
                if group is None:
                    continue
                for track_id, box in group[1]:
                    if track_id in covered:
                        cover(frame, box, settings.margin)
            stdin.write(frame.data)
            done += 1
            if progress and done % 25 == 0:
                progress(min(1.0, done / expected))
        frames.close()
        encoder.finish("encoding")
    except BaseException:
        frames.close(check=False)
        encoder.finish("encoding", check=False)
        output.unlink(missing_ok=True)
        raise
    return done


@dataclass(frozen=True)
class Result:
    """One redaction done: the record, and the tracks for printing."""

    record: dict[str, Any]
    tracks: list[Track]


def redact(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    settings: Settings | None = None,
    *,
    requester: int | None = None,
    progress: Progress | None = None,
) -> Result:
    """Analyse and render; the requester is ``requester`` if given, else the proposal."""

    def part(start: float, share: float) -> Progress | None:
        if progress is None:
            return None
        return lambda fraction: progress(start + share * fraction)

    with analyse(source, settings, part(0.0, 0.4)) as analysis:
        chosen = requester if requester is not None else analysis.proposed_requester
        frames = render(source, output, analysis, chosen, part(0.4, 0.6))
        return Result(analysis.record(chosen, frames), analysis.tracks)


THUMB = 112


def _frame_at(source: str | os.PathLike[str], info: MediaInfo, index: int) -> np.ndarray:
    seconds = 0.0 if info.is_image else index / info.fps
    frames = _Frames(
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
    encoder = _Ffmpeg(
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
