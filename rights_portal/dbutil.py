"""Small database helpers that differ per dialect (PostgreSQL in production, SQLite embedded)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


def insert_ignoring_conflicts(model: Any, index_elements: list[str]) -> Any:
    """Return an INSERT that silently skips rows violating the unique key ``index_elements``."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=index_elements)
