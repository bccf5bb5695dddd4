# Quita: one image for every process (web, worker, scheduler, migrations).
# Build: docker build -t quita .      Run the whole shape: docker compose up
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
# npm fetches the pinned htmx (checked by hash in scripts/fetch_assets.py).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY quita quita
COPY core core
COPY tenants tenants
COPY collection collection
COPY integrations integrations
COPY portal portal
COPY debtor_site debtor_site
COPY workers workers
COPY migrations migrations
COPY scripts scripts
RUN python scripts/fetch_assets.py \
    && python -m venv /venv \
    && /venv/bin/pip install -q --no-cache-dir .

FROM python:3.12-slim-bookworm
RUN useradd --system --uid 10001 --home /srv quita && mkdir -p /srv/var && chown quita /srv/var
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    QUITA_ENV=production \
    QUITA_VAR_DIR=/srv/var \
    LOG_JSON=1
WORKDIR /srv
USER quita
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)" || exit 1
# The command is chosen per service: web, worker, scheduler or "db upgrade".
ENTRYPOINT ["quita"]
CMD ["web", "--host", "0.0.0.0", "--port", "8000"]
