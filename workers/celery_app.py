"""The worker's entry point: ``celery -A workers.celery_app worker`` (and ``beat``).

This is the only module that builds the Flask app for Celery; tasks themselves are shared tasks
and run inside the app context that :func:`rights_portal.celery_init_app` provides. Each worker
and scheduler process writes a heartbeat (:mod:`workers.heartbeats`).
"""

from rights_portal import create_app
from workers import heartbeats

flask_app = create_app()
celery = flask_app.extensions["celery"]
heartbeats.connect(flask_app)
