"""Bystander redaction: frames per second, ratio to real time, and peak memory (R27).

    .venv/bin/python -m bench.redaction                       # the figures of bench/README.md
    .venv/bin/python -m bench.redaction --minutes 1 --sizes 640x360

docs/rules.md#targets: at least real time for 640x360 video on one core, memory independent of
the video's length. Each measurement runs ``rights_portal.media.pipeline.redact`` (analysis and
render, exactly what the worker's ``rights_portal.redact_recording`` task runs on the stored
file) in a fresh child process pinned to ONE core together with the ffmpeg processes it starts
(``sched_setaffinity`` is inherited), onnxruntime with one thread. The child reports its wall
time, the frames written, its own peak resident set (``VmHWM``) and the largest peak of its
ffmpeg children (``RUSAGE_CHILDREN``).

The input is the test suite's scene (tests/media_support.py: scikit-image's astronaut as a large
requester's face and a small bystander's, a sine tone), ten seconds encoded once per size and
repeated with ``-stream_loop`` (stream copy) to the lengths asked, so generating it is cheap.
Ratio to real time = video duration / wall time; >= 1.0 keeps up with the recording.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FPS = 25


def scene(width: int, height: int, seconds: int, path: Path) -> Path:
    from skimage import data
    from skimage.transform import resize

    from rights_portal.media.ffmpeg import ffmpeg_exe

    head = data.astronaut()[20:220, 140:320]
    big = (resize(head, (height * 5 // 9, height // 2), anti_aliasing=True) * 255).astype(np.uint8)
    small = resize(head, (height * 2 // 9, height // 5), anti_aliasing=True)
    small = (small * 255).astype(np.uint8)
    process = subprocess.Popen(
        [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-r", str(FPS), "-i", "-",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    for index in range(seconds * FPS):
        frame = np.full((height, width, 3), 60, np.uint8)
        y, x = height // 4, width // 10
        frame[y : y + big.shape[0], x : x + big.shape[1]] = big
        sx = width * 2 // 3 + abs(index % 200 - 100) - 50  # the bystander drifts to and fro
        frame[height // 6 : height // 6 + small.shape[0], sx : sx + small.shape[1]] = small
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    assert process.wait() == 0
    return path


def repeat(clip: Path, clip_seconds: int, minutes: float, path: Path) -> Path:
    from rights_portal.media.ffmpeg import ffmpeg_exe

    loops = max(0, round(minutes * 60 / clip_seconds) - 1)
    subprocess.run(
        [ffmpeg_exe(), "-y", "-loglevel", "error", "-stream_loop", str(loops), "-i", str(clip),
         "-c", "copy", str(path)],
        check=True,
    )
    return path


def _peak_kb(pid: int | str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def child(source: str, output: str) -> None:
    """Run one redaction pinned to one core and print what it cost as JSON."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from rights_portal.media import pipeline

    # ffmpeg's peaks: sampled from /proc while they run (VmHWM only grows, so a late sample
    # is the peak); RUSAGE_CHILDREN would count the parent's pages a fork starts with.
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def watch() -> None:
        me = os.getpid()
        while not stop.is_set():
            try:
                kids = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            except OSError:
                kids = []
            for pid in kids:
                with contextlib.suppress(OSError, StopIteration):  # it may just have ended
                    peaks[pid] = max(peaks.get(pid, 0), _peak_kb(pid))
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    info = pipeline.probe(source)
    started = time.perf_counter()
    result = pipeline.redact(source, output, pipeline.Settings(threads=1))
    elapsed = time.perf_counter() - started
    stop.set()
    watcher.join()
    peak_kb = _peak_kb("self")
    children_kb = max(peaks.values(), default=0)
    print(json.dumps({
        "duration_s": info.duration_s,
        "elapsed_s": elapsed,
        "frames": result.record["frames_processed"],
        "tracks_found": result.record["tracks_found"],
        "tracks_covered": len(result.record["tracks_covered"]),
        "provider": result.record["execution_provider"],
        "python_peak_mb": peak_kb / 1024,
        "ffmpeg_peak_mb": children_kb / 1024,
    }))


def measure(source: Path, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.redaction", "--child", str(source), str(work / "out.mp4")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    figures["fps"] = figures["frames"] / figures["elapsed_s"]
    figures["ratio"] = figures["duration_s"] / figures["elapsed_s"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "OUTPUT"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="640x360,1280x720")
    parser.add_argument("--minutes", default="1,10", help="lengths for the memory comparison")
    parser.add_argument("--speed-minutes", type=float, default=1.0)
    parser.add_argument("--report", default=str(ROOT / "bench" / "results" / "redaction.md"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-redaction-") as tmp:
        work = Path(tmp)
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            clip = scene(width, height, 10, work / f"clip-{size}.mp4")
            lengths = sorted({args.speed_minutes} | (
                {float(m) for m in args.minutes.split(",")} if size == args.sizes.split(",")[0]
                else set()
            ))
            for minutes in lengths:
                source = repeat(clip, 10, minutes, work / f"video-{size}-{minutes}.mp4")
                figures = measure(source, work)
                figures.update(size=size, minutes=minutes)
                rows.append(figures)
                print(json.dumps(figures), flush=True)
    load = os.getloadavg()
    lines = [
        "# Bystander redaction (R27)",
        "",
        f"One run of `bench/redaction.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
        f" load average before the report {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}."
        " Each row: one child process and its ffmpeg processes pinned to one core,"
        " onnxruntime with one thread.",
        "",
        "| size | video | frames | wall time | frames/s | ratio to real time | peak RSS python"
        " | peak RSS ffmpeg (largest) | tracks found / covered |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['minutes']:g} min | {r['frames']} | {r['elapsed_s']:.1f} s |"
            f" {r['fps']:.1f} | {r['ratio']:.2f} | {r['python_peak_mb']:.1f} MB |"
            f" {r['ffmpeg_peak_mb']:.1f} MB | {r['tracks_found']} / {r['tracks_covered']} |"
        )
    Path(args.report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
