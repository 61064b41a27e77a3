"""Peak memory and throughput of building an access package with 1 GB and with 4 GB of recordings.

    .venv/bin/python -m bench.package_memory --sizes 1,4                      # disk (/tmp)
    .venv/bin/python -m bench.package_memory --sizes 1,4 --workdir /dev/shm   # tmpfs
    .venv/bin/python -m bench.package_memory --builder zipfile                # the lower bound

docs/rules.md#targets: the package is built by streaming, so the worker's peak memory must not
depend on the size of the recordings (R12: original media files in a ZIP). Each build runs in a
fresh child process that reports its own peak resident set (``VmHWM``); the reference is ``cp`` of
the very same stored bytes in the same run, so the throughput is a ratio to what the disk can do
anyway.
Both timings end with ``sync`` (data on disk) and start with nothing dirty in the page cache;
build and ``cp`` alternate, best of ``--repeat``.

Builders:

* ``access`` (default): the portal's real builder, ``rights_portal.access.package.build`` followed
  by the commit, exactly what the worker's ``rights_portal.build_access_package`` task runs, in
  an app context. The script is self-contained: it creates a throwaway PostgreSQL database
  (``--db``, default ``rp_bench_pkg``, dropped again at the end unless ``--keep``), builds the
  schema with ``flask db upgrade`` and the demo world with ``flask demo seed`` (programmes, exam
  boards, the register of tools, a handler, a past proctored exam ``PSY-1005``), and points the
  recordings and packages stores (``RECORDINGS_DIR``, ``PACKAGES_DIR``) into ``--workdir``
  (``--outdir`` for the packages and the copy). For each size it prepares, through the portal's
  own services: a student (``accounts.services.create_user``), a vendor export of incompressible
  256 MB videos with a manifest imported by ``access.importer.import_export`` (validated,
  streamed into the store with their sha256), an access request for all data
  (``access.services.file_access_request``) assigned to the handler (``cases.services.assign``),
  and per round a queued package (``access.services.request_build``). The reference ``cp`` copies
  the very files in the recordings store that the build reads. Each built ZIP is checked before
  its time counts: status ready, every recording entry present, stored, with the size and the
  CRC-32 of the bytes generated (known from generating them, so the check reads no data), the
  data export and the cover letter present, the file as large as the package row says
  (``--testzip`` also reads every entry back). The child reports, besides the peak, its resident
  set before the build (imports and the app) and the time to each phase of the build.
* ``zipfile``: a stand-in, the lower bound of what a streaming ZIP of the same files costs —
  ``ZipFile.open(name, "w")`` per recording with a chunked copy (1 MiB), ZIP64, stored, plus a
  small JSON export and a letter; no database, no sha256 verification of the sources, no PDF,
  no hashing of the result. Its recordings are generated straight in ``--workdir``.

Reports go to ``bench/results/package-memory-<disk|tmpfs>.md`` (the stand-in:
``package-memory-zipfile-<disk|tmpfs>.md``), by the file system of where the package is written.
Bounded: whole gigabytes, at most 16 in all, and only with three times the largest size free in
``--workdir`` (and, on tmpfs, in memory); every file the script made is deleted at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, app_env, bin_path, machine, pg_url, write_result

CHUNK = 1024 * 1024
FILE_SIZE = 256 * 1024 * 1024
MAX_TOTAL_GB = 16
DEFAULT_DB = "rp_bench_pkg"
EXAM_CODE = "PSY-1005"  # the demo seed's past proctored exam (of programme PSY)
HANDLER = "handler@demo.example"  # the demo seed's case handler
BENCH_PASSWORD = "bench-password-2026"  # bench accounts only, in a throwaway database
PHASES = (
    ("claim", "claim and gather"),
    ("media", "media copy"),
    ("letter", "data and letter (PDF)"),
    ("store", "hash and store, commit"),
    ("sync", "sync"),
)


# --- files ------------------------------------------------------------------------------------


def write_media(path: Path, size: int = FILE_SIZE) -> int:
    """Write ``size`` incompressible bytes like a video; return their CRC-32 (as ZIP keeps it)."""
    block = os.urandom(8 * CHUNK)
    crc = 0
    written = 0
    with path.open("wb") as out:
        while written < size:
            # A fresh prefix per block keeps it incompressible without urandom's cost.
            data = (os.urandom(64) + block[64:])[: size - written]
            out.write(data)
            crc = zlib.crc32(data, crc)
            written += len(data)
    return crc


def make_recordings(folder: Path, gigabytes: int) -> dict[Path, int]:
    """``gigabytes`` worth of 256 MB files in ``folder``, with their CRC-32."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        (path := folder / f"webcam-{number:03d}.webm"): write_media(path)
        for number in range(gigabytes * 1024**3 // FILE_SIZE)
    }


