"""The staff queue as 200 staff use it: an open-loop load at a fixed rate, and its throughput
next to ``/account/security`` (docs/rules.md#targets).

    .venv/bin/python -m bench.queue_load --db rp_bench

Serves the portal with gunicorn as the Dockerfile does (3 sync workers, access log on stdout;
``--worker-class`` / ``--threads`` to try another configuration), logs in ``--staff`` simulated
staff through the real login form — case handlers and exam-board members of the bench data,
each with a session of their own — and runs two measurements on the same server:

1. **Throughput, closed loop, A/B/A**: ``/account/security`` (the cheapest authenticated page
   with the same layout: the reference), then the queue mix, then the reference again, each for
   ``--closed-seconds`` with ``--clients`` connections that send the next request as soon as the
   previous answer is in (``wrk`` with a Lua script when installed, otherwise Python threads).
   The queue's figure is its rate ÷ the mean of the two reference rates around it.
2. **Latency, open loop**: every simulated member of staff loads one queue page every
   ``--period`` seconds (200 staff, 10 s: 20 requests per second offered), at times fixed
   before the run; latency is counted from the time a request was *meant* to be sent, so a
   slow answer that delays the next request counts against the server (no coordinated
   omission). Reports p50/p95/p99, the achieved rate and how late the generator itself was.

The mix of pages, per member of staff (seeded, so every run asks the same): the default open
queue, "Next page" from the page they looked at last (keyset), filters by status, type,
assignee, programme and overdue; exam-board members see their own programmes' queue. Every
answer must be a 200 that shows the queue. At the end every session is logged out again.
Saves ``bench/results/queue-load-<stamp>.md`` (and ``.json``). Bounded in time; only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench.common import (
    DEFAULT_DB,
    RESULTS,
    load_average,
    machine,
    percentile,
    pg_url,
    write_result,
)
from bench.queue import (
    HOST,
    P95_TARGET_MS,
    WRK_SCRIPT,
    login,
    request,
    start_gunicorn,
    stop,
)

REFERENCE_PATH = "/account/security"
THROUGHPUT_TARGET = 0.7
NEXT_RE = re.compile(r'href="(/staff/queue\?[^"]*after=[^"]+)"')
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
STATUSES = ("received", "in_review", "awaiting_requester", "closed", "all")
TYPES = ("access", "objection", "alternative_exam", "human_review")


@dataclass
class Staff:
    """One simulated member of staff: an account, a session of its own, where they are."""

    email: str
    board: bool
    programmes: list[int]
    cookie: str = ""
    next_page: str = ""
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self) -> str:
        """The next page this person opens, drawn from the mix."""
        draw = self.rng.random()
        if draw < 0.25 and self.next_page:
            return self.next_page  # "Next page" on the page they looked at last
        if draw < 0.55:
            return "/staff/queue"
        if draw < 0.65:
            return "/staff/queue?" + urlencode({"status": self.rng.choice(STATUSES)})
        if draw < 0.75:
            return "/staff/queue?" + urlencode({"type": self.rng.choice(TYPES)})
        if draw < 0.83:
            return "/staff/queue?" + urlencode({"assignee": self.rng.choice(("me", "none"))})
        if draw < 0.91:
            programme = str(self.rng.choice(self.programmes))
            status = self.rng.choice(("open", "open", "all", "closed"))
            return "/staff/queue?" + urlencode({"status": status, "programme": programme})
        extra = {"assignee": "none"} if self.rng.random() < 0.5 else {}
        return "/staff/queue?" + urlencode({"overdue": "1", **extra})

    def saw(self, path: str, page: str) -> None:
        """Remember the page's "Next page" link (keyset cursor) for a later click."""
        found = NEXT_RE.search(page)
        self.next_page = found.group(1).replace("&amp;", "&") if found else ""


