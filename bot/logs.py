"""Logging set-up: text or JSON lines, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from bot.ops.log_context import JobContextFilter

# Interaction and webhook tokens travel in URL paths; discord.py logs those URLs at DEBUG.
_TOKEN_IN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_.\-]{20,}")
# A bot token: three base64url parts separated by dots.
_BOT_TOKEN = re.compile(r"[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,}")
# Interaction tokens are base64 of "interaction:<id>:…", so they all begin alike.
_INTERACTION_TOKEN = re.compile(r"aW50ZXJhY3Rpb24[A-Za-z0-9_.\-]*")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
REDACTED = "[redacted]"


class Redactor:
    """Replaces known secrets and token-shaped strings with a marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text)
        text = _INTERACTION_TOKEN.sub(REDACTED, text)
        text = _BEARER.sub(r"\1" + REDACTED, text)
        return _BOT_TOKEN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Renders each record's message once, scrubbed, so no handler sees a secret."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("job_id", "guild_id", "user_id", "task_id", "error_id"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def build_handler(stream: TextIO, fmt: str, redactor: Redactor) -> logging.Handler:
    """The bot's handler: job ids from the context, secrets scrubbed, text or JSON lines."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    return handler


def configure_logging(level: str, fmt: str, redactor: Redactor) -> None:
    """Configure the root logger once; called by the composition root only."""
    handler = build_handler(sys.stderr, fmt, redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py logs request bodies (prompts) and webhook URLs (tokens) at DEBUG.
    for noisy in ("discord.http", "discord.webhook", "discord.gateway"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
