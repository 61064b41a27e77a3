"""Fill a separate PostgreSQL database with an institution's worth of cases and their audit trail.

    .venv/bin/python -m bench.generate --cases 1000000 --db rp_bench --replace

Creates the database (``--replace`` drops it first), builds the schema with ``flask db upgrade``
(DATABASE_URL pointing at it), then bulk-loads through psycopg 3 ``COPY``: users, exam boards,
programmes, exams, recordings and flags, N cases in id order = order of receipt, the reminder rows
earlier sweeps left behind, and a valid hash chain of audit events (each event's ``prev_hash`` and
``hash`` computed here with :func:`rights_portal.audit.services.canonical_bytes_from_columns`,
checked against the reference serialization for the first events).

Distributions (docs/rules.md#users, a large Dutch university):

* cases received over ``--years`` years (default 8) with exam-period peaks (January, June,
  November), few at weekends and in August, a slowly growing intake; ``--open`` of them
  (default 12,000, independent of N: the backlog depends on the monthly intake, not on history)
  still open, received in the last five weeks or a small overdue/extended tail, the rest decided
  or closed;
* types: 40 % access, 25 % objection, 20 % alternative exam, 15 % human review of a flag;
  channels: 85 % portal, 12 % e-mail, 3 % letter; 4 % of access requests extended (R4);
* 60 programmes of Zipf-like size under 12 exam boards; ``N / 4`` students, 0.5 % under 16 and
  represented by a guardian (R20); 25 case handlers, 4 members per board, 2 DPOs, an admin;
* due dates computed with the portal's own rules (:mod:`rights_portal.cases.deadlines`: R2, R3,
  R4, R7), decisions mostly in time and 7 % late (those escalated), reminders as a daily sweep
  would have recorded them up to yesterday (R9, R10).

While loading, foreign-key triggers are off (``session_replication_role = replica``: the data is
consistent by construction) and secondary indexes are dropped and rebuilt afterwards, which is
how bulk loads are done; CHECK constraints stay on and check every row. Bounded: the script does
a fixed amount of work for the N given and refuses N above 5,000,000.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import random
import subprocess
import sys
import time
from bisect import bisect_left
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

import psycopg

from bench.common import (
    BENCH_PASSWORD,
    DEFAULT_DB,
    RESULTS,
    ROOT,
    app_env,
    bin_path,
    machine,
    pg_url,
)
from rights_portal.accounts.services import hash_password
from rights_portal.audit.models import canonical_json
from rights_portal.audit.services import (
    GENESIS_HASH,
    canonical_bytes_from_columns,
    canonical_payload_bytes,
)
from rights_portal.cases import deadlines
from rights_portal.cases.models import CaseType
from rights_portal.clock import AMSTERDAM, today_local

MAX_CASES = 5_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
DAY_US = 86_400 * US
OFFSETS = (7, 2, 0)  # the portal's default REMINDER_OFFSETS
BULK_TABLES = (
    "users",
    "exams",
    "recordings",
    "automated_flags",
    "cases",
    "reminders",
    "audit_events",
)

N_HANDLERS = 25
N_BOARDS = 12
MEMBERS_PER_BOARD = 4
N_PROGRAMMES = 60
TYPES = [
    (CaseType.ACCESS, 0.40),
    (CaseType.OBJECTION, 0.25),
    (CaseType.ALTERNATIVE_EXAM, 0.20),
    (CaseType.HUMAN_REVIEW, 0.15),
]
CHANNELS = [("portal", 0.85), ("email", 0.12), ("letter", 0.03)]
MONTH_WEIGHT = [1.4, 0.8, 0.9, 1.2, 0.9, 1.5, 1.0, 0.35, 0.8, 1.0, 1.3, 0.9]
WEEKDAY_WEIGHT = [1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.25]


def _words(text: str, sep: str = " ") -> tuple[str, ...]:
    return tuple(text.split(sep))


GIVEN = _words(
    "Sanne Daan Emma Lucas Julia Sem Tess Finn Lotte Levi Anouk Milan Fleur Bram Noor Thijs "
    "Sophie Jesse Eva Ruben Lisa Stijn Iris Tim Femke Joris Maud Niels Roos Koen Yara Mohamed "
    "Fatima Youssef Aylin Emre Priya Arjun Mei Wei"
)
FAMILY = _words(
    "de Vries|Jansen|de Jong|Bakker|van Dijk|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|"
    "Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|van der Meer|"
    "van den Berg|Kok|Jacobs|Vermeulen|El Amrani|Yilmaz|Kaya|Öztürk|Bouali|Nguyen|Pranoto",
    "|",
)
PROGRAMME_NAMES = _words(
    "Psychologie|Informatica|Rechtsgeleerdheid|Geneeskunde|Economie|Bedrijfskunde|Biologie|"
    "Wiskunde|Natuurkunde|Scheikunde|Geschiedenis|Filosofie|Sociologie|Communicatiewetenschap|"
    "Pedagogiek|Bestuurskunde|Farmacie|Tandheelkunde|Aardwetenschappen|Kunstmatige intelligentie",
    "|",
)
DESCRIPTIONS = {
    CaseType.ACCESS: (
        "Ik wil graag een kopie van alle opnames, schermafbeeldingen en logbestanden van mijn "
        "online tentamen, en de uitkomst van de automatische controle.",
        "Please send me a copy of the recordings and the data the proctoring tool kept about me.",
        "Inzage in mijn gegevens: welke gegevens bewaart de instelling van mijn tentamens?",
    ),
    CaseType.OBJECTION: (
        "Ik maak bezwaar tegen online proctoring: ik woon met mijn familie in één kamer en kan "
        "niemand uit beeld houden.",
        "I object to being filmed at home during the exam because of my medical situation.",
        "Bezwaar tegen cameratoezicht thuis; mijn huisgenoten komen onvermijdelijk in beeld.",
    ),
    CaseType.ALTERNATIVE_EXAM: (
        "Graag een alternatief tentamen op de campus in plaats van online met proctoring.",
        "I request an alternative exam without proctoring, for example an oral exam.",
    ),
    CaseType.HUMAN_REVIEW: (
        "De melding dat ik wegkeek klopt niet: ik keek naar mijn kladpapier, zoals toegestaan.",
        "The flag was raised because my internet connection dropped; please review it.",
    ),
}
ASSIGN_BEFORE = '{"assignee_id":null,"status":"received"}'
DECIDE_BEFORE = '{"outcome":null,"status":"in_review"}'
WITHDRAW_BEFORE = {True: '{"status":"received"}', False: '{"status":"in_review"}'}
CLOSED_AFTER = '{"status":"closed"}'
GROUNDS = "Het tentamen kan alleen op deze wijze fraudebestendig worden afgenomen."
REASONS = (
    "Na zorgvuldige afweging van de belangen en de stukken in het dossier is besloten zoals "
    "hieronder aangegeven; de motivering staat in de bijgevoegde brief."
)
REASONS_JSON = canonical_json(REASONS)


def weighted_picker(items: list[tuple[Any, float]]) -> Any:
    """A fast draw from a fixed weighted list."""
    values = [v for v, _w in items]
    cum = list(accumulate(w for _v, w in items))
    total = cum[-1]

    def pick(rng: random.Random) -> Any:
        return values[bisect_left(cum, rng.random() * total)]

    return pick


def iso_us(us: int) -> str:
    """ISO text in UTC with microseconds, exactly as the verifier spells ``occurred_at``."""
    return (EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")


_MIDNIGHT: dict[date, int] = {}
_HOUR_DAY: dict[int, date] = {}


def local_us(day: date, seconds: float) -> int:
    """Microseconds since the epoch of ``seconds`` after local (Amsterdam) midnight of ``day``.

    The offset of midnight is used for the whole day (a DST change at 02:00-03:00 shifts that
    day's later moments by an hour, which no benchmark can tell).
    """
    midnight = _MIDNIGHT.get(day)
    if midnight is None:
        moment = datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM)
        midnight = _MIDNIGHT[day] = int((moment - EPOCH).total_seconds()) * US
    return midnight + int(seconds * US)


def utc_day(us: int) -> date:
    """The Amsterdam calendar date of a moment (cached per hour)."""
    hour = us // (3600 * US)
    day = _HOUR_DAY.get(hour)
    if day is None:
        day = _HOUR_DAY[hour] = deadlines.local_date(EPOCH + timedelta(hours=hour))
    return day


def js(value: Any) -> str:
    """Canonical JSON of one value (a string, number, null or list)."""
    return canonical_json(value)


N = "\\N"  # COPY's NULL


def esc(value: str) -> str:
    """Escape text for COPY's text format (only backslashes can occur in what we write)."""
    return value.replace("\\", "\\\\") if "\\" in value else value


def cell(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return esc(str(value))


def row(*values: Any) -> str:
    return "\t".join(cell(v) for v in values) + "\n"


class Sink:
    """One COPY in progress on its own connection, fed with text lines in large chunks."""

    def __init__(self, stack: ExitStack, conn: psycopg.Connection[Any], table: str, cols: str):
        self.copy = stack.enter_context(conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN"))
        self.lines: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= 5000:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.copy.write("".join(self.lines))
            self.count += len(self.lines)
            self.lines.clear()


def loader(db: str) -> psycopg.Connection[Any]:
    """A connection for bulk loading: FK triggers off for this session (superuser)."""
    conn = psycopg.connect(pg_url(db))
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET synchronous_commit = off")
    return conn


def create_database(db: str, replace: bool) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if exists and not replace:
            raise SystemExit(f"database {db} exists; pass --replace to drop and rebuild it")
        if exists:
            conn.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    env = app_env(db, f"/tmp/bench-generate-{db}")
    subprocess.run(
        [bin_path("flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def drop_secondary_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop indexes and unique constraints of the bulk tables; return the SQL to rebuild them."""
    rebuild: list[str] = []
    constraints = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c
            WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)""",
        (list(BULK_TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
             FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        (list(BULK_TABLES),),
    ).fetchall()
    for name, definition in indexes:
        conn.execute(f"DROP INDEX {name}")
        rebuild.append(definition)
    return rebuild


class Generator:
    """Builds every row from one seeded random stream; ids are assigned in order of receipt."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        # Open cases draw from a stream of their own, so a database of 100,000 and one of
        # 1,000,000 cases get the very same open cases and due dates (the sweep's comparison).
        self.open_rng = random.Random(args.seed * 7919 + 1)
        self.today = today_local()
        self.now_us = int((datetime.now(UTC) - EPOCH).total_seconds() * US)
        self.password = hash_password(BENCH_PASSWORD)
        self.pick_type = weighted_picker(TYPES)
        self.pick_channel = weighted_picker(CHANNELS)
        self._statutory: dict[date, date] = {}
        self._extended: dict[tuple[date, int], date] = {}
        self._exam_bound: dict[int, date] = {}
        self._urgent: dict[tuple[date, date], bool] = {}
        self.exams: dict[tuple[int, date, int], int] = {}
        self.exam_rows: list[str] = []
        self.recording_rows: list[str] = []
        self.flag_rows: list[str] = []
        self.counters: dict[int, int] = {}
        self.reminder_id = 0
        # The DPO digests that announced the escalations, one per day: [id, cases, written at].
        self.digests: dict[date, list[int]] = {}
        self.events: list[tuple[Any, ...]] = []  # heap of (time_us, seq, *columns)
        self.event_seq = 0
        self.event_id = 0
        self.prev_hash = GENESIS_HASH
        # The JSON text below is spelled by hand for speed; the first events of every action are
        # checked against the portal's reference serialization (json.dumps, sorted keys).
        self.self_checked: dict[str, int] = {}
        self._to_json: dict[tuple[str, ...], str] = {}

    # --- people and organisation ------------------------------------------------------------

    def name(self) -> str:
        return f"{self.rng.choice(GIVEN)} {self.rng.choice(FAMILY)}"

    def organisation(self, main: psycopg.Connection[Any]) -> None:
        """Boards, programmes, staff, students and guardians (small enough for one COPY each)."""
        rng = self.rng
        created = iso_us(self.now_us - 9 * 365 * DAY_US)
        with main.cursor().copy(
            "COPY exam_boards (id, name, requires_second_signoff) FROM STDIN"
        ) as c:
            for b in range(1, N_BOARDS + 1):
                c.write(row(b, f"Examencommissie {PROGRAMME_NAMES[b - 1]}", b % 4 == 0))
        self.programme_weight = [1 / (p**0.8) for p in range(1, N_PROGRAMMES + 1)]
        with main.cursor().copy(
            "COPY programmes (id, code, name, exam_board_id, alternative_max_working_days)"
            " FROM STDIN"
        ) as c:
            for p in range(1, N_PROGRAMMES + 1):
                level = ("BSc", "MSc", "LLB", "LLM")[p % 4]
                subject = PROGRAMME_NAMES[(p - 1) % len(PROGRAMME_NAMES)]
                c.write(row(p, f"P{p:03d}", f"{level} {subject} {p}", (p - 1) % N_BOARDS + 1, 10))
        with main.cursor().copy(
            "COPY proctoring_tools (id, name, kind, vendor, vendor_email, purpose,"
            " data_categories, retention_days, outside_eea, transfer_safeguards) FROM STDIN"
        ) as c:
            c.write(
                row(
                    1,
                    "ProctorCam",
                    "proctoring",
                    "ProctorCam B.V.",
                    "privacy@proctorcam.example",
                    "Surveillance of remote exams to prevent and detect fraud.",
                    canonical_json(["name", "camera video", "screen recording", "audio"]),
                    90,
                    False,
                    None,
                )
            )

        users: list[str] = []
        uid = 0

        def add_user(email: str, role: str, **extra: Any) -> int:
            nonlocal uid
            uid += 1
            users.append(
                row(
                    uid,
                    email,
                    self.password,
                    extra.get("name") or self.name(),
                    role,
                    "en" if rng.random() < 0.15 else "nl",
                    extra.get("number"),
                    extra.get("born"),
                    extra.get("programme"),
                    True,
                    created,
                )
            )
            return uid

        add_user("admin@staff.bench.example", "admin")
        self.dpo_emails = [f"dpo{i}@staff.bench.example" for i in (1, 2)]
        for email in self.dpo_emails:
            add_user(email, "dpo")
        self.handlers = [
            add_user(f"handler{i}@staff.bench.example", "case_handler")
            for i in range(1, N_HANDLERS + 1)
        ]
        self.handler_emails = [f"handler{i}@staff.bench.example" for i in range(1, N_HANDLERS + 1)]
        self.board_members: dict[int, list[int]] = {}
        self.board_emails: dict[int, list[str]] = {}
        members: list[str] = []
        for b in range(1, N_BOARDS + 1):
            emails = [f"board{b}-{m}@staff.bench.example" for m in range(1, MEMBERS_PER_BOARD + 1)]
            self.board_members[b] = [add_user(e, "exam_board") for e in emails]
            self.board_emails[b] = emails
            members += [row(b, u) for u in self.board_members[b]]
        self.emails = {
            u: f"handler{i + 1}@staff.bench.example" for i, u in enumerate(self.handlers)
        }
        for b, ids in self.board_members.items():
            self.emails.update(zip(ids, self.board_emails[b], strict=True))

        n_students = self.args.students or max(500, self.args.cases // 4)
        n_minors = max(1, n_students // 200)
        self.guardian_of: dict[int, int] = {}
        guardians = [
            add_user(f"guardian{i}@bench.example", "guardian") for i in range(1, n_minors + 1)
        ]
        pick_programme = weighted_picker(
            list(zip(range(1, N_PROGRAMMES + 1), self.programme_weight, strict=True))
        )
        self.student_programme: list[int] = []
        self.first_student = uid + 1
        for s in range(n_students):
            minor = s < n_minors
            born = (
                self.today - timedelta(days=rng.randint(13 * 365, 15 * 365))
                if minor
                else date(rng.randint(1990, 2008), rng.randint(1, 12), rng.randint(1, 28))
            )
            programme = pick_programme(rng)
            sid = add_user(
                f"s{s + 1:07d}@student.bench.example",
                "student",
                number=f"s{s + 1:07d}",
                born=born,
                programme=programme,
            )
            self.student_programme.append(programme)
            if minor:
                self.guardian_of[sid] = guardians[s]
        self.n_students = n_students
        with main.cursor().copy(
            "COPY users (id, email, password_hash, full_name, role, locale, student_number,"
            " date_of_birth, programme_id, is_active_account, created_at) FROM STDIN"
        ) as c:
            for start in range(0, len(users), 5000):
                c.write("".join(users[start : start + 5000]))
        with main.cursor().copy("COPY exam_board_members (board_id, user_id) FROM STDIN") as c:
            c.write("".join(members))
        self.users = uid

    # --- dates ---------------------------------------------------------------------------------

    def receipt_days(self) -> list[tuple[int, bool]]:
        """(received_at in µs, is_open) for every case, sorted: the order of the ids."""
        rng, args, today = self.rng, self.args, self.today
        n_open = min(args.open, args.cases)
        n_history = args.cases - n_open
        first = today - timedelta(days=int(args.years * 365))
        last = today - timedelta(days=35)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        weights = [
            MONTH_WEIGHT[d.month - 1]
            * WEEKDAY_WEIGHT[d.weekday()]
            * (1 + 0.06 * (d - first).days / 365)
            for d in days
        ]
        history = rng.choices(days, weights=weights, k=n_history)
        recent = [today - timedelta(days=i) for i in range(0, 35)]
        tail = [today - timedelta(days=i) for i in range(35, 76)]
        orng = self.open_rng
        open_days = orng.choices(
            recent, [WEEKDAY_WEIGHT[d.weekday()] for d in recent], k=n_open - n_open * 5 // 100
        ) + orng.choices(tail, [WEEKDAY_WEIGHT[d.weekday()] for d in tail], k=n_open * 5 // 100)
        out = [(self.receipt_moment(d, rng), False) for d in history]
        out += [(self.receipt_moment(d, orng), True) for d in open_days]
        out.sort()
        return out

    def receipt_moment(self, day: date, rng: random.Random) -> int:
        moment = local_us(day, rng.uniform(7 * 3600, 23 * 3600))
        return min(moment, self.now_us - 60 * US)

    def statutory(self, received: date) -> date:
        due = self._statutory.get(received)
        if due is None:
            due = self._statutory[received] = deadlines.statutory_due(received)
        return due

    def extended(self, received: date, months: int) -> date:
        key = (received, months)
        due = self._extended.get(key)
        if due is None:
            due = self._extended[key] = deadlines.extended_due(received, months)
        return due

    def exam_bound(self, starts_us: int) -> date:
        due = self._exam_bound.get(starts_us)
        if due is None:
            start = EPOCH + timedelta(microseconds=starts_us)
            due = self._exam_bound[starts_us] = deadlines.exam_bound_due(start, 5)
        return due

    def urgent(self, received: date, bound: date) -> bool:
        key = (received, bound)
        value = self._urgent.get(key)
        if value is None:
            value = self._urgent[key] = deadlines.is_urgent(received, bound)
        return value

    def exam_for(
        self,
        programme: int,
        received: date,
        past: bool,
        rng: random.Random,
        ahead: int | None = None,
    ) -> tuple[int, int]:
        """An exam of the programme shortly after (or, for a flag, before) the receipt."""
        if past:
            day = received - timedelta(days=rng.randint(2, 20))
        elif ahead is not None:
            day = received + timedelta(days=ahead)
        else:
            day = received + timedelta(days=rng.randint(3, 40))
        day = deadlines.next_working_day(day)
        slot = rng.randint(0, 2)
        key = (programme, day, slot)
        starts = local_us(day, (9, 13.5, 18)[slot] * 3600)
        exam_id = self.exams.get(key)
        if exam_id is None:
            exam_id = self.exams[key] = len(self.exams) + 1
            course = f"P{programme:03d}-{(day.toordinal() * 7 + slot) % 900 + 100}"
            title = f"Tentamen {PROGRAMME_NAMES[(programme - 1) % len(PROGRAMME_NAMES)]}"
            self.exam_rows.append(row(exam_id, course, title, programme, iso_us(starts), 1))
        return exam_id, starts

    # --- the audit trail ---------------------------------------------------------------------

    def event(
        self,
        at: int,
        actor: int | None,
        role: str | None,
        action: str,
        case_id: int,
        before: str | None = None,
        after: str | None = None,
        web: bool = True,
        object_type: str = "case",
        object_id: str | None = None,
    ) -> None:
        self.event_seq += 1
        request_id = ip = None
        if web:
            bits = self.rng.getrandbits(80)
            request_id = f"{bits >> 16:016x}"
            ip = f"10.{(bits >> 8) & 255}.{bits & 255}.{bits % 254 + 1}"
        heapq.heappush(
            self.events,
            (
                at,
                self.event_seq,
                actor,
                role,
                action,
                object_type,
                object_id if object_id is not None else str(case_id),
                case_id,
                before,
                after,
                request_id,
                ip,
            ),
        )

    def drain(self, sink: Sink, until: int | None) -> None:
        """Hash and write every pending event older than ``until`` (all when None), in order."""
        events = self.events
        sha256 = hashlib.sha256
        while events and (until is None or events[0][0] < until):
            at, _seq, actor, role, action, otype, oid, case_id, before, after, rid, ip = (
                heapq.heappop(events)
            )
            occurred = iso_us(at)
            payload = canonical_bytes_from_columns(
                occurred,
                actor,
                role,
                action,
                otype,
                oid,
                case_id,
                before,
                after,
                rid,
                ip,
                self.prev_hash,
            )
            if self.self_checked.get(action, 0) < 50:
                self.self_check(
                    payload,
                    occurred,
                    actor,
                    role,
                    action,
                    otype,
                    oid,
                    case_id,
                    before,
                    after,
                    rid,
                    ip,
                )
            digest = sha256(payload).hexdigest()
            self.event_id += 1
            # The hot path: one f-string instead of row() (5 million rows for 1M cases).
            sink.add(
                f"{self.event_id}\t{occurred}\t{N if actor is None else actor}\t{role or N}\t"
                f"{action}\t{otype}\t{oid}\t{N if case_id is None else case_id}\t"
                f"{N if before is None else esc(before)}\t{N if after is None else esc(after)}\t"
                f"{rid or N}\t{ip or N}\t{self.prev_hash}\t{digest}\n"
            )
            self.prev_hash = digest

    def self_check(self, payload: bytes, occurred: str, *cols: Any) -> None:
        """The fast spelling must equal the reference serialization the portal hashes (R24)."""
        actor, role, action, otype, oid, case_id, before, after, rid, ip = cols
        reference = canonical_payload_bytes(
            prev_hash=self.prev_hash,
            occurred_at=occurred,
            actor_id=actor,
            actor_role=role,
            action=action,
            object_type=otype,
            object_id=oid,
            case_id=case_id,
            before=None if before is None else json.loads(before),
            after=None if after is None else json.loads(after),
            request_id=rid,
            ip_address=ip,
        )
        if reference != payload:
            raise SystemExit(
                f"canonical spelling differs from the reference:\n{payload!r}\n{reference!r}"
            )
        self.self_checked[action] = self.self_checked.get(action, 0) + 1

    # --- reminders as a sweep running every day would have left them ----------------------------

    def reminders(
        self,
        sink: Sink,
        case_id: int,
        due: date,
        received_us: int,
        last_day: date,
        recipients: list[str],
        dpo: bool,
    ) -> None:
        received = utc_day(received_us)
        if last_day < received:
            return
        milestones = deadlines.reminder_keys_due(due, last_day, OFFSETS)
        to_key = tuple(recipients)
        to_json = self._to_json.get(to_key)
        if to_json is None:
            to_json = self._to_json[to_key] = js(recipients)
        # The first sweep after receipt records every milestone already past (R10) and mails
        # only the latest of them; later ones are found on their own day.
        first_batch = [m for m in milestones if m[1] <= received]
        for key, day in milestones:
            at = (received_us + 15 * 60 * US) if day <= received else local_us(day, 6 * 3600)
            at += self.rng.randint(0, 600) * US
            superseded = day <= received and (key, day) != first_batch[-1]
            self.reminder_id += 1
            sink.add(
                f"{self.reminder_id}\t{case_id}\t{key}\t{day}\t\\N\t"
                f"{'t' if superseded else 'f'}\t\\N\t{iso_us(at)}\n"
            )
            if not superseded:
                after = f'{{"milestone":"{key}","to":{to_json}}}'
                self.event(at, None, None, "case.reminder_sent", case_id, after=after, web=False)
        if due < last_day:
            day = max(received, due + timedelta(days=1))
            at = (received_us + 15 * 60 * US) if day <= received else local_us(day, 6 * 3600)
            self.reminder_id += 1
            digest = self.digests.setdefault(day, [len(self.digests) + 1, 0, at + 2 * US])
            digest[1] += 1
            sink.add(
                f"{self.reminder_id}\t{case_id}\tescalation\t{day}\t\\N\tf\t{digest[0]}"
                f"\t{iso_us(at)}\n"
            )
            if dpo:
                after = f'{{"effective_due":"{due}","to":{js(self.dpo_emails)}}}'
                self.event(at + US, None, None, "case.escalated", case_id, after=after, web=False)

    # --- cases ----------------------------------------------------------------------------------

    def cases(self, cases: Sink, reminders: Sink, events: Sink) -> None:
        today = self.today
        yesterday = today - timedelta(days=1)
        receipts = self.receipt_days()
        started = time.monotonic()
        for case_id, (received_us, is_open) in enumerate(receipts, start=1):
            if time.monotonic() - started > self.args.max_seconds:
                raise SystemExit(f"stopped after {self.args.max_seconds} s at case {case_id}")
            self.drain(events, received_us)
            received = utc_day(received_us)
            rng = self.open_rng if is_open else self.rng
            kind = self.pick_type(rng)
            student = self.first_student + self.rng.randrange(self.n_students)
            programme = self.student_programme[student - self.first_student]
            filer = self.guardian_of.get(student, student)
            filer_role = "guardian" if filer != student else "student"
            board = (programme - 1) % N_BOARDS + 1
            year = received.year
            self.counters[year] = number = self.counters.get(year, 0) + 1
            reference = f"RP-{year}-{number:06d}"
            channel = self.pick_channel(rng)
            exam_id = flag_id = None
            bound = None
            if kind.needs_exam:
                review = kind is CaseType.HUMAN_REVIEW
                exam_id, starts = self.exam_for(programme, received, review, rng)
                # A flag is about an exam already taken: its review runs on the statutory term.
                if kind.exam_bound:
                    bound = self.exam_bound(starts)
                    # Objections still open are mostly about exams still to come: most past
                    # their exam-bound date were decided in time (R7), a few are overdue.
                    if is_open and bound < today and rng.random() < 0.9:
                        upcoming = max(received, today) + timedelta(days=rng.randint(7, 40))
                        exam_id, starts = self.exam_for(programme, upcoming, False, rng, 0)
                        bound = self.exam_bound(starts)
            statutory = self.statutory(received)
            extension = 0
            if kind is CaseType.ACCESS and rng.random() < 0.04:
                extension = rng.choice((1, 1, 2))
                statutory = self.extended(received, extension)
            effective = statutory if bound is None else min(statutory, bound)
            urgent = bound is not None and self.urgent(received, bound)
            deciders = self.board_members[board] if kind.decided_by_exam_board else self.handlers
            pool = self.board_emails[board] if kind.decided_by_exam_board else self.handler_emails

            status, assignee, outcome = "received", None, None
            decided_by = decided_us = None
            reasons = legal_basis = grounds = unfounded = None
            last_open_day = yesterday
            if is_open:
                draw = rng.random()
                if draw >= 0.35:
                    status = "in_review" if draw < 0.9 else "awaiting_requester"
                    assignee = rng.choice(deciders)
                    assigned_us = received_us + int(
                        (self.now_us - received_us) * rng.uniform(0.02, 0.3)
                    )
                if status == "awaiting_requester" and effective != bound:
                    last_open_day = received  # the clock stood still: the sweep skipped it (R6)
            else:
                assignee = rng.choice(deciders)
                life = (effective - received).days
                if life <= 0:
                    days = rng.randint(1, 15)
                elif rng.random() < 0.93:
                    days = max(1, round(life * rng.triangular(0.15, 1.0, 0.75)))
                else:
                    days = life + rng.randint(1, 12)
                decided_day = min(received + timedelta(days=days), yesterday)
                decided_us = max(
                    local_us(decided_day, rng.uniform(8.5, 17.5) * 3600), received_us + 3600 * US
                )
                decided_us = min(decided_us, self.now_us - 3600 * US)
                assigned_us = received_us + int((decided_us - received_us) * rng.uniform(0.05, 0.4))
                last_open_day = utc_day(decided_us) - timedelta(days=1)
                withdrawn = rng.random() < 0.08
                if withdrawn:
                    # Withdrawn part-way: closed without a decision, assigned or not yet.
                    status = "closed"
                    withdrawn_us = received_us + int(
                        (decided_us - received_us) * rng.uniform(0.1, 0.7)
                    )
                    assigned_us = received_us + int(
                        (withdrawn_us - received_us) * rng.uniform(0.1, 0.6)
                    )
                    last_open_day = utc_day(withdrawn_us) - timedelta(days=1)
                    decided_us = None
                    if rng.random() < 0.5:
                        assignee = None
                else:
                    recent = (today - decided_day).days < 60
                    status = "decided" if recent and rng.random() < 0.3 else "closed"
                    outcome = rng.choices(("granted", "partly_granted", "rejected"), (55, 25, 20))[
                        0
                    ]
                    decided_by = assignee
                    reasons = REASONS
                    legal_basis = kind.legal_basis
                    if kind is CaseType.OBJECTION and outcome == "rejected":
                        grounds = GROUNDS
                    if kind is CaseType.ACCESS and outcome == "rejected" and rng.random() < 0.05:
                        unfounded = "Het twaalfde identieke verzoek binnen een maand."
            if kind is CaseType.HUMAN_REVIEW:
                flag_id = self.flag(student, exam_id, starts, decided_by, decided_us, rng)

            description = rng.choice(DESCRIPTIONS[kind])
            received_iso = iso_us(received_us)
            ext_reason = ext_text = None
            if extension:
                ext_reason = rng.choice(("complexity", "number_of_requests"))
                ext_text = "Het verzoek betreft opnames van meerdere tentamens en veel derden."
            decided_iso = N if decided_us is None else iso_us(decided_us)
            restrict = "t" if kind is CaseType.OBJECTION and rng.random() < 0.1 else "f"
            # The hot path: one f-string per row (None is written as \\N).
            cases.add(
                f"{case_id}\t{reference}\t{kind.value}\t{status}\t{channel}\t{student}\t{filer}\t"
                f"{exam_id or N}\t{programme}\t{description}\t{received_iso}\t{received}\t"
                f"{statutory}\t{bound or N}\t{effective}\t{'t' if urgent else 'f'}\t"
                f"{assignee or N}\t{outcome or N}\t{reasons or N}\t{legal_basis or N}\t"
                f"{decided_by or N}\t{decided_iso}\t{received_iso}\t{extension}\t"
                f"{ext_reason or N}\t{ext_text or N}\t{unfounded or N}\t{N}\t{restrict}\t"
                f"{grounds or N}\t{flag_id or N}\n"
            )

            # The trail of this case, as the portal would have written it.
            after = (
                f'{{"case_type":"{kind.value}","channel":"{channel}",'
                f'"effective_due":"{effective}","exam_bound_due":{js(bound and str(bound))},'
                f'"exam_id":{js(exam_id)},"received_on":"{received}","reference":"{reference}",'
                f'"statutory_due":"{statutory}","urgent":{js(urgent)}}}'
            )
            self.event(received_us, filer, filer_role, "case.received", case_id, after=after)
            if assignee is not None:
                role = self.role(assignee)
                after = f'{{"assignee_id":{assignee},"status":"in_review"}}'
                self.event(
                    assigned_us, assignee, role, "case.assigned", case_id, ASSIGN_BEFORE, after
                )
                end = decided_us or (withdrawn_us if not is_open else self.now_us - 60 * US)
                viewed_us = assigned_us + int((end - assigned_us) * rng.uniform(0.3, 0.9))
                self.event(viewed_us, assignee, role, "case.viewed", case_id)
            if decided_us is not None:
                after = (
                    f'{{"decided_at":"{EPOCH + timedelta(microseconds=decided_us)}",'
                    f'"decision_reasons":{REASONS_JSON},"legal_basis":{js(legal_basis)},'
                    f'"manifestly_unfounded_justification":{js(unfounded)},'
                    f'"outcome":"{outcome}","status":"decided"}}'
                )
                self.event(
                    decided_us, assignee, role, "case.decided", case_id, DECIDE_BEFORE, after
                )
            elif not is_open:
                before = WITHDRAW_BEFORE[assignee is None]
                self.event(
                    withdrawn_us, filer, filer_role, "case.withdrawn", case_id, before, CLOSED_AFTER
                )
            to = [self.emails[assignee]] if assignee is not None else pool
            self.reminders(reminders, case_id, effective, received_us, last_open_day, to, dpo=True)
            if case_id % 100_000 == 0:
                print(f"  {case_id:,} cases, {self.event_id:,} events", flush=True)
        self.drain(events, None)
        self.n_cases = len(receipts)

    def role(self, user: int) -> str:
        return "case_handler" if user <= self.handlers[-1] else "exam_board"

    def flag(
        self,
        student: int,
        exam_id: int,
        starts: int,
        reviewer: int | None,
        reviewed_us: int | None,
        rng: random.Random,
    ) -> int:
        recording_id = len(self.recording_rows) + 1
        retention = utc_day(starts) + timedelta(days=90)
        self.recording_rows.append(
            row(
                recording_id,
                student,
                exam_id,
                iso_us(starts),
                retention,
                iso_us(starts + 3600 * US),
            )
        )
        status, reasons = "unreviewed", None
        if reviewer is not None:
            status = "no_irregularity" if rng.random() < 0.7 else "irregularity_suspected"
            reasons = "Beelden bekeken; de melding is beoordeeld met de verklaring van de student."
        flag_id = len(self.flag_rows) + 1
        self.flag_rows.append(
            row(
                flag_id,
                recording_id,
                rng.choice(("gaze_away", "second_person", "audio_voice")),
                "Automatische melding van de leverancier.",
                rng.randint(60, 7000),
                iso_us(starts + 2 * DAY_US),
                status,
                reviewer,
                None if reviewed_us is None else iso_us(reviewed_us),
                reasons,
            )
        )
        return flag_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=12_000, help="open cases (default 12,000)")
    parser.add_argument("--years", type=float, default=8.0)
    parser.add_argument("--students", type=int, default=0, help="default: cases / 4")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--replace", action="store_true", help="drop the database first")
    parser.add_argument("--max-seconds", type=int, default=1800, help="give up after this long")
    parser.add_argument("--drop", action="store_true", help="only drop the database, then stop")
    args = parser.parse_args(argv)
    if args.drop:
        if not args.db.startswith("rp_bench"):
            raise SystemExit("only bench databases (rp_bench*) are dropped here")
        with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        print(f"dropped {args.db}")
        return
    if not 1 <= args.cases <= MAX_CASES:
        raise SystemExit(f"--cases must be between 1 and {MAX_CASES:,}")
    if not args.db.startswith("rp_bench"):
        raise SystemExit("the bench database's name must start with rp_bench")

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    create_database(args.db, args.replace)
    timings["create + migrate"] = time.monotonic() - t0

    gen = Generator(args)
    with psycopg.connect(pg_url(args.db), autocommit=True) as admin:
        rebuild = drop_secondary_indexes(admin)
    t1 = time.monotonic()
    with ExitStack() as stack:
        main_conn = stack.enter_context(loader(args.db))
        gen.organisation(main_conn)
        case_conn = stack.enter_context(loader(args.db))
        reminder_conn = stack.enter_context(loader(args.db))
        event_conn = stack.enter_context(loader(args.db))
        with ExitStack() as copies:
            cases = Sink(copies, case_conn, "cases", CASE_COLUMNS)
            reminders = Sink(copies, reminder_conn, "reminders", REMINDER_COLUMNS)
            events = Sink(copies, event_conn, "audit_events", EVENT_COLUMNS)
            gen.cases(cases, reminders, events)
            for sink in (cases, reminders, events):
                sink.flush()
        for rows, table, cols in (
            (gen.exam_rows, "exams", EXAM_COLUMNS),
            (gen.recording_rows, "recordings", RECORDING_COLUMNS),
            (gen.flag_rows, "automated_flags", FLAG_COLUMNS),
        ):
            with main_conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as c:
                for start in range(0, len(rows), 5000):
                    c.write("".join(rows[start : start + 5000]))
        with main_conn.cursor().copy(
            "COPY case_reference_counters (year, last_number) FROM STDIN"
        ) as c:
            for year, number in sorted(gen.counters.items()):
                c.write(row(year, number))
        with main_conn.cursor().copy(
            "COPY escalation_digests (id, day, case_count, outbox_message_id, created_at)"
            " FROM STDIN"
        ) as c:
            for day, (digest_id, count, at) in sorted(gen.digests.items()):
                c.write(row(digest_id, day, count, None, iso_us(at)))
        # The chain head (audit_chain_head) follows the last event, as the database's own
        # trigger would have moved it; the loader's replica role lets this one update through.
        main_conn.execute(
            "UPDATE audit_chain_head SET event_id = %s, hash = %s WHERE id = 1",
            (gen.event_id, gen.prev_hash),
        )
        for conn in (main_conn, case_conn, reminder_conn, event_conn):
            conn.commit()
    timings["generate + COPY"] = time.monotonic() - t1

    t2 = time.monotonic()
    with psycopg.connect(pg_url(args.db), autocommit=True) as admin:
        admin.execute("SET maintenance_work_mem = '512MB'")
        for statement in rebuild:
            admin.execute(statement)
        timings["rebuild indexes"] = time.monotonic() - t2
        t3 = time.monotonic()
        for table in (
            *BULK_TABLES,
            "exam_boards",
            "programmes",
            "proctoring_tools",
            "escalation_digests",
        ):
            admin.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce((SELECT max(id) FROM {table}), 1))"
            )
        # Set the visibility map and statistics as autovacuum would have on a live system.
        admin.execute("VACUUM (ANALYZE)")
        timings["vacuum analyze"] = time.monotonic() - t3
        sizes = admin.execute(
            "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid))"
            " FROM pg_stat_user_tables WHERE relname = ANY(%s) ORDER BY relname",
            (list(BULK_TABLES),),
        ).fetchall()
        total = sum(timings.values())
        admin.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        meta = {
            "reference_date": gen.today.isoformat(),
            "cases": str(gen.n_cases),
            "open": str(min(args.open, args.cases)),
            "events": str(gen.event_id),
            "reminders": str(gen.reminder_id),
            "users": str(gen.users),
            "exams": str(len(gen.exams)),
            "seed": str(args.seed),
            "seconds": f"{total:.0f}",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with admin.cursor().copy("COPY bench_meta (key, value) FROM STDIN") as c:
            for key, value in meta.items():
                c.write(row(key, value))

    lines = [f"generate.py --cases {args.cases} --db {args.db}: {total:.0f} s in all"]
    lines += [f"  {name}: {seconds:.1f} s" for name, seconds in timings.items()]
    lines += [f"  {name}: {rows:,} rows, {size}" for name, rows, size in sizes]
    lines.append(f"  machine: {machine()['uptime']}")
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"generate-{args.db}.txt").write_text("\n".join(lines) + "\n")


CASE_COLUMNS = (
    "id, reference, case_type, status, channel, subject_id, filed_by_id, exam_id, programme_id,"
    " description, received_at, received_on, statutory_due, exam_bound_due, effective_due, urgent,"
    " assignee_id, outcome, decision_reasons, legal_basis, decided_by_id, decided_at, created_at,"
    " extension_months, extension_reason, extension_explanation,"
    " manifestly_unfounded_justification, duplicate_of_id, restrict_processing,"
    " compelling_grounds, flag_id"
)
REMINDER_COLUMNS = (
    "id, case_id, key, milestone_on, outbox_message_id, superseded, escalation_digest_id,"
    " created_at"
)
EVENT_COLUMNS = (
    "id, occurred_at, actor_id, actor_role, action, object_type, object_id, case_id, before,"
    " after, request_id, ip_address, prev_hash, hash"
)
EXAM_COLUMNS = "id, course_code, title, programme_id, starts_at, proctoring_tool_id"
RECORDING_COLUMNS = "id, student_id, exam_id, recorded_at, retention_until, created_at"
FLAG_COLUMNS = (
    "id, recording_id, code, description, offset_seconds, raised_at, review_status,"
    " reviewed_by_id, reviewed_at, review_reasons"
)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.exit("run it as a module from the repository root: python -m bench.generate")
    main()
