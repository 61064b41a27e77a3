"""``flask audit …``: verify the hash chain (optionally against anchors) and anchor its head (R24).

``verify`` exits 1 on any tampering, deletion or reordering and names the first broken event;
``anchor`` runs the nightly check by hand (verify, append the head to the anchor log and mail it
to the DPO, or alert the DPO).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..transactions import unit_of_work
from .anchors import AnchorFileError, anchor_file, read_anchors, verify_and_anchor
from .verify import VerificationResult, verify_chain

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


def _report(result: VerificationResult) -> None:
    if result.ok:
        head = (
            f"; head is event {result.head_id} ({result.head_hash})"
            if result.head_id is not None
            else ""
        )
        anchors = f"; {result.anchors_checked} anchor(s) matched" if result.anchors_checked else ""
        click.echo(f"audit trail intact: {result.events_checked} event(s) verified{head}{anchors}")
        return
    where = f" at event {result.broken_event_id}" if result.broken_event_id is not None else ""
    click.echo(
        f"audit trail BROKEN{where}: {result.problem}"
        f" ({result.events_checked} event(s) before it verified)",
        err=True,
    )


@audit_cli.command("verify")
@click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also check the heads anchored in this file (one JSON line per anchor), e.g."
    " the anchor log or a copy from the DPO's mailbox.",
)
@click.option(
    "--with-anchor-log",
    is_flag=True,
    help="Also check the heads in this installation's anchor log (AUDIT_ANCHOR_FILE).",
)
def verify_command(anchors_path: Path | None, with_anchor_log: bool) -> None:
    """Verify every event's hash and link, in order; exit 1 on the first broken one."""
    paths = [p for p in (anchors_path, anchor_file() if with_anchor_log else None) if p]
    try:
        anchors = [anchor for path in paths for anchor in read_anchors(path)]
    except AnchorFileError as exc:
        raise click.ClickException(str(exc)) from exc
    result = verify_chain(anchors=anchors)
    _report(result)
    if not result.ok:
        sys.exit(1)


@audit_cli.command("anchor")
def anchor_command() -> None:
    """Run the nightly check now: verify, then anchor the head and mail it, or alert the DPO."""
    # Its own unit of work, committed before the exit status: a failed check's event and the
    # DPO's alert are kept (an exit is raised, and would roll them back).
    result = unit_of_work(verify_and_anchor)()
    _report(result)
    if result.ok and result.head_id is not None:
        click.echo(f"anchored in {anchor_file()}")
    if not result.ok:
        sys.exit(1)
