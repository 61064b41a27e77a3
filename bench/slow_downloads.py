"""Do slow downloads stall the pages? The staff queue's throughput with and without 3 slow clients.

    flock /tmp/helpers/bench.lock .venv/bin/python -m bench.slow_downloads --db rp_bench_downloads

Issue 23: three slow downloads of the audit CSV stopped the whole portal under the three sync
gunicorn workers of the old Dockerfile, because a download holds its worker until the last byte
has gone out. This script serves the portal on a copy of the bench database (``--db``; never
``rp_bench`` itself) in three set-ups, one after the other, on the same data:

* ``sync-3``: the old production command, ``gunicorn --workers 3`` (sync workers): the cause;
* ``gthread``: the production config now, ``gunicorn -c gunicorn.conf.py`` (threaded workers,
  processes from the CPU count), the app streaming the files itself;
* ``gthread+nginx``: the compose file's set-up, nginx (``deploy/nginx.conf``) in front of the
  same gunicorn with ``SENDFILE_VIA_ACCEL=true``: the app checks and audits each download and
  nginx sends the bytes (skipped when nginx is not installed).

Before serving, it prepares through the portal's own services, in a temporary instance folder
whose stores hold real files: a student with one recording of ``--recording-mb`` (random bytes,
stored with its sha256), an access request for it assigned to the bench's case handler and a
package built by the real builder (the recording plus the data export and the letter), and an
export of the audit trail (the background export's real task, for ``--csv-actor``'s events).

Each set-up: a handler logs in through the form; the queue (``/staff/queue``, the default open
cases page) is loaded for ``--seconds`` by ``--clients`` closed-loop keep-alive clients (``wrk``
when installed, else Python threads) — the reference. Then three slow clients start, each
reading at ``--rate`` KB/s: the handler downloading the package (``access.staff_download``), the
handler playing the recording (``access.open_file``), the DPO downloading the audit CSV export
(``exports.download``); after a settling second and a half the queue is loaded again for
``--seconds`` while they read, and they are closed. The two alternate ``--rounds`` times (the
machine is shared: alternating keeps its drift out of the ratio). The figure is the throughput
of all runs with the slow clients over all runs without (target ≥ 0.8); the report lists how
much each slow client had read, to show they were reading all along.

Bounded: a few runs of ``--seconds`` each; everything is on 127.0.0.1; the temporary folder,
files and the rows made are in the database copy and the temp folder (deleted at the end).
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BENCH_PASSWORD,
    HANDLER_EMAIL,
    ROOT,
    app_env,
    bin_path,
    machine,
    write_result,
)
from bench.queue import Run, login, run_python, run_wrk

HOST = "127.0.0.1"
DPO_EMAIL = "dpo1@staff.bench.example"
QUEUE_PATH = "/staff/queue"
TARGET = 0.8
PROTECTED_DBS = {"rp_bench", "rp_bench_100k"}


@dataclass
class Files:
    """What the slow clients download: paths on the portal and the sizes of the files."""

    package_path: str
    package_bytes: int
    recording_path: str
    recording_bytes: int
    export_path: str
    export_bytes: int


@dataclass
class SlowClient:
    """A client that reads a download at a fixed rate until told to stop."""

    name: str
    path: str
    cookie: str
    rate: int  # bytes per second
    received: int = 0
    status: int | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self, port: int) -> None:
        self.thread = threading.Thread(target=self._run, args=(port,), daemon=True)
        self.thread.start()

    def _run(self, port: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        try:
            conn.request("GET", self.path, headers={"Cookie": self.cookie})
            response = conn.getresponse()
            self.status = response.status
            piece = max(1024, self.rate // 8)
            started = time.monotonic()
            while not self.stop.is_set():
                data = response.read(piece)
                if not data:
                    break
                self.received += len(data)
                ahead = self.received / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    self.stop.wait(ahead)
        except (OSError, http.client.HTTPException) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()

    def finish(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


# --- preparing the files, in-process -------------------------------------------------------------


def instance_env(db: str, instance: Path, accel: bool) -> dict[str, str]:
    env = app_env(db, str(instance))
    env.update(
        RECORDINGS_DIR=str(instance / "recordings"),
        PACKAGES_DIR=str(instance / "packages"),
        EXPORTS_DIR=str(instance / "exports"),
        SENDFILE_VIA_ACCEL="true" if accel else "false",
        # The bench logs in many times from one address.
        LOGIN_ADDRESS_RATE_LIMIT="100000 per minute",
    )
    return env


def write_random(path: Path, size: int) -> None:
    """Incompressible bytes, written in chunks (memory independent of the size)."""
    chunk = os.urandom(4 * 1024 * 1024)
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


def prepare(db: str, instance: Path, recording_mb: int, csv_actor: str) -> Files:
    """A recording, a built package with it and a ready audit-trail export; their paths."""
    os.environ.update(instance_env(db, instance, accel=False))
    from sqlalchemy import select

    from rights_portal import create_app
    from rights_portal.access import filing as access_filing
    from rights_portal.access import lifecycle as access_lifecycle
    from rights_portal.access import package as access_package
    from rights_portal.access.storage import recordings_storage
    from rights_portal.accounts.models import Role
    from rights_portal.accounts.services import create_user, find_by_email
    from rights_portal.cases import services as case_services
    from rights_portal.exams.models import Exam, FileKind, Recording, RecordingFile
    from rights_portal.exports import services as export_services
    from rights_portal.exports.models import ExportKind
    from rights_portal.extensions import db as database
    from rights_portal.transactions import commit

    app = create_app()
    with app.app_context():
        handler = find_by_email(HANDLER_EMAIL)
        dpo = find_by_email(DPO_EMAIL)
        exam = database.session.scalars(
            select(Exam).where(Exam.programme_id.is_not(None)).order_by(Exam.id).limit(1)
        ).first()
        if handler is None or dpo is None or exam is None:
            raise SystemExit(f"{db} has no {HANDLER_EMAIL}, {DPO_EMAIL} or exam: not a bench db")
        tag = secrets.token_hex(4)
        student = create_user(
            email=f"slow-{tag}@bench.example",
            password=BENCH_PASSWORD,
            full_name="Bench Slow Downloads",
            role=Role.STUDENT,
            locale="en",
            student_number=f"s8{int(tag, 16) % 10**6:06d}",
            programme_id=exam.programme_id,
        )
        commit()
        source = instance / "recording.webm"
        write_random(source, recording_mb * 1024 * 1024)
        with source.open("rb") as stream:
            stored = recordings_storage().put(stream)
        source.unlink()
        recording = Recording(
            student_id=student.id,
            exam_id=exam.id,
            recorded_at=exam.starts_at,
            retention_until=exam.starts_at.date().replace(year=exam.starts_at.year + 1),
        )
        file = RecordingFile(
            recording=recording,
            kind=FileKind.VIDEO,
            filename="webcam.webm",
            media_type="video/webm",
            size_bytes=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
        )
        database.session.add_all([recording, file])
        case = access_filing.file_access_request(
            subject=student, filed_by=student, description="bench", all_data=True
        )
        case_services.assign(case, handler, actor=handler)
        package = access_lifecycle.request_build(case, actor=handler)
        commit()
        if access_package.build(package.id) is None:
            raise SystemExit("the package was not built")
        commit()
        database.session.refresh(package)
        if package.size_bytes is None:
            raise SystemExit(f"the package failed: {package.error}")
        export = export_services.request_export(
            ExportKind.AUDIT_TRAIL,
            {"actor": csv_actor},
            actor=dpo,
            filename="audit-trail.csv",
            media_type="text/csv",
            locale="en",
        )
        commit()
        export_services.build(export.id)
        commit()
        database.session.refresh(export)
        if export.size_bytes is None:
            raise SystemExit(f"the export failed: {export.error}")
        base = f"/staff/cases/{case.reference}/access"
        files = Files(
            package_path=f"{base}/packages/{package.id}/zip",
            package_bytes=package.size_bytes,
            recording_path=f"{base}/files/{file.id}",
            recording_bytes=stored.size,
            export_path=f"/staff/exports/{export.id}/download",
            export_bytes=export.size_bytes,
        )
        database.session.remove()
        database.engine.dispose()
    return files


# --- serving -------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_healthz(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {log}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer on /healthz within 60 s; see {log}")


def start_gunicorn(
    mode: str, env: dict[str, str], port: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    if mode == "sync-3":
        # gunicorn reads ./gunicorn.conf.py by default, and its 8 threads would silently turn
        # sync workers into gthread ones: no config file, one thread.
        args = ["--config", "/dev/null", "--workers", "3", "--worker-class", "sync"]
        args += ["--threads", "1", "--timeout", "60"]
    else:
        args = ["--config", "gunicorn.conf.py"]
    process = subprocess.Popen(
        [bin_path("gunicorn"), *args, "--bind", f"{HOST}:{port}", "wsgi:app"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"{HOST}:{port}"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_healthz(port, process, log)
    described = " ".join(args)
    if mode != "sync-3":
        threads = env.get("GUNICORN_THREADS", "8")
        described += f" (gthread, {workers_of(env)} workers x {threads} threads)"
    return process, described


def workers_of(env: dict[str, str]) -> int:
    import multiprocessing

    return int(env.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() + 1)


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def start_nginx(
    folder: Path, port: int, app_port: int, instance: Path, log: Path
) -> subprocess.Popen[bytes]:
    """deploy/nginx.conf pointed at this run's ports and folders."""
    import pwd

    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("/tmp/", f"{folder}/")
    text = text.replace("server web:8000;", f"server {HOST}:{app_port};")
    text = text.replace("listen 8080;", f"listen {HOST}:{port};")
    text = text.replace("alias /srv/instance/;", f"alias {instance}/;")
    text = text.replace("error_log /dev/stderr warn;", f"error_log {folder}/error.log warn;")
    text = text.replace("access_log /dev/stdout;", "access_log off;")
    if os.geteuid() == 0:  # the workers read the 0600 files as the files' owner
        text = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" + text
    conf = folder / "nginx.conf"
    conf.write_text(text)
    binary = nginx_binary()
    assert binary is not None
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_healthz(port, process, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server we started, by its own pid (it has its own process group)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM if "gunicorn" in str(process.args) else signal.SIGQUIT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- one set-up ----------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    server: str
    alone: list[Run]
    with_slow: list[Run]
    slow: list[list[SlowClient]]
    healthz_with_slow: Run | None = None

    @staticmethod
    def rate(runs: list[Run]) -> float:
        seconds = sum(run.seconds for run in runs)
        return sum(run.requests for run in runs) / seconds if seconds else 0.0

    @property
    def ratio(self) -> float:
        alone = self.rate(self.alone)
        return self.rate(self.with_slow) / alone if alone else 0.0


def load(port: int, path: str, cookie: str, clients: int, seconds: int, name: str) -> Run:
    if shutil.which("wrk"):
        return run_wrk(port, name, path, cookie, clients, seconds)
    return run_python(port, name, path, cookie, clients, seconds)


def measure(
    mode: str, args: argparse.Namespace, files: Files, instance: Path, work: Path
) -> Result:
    """Alternate ``--rounds`` times: the queue alone, then with three fresh slow downloads.

    Alternating (rather than one run of each) keeps the machine's drift — other people's work
    on a shared machine — out of the ratio as far as it can.
    """
    env = instance_env(args.db, instance, accel=mode == "gthread+nginx")
    app_port = free_port()
    log = work / f"{mode}-gunicorn.log"
    gunicorn, described = start_gunicorn(mode, env, app_port, log)
    nginx = None
    port = app_port
    try:
        if mode == "gthread+nginx":
            folder = work / "nginx"
            folder.mkdir(exist_ok=True)
            port = free_port()
            nginx = start_nginx(folder, port, app_port, instance, work / "nginx.log")
            described += "; nginx in front, SENDFILE_VIA_ACCEL=true"
        handler = login(port, HANDLER_EMAIL)
        dpo = login_dpo(port)
        load(port, QUEUE_PATH, handler, args.clients, 2, "warm-up")
        result = Result(mode, described, [], [], [])
        rate = args.rate * 1024
        for round_number in range(args.rounds):
            result.alone.append(
                load(port, QUEUE_PATH, handler, args.clients, args.seconds, "queue alone")
            )
            slow = [
                SlowClient("package (handler)", files.package_path, handler, rate),
                SlowClient("recording (handler)", files.recording_path, handler, rate),
                SlowClient("audit CSV export (DPO)", files.export_path, dpo, rate),
            ]
            for client in slow:
                client.start(port)
            time.sleep(1.5)
            result.with_slow.append(
                load(port, QUEUE_PATH, handler, args.clients, args.seconds, "queue with slow")
            )
            if round_number == args.rounds - 1:
                result.healthz_with_slow = load(
                    port, "/healthz", "", args.clients, 3, "/healthz with 3 slow downloads"
                )
            for client in slow:
                client.finish()
            result.slow.append(slow)
        return result
    finally:
        if nginx is not None:
            stop(nginx)
        stop(gunicorn)


def login_dpo(port: int) -> str:
    return login(port, DPO_EMAIL, after="/staff/exports")


# --- the report --------------------------------------------------------------------------------


def report(
    results: list[Result], files: Files, args: argparse.Namespace, before: dict[str, str]
) -> str:
    mb = 1024 * 1024
    lines = [
        f"Slow downloads and the staff queue, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
        f" {before['cpu']}, {before['memory']}; database {args.db}",
        f"Load before: {before['uptime']}",
        "",
        f"Queue: `{QUEUE_PATH}` (the handler's default page), {args.clients} closed-loop keep-alive"
        f" clients ({'wrk' if shutil.which('wrk') else 'Python threads'}), {args.seconds} s per"
        f" run, alternating {args.rounds} times: alone, then with 3 slow clients each reading"
        f" {args.rate} KB/s (started afresh each round): the package"
        f" ({files.package_bytes / mb:.0f} MB), the recording"
        f" ({files.recording_bytes / mb:.0f} MB), the audit-trail CSV export"
        f" ({files.export_bytes / mb:.1f} MB). The ratio is the requests per second of all runs"
        " with the slow clients over those of all runs without.",
        "",
        "| set-up | server | queue alone req/s (p95 ms per run) | with 3 slow downloads req/s"
        " (p95 ms per run) | ratio | target ≥ 0.8 | /healthz during them req/s |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        health = f"{r.healthz_with_slow.rps:.0f}" if r.healthz_with_slow else "—"
        alone_p95 = " / ".join(f"{run.p95_ms:.0f}" for run in r.alone)
        slow_p95 = " / ".join(f"{run.p95_ms:.0f}" for run in r.with_slow)
        lines.append(
            f"| {r.mode} | `{r.server}` | {Result.rate(r.alone):.1f} ({alone_p95})"
            f" | {Result.rate(r.with_slow):.1f} ({slow_p95}) | **{r.ratio:.2f}**"
            f" | {'yes' if r.ratio >= TARGET else 'no'} | {health} |"
        )
    lines += ["", "Every run, req/s (load average when it ended):", ""]
    for r in results:
        runs = "; ".join(
            f"alone {a.rps:.1f} ({a.load.split()[0]}), with {w.rps:.1f} ({w.load.split()[0]})"
            for a, w in zip(r.alone, r.with_slow, strict=True)
        )
        errors = sum(run.errors for run in r.alone + r.with_slow)
        lines.append(f"* {r.mode}: {runs}; failed or non-2xx requests: {errors}")
    lines += ["", "The slow clients (HTTP status, KB read by the end of each round):", ""]
    for r in results:
        rounds = " | ".join(
            ", ".join(
                f"{c.name} {c.status} {c.received / 1024:.0f}"
                + (f" ({c.error})" if c.error else "")
                for c in slow
            )
            for slow in r.slow
        )
        lines.append(f"* {r.mode}: {rounds}")
    lines += ["", f"Load after: {machine()['uptime']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", default="rp_bench_downloads", help="a COPY of the bench database")
    parser.add_argument("--clients", type=int, default=4, help="closed-loop queue clients")
    parser.add_argument("--seconds", type=int, default=8, help="per load run (3-60)")
    parser.add_argument("--rounds", type=int, default=3, help="alone/with pairs (1-5)")
    parser.add_argument("--rate", type=int, default=64, help="KB/s each slow client reads")
    parser.add_argument("--recording-mb", type=int, default=300, help="size of the recording")
    parser.add_argument(
        "--csv-actor", default=HANDLER_EMAIL, help="whose events the audit CSV export holds"
    )
    parser.add_argument(
        "--modes", default="sync-3,gthread,gthread+nginx", help="comma-separated set-ups"
    )
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args(argv)
    if args.db in PROTECTED_DBS:
        raise SystemExit(f"never on {args.db} itself: make a copy (CREATE DATABASE … TEMPLATE)")
    args.seconds = max(3, min(args.seconds, 60))
    args.rounds = max(1, min(args.rounds, 5))
    modes = [m for m in args.modes.split(",") if m]
    if "gthread+nginx" in modes and nginx_binary() is None:
        print("nginx is not installed: skipping gthread+nginx (apt-get install nginx-light)")
        modes.remove("gthread+nginx")
    work = Path(args.workdir) / f"rp-bench-slow-{secrets.token_hex(3)}"
    instance = work / "instance"
    instance.mkdir(parents=True)
    before = machine()
    try:
        files = prepare(args.db, instance, args.recording_mb, args.csv_actor)
        print(f"prepared: {files}", flush=True)
        results = []
        for mode in modes:
            result = measure(mode, args, files, instance, work)
            print(
                f"{mode}: alone {Result.rate(result.alone):.1f} req/s, with slow"
                f" {Result.rate(result.with_slow):.1f} req/s, ratio {result.ratio:.2f}",
                flush=True,
            )
            results.append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(results, files, args, before)
    print(text)
    print(f"written to {write_result('slow-downloads.md', text)}")


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.slow_downloads")
    main()