def make_staff(db: str, count: int, board_share: float, seed: int) -> tuple[list[Staff], str]:
    """``count`` simulated staff over the bench's handler and board accounts (several sessions
    per account when there are more people than accounts), each with a seeded random stream;
    and the handler account kept apart for the reference page (one session of its own)."""
    with psycopg.connect(pg_url(db)) as conn:
        handlers = [
            r[0]
            for r in conn.execute(
                "SELECT email FROM users WHERE role = 'case_handler' AND email LIKE"
                " 'handler%%@staff.bench.example' ORDER BY id"
            )
        ]
        all_programmes = [r[0] for r in conn.execute("SELECT id FROM programmes ORDER BY id")]
        board_rows = conn.execute(
            "SELECT u.email, array_agg(p.id ORDER BY p.id) FROM users u"
            " JOIN exam_board_members m ON m.user_id = u.id"
            " JOIN programmes p ON p.exam_board_id = m.board_id"
            " WHERE u.email LIKE 'board%%@staff.bench.example' GROUP BY u.id, u.email"
            " ORDER BY u.id"
        ).fetchall()
    if len(handlers) < 2 or not board_rows:
        raise SystemExit(f"{db} has no bench staff accounts (bench/generate.py)")
    # /account/security lists the account's open sessions: its reference account has only one.
    reference = handlers.pop()
    boards = round(count * board_share)
    people = [
        Staff(email=handlers[i % len(handlers)], board=False, programmes=all_programmes)
        for i in range(count - boards)
    ] + [
        Staff(
            email=board_rows[i % len(board_rows)][0],
            board=True,
            programmes=board_rows[i % len(board_rows)][1],
        )
        for i in range(boards)
    ]
    for number, person in enumerate(people):
        person.rng = random.Random(seed * 100_003 + number)
    return people, reference


# --- CPU spent serving: the gunicorn workers and their PostgreSQL backends ----------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def serving_pids(db: str, master: int) -> list[int]:
    """The gunicorn master's workers, and the PostgreSQL backends connected to ``db`` (the
    bench's own copy: nobody else's connections)."""
    workers = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children = (task / "children").read_text().split()
        workers += [int(pid) for pid in children]
    with psycopg.connect(pg_url(db)) as conn:
        backends = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                (db,),
            )
        ]
    return workers + backends


def serving_cpu(pids: list[int]) -> float:
    """CPU seconds the serving processes have used so far."""
    return sum(_cpu_seconds(pid) for pid in pids)


# --- closed loop: maximum throughput ----------------------------------------------------------

WRK_MIX = """
local entries = {ENTRIES}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7)
  table.insert(threads, thread)
end
function init(args)
  counter = tonumber(wrk.thread:get("offset")) or 0
end
function request()
  counter = counter + 1
  local e = entries[(counter % #entries) + 1]
  return wrk.format("GET", e[1], {["Cookie"] = e[2]})
end
"""
WRK_MIX += WRK_SCRIPT  # the same RESULT line bench.queue reads


@dataclass
class Closed:
    """One closed-loop run: as many requests as ``clients`` connections get answered."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    load: str
    cpu_seconds: float = 0.0  # of the workers and their database backends, during the phase

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """CPU per request served (server and database), what throughput is the inverse of."""
        return self.cpu_seconds / self.requests * 1000 if self.requests else float("nan")


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def closed_wrk(
    port: int, name: str, entries: list[tuple[str, str]], clients: int, seconds: int
) -> Closed:
    lua = ",".join(f"{{{_lua_string(p)},{_lua_string(c)}}}" for p, c in entries)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_MIX.replace("{ENTRIES}", "{" + lua + "}"))
    command = [
        "wrk",
        f"--threads={min(2, clients)}",
        f"--connections={clients}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={script.name}",
        f"http://{HOST}:{port}/",
    ]
    try:
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    finally:
        Path(script.name).unlink()
    found = re.search(r"RESULT (.*)", output)
    if found is None:
        raise SystemExit(f"wrk gave no result:\n{output}")
    values = dict(item.split("=") for item in found.group(1).split())
    return Closed(
        name=name,
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50"]) / 1000,
        p95_ms=int(values["p95"]) / 1000,
        p99_ms=int(values["p99"]) / 1000,
        errors=int(values["errors"]) + int(values["non2xx"]),
        load=load_average(),
    )


def closed_python(
    port: int, name: str, entries: list[tuple[str, str]], clients: int, seconds: int
) -> Closed:
    """Threads, each sending the next entry as soon as the previous answer is in."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        mine: list[float] = []
        failed = 0
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        number = offset
        while time.monotonic() < deadline:
            path, cookie = entries[number % len(entries)]
            number += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                failed += response.status != 200
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Closed(
        name=name,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors[0],
        load=load_average(),
    )


