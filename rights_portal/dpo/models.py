"""Indexes that serve the DPO dashboard's aggregate queries (no tables of its own).

The dashboard reads other domains' tables; the indexes it needs are declared here, on those
tables' columns, so they live in the metadata (Alembic sees them) without the dashboard editing
another domain's model. Each index names the figure it serves.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from ..cases.models import Case
from ..exams.models import AutomatedFlag
from .sql import amsterdam_date

# Decided per month, median days to decision, objections per programme: the period is a range of
# Amsterdam dates of decided_at. Indexing that expression (immutable on PostgreSQL) lets the scan
# read the local date from the index instead of converting every row's timestamp, and INCLUDE
# answers the figures without visiting the table. PostgreSQL only: SQLite's version of the
# expression is a Python function that must not end up in the database file.
ix_cases_decided_local_date = Index(
    "ix_cases_decided_local_date",
    amsterdam_date(Case.decided_at),
    postgresql_include=[
        "decided_at",
        "case_type",
        "programme_id",
        "outcome",
        "statutory_due",
        "received_on",
    ],
    # Not partial: the planner uses an expression index's statistics only when the index covers
    # every row, and without them it misjudges the period's size (sort instead of hash).
).ddl_if(dialect="postgresql")

# The base of the extension share: cases received in the period (an index-only count).
ix_cases_received_on = Index(
    "ix_cases_received_on", Case.received_on, postgresql_include=["programme_id"]
)

# Open cases by type and status (the partial index of open cases is ordered by due date only).
ix_cases_open_type_status = Index(
    "ix_cases_open_type_status",
    Case.case_type,
    Case.status,
    Case.programme_id,
    postgresql_where=text("status IN ('received', 'in_review', 'awaiting_requester')"),
    sqlite_where=text("status IN ('received', 'in_review', 'awaiting_requester')"),
)

# Extensions and their reasons, for cases received in the period.
ix_cases_extended_received_on = Index(
    "ix_cases_extended_received_on",
    Case.received_on,
    postgresql_include=["extension_reason", "extension_months", "programme_id"],
    postgresql_where=text("extension_months > 0"),
    sqlite_where=text("extension_months > 0"),
)

# Flags reviewed vs. unreviewed, for flags raised in the period.
ix_automated_flags_raised_at = Index(
    "ix_automated_flags_raised_at",
    AutomatedFlag.raised_at,
    postgresql_include=["review_status", "recording_id"],
)
