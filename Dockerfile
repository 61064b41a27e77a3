# Rights Portal image: one image for web (default CMD), migrate, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Import the sources copied to /app (not the copy pip puts in site-packages), so the app's
    # instance folder resolves to /app/instance in every process (gunicorn, flask CLI, celery).
    PYTHONPATH=/app

# Shared libraries for WeasyPrint (PDF export); DejaVu so PDFs render without system fonts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, read from pyproject.toml, so a source-only change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY rights_portal ./rights_portal
COPY workers ./workers
COPY migrations ./migrations
COPY wsgi.py ./

# Compile catalogs before installing so the .mo files are in the package data too.
RUN pybabel compile -d rights_portal/translations \
 && pip install --no-cache-dir --no-deps . \
 && rm -rf build ./*.egg-info

# Unprivileged user; it may write only the instance folder (recordings, mail files). Creating
# the folder here with this owner makes a fresh named volume mounted on it writable too.
RUN groupadd --system app \
 && useradd --system --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /app/instance \
 && chown app:app /app/instance
USER app

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "wsgi:app"]
