# imagine-bot image: build the locked virtualenv, then run it as a numeric non-root user.
# Follows uv's Docker guide: uv pinned, bytecode compiled, files copied (not linked), the
# base image's Python only.

FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
# Dependencies only (the project is not a package): exactly what uv.lock says.
RUN uv sync --locked --no-dev --no-install-project

FROM python:3.11-slim-bookworm
# tzdata: server time zones (IANA names) for quota periods. The base image's tag fixes the
# Debian release; exact package versions would break on every security update there.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data \
    && chown 10001:10001 /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY pyproject.toml ./
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/imagine.db \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
VOLUME ["/data"]
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8080') + '/healthz', timeout=4)"]
CMD ["python", "-m", "bot"]
