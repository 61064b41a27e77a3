"""Outbound webhooks: the institution's systems are told when something happens to a case.

An admin registers an endpoint and the events it wants; each event becomes a delivery in the
same transaction as the change (``events``), sent after the commit by the worker, signed the
Standard Webhooks way (``delivery``), retried with backoff, logged per endpoint, and the
endpoint is disabled after persistent failure with a notice to the admins.
"""
