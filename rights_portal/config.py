"""Configuration for Rights Portal.

Every setting has an embedded default so the portal runs on a bare machine (SQLite in
``instance/``, a Celery broker on SQLite, e-mail written to ``instance/mail``), and every setting
can be overridden by an environment variable of the same name. Production sets
``RIGHTS_PORTAL_ENV=production`` together with ``DATABASE_URL``, ``CELERY_BROKER_URL``,
``SECRET_KEY``, ``VENDOR_CREDENTIALS_KEY`` and ``SMTP_HOST``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int_list(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


BROKER_CONNECT_TIMEOUT = 2


def broker_transport_options(broker_url: str) -> dict[str, Any]:
    """Transport options that the broker named by ``broker_url`` understands.

    Each kombu transport passes its options on to its own client, and a foreign one is fatal:
    the SQLAlchemy transport hands them to ``create_engine``, which refuses Redis' socket
    options, and the worker dies at start. So each transport gets only its own.
    """
    scheme = broker_url.partition("://")[0].lower()
    if scheme in ("redis", "rediss", "sentinel"):
        # redis-py's connect timeout: a down Redis fails a publish within seconds, never hangs
        # the request that commits (the outbox relay sends the message later).
        return {"socket_connect_timeout": BROKER_CONNECT_TIMEOUT}
    # The SQLAlchemy transport (the embedded default) passes every option to create_engine,
    # amqp and the rest are bounded by broker_connection_timeout: none needs an option.
    return {}


#: The queues and the tasks routed to each; a task not named here goes to the default queue.
#: Short work (mail, the sweeps) never shares a queue with long work (packages, media), and
#: each queue's workers take one task at a time (prefetch 1, acks late), so a long task holds
#: nothing back but its own queue.
TASK_QUEUES: dict[str, tuple[str, ...]] = {
    # Outgoing e-mail: acknowledgements, reminders, decisions (many, short, SMTP-bound).
    "mail": ("rights_portal.deliver_email",),
    # The scheduled sweeps that send reminders (R9, R10, R26) and the relays that re-send what a
    # lost dispatch left behind: short, and late reminders are what the portal must not have.
    "deadlines": (
        "rights_portal.sweep_deadlines",
        "rights_portal.breach_reminders",
        "rights_portal.register_reminders",
        "rights_portal.relay_outbox",
        "rights_portal.relay_webhooks",
        "rights_portal.access_package_housekeeping",
        "rights_portal.anchor_audit_head",
        "rights_portal.vendor_request_reminders",
        "rights_portal.purge_exports",
    ),
    # Access packages (R11, R12), the recordings fetched from the vendors for them, the large
    # exports (audit CSV, DPO report), and the file deletions decisions ask for (R25): storage-
    # and network-bound, seconds to minutes each.
    "packages": (
        "rights_portal.build_access_package",
        "rights_portal.build_export",
        "rights_portal.delete_decided_files",
        "rights_portal.fetch_vendor_files",
        "rights_portal.fetch_zoom_meeting",
    ),
    # Bystander redaction (R27): CPU-bound, minutes per recording.
    "media": ("rights_portal.redact_recording",),
}
#: Celery's default queue: webhook deliveries, the nightly verification, the daily purge, the
#: OOAPI sync (minutes against a large student-information system).
DEFAULT_QUEUE = "celery"
#: Every queue, for a worker that takes them all (``make run``'s embedded worker, the tests).
ALL_QUEUES: tuple[str, ...] = (DEFAULT_QUEUE, *TASK_QUEUES)


def task_routes() -> dict[str, dict[str, str]]:
    """Celery's ``task_routes``: each task name to its queue (:data:`TASK_QUEUES`)."""
    return {task: {"queue": queue} for queue, tasks in TASK_QUEUES.items() for task in tasks}


def queue_of(task_name: str) -> str:
    """The queue a task is routed to (the default queue if it is not named)."""
    return task_routes().get(task_name, {}).get("queue", DEFAULT_QUEUE)


