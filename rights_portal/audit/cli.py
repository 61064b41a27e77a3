"""``flask audit verify``: check the whole hash chain; exits non-zero on any tampering (R24)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .verify import verify_chain

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Verify every event's hash and link, in order."""
    result = verify_chain()
    if result.ok:
        click.echo(f"audit trail intact: {result.events_checked} event(s) verified")
        return
    click.echo(
        f"audit trail BROKEN at event {result.broken_event_id}: {result.problem}"
        f" ({result.events_checked} event(s) before it verified)",
        err=True,
    )
    sys.exit(1)
