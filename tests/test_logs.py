from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import JsonFormatter, RedactingFilter, Redactor

BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(["sk-geekai-secret"])))
    logger = logging.getLogger("test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_secrets_and_tokens_are_scrubbed(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXR0b2tlbnZhbHVl"
    logger.info("key %s", "sk-geekai-secret")
    logger.info("PATCH https://discord.com/api/v10/webhooks/123/%s/messages/@original", token)
    logger.info("POST /interactions/456/%s/callback", token)
    logger.info("header Authorization: Bearer abc.def-ghi")
    logger.info("bot token %s", BOT_TOKEN)
    try:
        raise RuntimeError(f"boom with sk-geekai-secret at /webhooks/1/{token}/messages")
    except RuntimeError:
        logger.exception("failed")
    out = stream.getvalue()
    for secret in ("sk-geekai-secret", token, "abc.def-ghi", BOT_TOKEN):
        assert secret not in out
    assert out.count("[redacted]") >= 6
    assert "/webhooks/123/[redacted]/messages" in out


def test_json_lines() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "job %s done", (7,), None)
    record.job_id = 7
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert payload["msg"] == "job 7 done"
    assert payload["job_id"] == 7
    assert payload["level"] == "INFO"
