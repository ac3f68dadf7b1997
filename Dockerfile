# syntax=docker/dockerfile:1
# Build: install the locked dependencies into a virtualenv.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Run: the virtualenv and the source, as a non-root user; data on a volume.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 imagine
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY bot ./bot
COPY cogs ./cogs
COPY migrations ./migrations
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/imagine.db
RUN mkdir /data && chown imagine /data
VOLUME ["/data"]
USER imagine
CMD ["python", "-m", "bot"]