def file_system(path: Path) -> str:
    """``tmpfs`` when ``path`` lies on a tmpfs mount, else ``disk``."""
    target = str(path.resolve())
    best, kind = "", "disk"
    for line in Path("/proc/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, "tmpfs" if parts[2] == "tmpfs" else "disk"
    return kind


def memory_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def proc_status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    return -1


def primitive_costs(megabytes: int = 512) -> dict[str, float]:
    """CPU seconds per GB of what the build does to every byte besides copying it, in memory.

    sha256 (done twice: verifying each recording, and the ZIP written) and the ZIP's CRC-32,
    each over ``megabytes`` of random bytes in 8 MiB pieces; the CPU time of this process.
    """
    import hashlib

    piece = os.urandom(8 * 1024 * 1024)
    count = megabytes // 8
    costs = {}
    for name, work in (
        ("sha256", lambda: hashlib.sha256(piece).digest()),
        ("crc32", lambda: zlib.crc32(piece)),
    ):
        started = time.process_time()
        for _ in range(count):
            work()
        costs[name] = (time.process_time() - started) * 1024 / megabytes
    return costs


def timed_cp(sources: list[Path], target: Path) -> float:
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(["cp", *map(str, sources), str(target)], check=True, timeout=1800)
    os.sync()
    return time.perf_counter() - started


# --- the child: one build in a fresh process ------------------------------------------------


class TimedProgress:
    """Passes the builder's progress on, noting when each phase starts and the peak so far."""

    MARKS = (1, 90, 98)  # media copy starts at 1, the data and letter at 90, storing after 98

    def __init__(self, inner: Callable[[int], None], started: float) -> None:
        self.inner = inner
        self.started = started
        self.seconds: dict[int, float] = {}
        self.peak_kb: dict[int, int] = {}

    def __call__(self, percent: int) -> None:
        for mark in self.MARKS:
            if percent >= mark and mark not in self.seconds:
                self.seconds[mark] = time.perf_counter() - self.started
                self.peak_kb[mark] = proc_status_kb("VmHWM")
        self.inner(percent)


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


def build_with_access(package_id: int, trace: bool) -> dict[str, Any]:
    """The real builder, as the worker's task runs it: ``build`` then the commit."""
    from rights_portal import create_app
    from rights_portal.access.package import ProgressWriter, build
    from rights_portal.transactions import commit

    app = create_app()
    with app.app_context():
        before_kb, hwm_before_kb = proc_status_kb("VmRSS"), proc_status_kb("VmHWM")
        if trace:
            import tracemalloc

            tracemalloc.start()
        started = time.perf_counter()  # the build itself; imports and the app are not timed
        progress = TimedProgress(ProgressWriter(package_id), started)
        status = build(package_id, progress)
        commit()
        built = time.perf_counter() - started
        result: dict[str, Any] = {
            "status": status.value if status else None,
            "rss_before_kb": before_kb,
            "peak_at_marks_kb": {
                "0": hwm_before_kb,
                **{str(k): v for k, v in progress.peak_kb.items()},
            },
            "marks": {str(k): v for k, v in progress.seconds.items()},
            "built_s": built,
            "started": started,
        }
        if trace:
            import tracemalloc

            snapshot = tracemalloc.take_snapshot()
            current, peak = tracemalloc.get_traced_memory()
            result["tracemalloc"] = {
                "current_kb": current // 1024,
                "peak_kb": peak // 1024,
                "top": [str(s) for s in snapshot.statistics("lineno")[:8]],
            }
            tracemalloc.stop()
    return result


def child(argv: list[str]) -> None:
    """Run one build in this (fresh) process and print its time and peak memory as JSON."""
    mode = argv[0]
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if mode == "zipfile":
        build_with_zipfile([Path(p) for p in argv[2:]], Path(argv[1]))
    else:
        result = build_with_access(int(argv[1]), trace="--trace" in argv[2:])
        started = result.pop("started")
    os.sync()  # on disk, as cp's timing below: otherwise the page cache decides who is faster
    result.update(seconds=time.perf_counter() - started, peak_rss_kb=proc_status_kb("VmHWM"))
    print(json.dumps(result))


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.package_memory", "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the build failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def phases(build: dict[str, Any]) -> dict[str, float]:
    """Seconds per phase of a real build, from the child's marks."""
    marks = {int(k): v for k, v in build.get("marks", {}).items()}
    if not all(m in marks for m in TimedProgress.MARKS):
        return {}
    return {
        "claim": marks[1],
        "media": marks[90] - marks[1],
        "letter": marks[98] - marks[90],
        "store": build["built_s"] - marks[98],
        "sync": build["seconds"] - build["built_s"],
    }


# --- the portal: a throwaway database and the real services ----------------------------------


def portal_env(db: str, instance: Path, recordings: Path, packages: Path) -> dict[str, str]:
    env = app_env(db, str(instance))
    env.update(
        RECORDINGS_DIR=str(recordings),
        PACKAGES_DIR=str(packages),
        # No worker here: messages the services queue (e-mails) stay in this process.
        CELERY_BROKER_URL="memory://",
    )
    env.pop("RECORDINGS_S3_BUCKET", None)  # local stores: the benchmark is about local disk
    return env


def drop_database(db: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def create_database(db: str, env: dict[str, str]) -> None:
    """A fresh database with the schema (``flask db upgrade``) and the demo world."""
    import psycopg

    drop_database(db)
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    for command in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run(
            [bin_path("flask"), "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )


@dataclass
class Prepared:
    """One size's access request, ready for a package to be queued and built."""

    gigabytes: int
    case_id: int
    handler_id: int
    sources: list[Path]  # the files in the recordings store, what the build reads and cp copies
    expected: dict[int, tuple[int, int]]  # recording file id -> (size, CRC-32)
    storage_keys: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(size for size, _crc in self.expected.values())


@contextmanager
def portal(env: dict[str, str]) -> Iterator[Any]:
    """The portal's app on the bench database, its context pushed for the whole run."""
    os.environ.update(env)
    from rights_portal import create_app
    from rights_portal.extensions import db

    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def prepare(gigabytes: int, export: Path) -> Prepared:
    """A student, their recordings imported from a vendor export, an access request in review."""
    from sqlalchemy import select

    from rights_portal.access import filing as access_filing
    from rights_portal.access import importer
    from rights_portal.access.storage import LocalStorage, recordings_storage
    from rights_portal.accounts.models import Role
    from rights_portal.accounts.services import create_user, find_by_email
    from rights_portal.cases import services as case_services
    from rights_portal.exams.models import Exam, Recording, RecordingFile
    from rights_portal.extensions import db
    from rights_portal.transactions import commit

    handler = find_by_email(HANDLER)
    exam = db.session.scalars(select(Exam).where(Exam.course_code == EXAM_CODE)).one_or_none()
    if handler is None or exam is None or exam.programme is None:
        raise SystemExit(f"the demo seed did not make {HANDLER} and exam {EXAM_CODE}")
    number = f"s9{gigabytes:06d}"
    student = create_user(
        email=f"bench-{gigabytes}gb@bench.example",
        password=BENCH_PASSWORD,
        full_name=f"Bench Student {gigabytes} GB",
        role=Role.STUDENT,
        locale="en",
        student_number=number,
        programme_id=exam.programme.id,
    )
    commit()

    # The vendor's export: one exam session in 256 MB video segments, one automated flag.
    crcs = make_recordings(export / "media", gigabytes)
    with (export / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_number", "exam_code", "kind", "recorded_at", "file", "flags"])
        for index, path in enumerate(crcs):
            flags = "gaze_away@600: Looked away from the screen for 20 seconds" if not index else ""
            recorded_at = exam.starts_at.isoformat()
            writer.writerow([number, EXAM_CODE, "video", recorded_at, f"media/{path.name}", flags])
    result = importer.import_export(export, actor=handler, source="cli")
    commit()
    shutil.rmtree(export)
    if result.files != len(crcs):
        raise SystemExit(f"imported {result.files} files of {len(crcs)}")

    case = access_filing.file_access_request(
        subject=student, filed_by=student, description="All my exam recordings.", all_data=True
    )
    case_services.assign(case, handler, actor=handler)
    commit()

    store = recordings_storage()
    if not isinstance(store, LocalStorage):
        raise SystemExit("the benchmark needs the local recordings store")
    files = db.session.scalars(
        select(RecordingFile)
        .join(Recording)
        .where(Recording.student_id == student.id)
        .order_by(RecordingFile.id)
    ).all()
    by_name = {path.name: crc for path, crc in crcs.items()}
    return Prepared(
        gigabytes=gigabytes,
        case_id=case.id,
        handler_id=handler.id,
        sources=[store.local_path(f.storage_key or "") for f in files],
        expected={f.id: (f.size_bytes, by_name[f.filename]) for f in files},
        storage_keys=[f.storage_key or "" for f in files],
    )


def queue_build(prepared: Prepared) -> int:
    """A new package queued for the case (an earlier build is superseded, as in the portal)."""
    from rights_portal.access import lifecycle as access_lifecycle
    from rights_portal.accounts.models import User
    from rights_portal.cases.models import Case
    from rights_portal.extensions import db
    from rights_portal.transactions import commit

    db.session.expire_all()
    case = db.session.get(Case, prepared.case_id)
    handler = db.session.get(User, prepared.handler_id)
    assert case is not None and handler is not None
    package = access_lifecycle.request_build(case, actor=handler)
    commit()
    package_id: int = package.id
    db.session.close()  # nothing of ours open while the child claims and builds
    return package_id


def check_package(prepared: Prepared, package_id: int, testzip: bool) -> str:
    """Stop unless the built ZIP holds every recording whole; return what was checked."""
    from rights_portal.access.models import AccessPackage, PackageStatus
    from rights_portal.access.storage import LocalStorage, packages_storage
    from rights_portal.extensions import db

    db.session.expire_all()
    package = db.session.get(AccessPackage, package_id)
    if package is None or package.status is not PackageStatus.READY or not package.storage_key:
        raise SystemExit(f"package {package_id} was not built: {package and package.error}")
    store = packages_storage()
    assert isinstance(store, LocalStorage)
    path = store.local_path(package.storage_key)
    problems = []
    if path.stat().st_size != package.size_bytes:
        problems.append(f"file has {path.stat().st_size} bytes, the row says {package.size_bytes}")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        media = [i for i in infos if i.filename.startswith("recordings/")]
        for file_id, (size, crc) in prepared.expected.items():
            found = [i for i in media if i.filename.endswith(f"-video-{file_id}.webm")]
            if len(found) != 1:
                problems.append(f"recording file {file_id}: {len(found)} entries")
                continue
            info = found[0]
            if (info.file_size, info.CRC, info.compress_type) != (size, crc, zipfile.ZIP_STORED):
                problems.append(f"{info.filename}: size {info.file_size}, CRC {info.CRC:08x}")
        if len(media) != len(prepared.expected):
            problems.append(f"{len(media)} recording entries for {len(prepared.expected)} files")
        others = {"data.json", "data.csv", "cover-letter.html", "cover-letter.pdf"}
        missing = others - {i.filename for i in infos}
        if missing:
            problems.append(f"missing {sorted(missing)}")
        if testzip and not problems and (bad := archive.testzip()) is not None:
            problems.append(f"testzip: {bad} is damaged")
    if problems or package.file_count != len(prepared.expected):
        raise SystemExit(f"package {package_id} is wrong: {problems or package.file_count}")
    how = "every entry read back (testzip)" if testzip else "entry list, sizes and CRC-32"
    db.session.close()
    return f"{len(media)} recordings + 4 documents, {package.size_bytes:,} bytes; {how}"


def discard_package(package_id: int) -> None:
    """Delete the built ZIP (room for the copy); the next round's request supersedes the row."""
    from rights_portal.access.models import AccessPackage
    from rights_portal.access.storage import packages_storage
    from rights_portal.extensions import db

    package = db.session.get(AccessPackage, package_id)
    if package is not None and package.storage_key:
        packages_storage().delete(package.storage_key)
    db.session.close()


def discard_recordings(prepared: Prepared) -> None:
    from rights_portal.access.storage import recordings_storage

    store = recordings_storage()
    for key in prepared.storage_keys:
        store.delete(key)


# --- the run ----------------------------------------------------------------------------------


def measure_access(
    sizes: list[int], work: Path, out: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    env = portal_env(args.db, work / "instance", work / "recordings", out / "packages")
    create_database(args.db, env)
    rows = []
    try:
        with portal(env):
            for size in sizes:
                prepared = prepare(size, work / f"export-{size}gb")
                builds, copies, checks = [], [], []
                for _round in range(args.repeat):
                    package_id = queue_build(prepared)
                    os.sync()  # each timed step starts with nothing left to write back
                    child_args = ["access", str(package_id)] + (["--trace"] if args.trace else [])
                    builds.append(run_child(child_args, env))
                    checks.append(check_package(prepared, package_id, args.testzip))
                    discard_package(package_id)
                    os.sync()
                    copies.append(timed_cp(prepared.sources, out / "copy"))
                    shutil.rmtree(out / "copy")
                discard_recordings(prepared)
                rows.append(summarise(size, prepared.nbytes, builds, copies, checks[-1]))
    finally:
        if not args.keep:
            drop_database(args.db)
    return rows


def measure_zipfile(
    sizes: list[int], work: Path, out: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        shutil.rmtree(work / "recordings", ignore_errors=True)
        crcs = make_recordings(work / "recordings", size)
        files = list(crcs)
        builds, copies = [], []
        for _round in range(args.repeat):
            target = out / "package.zip"
            os.sync()
            builds.append(run_child(["zipfile", str(target), *map(str, files)]))
            with zipfile.ZipFile(target) as archive:
                sizes_crcs = {(i.file_size, i.CRC) for i in archive.infolist()[2:]}
            if sizes_crcs != {(FILE_SIZE, crc) for crc in crcs.values()}:
                raise SystemExit("the stand-in wrote a wrong ZIP")
            target.unlink()
            os.sync()
            copies.append(timed_cp(files, out / "copy"))
            shutil.rmtree(out / "copy")
        nbytes = sum(p.stat().st_size for p in files)
        rows.append(summarise(size, nbytes, builds, copies, "entry sizes and CRC-32"))
    return rows


def summarise(
    size: int, nbytes: int, builds: list[dict[str, Any]], copies: list[float], checked: str
) -> dict[str, Any]:
    best = min(builds, key=lambda b: b["seconds"])
    row = {
        "gigabytes": size,
        "bytes": nbytes,
        "files": nbytes // FILE_SIZE,
        "build_s": best["seconds"],
        "builds_s": [b["seconds"] for b in builds],
        "peak_rss_mb": max(b["peak_rss_kb"] for b in builds) / 1024,
        "peaks_mb": [b["peak_rss_kb"] / 1024 for b in builds],
        "rss_before_mb": max(b.get("rss_before_kb", 0) for b in builds) / 1024,
        # The peak so far before the build and when the media copy and the data and letter were
        # done (highest of the rounds).
        "peak_marks_mb": {
            mark: max(b.get("peak_at_marks_kb", {}).get(mark, 0) for b in builds) / 1024
            for mark in ("0", "90", "98")
        },
        "phases": phases(best),
        "cp_s": min(copies),
        "copies_s": copies,
        "checked": checked,
        "tracemalloc": [b["tracemalloc"] for b in builds if "tracemalloc" in b],
    }
    print(
        f"{size} GB: build {row['build_s']:.1f} s (rounds {fmt(row['builds_s'])}), peak RSS"
        f" {row['peak_rss_mb']:.1f} MB (rounds {fmt(row['peaks_mb'])}), cp {row['cp_s']:.1f} s"
        f" (rounds {fmt(copies)}); ZIP checked: {checked}",
        flush=True,
    )
    return row


def fmt(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def report(
    rows: list[dict[str, Any]], args: argparse.Namespace, kind: str, before: dict[str, str]
) -> str:
    base = rows[0]
    where = args.outdir or args.workdir
    lines = [
        f"Access package build ({args.builder}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
        f" {before['cpu']}, {before['memory']}; recordings in {args.workdir}, package and copy"
        f" written to {where} ({kind}), best of {args.repeat}",
        f"Load before: {before['uptime']}",
        "",
        "| recordings | build s | build MB/s | cp s | cp MB/s | build ÷ cp throughput"
        " | peak RSS MB | RSS before build MB | peak RSS minus first size, MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mb = r["bytes"] / 1024**2
        before_mb = f"{r['rss_before_mb']:.1f}" if r["rss_before_mb"] else "—"
        lines.append(
            f"| {r['gigabytes']} GB ({r['files']} x 256 MB) | {r['build_s']:.1f}"
            f" | {mb / r['build_s']:.0f} | {r['cp_s']:.1f} | {mb / r['cp_s']:.0f}"
            f" | {r['cp_s'] / r['build_s']:.2f} | {r['peak_rss_mb']:.1f}"
            f" | {before_mb} | {r['peak_rss_mb'] - base['peak_rss_mb']:+.1f} |"
        )
    lines += ["", "Every round (build s, cp s, peak RSS MB):", ""]
    for r in rows:
        lines.append(
            f"* {r['gigabytes']} GB: build {fmt(r['builds_s'])}; cp {fmt(r['copies_s'])};"
            f" peak {fmt(r['peaks_mb'])}; ZIP checked: {r['checked']}"
        )
    if all(r["phases"] for r in rows):
        lines += [
            "",
            "Phases of the fastest build, seconds:",
            "",
            "| recordings | " + " | ".join(label for _key, label in PHASES) + " |",
            "|---|" + "---:|" * len(PHASES),
        ]
        for r in rows:
            cells = " | ".join(f"{r['phases'][key]:.1f}" for key, _label in PHASES)
            lines.append(f"| {r['gigabytes']} GB | {cells} |")
        lines += [
            "",
            "Peak RSS (VmHWM) so far at the end of each phase, MB (highest of the rounds):",
            "",
            "| recordings | before the build | after the media copy | after data and letter"
            " | at the end |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in rows:
            marks = r["peak_marks_mb"]
            lines.append(
                f"| {r['gigabytes']} GB | {marks['0']:.1f} | {marks['90']:.1f}"
                f" | {marks['98']:.1f} | {r['peak_rss_mb']:.1f} |"
            )
    for r in rows:
        for trace in r["tracemalloc"]:
            lines += ["", f"tracemalloc, {r['gigabytes']} GB: {json.dumps(trace, indent=1)}"]
    costs = getattr(args, "costs", None)
    if costs:
        lines += [
            "",
            f"CPU per GB in this process, in memory, before the builds: sha256"
            f" {costs['sha256']:.2f} s, CRC-32 {costs['crc32']:.2f} s (the build does sha256"
            " twice — verifying the recordings and hashing the ZIP — and CRC-32 once, on 2"
            " threads besides the copy).",
        ]
    lines += ["", f"Load after: {machine()['uptime']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="1,4", help="gigabytes of recordings, e.g. 1,4")
    parser.add_argument("--workdir", default=tempfile.gettempdir(), help="for the recordings")
    parser.add_argument("--outdir", help="where package and copy are written (default: workdir)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per size, best taken (1-5)")
    parser.add_argument("--builder", choices=("access", "zipfile"), default="access")
    parser.add_argument("--db", default=DEFAULT_DB, help="throwaway database (access builder)")
    parser.add_argument("--keep", action="store_true", help="keep the database (access builder)")
    parser.add_argument("--testzip", action="store_true", help="read every built entry back")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="tracemalloc in the build: Python allocations still held at the end (slow)",
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.repeat = max(1, min(args.repeat, 5))
    if not sizes or sum(sizes) > MAX_TOTAL_GB or min(sizes) < 1:
        raise SystemExit(f"sizes must be whole gigabytes, at most {MAX_TOTAL_GB} in all")
    if not args.db.startswith(DEFAULT_DB):
        raise SystemExit(f"the throwaway database's name must start with {DEFAULT_DB}")
    work = Path(args.workdir) / "rp-bench-package"
    out = Path(args.outdir or args.workdir) / "rp-bench-package-out"
    needed = 3 * max(sizes) * 1024**3
    for folder in {Path(args.workdir), Path(args.outdir or args.workdir)}:
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise SystemExit(f"not enough free space in {folder} ({free / 1024**3:.0f} GB)")
        if file_system(folder) == "tmpfs" and memory_available() < needed + 2 * 1024**3:
            raise SystemExit(f"not enough memory for {needed / 1024**3:.0f} GB on tmpfs {folder}")
    kind = file_system(Path(args.outdir or args.workdir))
    before = machine()
    args.costs = primitive_costs()
    for folder in (work, out):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    try:
        measure = measure_access if args.builder == "access" else measure_zipfile
        rows = measure(sizes, work, out, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    text = report(rows, args, kind, before)
    print(text)
    stem = "package-memory" if args.builder == "access" else "package-memory-zipfile"
    print(f"written to {write_result(f'{stem}-{kind}.md', text)}")


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.package_memory")
    main()
