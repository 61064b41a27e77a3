"""The verifier: checks the whole trail and reports the first broken link (R24).

On PostgreSQL the trail is checked in ranges of ids, one process per core, each reading its range
with COPY and hashing it, and the ranges are joined in id order across their boundaries
(:mod:`rights_portal.audit.ranges`). On SQLite it is streamed: plain column tuples through a
cursor, in batches that a helper thread fetches while the previous batch is being hashed. Both
rebuild each event's canonical bytes from the stored text (the stored ``before``/``after`` JSON is
already canonical, so nothing is parsed on the fast path), and both report the same first problem.
Only when a hash does not match is the JSON parsed and re-serialised, which tells a real
alteration from an older event whose JSON was stored in another spelling. docs/rules.md#targets
asks for at least 1,000,000 events per second.

Anchors (see :mod:`rights_portal.audit.anchors`) add what a chain cannot prove by itself: that
its tail was not cut off and that it was not rewritten as a whole.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ..clock import as_utc
from ..extensions import db
from . import ranges
from .services import GENESIS_HASH, canonical_bytes_from_columns, canonical_payload_bytes

# id, occurred_at (ISO text), actor_id, actor_role, action, object_type, object_id, case_id,
# before (JSON text), after (JSON text), request_id, ip_address, prev_hash, hash
Row = tuple[Any, ...]

# PostgreSQL spells the timestamp exactly as Python's isoformat(timespec="microseconds") in UTC
# and hands over the JSON columns as their stored (canonical) text.
_PG_QUERY = """
    SELECT id,
           to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
           actor_id, actor_role, action, object_type, object_id, case_id,
           before::text, after::text, request_id, ip_address, prev_hash, hash
      FROM audit_events
     ORDER BY id
"""
_SQLITE_QUERY = """
    SELECT id, occurred_at, actor_id, actor_role, action, object_type, object_id, case_id,
           before, after, request_id, ip_address, prev_hash, hash
      FROM audit_events
     ORDER BY id
