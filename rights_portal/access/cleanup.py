"""Stored files that follow the transaction: deleted only once it commits, or only if it rolls back.

A replaced redacted copy or a superseded package must disappear only if the change that replaced
it commits (:func:`delete_after_commit`); a fresh upload only if the change rolls back
(:func:`delete_after_rollback`), so nothing is left that no row knows about.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from . import blobs

_ON_COMMIT = "access_delete_after_commit"
_ON_ROLLBACK = "access_delete_after_rollback"


def delete_after_commit(store: blobs.Storage, key: str) -> None:
    """Delete ``key`` from ``store`` once the current transaction has committed."""
    db.session.info.setdefault(_ON_COMMIT, []).append((store, key))


def delete_after_rollback(store: blobs.Storage, key: str) -> None:
    """Delete ``key`` from ``store`` if the current transaction rolls back (a fresh upload)."""
    db.session.info.setdefault(_ON_ROLLBACK, []).append((store, key))


@event.listens_for(Session, "after_commit")
def _delete_committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    for store, key in session.info.pop(_ON_COMMIT, []):
        try:
            store.delete(key)
        except Exception:  # never fail a committed request for a cleanup; housekeeping logs it
            current_app.logger.warning("could not delete stored file %s after commit", key)


@event.listens_for(Session, "after_rollback")
def _delete_rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
    for store, key in session.info.pop(_ON_ROLLBACK, []):
        try:
            store.delete(key)
        except Exception:
            current_app.logger.warning("could not delete stored file %s after rollback", key)
