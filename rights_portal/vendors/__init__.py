"""Connectors to the proctoring and video-call vendors that hold recordings (art. 15, R11, R25).

Zoom (cloud recordings API and its signed webhook), ProctorExam (signed API v3) and vendors
without an API, whose files arrive on request (a tracked vendor request with its own due date).
What a connector lists is kept as vendor items; fetching one streams it into the recordings store
(:mod:`rights_portal.access.storage`), verified, once. This package owns the connectors, their
encrypted credentials, the items and the vendor requests; it builds on ``exams`` and ``access``.
"""
