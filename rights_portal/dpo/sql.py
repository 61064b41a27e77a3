"""SQL expressions the dashboard needs that differ per database.

PostgreSQL (production and tests) computes them natively. The embedded SQLite of ``make run``
gets a small Python function registered on each connection, so the dashboard works there too,
only slower. Nothing else in the portal depends on this module.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Integer, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..clock import AMSTERDAM


class amsterdam_date(FunctionElement[date]):  # noqa: N801 (reads as the SQL function it is)
    """The calendar date in Europe/Amsterdam of a UTC timestamp (R2)."""

    type = Date()
    inherit_cache = True
    name = "amsterdam_date"


class month_start(FunctionElement[date]):  # noqa: N801
    """The first day of the month of a date."""

    type = Date()
    inherit_cache = True
    name = "month_start"


class days_between(FunctionElement[int]):  # noqa: N801
    """Calendar days from the second date to the first (``a - b``)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(amsterdam_date, "postgresql")
def _amsterdam_date_pg(element: amsterdam_date, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _args(element, compiler, **kw)
    return f"CAST(timezone('Europe/Amsterdam', {moment}) AS DATE)"


@compiles(amsterdam_date, "sqlite")
def _amsterdam_date_sqlite(element: amsterdam_date, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _args(element, compiler, **kw)
    return f"rp_amsterdam_date({moment})"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    # Through a timestamp without time zone: immutable and free of the session's TimeZone.
    return f"CAST(date_trunc('month', CAST({day} AS TIMESTAMP)) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"date({day}, 'start of month')"


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"({later} - {earlier})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _sqlite_amsterdam_date(value: str | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(AMSTERDAM).date().isoformat()


@event.listens_for(Engine, "connect")
def _register_sqlite_functions(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(
            "rp_amsterdam_date", 1, _sqlite_amsterdam_date, deterministic=True
        )
