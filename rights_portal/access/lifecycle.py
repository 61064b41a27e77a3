"""A case's access packages from request to expiry (R11, R14).

* :func:`request_build` — queue a new package build (the worker runs :mod:`.package`);
* :func:`release` — decide the case (granted, or partly granted with the partial refusals as
  reasons), open the download for the requester for ``PACKAGE_LINK_DAYS`` and close the case as
  fulfilled (R14);
* :func:`expire_packages`, :func:`stale_builds` — what the periodic housekeeping does.

These flush and never commit; permission checks are the caller's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..cases import services as case_services
from ..cases.models import Case, Outcome
from ..clock import now_utc
from ..errors import RuleViolation
from ..extensions import db
from ..notifications.services import notify_user
from . import redaction
from . import storage as access_storage
from .cleanup import delete_after_commit
from .decisions import decision_reasons, ensure_workable
from .holdings import gather
from .models import (
    AccessPackage,
    PackageStatus,
)

STALE_QUEUE = timedelta(minutes=2)
STALE_BUILD = timedelta(minutes=10)


def packages_of(case: Case) -> list[AccessPackage]:
    """The case's package builds, newest first."""
    return list(
        db.session.scalars(
            select(AccessPackage)
            .where(AccessPackage.case_id == case.id)
            .order_by(AccessPackage.id.desc())
        )
    )


def delivered_package(case: Case) -> AccessPackage | None:
    """The package released to the requester (possibly expired by now), if any."""
    return db.session.scalars(
        select(AccessPackage).where(
            AccessPackage.case_id == case.id,
            AccessPackage.status.in_([PackageStatus.RELEASED, PackageStatus.EXPIRED]),
        )
    ).one_or_none()


def request_build(case: Case, *, actor: User) -> AccessPackage:
    """Queue a new build; an unreleased earlier build is superseded and its file deleted."""
    ensure_workable(case)
    previous = packages_of(case)
    if any(p.status.in_progress for p in previous):
        raise RuleViolation(_l("A package for this case is being built already."))
    if any(p.status in (PackageStatus.RELEASED, PackageStatus.EXPIRED) for p in previous):
        raise RuleViolation(_l("The package of this case has been released already."))
    packages = access_storage.packages_storage()
    for old in previous:
        if old.status is PackageStatus.READY:
            old.status = PackageStatus.SUPERSEDED
            if old.storage_key:
                delete_after_commit(packages, old.storage_key)
                old.storage_key = None
                old.file_deleted_at = now_utc()
    requester = case.filed_by
    package = AccessPackage(
        case_id=case.id,
        status=PackageStatus.QUEUED,
        progress=0,
        locale=requester.locale or "nl",
        requested_by_id=actor.id,
        requested_at=now_utc(),
    )
    db.session.add(package)
    db.session.flush()
    record(
        "package.build_requested",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=case.id,
        after={"status": package.status.value, "locale": package.locale},
    )
    return package


def build_is_stuck(package: AccessPackage, *, now: datetime, stuck_after: timedelta) -> bool:
    """A build still queued, or building without a sign of life, for longer than ``stuck_after``.

    Queued counts from the request (no worker took it); building from the last heartbeat the
    builder wrote with its progress (the builder stopped).
    """
    if package.status is PackageStatus.QUEUED:
        return now - package.requested_at > stuck_after
    if package.status is PackageStatus.BUILDING:
        return now - (package.heartbeat_at or package.requested_at) > stuck_after
    return False


def retry_build(package: AccessPackage, *, actor: User, stuck_after: timedelta) -> AccessPackage:
    """Try a failed or stuck build again: the old one is given up, a new one queued.

    A stuck build is marked failed with the reason first, so no worker takes it up any more and
    the case has one build in progress at a time. Both steps are on the audit trail.
    """
    now = now_utc()
    stuck = build_is_stuck(package, now=now, stuck_after=stuck_after)
    if package.status is not PackageStatus.FAILED and not stuck:
        raise RuleViolation(_l("Only a build that failed or does not progress can be retried."))
    before = {"package_id": package.id, "status": package.status.value}
    if stuck:
        package.status = PackageStatus.FAILED
        package.error = (
            f"not started or not progressing for more than {int(stuck_after.total_seconds())} s"
        )
        db.session.flush()
    retried = request_build(package.case, actor=actor)
    record(
        "package.build_retried",
        actor=actor,
        object_type="access_package",
        object_id=retried.id,
        case_id=package.case_id,
        before=before,
        after={"package_id": retried.id, "status": retried.status.value},
    )
    return retried


