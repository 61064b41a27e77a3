"""Who may configure the institution's integrations, and what an API client may read.

API clients (``rights_portal/api``) are decided here like people: a client holds scopes, and the
clause for its cases is built from them, so the API has no second set of rules.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from ..accounts.models import User
from ..api.models import ApiCaseOrigin, ApiClient
from ..api.models import Scope as ApiScope
from ..cases.models import Case
from .gates import INTEGRATION_ADMIN_ROLES


def can_link_staff_accounts(user: User) -> bool:
    """Only admins link staff accounts to an institutional login (never a claim alone)."""
    return bool(user.is_authenticated) and user.role in INTEGRATION_ADMIN_ROLES


def can_manage_api_clients(user: User) -> bool:
    """Admins make API clients and register webhook endpoints."""
    return bool(user.is_authenticated) and user.role in INTEGRATION_ADMIN_ROLES


def can_manage_ooapi(user: User) -> bool:
    """Admins see the OOAPI connector's runs and start a sync (its settings are environment)."""
    return bool(user.is_authenticated) and user.role in INTEGRATION_ADMIN_ROLES


def api_client_may(client: ApiClient, scope: ApiScope) -> bool:
    """Whether an API client may do what ``scope`` covers (it is active and holds it)."""
    return client.is_active and client.has(scope)


def api_case_clause(client: ApiClient) -> ColumnElement[bool]:
    """The cases an API client may read: all with staff-read, else those it filed (read-own)."""
    if api_client_may(client, ApiScope.STAFF_READ):
        return true()
    if api_client_may(client, ApiScope.READ_OWN) or api_client_may(client, ApiScope.FILE):
        filed = select(ApiCaseOrigin.case_id).where(ApiCaseOrigin.client_id == client.id)
        return Case.id.in_(filed)
    return false()


def can_manage_vendor_connectors(user: User) -> bool:
    """Admins configure the vendor connectors, their credentials and links, and see their state."""
    return bool(user.is_authenticated) and user.role in INTEGRATION_ADMIN_ROLES
