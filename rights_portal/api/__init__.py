"""The REST API under ``/api/v1`` for the institution's own systems (OpenAPI 3.1, problem JSON).

``models`` the clients and idempotent requests, ``clients`` tokens and the calling client,
``views`` the operations (and ``init_app``, which mounts them), ``filing`` the bridge to the case
services, ``problems`` errors as RFC 9457 problem details, ``idempotency`` retried POSTs,
``docs_views`` the readable reference page made from the document, ``admin_views`` the admin's
page of clients.
"""
