# Production image: migrations, then uvicorn with several workers (point DATABASE_URL at PostgreSQL).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    DATA_DIR=/var/lib/pipeline \
    WORKERS=4

# WeasyPrint needs Pango, HarfBuzz (with its subsetter) and real fonts; pg_dump for backups.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fonts-dejavu-core fonts-liberation2 postgresql-client curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY scoring ./scoring
COPY migrations ./migrations
COPY rfp_templates ./rfp_templates
# Editable, so migrations/ and rfp_templates/ are found beside the code they belong to.
RUN pip install -e .

RUN useradd --system --uid 10001 --home-dir /var/lib/pipeline --create-home pipeline
USER pipeline
VOLUME ["/var/lib/pipeline"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/readyz || exit 1

# `serve` upgrades the database to head before uvicorn starts its workers.
CMD ["sh", "-c", "python -m app serve --host 0.0.0.0 --port 8000 --workers ${WORKERS}"]
