"""The staff queue under gunicorn with concurrent clients, next to a trivial endpoint.

    .venv/bin/python -m bench.queue --db rp_bench

Serves the portal with gunicorn on 127.0.0.1 (``DATABASE_URL`` = the bench database, the same
sync workers as the Dockerfile), logs in as a case handler (a real POST to /login, so the
clients carry a real session cookie) and loads each URL for ``--seconds`` with ``--clients``
keep-alive connections: ``wrk`` when installed (Debian package ``wrk``), otherwise a small
Python load generator (threads with ``http.client``). Reports p50/p95/p99 latency and requests
per second for ``/healthz`` (the reference, measured first and last) and for queue pages: the
default page (open cases), a keyset page deep in the open queue, filtered pages (status, type,
assignee, overdue), a page deep in all cases, and an exam-board member's queue (their
programmes only).

It also runs each queue page once in-process and saves the SQL it issues with
``EXPLAIN (ANALYZE, BUFFERS)`` to ``bench/results/queue-explain.txt``, with the number of queries
per page. Bounded: every run stops after ``--seconds``; traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

from bench.common import (
    BENCH_PASSWORD,
    BOARD_EMAIL,
    DEFAULT_DB,
    HANDLER_EMAIL,
    RESULTS,
    ROOT,
    app_env,
    bin_path,
    load_average,
    machine,
    make_app,
    percentile,
    pg_url,
    write_result,
)

HOST = "127.0.0.1"
P95_TARGET_MS = 50.0
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d errors=%d non2xx=%d p50=%d p95=%d p99=%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class Run:
    """One load run of one URL."""

    name: str
    path: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    load: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- the server and a logged-in session ------------------------------------------------------


def start_gunicorn(
    db: str,
    port: int,
    workers: int,
    log: Path,
    *,
    worker_class: str = "sync",
    threads: int = 1,
    access_log: bool = False,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Serve ``db`` with gunicorn; the Dockerfile's configuration is 3 sync workers with an
    access log on stdout (``bench/queue_load.py`` passes ``access_log=True``)."""
    env = app_env(db, "/tmp/bench-queue-instance") | (env_extra or {})
    process = subprocess.Popen(
        [
            bin_path("gunicorn"),
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--timeout",
            "60",
            *(["--access-logfile", "-"] if access_log else []),
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        try:
            status, _body, _headers = request(port, "GET", "/healthz")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop(process)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the gunicorn we started (its own process group), by its pid only."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode(), response.getheaders()
    finally:
        conn.close()


def _cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    jar = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key] = rest.split(";", 1)[0]
    return jar


def login(port: int, email: str, after: str = "/staff/queue") -> str:
    """Log in through the form like a browser; return the Cookie header for the session.

    ``after`` is a page the account may open, asked once to check the session works.
    """
    status, page, headers = request(port, "GET", "/login")
    jar = _cookies(headers)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or match is None:
        raise SystemExit("the login page has no CSRF token")
    form = urlencode({"csrf_token": match.group(1), "email": email, "password": BENCH_PASSWORD})
    status, _page, headers = request(
        port,
        "POST",
        "/login",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        },
    )
    jar.update(_cookies(headers))
    if status != 302 or "session" not in jar:
        raise SystemExit(f"login as {email} failed ({status})")
    cookie = f"session={jar['session']}"
    status, page, headers = request(port, "GET", after, headers={"Cookie": cookie})
    if status != 200:
        raise SystemExit(f"{after} answered {status} after login")
    # The first page after login puts the CSRF secret into the session: keep the cookie a
    # browser would keep, or every later page makes a new secret and sets the cookie again.
    jar.update(_cookies(headers))
    return f"session={jar['session']}"


# --- load generators -------------------------------------------------------------------------


def run_wrk(port: int, name: str, path: str, cookie: str, clients: int, seconds: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        "wrk",
        f"--threads={min(2, clients)}",
        f"--connections={clients}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={script.name}",
        *(["--header", f"Cookie: {cookie}"] if cookie else []),
        f"http://{HOST}:{port}{path}",
    ]
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    Path(script.name).unlink()
    found = re.search(r"RESULT (.*)", output)
    if found is None:
        raise SystemExit(f"wrk gave no result:\n{output}")
    values = dict(item.split("=") for item in found.group(1).split())
    return Run(
        name=name,
        path=path,
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50"]) / 1000,
        p95_ms=int(values["p95"]) / 1000,
        p99_ms=int(values["p99"]) / 1000,
        errors=int(values["errors"]) + int(values["non2xx"]),
        load=load_average(),
    )


