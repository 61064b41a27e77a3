"""An OOAPI v5 client: OAuth2 client credentials, JSON GETs and the spec's paging.

Every failure becomes one :class:`OoapiError` with a kind the admin page can explain (the server
did not answer in time, answered with an error, kept on paging, sent something that is not the
contract's shape) and a detail naming the request. Paging follows the contract's ``pageSize`` /
``pageNumber`` parameters and its Pagination envelope (``items``, ``hasNextPage``); a list that
still has a next page after ``max_pages`` pages is an error, not a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session


class OoapiError(Exception):
    """The sync could not read the OOAPI; ``kind`` says how, ``detail`` which request."""

    def __init__(self, kind: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.status = status


@dataclass(frozen=True)
class ClientSettings:
    """Where the OOAPI and its token endpoint are, and how patient the client is."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    timeout_seconds: float = 10.0
    page_size: int = 100  # one of the contract's allowed sizes (10, 20, 50, 100, 250)
    max_pages: int = 200


class OoapiClient:
    """Reads the OOAPI with a bearer token fetched once per client (one sync)."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.requests = 0
        self._session: OAuth2Session | None = None

    def _authorized(self) -> OAuth2Session:
        if self._session is not None:
            return self._session
        session = OAuth2Session(
            self.settings.client_id,
            self.settings.client_secret,
            token_endpoint=self.settings.token_url,
        )
        self.requests += 1
        try:
            session.fetch_token(
                self.settings.token_url,
                grant_type="client_credentials",
                timeout=self.settings.timeout_seconds,
            )
        except requests.Timeout as error:
            raise OoapiError(
                "timeout",
                f"the token endpoint {self.settings.token_url} did not answer within "
                f"{self.settings.timeout_seconds:g} s",
            ) from error
        except requests.RequestException as error:
            raise OoapiError(
                "connection", f"the token endpoint {self.settings.token_url}: {error}"
            ) from error
        except (OAuthError, ValueError) as error:
            raise OoapiError(
                "auth", f"the token endpoint {self.settings.token_url} refused: {error}"
            ) from error
        self._session = session
        return session

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` (relative to the base URL) and return its JSON object."""
        session = self._authorized()
        url = self.settings.base_url.rstrip("/") + path
        shown = f"GET {path}" + (f" {params}" if params else "")
        self.requests += 1
        try:
            response = session.get(url, params=params, timeout=self.settings.timeout_seconds)
        except requests.Timeout as error:
            raise OoapiError(
                "timeout",
                f"{shown}: no answer within {self.settings.timeout_seconds:g} s",
            ) from error
        except requests.RequestException as error:
            raise OoapiError("connection", f"{shown}: {error}") from error
        if response.status_code >= 400:
            raise OoapiError(
                "http",
                f"{shown}: HTTP {response.status_code} {_problem(response)}".rstrip(),
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError as error:
            raise OoapiError("invalid", f"{shown}: the answer is not JSON") from error
        if not isinstance(body, dict):
            raise OoapiError("invalid", f"{shown}: the answer is not a JSON object")
        return body

    def pages(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list, page by page until ``hasNextPage`` is false."""
        items: list[dict[str, Any]] = []
        for number in range(1, self.settings.max_pages + 1):
            page = self.get(
                path, {**(params or {}), "pageSize": self.settings.page_size, "pageNumber": number}
            )
            found = page.get("items")
            more = page.get("hasNextPage")
            if not isinstance(found, list) or not isinstance(more, bool):
                raise OoapiError(
                    "invalid", f"GET {path} page {number}: not a Pagination (items, hasNextPage)"
                )
            items.extend(item for item in found if isinstance(item, dict))
            if not more:
                return items
        raise OoapiError(
            "paging",
            f"GET {path} still had a next page after {self.settings.max_pages} pages "
            f"of {self.settings.page_size}; stopped",
        )


def _problem(response: requests.Response) -> str:
    """The title and detail of an RFC 7807 problem (the contract's error body), if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body[key]) for key in ("title", "detail") if body.get(key))[:300]
