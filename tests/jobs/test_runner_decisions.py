"""How the runner ends a job (fast unit tier): every error → a stored code and a sentence
the member reads in their language; nothing raw from outside reaches the message."""

from __future__ import annotations

import pytest

from bot import geekai
from bot.i18n.lookup import EN, t
from bot.jobs.runner import JobTimeoutError, describe_failure
from bot.media.errors import ImageDownloadError
from bot.ui.messenger import DeliveryError

CASES = [
    (geekai.GeekAITaskFailedError("no", code="E1"), "task_failed", "reason.task_failed"),
    (geekai.GeekAITaskFailedError("content_filter hit"), "moderation", "reason.moderation"),
    (geekai.GeekAITaskFailedError(code="NSFW_BLOCKED"), "moderation", "reason.moderation"),
    (geekai.GeekAIBadRequestError("bad", detail="size"), "bad_request", "reason.bad_request"),
    (geekai.GeekAIAuthError("401"), "auth", "reason.misconfigured"),
    (geekai.GeekAIOutOfBalanceError("402"), "out_of_balance", "reason.out_of_balance"),
    (geekai.GeekAIRateLimitedError("429"), "rate_limited", "reason.rate_limited"),
    (geekai.GeekAINotFoundError("404"), "not_found", "reason.not_found"),
    (geekai.GeekAIPayloadTooLargeError("413"), "too_large", "reason.too_large"),
    (geekai.GeekAIMalformedResponseError("junk"), "malformed", "reason.malformed"),
    (geekai.GeekAIServerError("502"), "unavailable", "reason.unavailable"),
    (geekai.GeekAITimeoutError("slow"), "unavailable", "reason.unavailable"),
    (geekai.GeekAIConnectionError("refused"), "unavailable", "reason.unavailable"),
    (geekai.GeekAIError("other"), "api_error", "reason.unavailable"),
    (JobTimeoutError("late"), "timeout", "reason.timeout"),
    (ImageDownloadError("gone"), "download", "reason.download"),
    (DeliveryError("403"), "delivery", "reason.delivery"),
]


@pytest.mark.parametrize(
    ("error", "code", "key"), CASES, ids=[c[1] + "-" + type(c[0]).__name__ for c in CASES]
)
def test_every_error_has_a_code_and_a_sentence(error: Exception, code: str, key: str) -> None:
    failure = describe_failure(error, timeout=600)
    assert (failure.code, failure.key) == (code, key)
    assert key in EN
    for locale in ("en-US", "zh-CN"):
        params = {"duration": "10 minutes", **failure.params}
        assert t(locale, key, **params) != key  # a real sentence, its placeholders filled


def test_the_servers_words_are_made_harmless() -> None:
    error = geekai.GeekAIBadRequestError(
        "bad", detail="size `9999x9999` is **not** <@123> allowed\n" + "x" * 500
    )
    detail = describe_failure(error, timeout=1).params["detail"]
    assert isinstance(detail, str) and len(detail) <= 200
    assert not set("`*_~|<>@#\n") & set(detail)


def test_an_unknown_error_gets_an_id_and_hides_its_text() -> None:
    failure = describe_failure(RuntimeError("token=abc secret path"), timeout=1)
    assert failure.code == "internal" and "secret" not in failure.detail
    error_id = failure.params["error_id"]
    assert isinstance(error_id, str) and len(error_id) == 8 and error_id in failure.detail
    other = describe_failure(RuntimeError("again"), timeout=1)
    assert other.params["error_id"] != error_id