"""


@dataclass(frozen=True)
class Anchor:
    """A head of the chain written down outside the database at some moment."""

    head_id: int
    head_hash: str
    events: int
    anchored_at: str


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of a verification run."""

    events_checked: int
    head_id: int | None = None
    head_hash: str | None = None
    broken_event_id: int | None = None
    problem: str | None = None
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact (and matches every anchor given)."""
        return self.problem is None


def verify_chain(
    *,
    anchors: Sequence[Anchor] = (),
    batch_size: int = 5000,
    workers: int | None = None,
    range_size: int | None = None,
) -> VerificationResult:
    """Recompute every hash in id order, check each link, and check the anchors.

    On PostgreSQL the trail is checked in ranges of ``range_size`` ids by ``workers`` processes
    (default: one per core) and the ranges are joined (:mod:`rights_portal.audit.ranges`); on
    SQLite it is streamed in batches of ``batch_size``. Both report the same first problem.
    """
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return _verify_ranges(engine, anchors, workers, range_size)
    return _verify_stream(engine, anchors, batch_size)


def _verify_ranges(
    engine: Engine, anchors: Sequence[Anchor], workers: int | None, range_size: int | None
) -> VerificationResult:
    with engine.connect() as conn:
        first, last = conn.exec_driver_sql("SELECT min(id), max(id) FROM audit_events").one()
    workers = workers or ranges.default_workers()
    spans: list[tuple[int, int]] = []
    if first is not None:
        span = last - first + 1
        size = range_size or max(20_000, -(-span // (workers * 8)))
        spans = ranges.ranges(first, last, max(1, size))
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    parts = ranges.results(dsn, spans, [a.head_id for a in anchors], workers)
    try:
        return ranges.join(parts, anchors)
    finally:
        close = getattr(parts, "close", None)
        if close is not None:
            close()


def _verify_stream(
    engine: Engine, anchors: Sequence[Anchor], batch_size: int
) -> VerificationResult:
    pending = {anchor.head_id: anchor for anchor in anchors}
    matched = 0
    expected_prev = GENESIS_HASH
    previous_id: int | None = None
    checked = 0
    sha256 = hashlib.sha256
    build = canonical_bytes_from_columns

    def broken(event_id: int, problem: str) -> VerificationResult:
        # The head reported is the last event that checked out.
        head_hash = expected_prev if previous_id is not None else None
        return VerificationResult(checked, previous_id, head_hash, event_id, problem, matched)

    for batch in _prefetched(_batch_source(engine, batch_size)):
        for row in batch:
            event_id, stored_prev, stored_hash = row[0], row[12], row[13]
            if stored_prev != expected_prev:
                return broken(event_id, _link_problem(stored_prev, expected_prev, previous_id))
            digest = sha256(build(*row[1:13])).hexdigest()
            if digest != stored_hash:
                digest = _reference_hash(row)
                if digest != stored_hash:
                    return broken(
                        event_id,
                        f"content altered: the stored hash is {stored_hash[:16]}…"
                        f" but the content hashes to {digest[:16]}…",
                    )
            checked += 1
            anchor = pending.pop(event_id, None) if pending else None
            if anchor is not None:
                problem = _anchor_problem(anchor, stored_hash, checked)
                if problem:
                    return broken(event_id, problem)
                matched += 1
            expected_prev = stored_hash
            previous_id = event_id

    head_hash = expected_prev if previous_id is not None else None
    return _ended(checked, previous_id, head_hash, pending, matched)


def _ended(
    checked: int,
    previous_id: int | None,
    head_hash: str | None,
    pending: dict[int, Anchor],
    matched: int,
) -> VerificationResult:
    """The result once every event was read: anchored events that never came by are missing."""
    if pending:
        # An anchored event that never came by: the tail was cut off or the chain rewritten.
        anchor = min(pending.values(), key=lambda a: a.head_id)
        return VerificationResult(
            checked,
            previous_id,
            head_hash,
            anchor.head_id,
            f"event {anchor.head_id}, anchored on {anchor.anchored_at} as event number"
            f" {anchor.events} with hash {anchor.head_hash[:16]}…, is missing: the trail was"
            " cut short or rewritten",
            matched,
        )
    return VerificationResult(checked, previous_id, head_hash, anchors_checked=matched)


def verify_from(anchor: Anchor) -> VerificationResult:
    """Check the trail from an anchored head on: the head check of every few minutes.

    The anchored event must still be there with its anchored hash, and every event after it must
    link to it and hash right. Cheap (it reads only what came after the anchor), so it runs every
    ``AUDIT_HEAD_ANCHOR_MINUTES``; the nightly :func:`verify_chain` checks everything before.
    ``events_checked`` counts the whole trail as the anchor counted it plus the events since.
    """
    missing = (
        f"event {anchor.head_id}, anchored on {anchor.anchored_at} as event number"
        f" {anchor.events} with hash {anchor.head_hash[:16]}…, is missing: the trail was"
        " cut short or rewritten"
    )
    # The id is an int read from our own anchor log: formatting it in is safe.
    where = f"WHERE id >= {int(anchor.head_id)}"
    engine = db.engine
    postgresql = engine.dialect.name == "postgresql"
    query = (_PG_QUERY if postgresql else _SQLITE_QUERY).replace(
        "ORDER BY id", f"{where} ORDER BY id"
    )
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True).exec_driver_sql(query)
        try:
            return _check_segment(rows, anchor, postgresql, missing)
        finally:
            rows.close()


def _check_segment(rows: Any, anchor: Anchor, postgresql: bool, missing: str) -> VerificationResult:
    checked = anchor.events
    expected_prev = anchor.head_hash
    previous_id = anchor.head_id
    first = True
    for raw in rows:
        row = tuple(raw) if postgresql else (raw[0], _iso(raw[1]), *raw[2:])
        event_id, stored_prev, stored_hash = row[0], row[12], row[13]
        if first:
            first = False
            if event_id != anchor.head_id:
                return VerificationResult(0, None, None, anchor.head_id, missing)
            if _hash_of(row) != stored_hash or stored_hash != anchor.head_hash:
                problem = _anchor_problem(anchor, stored_hash, anchor.events) or (
                    f"content altered: event {event_id} no longer hashes to its stored hash"
                )
                return VerificationResult(0, None, None, event_id, problem)
            continue
        if stored_prev != expected_prev:
            problem = _link_problem(stored_prev, expected_prev, previous_id)
            return VerificationResult(checked, previous_id, expected_prev, event_id, problem, 1)
        if _hash_of(row) != stored_hash:
            problem = f"content altered: the stored hash is {stored_hash[:16]}…"
            return VerificationResult(checked, previous_id, expected_prev, event_id, problem, 1)
        checked += 1
        expected_prev, previous_id = stored_hash, event_id
    if first:
        return VerificationResult(0, None, None, anchor.head_id, missing)
    return VerificationResult(checked, previous_id, expected_prev, anchors_checked=1)


def _hash_of(row: Row) -> str:
    digest = hashlib.sha256(canonical_bytes_from_columns(*row[1:13])).hexdigest()
    return digest if digest == row[13] else _reference_hash(row)


def _link_problem(stored_prev: str, expected_prev: str, previous_id: int | None) -> str:
    if previous_id is None:
        return (
            f"the first event does not start the chain (it names {stored_prev[:16]}… as its"
            " predecessor): events before it were deleted"
        )
    return (
        f"broken link: it names {stored_prev[:16]}… as its predecessor, but the event before it"
        f" (id {previous_id}) has hash {expected_prev[:16]}…: an event in between was deleted,"
        f" events were reordered, or event {previous_id} was altered and re-hashed"
    )


def _anchor_problem(anchor: Anchor, stored_hash: str, position: int) -> str | None:
    if stored_hash != anchor.head_hash:
        return (
            f"the hash differs from the one anchored on {anchor.anchored_at}"
            f" ({anchor.head_hash[:16]}… then, {stored_hash[:16]}… now): the trail was rewritten"
        )
    if position != anchor.events:
        return (
            f"it is event number {position} of the trail but was number {anchor.events} when"
            f" anchored on {anchor.anchored_at}: events before it were added or removed"
        )
    return None


def _reference_hash(row: Row) -> str:
    """Slow path: parse the stored JSON and hash with the reference serialization."""
    before = None if row[8] is None else json.loads(row[8])
    after = None if row[9] is None else json.loads(row[9])
    return hashlib.sha256(
        canonical_payload_bytes(
            occurred_at=row[1],
            actor_id=row[2],
            actor_role=row[3],
            action=row[4],
            object_type=row[5],
            object_id=row[6],
            case_id=row[7],
            before=before,
            after=after,
            request_id=row[10],
            ip_address=row[11],
            prev_hash=row[12],
        )
    ).hexdigest()


Batches = Generator[list[Row], None, None]


def _batch_source(engine: Engine, batch_size: int) -> Callable[[], Batches]:
    """A generator factory yielding lists of rows in id order from a connection of its own."""

    def postgresql() -> Batches:
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            # A named (server-side) cursor streams the table; binary rows decode fastest.
            with driver.cursor(name="audit_verify", binary=True) as cursor:  # type: ignore[union-attr]
                cursor.execute(_PG_QUERY)
                while batch := cursor.fetchmany(batch_size):
                    yield batch
        finally:
            raw.rollback()
            raw.close()

    def sqlite() -> Batches:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(_SQLITE_QUERY)
            while batch := cursor.fetchmany(batch_size):
                # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); spell it as the hash does.
                yield [(r[0], _iso(r[1]), *r[2:]) for r in batch]
            cursor.close()
        finally:
            raw.rollback()
            raw.close()

    return postgresql if engine.dialect.name == "postgresql" else sqlite


def _iso(stored: str) -> str:
    return as_utc(datetime.fromisoformat(stored)).isoformat(timespec="microseconds")


_DONE = object()


def _prefetched(source: Callable[[], Batches], depth: int = 2) -> Iterator[list[Row]]:
    """Run ``source`` in a helper thread so the database works while this thread hashes."""
    channel: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        batches = source()
        try:
            for batch in batches:
                if not hand_over(batch):
                    return
            hand_over(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            hand_over(exc)
        finally:
            batches.close()

    worker = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    worker.start()
    try:
        while True:
            item = channel.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