def run_python(port: int, name: str, path: str, cookie: str, clients: int, seconds: int) -> Run:
    """Threads with keep-alive connections; each request's latency is recorded."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < deadline and len(mine) < 1_000_000:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Run(
        name=name,
        path=path,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors[0],
        load=load_average(),
    )


# --- the pages measured -------------------------------------------------------------------------


def scenarios(db: str) -> list[tuple[str, str, str]]:
    """(name, path, who) of the queue pages; cursors are taken from the data itself."""
    with psycopg.connect(pg_url(db)) as conn:
        open_cursor = conn.execute(
            "SELECT effective_due, id FROM cases"
            " WHERE status IN ('received', 'in_review', 'awaiting_requester')"
            " ORDER BY effective_due, id OFFSET 2000 LIMIT 1"
        ).fetchone()
        all_cursor = conn.execute(
            "SELECT effective_due, id FROM cases ORDER BY id OFFSET"
            " (SELECT count(*) / 2 FROM cases) LIMIT 1"
        ).fetchone()
        smallest, largest = (
            conn.execute(
                f"SELECT programme_id FROM cases GROUP BY programme_id ORDER BY count(*) {order}"
                " LIMIT 1"
            ).fetchone()[0]  # type: ignore[index]
            for order in ("ASC", "DESC")
        )
    assert open_cursor is not None and all_cursor is not None
    deep_open = f"{open_cursor[0].isoformat()}_{open_cursor[1]}"
    deep_all = f"{all_cursor[0].isoformat()}_{all_cursor[1]}"
    return [
        ("queue: open cases, first page", "/staff/queue", "handler"),
        ("queue: open cases, page 41 (keyset)", f"/staff/queue?after={deep_open}", "handler"),
        ("queue: unassigned and overdue", "/staff/queue?assignee=none&overdue=1", "handler"),
        ("queue: closed access requests", "/staff/queue?status=closed&type=access", "handler"),
        (
            "queue: all statuses, middle of 1M (keyset)",
            f"/staff/queue?status=all&after={deep_all}",
            "handler",
        ),
        (
            "queue: smallest programme, all statuses",
            f"/staff/queue?status=all&programme={smallest}",
            "handler",
        ),
        (
            "queue: largest programme, closed",
            f"/staff/queue?status=closed&programme={largest}",
            "handler",
        ),
        ("queue: exam board, own programmes", "/staff/queue", "board"),
    ]


def explain(db: str, pages: list[tuple[str, str, str]]) -> str:
    """Run each page in-process, capture its SQL and EXPLAIN (ANALYZE, BUFFERS) the case queries."""
    from flask_login import login_user
    from sqlalchemy import event, select

    app = make_app(db)
    from rights_portal.accounts.models import User
    from rights_portal.extensions import db as sa_db

    out = [f"EXPLAIN (ANALYZE, BUFFERS) of the staff queue, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    with app.app_context():
        engine = sa_db.engine
        emails = {"handler": HANDLER_EMAIL, "board": BOARD_EMAIL}
        for name, path, who in pages:
            captured: list[tuple[str, Any]] = []

            def capture(
                conn: Any,
                cursor: Any,
                statement: str,
                params: Any,
                *rest: Any,
                into: Any = captured,
            ) -> None:
                into.append((statement, params))
                conn.info["bench_started"] = time.perf_counter()

            sql_seconds = [0.0]

            def done(conn: Any, *rest: Any, total: Any = sql_seconds) -> None:
                total[0] += time.perf_counter() - conn.info.pop(
                    "bench_started", time.perf_counter()
                )

            with app.test_request_context(path):
                user = sa_db.session.scalars(select(User).where(User.email == emails[who])).one()
                login_user(user)
                view = app.view_functions["staff.queue"]
                view()  # warm: compiled statements, template, translations
                event.listen(engine, "before_cursor_execute", capture)
                event.listen(engine, "after_cursor_execute", done)
                try:
                    started = time.perf_counter()
                    view()
                    elapsed = (time.perf_counter() - started) * 1000
                finally:
                    event.remove(engine, "before_cursor_execute", capture)
                    event.remove(engine, "after_cursor_execute", done)
                sa_db.session.rollback()
            out.append(f"\n=== {name}: GET {path} as {who}")
            out.append(
                f"{len(captured)} SQL statements; {elapsed:.1f} ms in-process (one warm run), of"
                f" which {sql_seconds[0] * 1000:.1f} ms waiting for SQL and the rest Python"
                " (request, reading the rows, template; bench/queue_profile.py splits it)"
            )
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                for number, (statement, params) in enumerate(captured, start=1):
                    if "FROM cases" not in statement:
                        out.append(f"--- {number}: {' '.join(statement.split())[:160]}")
                        continue
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    plan = "\n".join(r[0] for r in cursor.fetchall())
                    out.append(f"--- {number}: {' '.join(statement.split())}")
                    out.append(f"    parameters: {params}")
                    out.append(plan)
                raw.rollback()
            finally:
                raw.close()
    return "\n".join(out) + "\n"


def measure_server(
    db: str, port: int, args: argparse.Namespace, load: Any, seconds: int, log: Path
) -> list[Run]:
    """Serve ``db`` with gunicorn, log in, and load the references and every queue page."""
    pages = scenarios(db)
    if args.only:
        pages = [p for p in pages if args.only in p[0]]
    server = start_gunicorn(db, port, args.workers, log)
    runs: list[Run] = []
    try:
        cookies = {
            who: login(port, email)
            for who, email in (("handler", HANDLER_EMAIL), ("board", BOARD_EMAIL))
        }
        for _name, path, who in pages:  # warm the workers and the caches
            for _ in range(args.workers * 2):
                request(port, "GET", path, headers={"Cookie": cookies[who]})
        references = [
            ("/healthz (reference)", "/healthz"),
            # Two more references to locate the cost: one database round trip, one HTML page.
            ("/readyz (SELECT 1)", "/readyz"),
            ("/login (form page)", "/login"),
        ]
        for name, path in references:
            runs.append(load(port, name, path, "", args.clients, seconds))
        for name, path, who in pages:
            runs.append(load(port, name, path, cookies[who], args.clients, seconds))
            print(
                f"{db} {name}: {runs[-1].rps:.0f} req/s, p95 {runs[-1].p95_ms:.1f} ms", flush=True
            )
        runs.append(
            load(port, "/healthz (reference, again)", "/healthz", "", args.clients, seconds)
        )
    finally:
        stop(server)
    return runs


def table(db: str, runs: list[Run], compare: dict[str, Run] | None, compare_db: str) -> list[str]:
    reference_rps = (runs[0].rps + runs[-1].rps) / 2
    header = (
        "| URL | req/s | ÷ /healthz req/s | p50 ms | p95 ms | p99 ms | p95 ÷ 50 ms target"
        + (f" | p50 ÷ same page on {compare_db}" if compare else "")
        + " | errors | load |"
    )
    lines = [f"Database {db}:", "", header, "|---|" + "---:|" * (8 if compare else 7) + "---|"]
    for run in runs:
        scale = ""
        if compare:
            other = compare.get(run.name)
            scale = f" | {run.p50_ms / other.p50_ms:.2f}" if other else " | "
        lines.append(
            f"| {run.name} | {run.rps:.0f} | {run.rps / reference_rps:.2f} | {run.p50_ms:.1f}"
            f" | {run.p95_ms:.1f} | {run.p99_ms:.1f} | {run.p95_ms / P95_TARGET_MS:.2f}{scale}"
            f" | {run.errors} | {run.load} |"
        )
    lines += [
        "",
        f"/healthz reference: {reference_rps:.0f} req/s,"
        f" p95 {(runs[0].p95_ms + runs[-1].p95_ms) / 2:.1f} ms",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument(
        "--compare-db", help="also serve this database (e.g. rp_bench_100k), same pages, same run"
    )
    parser.add_argument("--port", type=int, default=5015)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (Dockerfile: 3)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--seconds", type=int, default=10, help="per URL (at most 120)")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--only", help="run only pages whose name contains this")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args(argv)
    seconds = max(1, min(args.seconds, 120))
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    load = run_wrk if tool == "wrk" else run_python

    RESULTS.mkdir(exist_ok=True)
    before = machine()
    log = RESULTS / "queue-gunicorn.log"
    compare: dict[str, Run] | None = None
    compare_runs: list[Run] = []
    if args.compare_db:
        compare_runs = measure_server(args.compare_db, args.port, args, load, seconds, log)
        compare = {run.name: run for run in compare_runs}
    runs = measure_server(args.db, args.port, args, load, seconds, log)

    lines = [
        f"Staff queue under gunicorn ({args.workers} sync workers), {args.clients} concurrent"
        f" clients ({tool}), {seconds} s per URL",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;"
        f" machine: {before['cpu']}, {before['memory']}",
        f"Load before: {before['uptime']}",
        "",
        *table(args.db, runs, compare, args.compare_db or ""),
    ]
    if compare_runs:
        lines += table(args.compare_db, compare_runs, None, "")
    lines.append(f"Load after: {machine()['uptime']}")
    report = "\n".join(lines) + "\n"
    print(report)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    write_result(f"queue-{stamp}.md", report)
    write_result(
        f"queue-{stamp}.json",
        json.dumps([run.__dict__ | {"rps": run.rps} for run in runs + compare_runs], indent=2)
        + "\n",
    )
    if not args.no_explain:
        path = write_result("queue-explain.txt", explain(args.db, scenarios(args.db)))
        print(f"EXPLAIN saved to {path}")


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.queue")
    main()
