"""Production gunicorn settings (the Dockerfile's ``gunicorn -c gunicorn.conf.py wsgi:app``).

Threaded workers: a request that streams a file (an access package, a recording, an export)
holds one thread, not a whole process, so pages keep being served while slow clients download
(issue 23; bench/slow_downloads.py measures it). Behind the compose file's nginx the files
themselves are sent by nginx (``SENDFILE_VIA_ACCEL``) and a download holds a thread only while
the app checks and audits it. Every setting can be overridden with an environment variable.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
# Processes for the CPU (Python runs one thread at a time per process), threads for waiting on
# the database, the store and slow clients.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A download to a slow client may take long; the timeout is the worker's heartbeat, not a
# request limit, for gthread workers.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = 5
accesslog = "-"