# --- open loop: latency at a fixed offered rate -------------------------------------------------


@dataclass
class Open:
    """The open-loop run: latencies from the intended send time, and the generator's lag."""

    offered_rps: float
    seconds: float
    sent: int
    ok: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    service_p95_ms: float
    lag_p99_ms: float
    by_kind: dict[str, tuple[int, float, float]]
    load_before: str
    load_after: str


def kind_of(path: str) -> str:
    """A short name of a queue page for the breakdown by kind."""
    if "after=" in path:
        return "next page (keyset)"
    if "?" not in path:
        return "default open queue"
    query = path.split("?", 1)[1]
    for key in ("programme", "overdue", "assignee", "type", "status"):
        if f"{key}=" in query:
            return f"filter: {key}"
    return "other"


def open_loop(port: int, staff: list[Staff], period: float, seconds: float, seed: int) -> Open:
    """Each member of staff loads one page every ``period`` s, at times fixed in advance."""
    rng = random.Random(seed)
    start = time.monotonic() + 1.0
    schedule: list[tuple[float, int]] = []
    for number in range(len(staff)):
        t = rng.uniform(0, period)
        while t < seconds:
            schedule.append((start + t, number))
            t += period
    heapq.heapify(schedule)
    results: list[tuple[str, float, float, bool]] = []  # kind, from intended, service, ok
    lags: list[float] = []
    lock = threading.Lock()

    def one(intended: float, number: int) -> None:
        person = staff[number]
        with person.lock:
            path = person.pick()
        sent = time.monotonic()
        ok = False
        page = ""
        try:
            # A connection per page, as a browser gets from sync workers (they close it).
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("GET", path, headers={"Cookie": person.cookie})
            response = conn.getresponse()
            page = response.read().decode()
            conn.close()
            ok = response.status == 200 and "<table" in page
        except (OSError, http.client.HTTPException):
            ok = False
        done = time.monotonic()
        if ok:
            with person.lock:
                person.saw(path, page)
        with lock:
            results.append((kind_of(path), done - intended, done - sent, ok))

    load_before = load_average()
    with ThreadPoolExecutor(max_workers=64) as pool:
        while schedule:
            intended, number = heapq.heappop(schedule)
            wait = intended - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            lags.append(max(0.0, time.monotonic() - intended))
            pool.submit(one, intended, number)
    elapsed = time.monotonic() - start
    total = [r[1] for r in results if r[3]]
    total.sort()
    service = sorted(r[2] for r in results if r[3])
    lags.sort()
    by_kind: dict[str, tuple[int, float, float]] = {}
    for kind in sorted({r[0] for r in results}):
        values = sorted(r[1] for r in results if r[0] == kind and r[3])
        by_kind[kind] = (len(values), percentile(values, 50) * 1000, percentile(values, 95) * 1000)
    return Open(
        offered_rps=len(lags) / seconds,
        seconds=elapsed,
        sent=len(results),
        ok=len(total),
        errors=len(results) - len(total),
        p50_ms=percentile(total, 50) * 1000,
        p95_ms=percentile(total, 95) * 1000,
        p99_ms=percentile(total, 99) * 1000,
        max_ms=(total[-1] if total else float("nan")) * 1000,
        service_p95_ms=percentile(service, 95) * 1000,
        lag_p99_ms=percentile(lags, 99) * 1000,
        by_kind=by_kind,
        load_before=load_before,
        load_after=load_average(),
    )


# --- the run ------------------------------------------------------------------------------------


def logout(port: int, cookie: str) -> None:
    status, page, _headers = request(port, "GET", "/staff/queue", headers={"Cookie": cookie})
    token = CSRF_RE.search(page)
    if status == 200 and token:
        request(
            port,
            "POST",
            "/logout",
            urlencode({"csrf_token": token.group(1)}),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )


