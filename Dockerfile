# Rights Portal image: one image for web (default CMD), migrate, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The sources copied to /app are what runs (the project is not pip-installed), so the app's
    # instance folder resolves to /app/instance in every process (gunicorn, flask CLI, celery).
    PYTHONPATH=/app

# Shared libraries for WeasyPrint (PDF export); DejaVu so PDFs render without system fonts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, exactly as locked (versions and hashes), so a source-only change reuses
# this layer and every image runs what the suite tested.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock

COPY rights_portal ./rights_portal
COPY workers ./workers
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py ./

# The sources run from /app (PYTHONPATH): nothing more to install, only the catalogs to compile.
RUN pybabel compile -d rights_portal/translations

# Unprivileged user (a fixed uid: the compose file's nginx runs as it to read the stored files);
# it may write only the instance folder (recordings, mail files). Creating
# the folder here with this owner makes a fresh named volume mounted on it writable too.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /app/instance \
 && chown app:app /app/instance
USER app

EXPOSE 8000
# Threaded workers (gunicorn.conf.py): a download holds a thread, not a process.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
