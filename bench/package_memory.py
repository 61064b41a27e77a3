"""Peak memory and throughput of building an access package with 1 GB and with 4 GB of recordings.

    .venv/bin/python -m bench.package_memory              # stand-in builder, 1 GB and 4 GB
    .venv/bin/python -m bench.package_memory --sizes 1,4 --workdir /var/tmp

DESIGN §4: the package is built by streaming, so the worker's peak memory must not depend on the
size of the recordings (R12: original media files in a ZIP). Each build runs in a fresh child
process that reports its own peak resident set (``VmHWM``); the reference is ``cp`` of the very
same bytes in the same run, so the throughput is a ratio to what the disk can do anyway. Both
timings end with ``sync`` (data on disk) and start with nothing dirty in the page cache.

Builders:

* ``zipfile`` (default, used while the real builder is not in this tree): the streaming build the
  access package is expected to do — ``ZipFile.open(name, "w")`` per recording with a chunked
  copy (1 MiB), ZIP64, stored (media files are already compressed), plus a small JSON export and
  a cover letter;
* ``access``: the real builder of the ``access`` branch,
  ``rights_portal.access.package.build(package_id)``, inside an app context on ``--db``, for the
  package ids given with ``--package`` (one per size, prepared beforehand with recordings of
  those sizes) and ``--source`` (the directories of those recordings, which ``cp`` copies as the
  reference). Not exercised here: the builder was not merged when this was written.

Recordings are generated as incompressible files of 256 MB in ``--workdir`` and deleted at the
end. Bounded: at most 16 GB in all, and only with three times that free on the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import ROOT, app_env, machine, write_result

CHUNK = 1024 * 1024
FILE_SIZE = 256 * 1024 * 1024
MAX_TOTAL_GB = 16


def make_recordings(folder: Path, gigabytes: int) -> list[Path]:
    """Incompressible files like video, 256 MB each (the first ones are shared between sizes)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    block = os.urandom(8 * CHUNK)
    for number in range(gigabytes * 1024**3 // FILE_SIZE):
        path = folder / f"recording-{number:03d}.webm"
        if not path.exists() or path.stat().st_size != FILE_SIZE:
            with path.open("wb") as out:
                written = 0
                while written < FILE_SIZE:
                    # A fresh prefix per block keeps it incompressible without urandom's cost.
                    out.write(os.urandom(64) + block[64:])
                    written += len(block)
        files.append(path)
    return files


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def build_with_zipfile(files: list[Path], out: Path) -> None:
    """The stand-in: a streaming ZIP of the recordings plus the export and the cover letter."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as package:
        export = {"recordings": [{"file": f.name, "bytes": f.stat().st_size} for f in files]}
        package.writestr("export.json", json.dumps(export, indent=2))
        package.writestr("letter.html", "<html><body><p>Inzage: uw gegevens.</p></body></html>")
        for path in files:
            info = zipfile.ZipInfo(f"recordings/{path.name}", date_time=(2026, 1, 5, 9, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with path.open("rb") as source, package.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)


def child(argv: list[str]) -> None:
    """Run one build in this (fresh) process and print its time and peak memory as JSON."""
    mode, out = argv[0], Path(argv[1])
    started = time.perf_counter()
    if mode == "zipfile":
        build_with_zipfile([Path(p) for p in argv[2:]], out)
    else:
        from rights_portal import create_app
        from rights_portal.access.package import build  # type: ignore[import-not-found]

        with create_app().app_context():
            build(int(argv[2]))
    os.sync()  # on disk, as cp's timing below: otherwise the page cache decides who is faster
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "peak_rss_kb": peak_rss_kb()}))


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.package_memory", "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def timed_cp(sources: list[Path], target: Path) -> float:
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(["cp", *map(str, sources), str(target)], check=True, timeout=1800)
    os.sync()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4", help="gigabytes of recordings, e.g. 1,4")
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help="for the recordings")
    parser.add_argument("--outdir", help="where package and copy are written (default: workdir)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per size, best taken (1-5)")
    parser.add_argument("--builder", choices=("zipfile", "access"), default="zipfile")
    parser.add_argument("--db", default="rp_bench", help="for --builder access")
    parser.add_argument("--package", action="append", default=[], help="package id per size")
    parser.add_argument("--source", action="append", default=[], help="recordings dir per size")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    repeat = max(1, min(args.repeat, 5))
    if not sizes or sum(sizes) > MAX_TOTAL_GB or min(sizes) < 1:
        raise SystemExit(f"sizes must be whole gigabytes, at most {MAX_TOTAL_GB} in all")
    work = Path(args.workdir) / "rp-bench-package"
    free = shutil.disk_usage(Path(args.workdir)).free
    if free < 3 * max(sizes) * 1024**3:
        raise SystemExit(f"not enough free disk in {args.workdir} ({free / 1024**3:.0f} GB)")
    before = machine()
    rows = []
    try:
        for index, size in enumerate(sizes):
            out = Path(args.outdir or work) / "rp-bench-package-out"
            builds, copies = [], []
            # Alternate build and cp, best of --repeat: a virtual disk's write bursts and the
            # page cache otherwise favour whichever runs first.
            for _round in range(repeat):
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                if args.builder == "zipfile":
                    files = make_recordings(work / "recordings", size)
                    os.sync()  # each timed step starts with nothing left to write back
                    builds.append(
                        run_child(["zipfile", str(out / "package.zip"), *map(str, files)])
                    )
                else:
                    if index >= len(args.package) or index >= len(args.source):
                        raise SystemExit("--builder access needs --package and --source per size")
                    files = sorted(p for p in Path(args.source[index]).rglob("*") if p.is_file())
                    env = app_env(args.db, "/tmp/bench-package-instance")
                    builds.append(
                        run_child(["access", str(out / "unused"), args.package[index]], env)
                    )
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                os.sync()
                copies.append(timed_cp(files, out / "copy"))
            nbytes = sum(p.stat().st_size for p in files)
            result = {
                "seconds": min(b["seconds"] for b in builds),
                "peak_rss_kb": max(b["peak_rss_kb"] for b in builds),
            }
            cp_seconds = min(copies)
            rows.append(
                {
                    "gigabytes": size,
                    "bytes": nbytes,
                    "build_s": result["seconds"],
                    "peak_rss_mb": result["peak_rss_kb"] / 1024,
                    "cp_s": cp_seconds,
                }
            )
            print(
                f"{size} GB: build {result['seconds']:.1f} s, peak RSS"
                f" {result['peak_rss_kb'] / 1024:.1f} MB, cp {cp_seconds:.1f} s",
                flush=True,
            )
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(Path(args.outdir or work) / "rp-bench-package-out", ignore_errors=True)

    base = rows[0]
    lines = [
        f"Access package build ({args.builder}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
        f" {before['cpu']}, {before['memory']}; written to {args.outdir or args.workdir},"
        f" best of {repeat}",
        f"Load before: {before['uptime']}",
        "",
        "| recordings | build s | build MB/s | cp s | cp MB/s | build ÷ cp throughput"
        " | peak RSS MB | peak RSS minus first size, MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mb = r["bytes"] / 1024**2
        lines.append(
            f"| {r['gigabytes']} GB | {r['build_s']:.1f} | {mb / r['build_s']:.0f}"
            f" | {r['cp_s']:.1f} | {mb / r['cp_s']:.0f} | {r['cp_s'] / r['build_s']:.2f}"
            f" | {r['peak_rss_mb']:.1f} | {r['peak_rss_mb'] - base['peak_rss_mb']:+.1f} |"
        )
    lines.append(f"Load after: {machine()['uptime']}")
    report = "\n".join(lines) + "\n"
    print(report)
    write_result(f"package-{datetime.now(UTC):%Y%m%d-%H%M}.md", report)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.package_memory")
    main()
