"""The verifier on PostgreSQL: ranges of the trail checked side by side, then joined (R24).

The trail is cut into ranges of ids. Each range is read by a process of its own through a
server-side cursor in binary (rows decoded in C, the JSON columns as their stored text) and
checked there: every event's hash, and every link inside the range. Each range hands back what
the join needs — its first event's ``prev_hash``, its last event's hash, how many events it
holds, the anchored events it saw, and its first problem — and :func:`join` walks the ranges in
id order, checks the link across every boundary and reports exactly what the streaming verifier
(:func:`rights_portal.audit.verify.verify_chain` on SQLite) reports: the first broken event, the
count verified before it and the last good head.

Each event's bytes are spelled by :func:`canonical_bytes_from_columns`; only when its hash does
not match is the reference serialization tried, exactly as the streaming verifier does.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .services import GENESIS_HASH, canonical_bytes_from_columns

if TYPE_CHECKING:
    from .verify import Anchor, VerificationResult

_BATCH = 5000  # rows per fetch from the server-side cursor


@dataclass
class RangeResult:
    """What one range of ids tells the join (hashes as text, ids as int)."""

    count: int = 0
    first_id: int | None = None
    first_prev: str | None = None
    last_id: int | None = None
    last_hash: str | None = None
    # (event id, its hash, its position in the range counting from 1, previous id, previous hash)
    anchors: list[tuple[int, str, int, int | None, str | None]] = field(default_factory=list)
    # (event id, problem, events of the range before it, previous id, previous hash)
    problem: tuple[int, str, int, int | None, str | None] | None = None


def check_range(dsn: str, lo: int, hi: int, anchored: frozenset[int]) -> RangeResult:
    """Check the events with ``lo <= id < hi``: every hash, and every link after the first."""
    import psycopg

    from .verify import _PG_QUERY, _link_problem, _reference_hash

    result = RangeResult()
    sha256, build = hashlib.sha256, canonical_bytes_from_columns
    expected: str | None = None
    previous: int | None = None
    count = 0
    query = _PG_QUERY.replace(
        "ORDER BY id", f"WHERE id >= {int(lo)} AND id < {int(hi)} ORDER BY id"
    )
    with psycopg.connect(dsn) as conn:
        # A named (server-side) cursor streams the range; binary rows decode fastest, in C.
        with conn.cursor(name="audit_verify_range", binary=True) as cursor:
            cursor.execute(query)
            while batch := cursor.fetchmany(_BATCH):
                for row in batch:
                    event_id, prev, stored = row[0], row[12], row[13]
                    if expected is None:
                        result.first_id, result.first_prev = event_id, prev
                    elif prev != expected:
                        problem = _link_problem(prev, expected, previous)
                        result.problem = (event_id, problem, count, previous, expected)
                        break
                    if sha256(build(*row[1:13])).hexdigest() != stored:
                        digest = _reference_hash(row)
                        if digest != stored:
                            result.problem = (
                                event_id,
                                f"content altered: the stored hash is {stored[:16]}…"
                                f" but the content hashes to {digest[:16]}…",
                                count,
                                previous,
                                expected,
                            )
                            break
                    count += 1
                    if anchored and event_id in anchored:
                        result.anchors.append((event_id, stored, count, previous, expected))
                    expected, previous = stored, event_id
                if result.problem is not None:
                    break
        conn.rollback()
    result.count = count
    if previous is not None and expected is not None:
        result.last_id, result.last_hash = previous, expected
    return result


def _check(task: tuple[str, int, int, frozenset[int]]) -> RangeResult:
    return check_range(*task)


def ranges(first: int, last: int, size: int) -> list[tuple[int, int]]:
    """Half-open id ranges of ``size`` ids covering ``first`` … ``last``."""
    return [(lo, min(lo + size, last + 1)) for lo in range(first, last + 1, size)]


def results(
    dsn: str, spans: Sequence[tuple[int, int]], anchored: Sequence[int], workers: int
) -> Iterator[RangeResult]:
    """Each range's result in id order, checked by ``workers`` processes side by side."""
    ids = sorted(anchored)
    tasks = []
    for lo, hi in spans:
        inside = frozenset(a for a in ids if lo <= a < hi)
        tasks.append((dsn, lo, hi, inside))
    if workers <= 1 or len(tasks) <= 1 or multiprocessing.current_process().daemon:
        # A daemonic process (a worker of some pools) may not start processes: check in turn.
        yield from map(_check, tasks)
        return
    with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
        # Leaving early (a problem was found) terminates the ranges still being checked.
        yield from pool.imap(_check, tasks)


def join(parts: Iterable[RangeResult], anchors: Sequence[Anchor]) -> VerificationResult:
    """Walk the ranges in id order: links across boundaries, anchors, the first problem."""
    from .verify import VerificationResult, _anchor_problem, _ended, _link_problem

    pending = {anchor.head_id: anchor for anchor in anchors}
    checked, matched = 0, 0
    expected, previous_id = GENESIS_HASH, None

    def head(prev_id: int | None, prev_hash: str | None) -> tuple[int | None, str | None]:
        if prev_id is None:  # the first event of the range: its predecessor ends the last one
            return previous_id, expected if previous_id is not None else None
        return prev_id, prev_hash

    for part in parts:
        if part.first_id is not None and part.first_prev != expected:
            problem = _link_problem(part.first_prev or "", expected, previous_id)
            head_hash = expected if previous_id is not None else None
            return VerificationResult(
                checked, previous_id, head_hash, part.first_id, problem, matched
            )
        for event_id, stored, position, prev_id, prev_hash in part.anchors:
            anchor = pending.pop(event_id)
            anchor_problem = _anchor_problem(anchor, stored, checked + position)
            if anchor_problem:
                at_id, at_hash = head(prev_id, prev_hash)
                return VerificationResult(
                    checked + position, at_id, at_hash, event_id, anchor_problem, matched
                )
            matched += 1
        if part.problem is not None:
            event_id, problem, before, prev_id, prev_hash = part.problem
            at_id, at_hash = head(prev_id, prev_hash)
            return VerificationResult(checked + before, at_id, at_hash, event_id, problem, matched)
        if part.count:
            checked += part.count
            expected, previous_id = part.last_hash or expected, part.last_id
    head_hash = expected if previous_id is not None else None
    return _ended(checked, previous_id, head_hash, pending, matched)


def default_workers() -> int:
    """One process per core."""
    return max(1, os.cpu_count() or 1)
