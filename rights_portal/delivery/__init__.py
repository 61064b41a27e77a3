"""Delivery: whether e-mail, reminders and tasks are really going out.

The worker and the scheduler (beat) each write a heartbeat; together with the age of the oldest
unsent outbox message that tells the readiness probe and staff pages whether delivery has
stalled, and since when. This package owns those heartbeats and that verdict, not the outbox
itself (``notifications``) nor the tasks (``workers``).
"""
