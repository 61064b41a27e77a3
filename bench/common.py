"""Shared bits of the benchmarks: database URLs, the app factory bound to a bench database, and
small measuring helpers (machine load, peak memory, percentiles).

The benchmarks run outside the test suite (pytest only collects ``tests/``) and only ever talk to
127.0.0.1.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PG_BASE = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DEFAULT_DB = "rp_bench"
BENCH_PASSWORD = "bench-password-2026"  # bench accounts only, in a throwaway database
HANDLER_EMAIL = "handler1@staff.bench.example"
BOARD_EMAIL = "board1-1@staff.bench.example"


def pg_url(db: str) -> str:
    """The libpq URL of a bench database (for psycopg)."""
    return f"{PG_BASE}/{db}"


def sa_url(db: str) -> str:
    """The SQLAlchemy URL of a bench database (for the app's DATABASE_URL)."""
    return pg_url(db).replace("postgresql://", "postgresql+psycopg://", 1)


def app_env(db: str, instance: str) -> dict[str, str]:
    """Environment for running the portal (flask, gunicorn) against a bench database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=sa_url(db),
        RIGHTS_PORTAL_INSTANCE=instance,
        RIGHTS_PORTAL_ENV="development",
        # Benchmarks must not be throttled or mail anybody.
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    env.pop("SMTP_HOST", None)
    return env


def make_app(db: str, instance: str = "/tmp/bench-instance") -> Any:
    """The portal's app bound to a bench database, for in-process benchmarks."""
    os.environ.update(app_env(db, instance))
    from rights_portal import create_app

    return create_app()


def bin_path(name: str) -> str:
    """A console script of the virtualenv that runs this interpreter (flask, gunicorn)."""
    return str(Path(sys.executable).parent / name)


def reference_date(db: str) -> date:
    """The 'today' the generator built the database around (kept in ``bench_meta``)."""
    import psycopg

    with psycopg.connect(pg_url(db)) as conn:
        row = conn.execute("SELECT value FROM bench_meta WHERE key = 'reference_date'").fetchone()
    if row is None:
        raise SystemExit(f"{db} was not filled by bench/generate.py")
    return date.fromisoformat(row[0])


def meta(db: str) -> dict[str, str]:
    """Everything the generator wrote down about a bench database."""
    import psycopg

    with psycopg.connect(pg_url(db)) as conn:
        return dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())


def machine() -> dict[str, str]:
    """What the figures were measured on, including the load at that moment (``uptime``)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gb = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": mem_gb,
        "python": platform.python_version(),
        "uptime": uptime.strip(),
    }


def load_average() -> str:
    """The 1/5/15-minute load averages, as ``uptime`` shows them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def write_result(name: str, text: str) -> Path:
    """Save a result file under ``bench/results/`` and return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(text)
    return path
