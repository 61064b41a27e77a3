"""Benchmark: the DPO dashboard (/staff/dpo) with many cases in PostgreSQL.

Creates (drops and recreates) its own database, builds the schema from the migrations, bulk-loads
cases, recordings and flags with COPY, runs ANALYZE, and then times requests of the dashboard page
through the Flask test client (the whole request: permissions, every aggregate query, the SVG
charts and the template), next to a trivial endpoint of the same app for scale. It also times each
figure's query on its own, so a slow one is easy to spot.

    .venv/bin/python bench/dashboard.py --cases 100000 --requests 20

Target (issue 13): under 200 ms per dashboard request with 100,000 cases. This is a benchmark,
not a test: run it on a quiet machine; results depend on the hardware.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DB", "rp_bench_dpo")
PASSWORD = "bench-password-2026"


def recreate_database() -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (DATABASE,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def build_app():
    os.environ.setdefault("RIGHTS_PORTAL_INSTANCE", "/tmp/rp-bench-dpo-instance")
    from rights_portal import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "CELERY": {"task_always_eager": True, "broker_url": "memory://"},
            "MAIL_BACKEND": "file",
        }
    )


def seed(app, n_cases: int, today: date) -> None:
    from flask_migrate import upgrade

    from rights_portal.accounts.services import hash_password

    rng = random.Random(13)
    with app.app_context():
        upgrade()
    dsn = f"{SERVER}/{DATABASE}"
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO exam_boards (id, name, requires_second_signoff)"
            " SELECT g, 'Board ' || g, false FROM generate_series(1, 5) g"
        )
        cur.execute(
            "INSERT INTO programmes (id, code, name, exam_board_id, alternative_max_working_days)"
            " SELECT g, 'P' || g, 'Programme ' || g, 1 + g % 5, 10 FROM generate_series(1, 10) g"
        )
        cur.execute(
            "INSERT INTO proctoring_tools"
            " (id, name, vendor, purpose, data_categories, retention_days, outside_eea)"
            " VALUES (1, 'ProctorCam', 'Vendor B.V.', '', '[]', 90, false)"
        )
        cur.execute(
            "INSERT INTO exams"
            " (id, course_code, title, programme_id, starts_at, proctoring_tool_id)"
            " SELECT g, 'C' || g, 'Exam ' || g, 1 + g % 10, now() - (g || ' days')::interval, 1"
            " FROM generate_series(1, 200) g"
        )
        dpo_hash = hash_password(PASSWORD)
        cur.execute(
            "INSERT INTO users"
            " (id, email, password_hash, full_name, role, locale, is_active_account, created_at)"
            " VALUES (1, 'dpo@bench.example', %s, 'Bench DPO', 'dpo', 'en', true, now())",
            (dpo_hash,),
        )
        cur.execute(
            "INSERT INTO users"
            " (id, email, password_hash, full_name, role, locale, is_active_account, created_at)"
            " SELECT 1 + g, 'handler' || g || '@bench.example', 'x', 'Handler ' || g,"
            " 'case_handler', 'nl', true, now()"
            " FROM generate_series(1, 20) g"
        )
        n_students = max(n_cases // 20, 100)
        cur.execute(
            "INSERT INTO users (id, email, password_hash, full_name, role, locale,"
            " student_number, programme_id, is_active_account, created_at)"
            " SELECT 100 + g, 'student' || g || '@bench.example', 'x', 'Student ' || g,"
            " 'student', 'nl', 's' || g, 1 + g %% 10, true, now()"
            " FROM generate_series(1, %s) g",
            (n_students,),
        )
        columns = (
            "id, reference, case_type, status, channel, subject_id, filed_by_id, exam_id,"
            " programme_id, description, received_at, received_on, statutory_due, exam_bound_due,"
            " effective_due, urgent, extension_months, extension_reason, extension_explanation,"
            " assignee_id, outcome, decision_reasons, legal_basis, decided_by_id, decided_at,"
            " created_at"
        )
        with cur.copy(f"COPY cases ({columns}) FROM STDIN") as copy:
            for i in range(1, n_cases + 1):
                received_on = today - timedelta(days=rng.randrange(730))
                received_at = datetime.combine(received_on, clock_time(9), tzinfo=UTC)
                case_type = rng.choices(["access", "objection", "alternative_exam"], [6, 3, 1])[0]
                exam_id = rng.randrange(1, 201) if case_type != "access" else None
                programme_id = 1 + (exam_id or i) % 10
                student = 101 + rng.randrange(n_students)
                extension = rng.random() < 0.1
                months = rng.choice([1, 2]) if extension else 0
                statutory = received_on + timedelta(days=30 + 30 * months)
                recent = received_on > today - timedelta(days=45)
                open_case = recent or rng.random() < 0.03
                if open_case:
                    status = rng.choice(["received", "in_review", "awaiting_requester"])
                    outcome = decided_at = reasons = basis = decider = None
                else:
                    status = rng.choice(["decided", "closed"])
                    outcome = rng.choice(["granted", "partly_granted", "rejected"])
                    decided_at = received_at + timedelta(
                        days=rng.randrange(1, 50), hours=rng.randrange(10)
                    )
                    reasons, basis, decider = "reasons", "AVG", 2 + rng.randrange(20)
                assignee = 2 + rng.randrange(20) if status != "received" else None
                copy.write_row(
                    (
                        i,
                        f"RP-B-{i:08d}",
                        case_type,
                        status,
                        "portal",
                        student,
                        student,
                        exam_id,
                        programme_id,
                        "",
                        received_at,
                        received_on,
                        statutory,
                        None,
                        statutory,
                        False,
                        months,
                        rng.choice(["complexity", "number_of_requests"]) if extension else None,
                        "explained" if extension else None,
                        assignee,
                        outcome,
                        reasons,
                        basis,
                        decider,
                        decided_at,
                        now,
                    )
                )
        n_recordings = n_cases // 2
        with cur.copy(
            "COPY recordings (id, student_id, exam_id, recorded_at, retention_until, created_at)"
            " FROM STDIN"
        ) as copy:
            for i in range(1, n_recordings + 1):
                recorded = today - timedelta(days=rng.randrange(120))
                copy.write_row(
                    (
                        i,
                        101 + rng.randrange(n_students),
                        rng.randrange(1, 201),
                        datetime.combine(recorded, clock_time(10), tzinfo=UTC),
                        recorded + timedelta(days=90),
                        now,
                    )
                )
        with cur.copy(
            "COPY automated_flags"
            " (id, recording_id, code, description, raised_at, review_status) FROM STDIN"
        ) as copy:
            for i in range(1, n_recordings // 2 + 1):
                copy.write_row(
                    (
                        i,
                        rng.randrange(1, n_recordings + 1),
                        "gaze",
                        "looked away",
                        now - timedelta(days=rng.randrange(365)),
                        rng.choice(["unreviewed", "no_irregularity", "irregularity_suspected"]),
                    )
                )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{name:<28} n={len(ms):<3} median {statistics.median(ms):7.1f} ms"
        f"  p95 {p95:7.1f} ms  min {ordered[0]:7.1f} ms  max {ordered[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    args = parser.parse_args()

    today = date.today()
    if not args.reuse:
        recreate_database()
    app = build_app()
    if not args.reuse:
        started = time.perf_counter()
        seed(app, args.cases, today)
        print(f"seeded {args.cases:,} cases in {time.perf_counter() - started:.1f} s")
    with app.app_context():
        from rights_portal.extensions import db

        total = db.session.execute(sa.text("SELECT count(*) FROM cases")).scalar_one()
    client = app.test_client()
    response = client.post("/login", data={"email": "dpo@bench.example", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    assert client.get("/staff/dpo").status_code == 200  # warm-up: caches, templates
    assert client.get("/staff/dpo").status_code == 200

    print(f"cases in the database: {total:,}; machine load: {os.getloadavg()[0]:.2f}")
    print(summary("GET /healthz (trivial)", timed(lambda: client.get("/healthz"), args.requests)))
    print(summary("GET /staff/dpo", timed(lambda: client.get("/staff/dpo"), args.requests)))
    programme = {"programme": "3"}
    print(
        summary(
            "GET /staff/dpo?programme=3",
            timed(lambda: client.get("/staff/dpo", query_string=programme), args.requests),
        )
    )
    with app.test_request_context():
        from flask_login import login_user

        from rights_portal.accounts.models import User
        from rights_portal.dpo import figures, views

        login_user(db.session.get(User, 1))
        filters, _raw, _errors = views.read_filters({})
        for key, builder in figures.BUILDERS.items():
            print(summary(f"  figure {key}", timed(lambda b=builder: b(filters), 5)))


if __name__ == "__main__":
    main()