def build_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the configuration mapping: defaults, then environment, then ``overrides``."""
    env = _env("RIGHTS_PORTAL_ENV", "development")
    development = env in ("development", "test")
    secret_key = _env("SECRET_KEY")
    if secret_key is None:
        if not development:
            raise RuntimeError("SECRET_KEY must be set outside development")
        secret_key = _dev_secret(instance_path)
    # Vendor connectors' credentials are encrypted with this Fernet key (rights_portal/vendors/
    # secrets.py). Outside development it must be given: a key derived from SECRET_KEY would
    # put both secrets in one.
    vendor_key = _env("VENDOR_CREDENTIALS_KEY")
    if vendor_key is None and not development:
        raise RuntimeError("VENDOR_CREDENTIALS_KEY must be set outside development")

    database_url = _env("DATABASE_URL", f"sqlite:///{instance_path / 'rights_portal.sqlite'}")
    broker_url = _env(
        "CELERY_BROKER_URL", f"sqla+sqlite:///{instance_path / 'celery-broker.sqlite'}"
    )
    smtp_host = _env("SMTP_HOST")

    config: dict[str, Any] = {
        "RIGHTS_PORTAL_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not development,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not development,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "LANGUAGES": ["nl", "en"],
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": True,
        # Redis down must not lock everybody out nor cause 500s: count in memory meanwhile.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute"),
        # Login: per address of the browser a much higher limit (a campus shares one public
        # address); per account growing delays and a lock the owner lifts by e-mail
        # (rights_portal/accounts/throttle.py).
        "LOGIN_ADDRESS_RATE_LIMIT": _env("LOGIN_ADDRESS_RATE_LIMIT", "300 per minute"),
        "LOGIN_DELAY_AFTER": int(_env("LOGIN_DELAY_AFTER", "3") or 3),
        "LOGIN_MAX_DELAY_SECONDS": int(_env("LOGIN_MAX_DELAY_SECONDS", "60") or 60),
        "LOGIN_LOCK_AFTER": int(_env("LOGIN_LOCK_AFTER", "10") or 10),
        "LOGIN_LOCK_MINUTES": int(_env("LOGIN_LOCK_MINUTES", "15") or 15),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(_env("LOGIN_FAILURE_WINDOW_MINUTES", "15") or 15),
        # How many reverse proxies in front of the portal set X-Forwarded-For/-Proto; 0 trusts
        # none (the header is ignored and the client's address is the connection's).
        "TRUSTED_PROXY_HOPS": int(_env("TRUSTED_PROXY_HOPS", "0") or 0),
        # Sessions end after this many minutes without a request (and after
        # PERMANENT_SESSION_LIFETIME in any case); both are checked on the server.
        "SESSION_IDLE_MINUTES": int(_env("SESSION_IDLE_MINUTES", "30") or 30),
        # How long the verification link of a public registration works.
        "EMAIL_VERIFICATION_HOURS": int(_env("EMAIL_VERIFICATION_HOURS", "48") or 48),
        # How long an e-mailed password reset link works (it works once).
        "PASSWORD_RESET_MINUTES": int(_env("PASSWORD_RESET_MINUTES", "60") or 60),
        # "json" writes structured log lines with the request id (production default).
        "LOG_FORMAT": _env("LOG_FORMAT", "text" if development else "json"),
        "PORTAL_BASE_URL": _env("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
        "INSTITUTION_NAME": _env("INSTITUTION_NAME", "Demo University"),
        # Log in with the institution's account (SURFconext, OpenID Connect); off without an
        # issuer. Test: https://connect.test.surfconext.nl, production: https://connect.surfconext.nl
        "OIDC_ISSUER": _env("OIDC_ISSUER", ""),
        "OIDC_CLIENT_ID": _env("OIDC_CLIENT_ID", ""),
        "OIDC_CLIENT_SECRET": _env("OIDC_CLIENT_SECRET", ""),
        "OIDC_SCOPES": _env("OIDC_SCOPES", "openid"),
        # The schac_home_organization values whose students and staff may log in ("uni.nl").
        "OIDC_ACCEPTED_ORGANIZATIONS": _env("OIDC_ACCEPTED_ORGANIZATIONS", ""),
        # The acr staff must log in with (SURFsecureID); empty: the portal's own TOTP for staff.
        "OIDC_STAFF_ACR": _env("OIDC_STAFF_ACR", ""),
        # The REST API (/api/v1): calls per client; webhooks: give up on an endpoint after this
        # many failed attempts in a row (it is disabled and the admins are told).
        # The student-information system through the Open Education API (OOAPI v5); the sync
        # is off while OOAPI_BASE_URL is empty. Tokens: OAuth2 client credentials.
        "OOAPI_BASE_URL": _env("OOAPI_BASE_URL", ""),
        "OOAPI_TOKEN_URL": _env("OOAPI_TOKEN_URL", ""),
        "OOAPI_CLIENT_ID": _env("OOAPI_CLIENT_ID", ""),
        "OOAPI_CLIENT_SECRET": _env("OOAPI_CLIENT_SECRET", ""),
        "OOAPI_ORGANIZATION_ID": _env("OOAPI_ORGANIZATION_ID", ""),
        "OOAPI_SYNC_MINUTES": int(_env("OOAPI_SYNC_MINUTES", "60") or 60),
        "OOAPI_TIMEOUT_SECONDS": float(_env("OOAPI_TIMEOUT_SECONDS", "10") or 10),
        "OOAPI_PAGE_SIZE": int(_env("OOAPI_PAGE_SIZE", "100") or 100),
        "OOAPI_MAX_PAGES": int(_env("OOAPI_MAX_PAGES", "200") or 200),
        # The exam board new programmes from the OOAPI get (by name); empty: a placeholder board.
        "OOAPI_EXAM_BOARD": _env("OOAPI_EXAM_BOARD", ""),
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "600 per minute"),
        "WEBHOOK_DISABLE_AFTER": int(_env("WEBHOOK_DISABLE_AFTER", "15") or 15),
        "WEBHOOK_TIMEOUT_SECONDS": int(_env("WEBHOOK_TIMEOUT_SECONDS", "10") or 10),
        # R19: "public" (an administrative body: objection within 6 weeks) or "private"
        # (bijzonder: the civil court); decides which route of redress decisions name.
        "INSTITUTION_KIND": _env("INSTITUTION_KIND", "public"),
        # Mail: SMTP when SMTP_HOST is set, otherwise .eml files in instance/mail.
        "MAIL_BACKEND": "smtp" if smtp_host else "file",
        "SMTP_HOST": smtp_host or "localhost",
        "SMTP_PORT": int(_env("SMTP_PORT", "25") or 25),
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _env("SMTP_STARTTLS", "false") == "true",
        "MAIL_FROM": _env("MAIL_FROM", "privacy@example.edu"),
        "MAIL_DIR": str(instance_path / "mail"),
        # Deadlines (R6, R7, R9).
        "EXAM_BOUND_WORKING_DAYS": int(_env("EXAM_BOUND_WORKING_DAYS", "5") or 5),
        # R3: days equated with public holidays by royal decree (Algemene termijnenwet art. 3(3))
        # that the DPO decided to follow, as ISO dates: "2026-01-02,2026-05-15". None by default.
        "EXTRA_NON_WORKING_DAYS": _env("EXTRA_NON_WORKING_DAYS", ""),
        # R6: a question asked later than this many working days after receipt does not pause.
        "PAUSE_QUESTION_WORKING_DAYS": int(_env("PAUSE_QUESTION_WORKING_DAYS", "5") or 5),
        # Delivery (rights_portal/delivery): the worker and beat write a heartbeat this often;
        # /readyz answers 503 and staff pages show a banner when none was seen for
        # WORKER_STALE_SECONDS or an e-mail has waited unsent for OUTBOX_STUCK_SECONDS.
        "WORKER_HEARTBEAT_SECONDS": int(_env("WORKER_HEARTBEAT_SECONDS", "30") or 30),
        "WORKER_STALE_SECONDS": int(_env("WORKER_STALE_SECONDS", "120") or 120),
        "OUTBOX_STUCK_SECONDS": int(_env("OUTBOX_STUCK_SECONDS", "600") or 600),
        # The relay re-dispatches outbox messages still unsent after this many seconds.
        "OUTBOX_RELAY_AGE_SECONDS": int(_env("OUTBOX_RELAY_AGE_SECONDS", "60") or 60),
        "REMINDER_OFFSETS": _int_list(_env("REMINDER_OFFSETS", "7,2,0") or "7,2,0"),
        "DEADLINE_SWEEP_MINUTES": int(_env("DEADLINE_SWEEP_MINUTES", "15") or 15),
        # The sweep commits after this many cases: the audit chain is locked for one batch only.
        "DEADLINE_SWEEP_BATCH_SIZE": int(_env("DEADLINE_SWEEP_BATCH_SIZE", "50") or 50),
        # Audit trail (R24): the nightly verification (local time) and its anchor log.
        "AUDIT_VERIFY_AT": _env("AUDIT_VERIFY_AT", "02:30"),
        # ...and how often beat checks the last anchor and anchors the new head (the window in
        # which a cut-off tail can go unnoticed).
        "AUDIT_HEAD_ANCHOR_MINUTES": int(_env("AUDIT_HEAD_ANCHOR_MINUTES", "5") or 5),
        "AUDIT_ANCHOR_FILE": _env("AUDIT_ANCHOR_FILE", str(instance_path / "audit-anchors.log")),
        # Guardians (R20, R21): how long a staff invitation's e-mailed link stays valid.
        "GUARDIAN_INVITATION_DAYS": int(_env("GUARDIAN_INVITATION_DAYS", "7") or 7),
        # Access packages and the recordings store (R11-R14). RECORDINGS_S3_BUCKET selects the
        # S3-compatible backend (see rights_portal/access/s3.py); otherwise local folders.
        "RECORDINGS_DIR": _env("RECORDINGS_DIR", str(instance_path / "recordings")),
        "PACKAGES_DIR": _env("PACKAGES_DIR", str(instance_path / "packages")),
        # Large exports (audit trail CSV, the DPO's report) are built by the worker into this
        # store area (or the S3 bucket's prefix "exports/") and deleted after the retention.
        "EXPORTS_DIR": _env("EXPORTS_DIR", str(instance_path / "exports")),
        "EXPORT_RETENTION_HOURS": int(_env("EXPORT_RETENTION_HOURS", "72") or 72),
        # Behind nginx (docker-compose.yml): the app checks and audits a download of a locally
        # stored file, then answers with X-Accel-Redirect to SENDFILE_ACCEL_PREFIX/<area>/<path>
        # (an internal nginx location on the same volume) and nginx sends the bytes.
        "SENDFILE_VIA_ACCEL": _env("SENDFILE_VIA_ACCEL", "false") == "true",
        "SENDFILE_ACCEL_PREFIX": (_env("SENDFILE_ACCEL_PREFIX") or "/_stored").rstrip("/"),
        "RECORDINGS_S3_BUCKET": _env("RECORDINGS_S3_BUCKET"),
        # With S3: answer an authorised (and audited) download with a redirect to a signed
        # address valid this many seconds, so the bucket sends the bytes; 0 streams through the
        # portal (the bucket's endpoint must be reachable from the browsers to turn it on).
        "RECORDINGS_S3_PRESIGNED_SECONDS": int(_env("RECORDINGS_S3_PRESIGNED_SECONDS", "0") or 0),
        "RECORDINGS_S3_ENDPOINT_URL": _env("RECORDINGS_S3_ENDPOINT_URL"),
        "RECORDINGS_S3_REGION": _env("RECORDINGS_S3_REGION"),
        "RECORDINGS_S3_ACCESS_KEY_ID": _env("RECORDINGS_S3_ACCESS_KEY_ID"),
        "RECORDINGS_S3_SECRET_ACCESS_KEY": _env("RECORDINGS_S3_SECRET_ACCESS_KEY"),
        "RECORDINGS_UPLOAD_MAX_BYTES": int(
            _env("RECORDINGS_UPLOAD_MAX_BYTES", str(4 * 1024**3)) or 4 * 1024**3
        ),
        # R1: the letter or e-mail uploaded when staff register a request received elsewhere.
        "INTAKE_DOCUMENT_MAX_BYTES": int(
            _env("INTAKE_DOCUMENT_MAX_BYTES", str(10 * 1024**2)) or 10 * 1024**2
        ),
        # Vendor exports (rights_portal/access/export.py): a ZIP member may unpack to at most
        # this many times its packed size (media hardly packs; 256 MiB of zeros packs ~1000x),
        # and all members together to at most this many bytes.
        "IMPORT_MAX_COMPRESSION_RATIO": int(_env("IMPORT_MAX_COMPRESSION_RATIO", "100") or 100),
        "IMPORT_MAX_UNPACKED_BYTES": int(
            _env("IMPORT_MAX_UNPACKED_BYTES", str(8 * 1024**3)) or 8 * 1024**3
        ),
        # Vendor connectors (rights_portal/vendors): the credentials' key (None in development:
        # derived from SECRET_KEY, with a warning), HTTP timeout, download attempts (resumed
        # with Range), the most pages one listing may take, the on-request vendors' due date and
        # reminder in working days, Zoom's webhook timestamp window, the webhook's rate limit.
        "VENDOR_CREDENTIALS_KEY": vendor_key,
        "VENDOR_HTTP_TIMEOUT_SECONDS": float(_env("VENDOR_HTTP_TIMEOUT_SECONDS", "30") or 30),
        "VENDOR_FETCH_ATTEMPTS": int(_env("VENDOR_FETCH_ATTEMPTS", "3") or 3),
        "VENDOR_MAX_PAGES": int(_env("VENDOR_MAX_PAGES", "200") or 200),
        "VENDOR_REQUEST_WORKING_DAYS": int(_env("VENDOR_REQUEST_WORKING_DAYS", "10") or 10),
        "VENDOR_REQUEST_REMINDER_WORKING_DAYS": int(
            _env("VENDOR_REQUEST_REMINDER_WORKING_DAYS", "2") or 2
        ),
        "ZOOM_WEBHOOK_TOLERANCE_SECONDS": int(_env("ZOOM_WEBHOOK_TOLERANCE_SECONDS", "300") or 300),
        "VENDOR_WEBHOOK_RATE_LIMIT": _env("VENDOR_WEBHOOK_RATE_LIMIT", "120 per minute"),
        "PACKAGE_LINK_DAYS": int(_env("PACKAGE_LINK_DAYS", "30") or 30),
        "PACKAGE_HOUSEKEEPING_MINUTES": int(_env("PACKAGE_HOUSEKEEPING_MINUTES", "15") or 15),
        # A build not started (or not heard from) for this long is shown to staff as stuck,
        # with a button to try again.
        "PACKAGE_BUILD_STUCK_SECONDS": int(_env("PACKAGE_BUILD_STUCK_SECONDS", "120") or 120),
        "CELERY": {
            "broker_url": broker_url,
            "task_ignore_result": True,
            "task_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            # A down broker must not hang a request: connect fails within two seconds and a
            # publish is retried twice, briefly; the outbox relay sends the message later.
            "broker_connection_timeout": BROKER_CONNECT_TIMEOUT,
            "broker_transport_options": broker_transport_options(str(broker_url)),
            "task_publish_retry_policy": {
                "max_retries": 2,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.2,
            },
            "timezone": "Europe/Amsterdam",
            "beat_schedule_filename": str(instance_path / "celerybeat-schedule"),
            # Each kind of work on its own queue (TASK_QUEUES), so a long job never delays a
            # reminder when each queue has workers of its own (docker-compose.yml); the
            # embedded default's one worker takes them all (ALL_QUEUES). Routing by task name
            # applies to every send: .delay, beat's schedule and the task outbox alike.
            "task_routes": task_routes(),
        },
    }
    if overrides:
        celery_overrides = dict(overrides.pop("CELERY", None) or {})
        config.update(overrides)
        if celery_overrides:
            if "broker_url" in celery_overrides:
                celery_overrides.setdefault(
                    "broker_transport_options",
                    broker_transport_options(str(celery_overrides["broker_url"])),
                )
            config["CELERY"] = {**config["CELERY"], **celery_overrides}
    if config["INSTITUTION_KIND"] not in ("public", "private"):
        msg = f"INSTITUTION_KIND must be public or private, not {config['INSTITUTION_KIND']!r}"
        raise ValueError(msg)
    # Parsed once here (a typo stops the start-up); the calendar reads the tuple of dates (R3).
    config["EXTRA_NON_WORKING_DAYS"] = parse_extra_days(config["EXTRA_NON_WORKING_DAYS"])
    return config


def parse_extra_days(raw: str | Iterable[date | str] | None) -> tuple[date, ...]:
    """Parse the ``EXTRA_NON_WORKING_DAYS`` setting: ISO dates, comma-separated or as a list.

    Raises:
        ValueError: if an entry is not an ISO date (YYYY-MM-DD); the portal then refuses to start
            rather than compute deadlines with a calendar the DPO did not intend.

    """
    if raw is None:
        return ()
    parts: Iterable[date | str] = raw.split(",") if isinstance(raw, str) else raw
    days: set[date] = set()
    for part in parts:
        if isinstance(part, datetime):
            msg = f"EXTRA_NON_WORKING_DAYS takes dates, not datetimes: {part!r}"
            raise ValueError(msg)
        if isinstance(part, date):
            days.add(part)
            continue
        text = part.strip()
        if not text:
            continue
        try:
            days.add(date.fromisoformat(text))
        except ValueError:
            msg = f"EXTRA_NON_WORKING_DAYS: {text!r} is not a date like 2026-05-15"
            raise ValueError(msg) from None
    return tuple(sorted(days))


def _dev_secret(instance_path: Path) -> str:
    """Keep one random development key in instance/ so sessions survive a restart."""
    key_file = instance_path / "dev-secret-key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
