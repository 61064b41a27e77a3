"""The verifier on PostgreSQL: ranges of the trail checked side by side, then joined (R24).

The trail is cut into ranges of ids. Each range is read by a process of its own with ``COPY …
TO STDOUT`` (text rows: far cheaper to produce and to split than rows decoded by a cursor) and
checked there: every event's hash, and every link inside the range. Each range hands back what
the join needs — its first event's ``prev_hash``, its last event's hash, how many events it
holds, the anchored events it saw, and its first problem — and :func:`join` walks the ranges in
id order, checks the link across every boundary and reports exactly what the streaming verifier
(:func:`rights_portal.audit.verify.verify_chain` on SQLite) reports: the first broken event, the
count verified before it and the last good head.

The fast path spells the canonical bytes straight from the COPY text. It is taken only when no
field needs JSON escaping (no quote, backslash or control character outside the stored JSON,
which is spliced as stored, as :func:`canonical_bytes_from_columns` does); any other row, and
any row whose hash does not match, goes through the exact spelling and then the reference
serialization, so the fast path can only save time, never accept what the reference rejects.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .services import GENESIS_HASH, canonical_bytes_from_columns

if TYPE_CHECKING:
    from .verify import Anchor, VerificationResult

# JSON columns last: everything before them must be free of characters JSON escapes.
_COPY = """
    COPY (SELECT id,
                 to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                 actor_id, case_id, actor_role, action, object_type, object_id, request_id,
                 ip_address, prev_hash, hash, before::text, after::text
            FROM audit_events
           WHERE id >= {lo} AND id < {hi}
           ORDER BY id) TO STDOUT
"""
_NULL = b"\\N"
# A quote or a control character; a tab in a value reaches us escaped (caught as a backslash).
_NEEDS_ESCAPING = re.compile(rb'["\x00-\x08\x0a-\x1f]')
_COPY_ESCAPE = re.compile(rb"\\(.)")
_COPY_CODES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_FAST = (
    b'{"action":"%s","actor_id":%s,"actor_role":%s,"after":%s,"before":%s,"case_id":%s,'
    b'"ip_address":%s,"object_id":%s,"object_type":"%s","occurred_at":"%s","prev_hash":"%s",'
    b'"request_id":%s}'
)


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


def _unescape(value: bytes) -> str | None:
    if value == _NULL:
        return None
    return _COPY_ESCAPE.sub(lambda m: _COPY_CODES.get(m.group(1), m.group(1)), value).decode()


def _row(fields: list[bytes]) -> tuple[Any, ...]:
    """A COPY line as the verifier's row: id, occurred_at, actor_id, …, prev_hash, hash."""
    v = [_unescape(f) for f in fields]
    actor_id = None if v[2] is None else int(v[2])
    case_id = None if v[3] is None else int(v[3])
    # id, occurred_at, actor_id, actor_role, action, object_type, object_id, case_id,
    # before, after, request_id, ip_address, prev_hash, hash
    return (int(v[0] or 0), v[1], actor_id, v[4], v[5], v[6], v[7], case_id,
            v[12], v[13], v[8], v[9], v[10], v[11])  # fmt: skip


def _quoted(value: bytes) -> bytes:
    return b"null" if value == _NULL else b'"' + value + b'"'


def _lines(chunks: Iterable[Any]) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        lines = (rest + bytes(chunk)).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def check_range(dsn: str, lo: int, hi: int, anchored: frozenset[int]) -> RangeResult:
    """Check the events with ``lo <= id < hi``: every hash, and every link after the first."""
    import psycopg

    from .verify import _link_problem, _reference_hash

    result = RangeResult()
    sha256, fast, quoted = hashlib.sha256, _FAST, _quoted
    needs_escaping, null = _NEEDS_ESCAPING.search, _NULL
    anchored_ids = {str(a).encode() for a in anchored}
    expected: bytes | None = None
    previous: bytes | None = None
    count = 0
    conn = psycopg.connect(dsn)
    try:
        cursor = conn.cursor()
        copying = cursor.copy(_COPY.format(lo=int(lo), hi=int(hi)))
        copy = copying.__enter__()
        # Not left through __exit__: after a problem the rest of the range is not wanted, and
        # closing the connection drops the unfinished COPY with it.
        for line in _lines(copy):
            f = line.split(b"\t")
            event_id, prev, stored = f[0], f[10], f[11]
            if expected is None:
                result.first_id, result.first_prev = int(event_id), prev.decode()
            elif prev != expected:
                problem = _link_problem(prev.decode(), expected.decode(), int(previous or 0))
                result.problem = (int(event_id), problem, count, int(previous or 0),
                                  expected.decode())  # fmt: skip
                break
            plain = line.count(b"\\") == line.count(null) and (
                needs_escaping(line, 0, len(line) - len(f[12]) - len(f[13]) - 2) is None
            )
            ok = False
            if plain:
                data = fast % (
                    f[5], f[2] if f[2] != null else b"null", quoted(f[4]),
                    f[13] if f[13] != null else b"null", f[12] if f[12] != null else b"null",
                    f[3] if f[3] != null else b"null", quoted(f[9]), quoted(f[7]), f[6],
                    f[1], prev, quoted(f[8]),
                )  # fmt: skip
                ok = sha256(data).hexdigest().encode() == stored
            if not ok:
                row = _row(f)
                digest = hashlib.sha256(canonical_bytes_from_columns(*row[1:13])).hexdigest()
                if digest != row[13]:
                    digest = _reference_hash(row)
                if digest != row[13]:
                    result.problem = (
                        row[0],
                        f"content altered: the stored hash is {row[13][:16]}…"
                        f" but the content hashes to {digest[:16]}…",
                        count,
                        None if previous is None else int(previous),
                        None if expected is None else expected.decode(),
                    )
                    break
            count += 1
            if event_id in anchored_ids:
                result.anchors.append(
                    (int(event_id), stored.decode(), count,
                     None if previous is None else int(previous),
                     None if expected is None else expected.decode())
                )  # fmt: skip
            expected, previous = stored, event_id
    finally:
        conn.close()
    result.count = count
    if previous is not None and expected is not None:
        result.last_id, result.last_hash = int(previous), expected.decode()
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
    from .verify import VerificationResult, _anchor_problem, _link_problem

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
    if pending:
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


def default_workers() -> int:
    """One process per core."""
    return max(1, os.cpu_count() or 1)
