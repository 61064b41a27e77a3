"""Readiness probes and structured logging: what operations watch.

:func:`readiness` checks the database, the Celery broker (with a short timeout, so a down broker
answers "down" rather than hanging the probe) and the recordings store, and reports the worker's
and scheduler's last heartbeats and the oldest unsent e-mail (:mod:`rights_portal.delivery`).
:class:`JsonFormatter` writes one JSON object per log line with the request id that the audit
events also carry.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import text

from .delivery.status import delivery_status
from .extensions import db

PROBE_TIMEOUT = 2


def _database() -> None:
    db.session.execute(text("SELECT 1"))


def _broker() -> None:
    url = str(current_app.config["CELERY"]["broker_url"])
    if url.startswith("memory://"):
        return
    if url.startswith("sqla+"):  # the embedded broker is up when its database answers
        engine = sa.create_engine(url.removeprefix("sqla+"))
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=PROBE_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1)


def _storage() -> None:
    config = current_app.config
    if config.get("RECORDINGS_S3_BUCKET"):
        from .access.storage import recordings_storage

        recordings_storage().exists("readyz-probe")  # a HEAD on the bucket's prefix
        return
    folder = config["RECORDINGS_DIR"]
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".readyz-"):
        pass  # created and removed: the folder is writable


CHECKS = {"database": _database, "broker": _broker, "storage": _storage}


def readiness() -> tuple[dict[str, Any], bool]:
    """Each dependency's state and what was last seen of worker, scheduler and outbox.

    Ready means every dependency is up and delivery flows (:mod:`rights_portal.delivery`).
    """
    report: dict[str, Any] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            current_app.logger.warning("readiness: %s is down: %s", name, exc)
            if name == "database":
                db.session.rollback()
            report[name] = "down"
        else:
            report[name] = "up"
    ready = all(state == "up" for state in report.values())
    if report["database"] == "up":
        try:
            status = delivery_status(current_app.config)
        except Exception as exc:  # e.g. a schema not yet migrated: not ready, and say why
            current_app.logger.warning("readiness: delivery status unreadable: %s", exc)
            db.session.rollback()
            report["worker"] = report["scheduler"] = report["outbox"] = "unknown"
            return report, False
        figures = status.report()
        report.update(figures)
        if not status.flowing:
            current_app.logger.warning("readiness: delivery stalled: %s", figures)
        ready = ready and status.flowing
    return report, ready


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_app_context() and has_request_context():
            entry["request_id"] = g.get("request_id")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's output as JSON lines to stderr (LOG_FORMAT=json)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