def queue_mix(port: int, people: list[Staff], count: int) -> list[tuple[str, str]]:
    """``count`` (path, cookie) pairs of the mix, each requested once (warming the workers), the
    "Next page" links followed as people would; the closed loop cycles through them."""
    entries = []
    for number in range(count):
        person = people[number % len(people)]
        path = person.pick()
        status, page, _headers = request(port, "GET", path, headers={"Cookie": person.cookie})
        if status != 200 or "<table" not in page:
            raise SystemExit(f"{path} answered {status}")
        person.saw(path, page)
        entries.append((path, person.cookie))
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--port", type=int, default=5016)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (Dockerfile: 3)")
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (Dockerfile: sync)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (>1: gthread)")
    parser.add_argument(
        "--no-access-log", action="store_true", help="the Dockerfile logs each request"
    )
    parser.add_argument("--staff", type=int, default=200, help="simulated staff, each logged in")
    parser.add_argument(
        "--board-share", type=float, default=0.2, help="share of exam-board members"
    )
    parser.add_argument(
        "--period", type=float, default=10.0, help="seconds between one person's pages"
    )
    parser.add_argument("--seconds", type=int, default=60, help="open-loop run (at most 600)")
    parser.add_argument("--clients", type=int, default=6, help="closed-loop connections")
    parser.add_argument(
        "--closed-seconds", type=int, default=15, help="per closed-loop phase (at most 120)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="queue phases, each between references"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args(argv)
    open_seconds = max(5, min(args.seconds, 600))
    closed_seconds = max(2, min(args.closed_seconds, 120))
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    closed = closed_wrk if tool == "wrk" else closed_python

    RESULTS.mkdir(exist_ok=True)
    before = machine()
    people, reference_email = make_staff(args.db, args.staff, args.board_share, args.seed)
    log = RESULTS / "queue-load-gunicorn.log"
    server = start_gunicorn(
        args.db,
        args.port,
        args.workers,
        log,
        worker_class=args.worker_class,
        threads=args.threads,
        access_log=not args.no_access_log,
        env_extra={"LOGIN_ADDRESS_RATE_LIMIT": "100000 per minute"},
    )
    config = (
        f"gunicorn {args.workers} workers, --worker-class {args.worker_class},"
        f" --threads {args.threads}, access log {'off' if args.no_access_log else 'on'}"
    )
    runs: list[Closed] = []
    reference_cookie = ""
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2 * args.workers) as pool:  # argon2: ~0.1 s each
            cookies = pool.map(lambda person: login(args.port, person.email), people)
            for person, cookie in zip(people, cookies, strict=True):
                person.cookie = cookie
        login_seconds = time.monotonic() - started
        reference_cookie = login(port=args.port, email=reference_email)
        status, page, _headers = request(
            args.port, "GET", REFERENCE_PATH, headers={"Cookie": reference_cookie}
        )
        listed_sessions = page.count('action="/account/sessions/') if status == 200 else -1
        mix = queue_mix(args.port, people, 200)
        for _ in range(args.workers * 3):  # warm the reference on every worker too
            request(args.port, "GET", REFERENCE_PATH, headers={"Cookie": reference_cookie})
        reference = [(REFERENCE_PATH, reference_cookie)]
        pids = serving_pids(args.db, server.pid)

        def phase(name: str, entries: list[tuple[str, str]]) -> Closed:
            cpu_before = serving_cpu(pids)
            run = closed(args.port, name, entries, args.clients, closed_seconds)
            run.cpu_seconds = serving_cpu(pids) - cpu_before
            return run

        runs.append(phase(f"{REFERENCE_PATH} (A)", reference))
        for round_number in range(1, max(1, args.rounds) + 1):
            runs.append(phase(f"queue mix (B{round_number})", mix))
            runs.append(phase(f"{REFERENCE_PATH} (A)", reference))
            print(", ".join(f"{r.name} {r.rps:.0f} req/s" for r in runs[-3:]), flush=True)
        for person in people:
            person.next_page = ""
        result = open_loop(args.port, people, args.period, open_seconds, args.seed)
    finally:
        for person in [
            *people,
            Staff(email=reference_email, board=False, programmes=[], cookie=reference_cookie),
        ]:
            if person.cookie:
                with contextlib.suppress(OSError):
                    logout(args.port, person.cookie)
        stop(server)

    lines = [
        f"Staff queue under load, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {before['cpu']}, {before['memory']}; {config}; load generator: {tool} (closed"
        " loop), Python threads (open loop)",
        f"Load before: {before['uptime']}",
        f"{len(people)} simulated staff ({sum(p.board for p in people)} exam-board members) over"
        f" {len({p.email for p in people})} accounts, logged in through the form in"
        f" {login_seconds:.1f} s; the reference is {reference_email}'s {REFERENCE_PATH}, which"
        f" listed {listed_sessions} open session(s).",
        "",
        f"## Throughput, closed loop ({args.clients} connections, {closed_seconds} s a phase;"
        f" the queue mix cycles through {len(mix)} pages of the mix)",
        "",
        f"| phase | req/s | ÷ {REFERENCE_PATH} (mean of the phases around it) | CPU ms per"
        " request (workers + database) | reference's CPU ÷ this | p50 ms | p95 ms | p99 ms"
        " | errors | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ratios, cpu_ratios = [], []
    for index, run in enumerate(runs):
        if run.name.startswith("queue"):
            ref = (runs[index - 1].rps + runs[index + 1].rps) / 2
            ratio = run.rps / ref if ref else float("nan")
            ref_cpu = (runs[index - 1].cpu_ms + runs[index + 1].cpu_ms) / 2
            cpu_ratio = ref_cpu / run.cpu_ms
            ratios.append(ratio)
            cpu_ratios.append(cpu_ratio)
            shown, shown_cpu = f"**{ratio:.2f}**", f"**{cpu_ratio:.2f}**"
        else:
            shown = shown_cpu = "1"
        lines.append(
            f"| {run.name} | {run.rps:.0f} | {shown} | {run.cpu_ms:.2f} | {shown_cpu}"
            f" | {run.p50_ms:.1f} | {run.p95_ms:.1f} | {run.p99_ms:.1f} | {run.errors}"
            f" | {run.load} |"
        )
    lines += [
        "",
        f"Queue ÷ reference, throughput: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" by CPU per request: {', '.join(f'{r:.2f}' for r in cpu_ratios)}"
        f" (target ≥ {THROUGHPUT_TARGET}). The machine is shared: other processes take CPU from"
        " one phase and not the next, which moves the throughput ratio; the CPU the server and"
        " its database backends spend per request does not depend on them (on a machine of its"
        " own, throughput is the inverse of it).",
        "",
        f"## Latency, open loop ({len(people)} staff, one page each {args.period:g} s,"
        f" {open_seconds} s)",
        "",
        f"Offered {result.offered_rps:.1f} req/s; {result.sent} sent, {result.ok} answered 200"
        f" with the queue, {result.errors} errors; generator lag p99 {result.lag_p99_ms:.1f} ms.",
        "",
        "| latency from the intended send time | p50 ms | p95 ms | p99 ms | max ms | p95 ÷ 50 ms |",
        "|---|---:|---:|---:|---:|---:|",
        f"| all pages | {result.p50_ms:.1f} | {result.p95_ms:.1f} | {result.p99_ms:.1f}"
        f" | {result.max_ms:.1f} | **{result.p95_ms / P95_TARGET_MS:.2f}** |",
        "",
        "| kind of page | requests | p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {kind} | {n} | {p50:.1f} | {p95:.1f} |"
            for kind, (n, p50, p95) in result.by_kind.items()
        ),
        "",
        f"Service time alone (from the actual send) p95 {result.service_p95_ms:.1f} ms.",
        f"Load during the open loop: {result.load_before} before, {result.load_after} after.",
        f"Load after: {machine()['uptime']}",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    write_result(f"queue-load-{stamp}.md", report)
    write_result(
        f"queue-load-{stamp}.json",
        json.dumps(
            {
                "config": config,
                "closed": [asdict(r) | {"rps": r.rps} for r in runs],
                "ratios": ratios,
                "cpu_ratios": cpu_ratios,
                "open": asdict(result),
            },
            indent=2,
        )
        + "\n",
    )


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.queue_load")
    main()