def release(package: AccessPackage, *, actor: User) -> AccessPackage:
    """Release a built package: decide the case, open the download, close the case (R13, R14).

    The decision is "granted", or "partly granted" when anything requested was redacted or
    withheld; its reasons list those partial refusals (R5, R13). The requester gets an e-mail with
    a link only; the link works for ``PACKAGE_LINK_DAYS`` days.
    """
    case = package.case
    if package.status is not PackageStatus.READY:
        raise RuleViolation(_l("Only a package that has been built can be released."))
    newest = packages_of(case)[0]
    if newest.id != package.id:
        raise RuleViolation(_l("A newer build of this package exists; release that one."))
    if redaction.unreviewed(case):  # R27: automatic redaction proposes, a person decides
        raise RuleViolation(
            _l("An automatic redaction has not been checked yet: confirm the requester's face.")
        )
    holdings = gather(case)
    if holdings.fingerprint() != package.contents_fingerprint:
        raise RuleViolation(
            _l("The data or the decisions changed after this package was built. Build it again.")
        )
    refusals = holdings.partial_refusals()
    outcome = Outcome.PARTLY_GRANTED if refusals else Outcome.GRANTED
    with force_locale(package.locale):
        reasons = decision_reasons(refusals)
    case_services.decide(case, actor=actor, outcome=outcome, reasons=reasons)

    now = now_utc()
    package.status = PackageStatus.RELEASED
    package.released_at = now
    package.released_by_id = actor.id
    package.expires_at = now + timedelta(days=current_app.config["PACKAGE_LINK_DAYS"])
    db.session.flush()
    record(
        "package.released",
        actor=actor,
        object_type="access_package",
        object_id=package.id,
        case_id=case.id,
        after={
            "status": package.status.value,
            "sha256": package.sha256,
            "size_bytes": package.size_bytes,
            "expires_at": package.expires_at,
            "partial_refusals": len(refusals),
            "outcome": outcome.value,
        },
    )
    notify_user(case.filed_by, "access_package_ready", case=case, package=package)
    case_services.fulfil(case, actor=actor, fulfilment="access package delivered")
    return package


def expire_packages(now: datetime | None = None) -> list[int]:
    """Delete the files of released packages whose link expired; keep sha256 and size (R14).

    The file is deleted before the row says so: a crash in between leaves a row that the next run
    finishes (deleting a missing file is a no-op), never a file nobody knows about.
    """
    now = now or now_utc()
    store = access_storage.packages_storage()
    expired = db.session.scalars(
        select(AccessPackage)
        .where(AccessPackage.status == PackageStatus.RELEASED, AccessPackage.expires_at <= now)
        .order_by(AccessPackage.id)
        .with_for_update(skip_locked=True)
    ).all()
    for package in expired:
        key = package.storage_key
        if key:
            store.delete(key)
        package.status = PackageStatus.EXPIRED
        package.storage_key = None
        package.file_deleted_at = now
        db.session.flush()
        record(
            "package.expired",
            actor=None,
            object_type="access_package",
            object_id=package.id,
            case_id=package.case_id,
            after={
                "sha256": package.sha256,
                "size_bytes": package.size_bytes,
                "expires_at": package.expires_at,
                "file_deleted_at": now,
            },
        )
    return [package.id for package in expired]


def stale_builds(now: datetime | None = None) -> list[int]:
    """Builds whose task was lost (broker down at commit) or whose worker died mid-build."""
    now = now or now_utc()
    return list(
        db.session.scalars(
            select(AccessPackage.id).where(
                (
                    (AccessPackage.status == PackageStatus.QUEUED)
                    & (AccessPackage.requested_at <= now - STALE_QUEUE)
                )
                | (
                    (AccessPackage.status == PackageStatus.BUILDING)
                    & (AccessPackage.heartbeat_at <= now - STALE_BUILD)
                )
            )
        )
    )
