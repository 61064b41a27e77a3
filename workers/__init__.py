"""Celery workers: thin tasks that call domain services, and the one beat schedule."""
