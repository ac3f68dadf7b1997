"""GeekAIClient against the fake GeekAI: real HTTP on 127.0.0.1, retries with a recorded sleep."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import io
import json
import logging
import random
import socket
import time
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.geekai import (
    GeekAIAuthError,
    GeekAIBadRequestError,
    GeekAIClient,
    GeekAIConnectionError,
    GeekAIError,
    GeekAIMalformedResponseError,
    GeekAINotFoundError,
    GeekAIOutOfBalanceError,
    GeekAIPayloadTooLargeError,
    GeekAIRateLimitedError,
    GeekAIServerError,
    GeekAITaskFailedError,
    GeekAITimeoutError,
    ImageRequest,
    Task,
    parse_retry_after,
)
from tests.fakes.geekai_server import FakeGeekAI, FakeResponse, TaskOutcome

KEY = "sk-test-geekai-7f3a9c1e5b"  # distinctive, so "not in text" means something
GENERATIONS = "/api/v1/images/generations"


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers what the client asked for, waits for nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class UpperBoundRandom(random.Random):
    """Full jitter picks uniform(0, ceiling); this one always picks the ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


ClientFactory = Callable[..., GeekAIClient]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGeekAI]:
    server = FakeGeekAI(api_key=KEY, pending_seconds=0.05, running_seconds=0.05)
    server.keepalive_interval = 0.03
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(
    session: aiohttp.ClientSession, fake: FakeGeekAI, sleeps: RecordingSleep
) -> ClientFactory:
    def make(**overrides: Any) -> GeekAIClient:
        options: dict[str, Any] = {
            "base_url": fake.base_url,
            "api_key": KEY,
            "request_timeout": 2.0,
            "max_attempts": 4,
            "sleep": sleeps,
            "rng": random.Random(7),
        }
        options.update(overrides)
        return GeekAIClient(session, **options)

    return make


def request(**fields: Any) -> ImageRequest:
    return ImageRequest(**{"model": "gpt-image-1", "prompt": "a red fox in snow", **fields})


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def poll_until_done(client: GeekAIClient, task_id: str, limit: float = 3.0) -> Task:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        task = await client.get_task(task_id)
        if task.task_status in ("succeed", "failed"):
            return task
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish")


def task_json(task_id: str = "t-1", status: str = "running", **extra: Any) -> dict[str, Any]:
    return {"task_id": task_id, "task_status": status, "model": "gpt-image-1", **extra}


# -- the happy path ------------------------------------------------------------------------


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
async def test_submit_then_poll_until_succeed(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    session: aiohttp.ClientSession,
    response_format: str,
) -> None:
    client = make_client()
    task = await client.submit(request(n=2, response_format=response_format))

    assert task.task_status == "pending"
    assert task.task_id in fake.tasks
    final = await poll_until_done(client, task.task_id)
    assert final.task_status == "succeed"
    assert final.model == "gpt-image-1"
    final.raise_for_failure()  # succeed: nothing to raise
    assert len(final.data) == 2

    pngs: list[bytes] = []
    for item in final.data:
        if response_format == "url":
            assert item.url is not None and item.b64_json is None
            assert item.url.startswith(fake.origin + "/files/" + task.task_id)
            async with session.get(item.url) as response:
                assert response.status == 200
                pngs.append(await response.read())
        else:
            assert item.b64_json is not None and item.url is None
            pngs.append(base64.b64decode(item.b64_json))
    for png in pngs:
        assert Image.open(io.BytesIO(png)).size == (64, 64)
    assert pngs[0] != pngs[1]
    assert fake.poll_counts()[task.task_id] >= 1

    submitted = fake.requests[0]
    assert submitted.headers["Authorization"] == f"Bearer {KEY}"
    assert submitted.headers["Content-Type"] == "application/json"


async def test_failed_task_is_returned_and_raise_for_failure_raises(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    fake.script_task(
        TaskOutcome(result="failed", error_code="content_filter", error_message="prompt blocked")
    )
    client = make_client()
    task = await client.submit(request())

    final = await poll_until_done(client, task.task_id)  # get_task itself does not raise

    assert final.task_status == "failed"
    assert final.data == []
    with pytest.raises(GeekAITaskFailedError) as caught:
        final.raise_for_failure()
    assert caught.value.code == "content_filter"
    assert caught.value.message == "prompt blocked"
    assert caught.value.task_id == task.task_id
    assert "content_filter" in str(caught.value)


async def test_task_error_code_given_as_a_number_becomes_text(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    failed = task_json("t-9", "failed", error={"code": 1301, "message": "unsafe", "details": {}})
    fake.script_poll(FakeResponse(json=failed))

    task = await make_client().get_task("t-9")

    assert task.error is not None and task.error.code == "1301"
    with pytest.raises(GeekAITaskFailedError, match="1301"):
        task.raise_for_failure()


# -- HTTP errors ---------------------------------------------------------------------------

LONG_TEXT = "x" * 2000

ERROR_CASES = [
    pytest.param(
        FakeResponse(400, json={"error": {"message": "bad size", "type": "invalid_request_error"}}),
        GeekAIBadRequestError,
        "bad size",
        id="400-openai-style",
    ),
    pytest.param(
        FakeResponse(400, json={"message": "模型不存在"}),
        GeekAIBadRequestError,
        "模型不存在",
        id="400-geekai-style",
    ),
    pytest.param(
        FakeResponse(400, json={"msg": "prompt too long"}),
        GeekAIBadRequestError,
        "prompt too long",
        id="400-msg",
    ),
    pytest.param(
        FakeResponse(400, json={"error": "size not supported"}),
        GeekAIBadRequestError,
        "size not supported",
        id="400-error-string",
    ),
    pytest.param(
        FakeResponse(422, json={"detail": "n must be <= 4"}),
        GeekAIBadRequestError,
        "n must be <= 4",
        id="422",
    ),
    pytest.param(
        FakeResponse(401, json={"message": "invalid api key"}),
        GeekAIAuthError,
        "invalid api key",
        id="401",
    ),
    pytest.param(
        FakeResponse(403, json={"message": "no permission for this model"}),
        GeekAIAuthError,
        "no permission for this model",
        id="403",
    ),
    pytest.param(
        FakeResponse(402, raw="金币余额不足".encode()),
        GeekAIOutOfBalanceError,
        "金币余额不足",
        id="402-plain-text",
    ),
    pytest.param(
        FakeResponse(404, json={"message": "not here"}),
        GeekAINotFoundError,
        "not here",
        id="404",
    ),
    pytest.param(
        FakeResponse(413, raw=b"\n<html><body>413 Request Entity Too Large</body></html>"),
        GeekAIPayloadTooLargeError,
        "<html><body>413 Request Entity Too Large</body></html>",
        id="413-html",
    ),
    pytest.param(
        FakeResponse(418, json={"message": "teapot"}),
        GeekAIServerError,
        "teapot",
        id="418-unexpected",
    ),
    pytest.param(
        FakeResponse(302, raw=b"", headers={"Location": "http://127.0.0.1:9/steal"}),
        GeekAIServerError,
        "HTTP 302",
        id="302-not-followed",
    ),
    pytest.param(
        FakeResponse(400, raw=LONG_TEXT.encode()),
        GeekAIBadRequestError,
        LONG_TEXT[:299] + "…",
        id="400-long-text-trimmed",
    ),
]


@pytest.mark.parametrize(("canned", "error_type", "detail"), ERROR_CASES)
async def test_http_error_maps_to_its_type_with_the_server_message_and_is_not_retried(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    sleeps: RecordingSleep,
    canned: FakeResponse,
    error_type: type[GeekAIError],
    detail: str,
) -> None:
    fake.script_submit(canned)

    with pytest.raises(error_type) as caught:
        await make_client().submit(request())

    assert type(caught.value) is error_type
    assert caught.value.status == canned.status
    assert caught.value.detail == detail
    assert caught.value.retryable is False
    assert detail[:50] in str(caught.value)
    assert len(fake.requests_to("POST", GENERATIONS)) == 1
    assert sleeps.calls == []


async def test_wrong_key_is_an_auth_error_and_not_retried(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    with pytest.raises(GeekAIAuthError) as caught:
        await make_client(api_key="sk-wrong").submit(request())

    assert caught.value.status == 401
    assert caught.value.detail == "invalid api key"
    assert len(fake.requests) == 1
    assert sleeps.calls == []


async def test_unknown_task_is_not_found_and_the_id_is_url_quoted(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    with pytest.raises(GeekAINotFoundError, match="task not found"):
        await make_client().get_task("a/b c?d")

    assert fake.requests[-1].raw_path == "/api/v1/images/a%2Fb%20c%3Fd"
    assert fake.requests[-1].query == {}


# -- tolerant parsing ----------------------------------------------------------------------


async def test_blank_lines_before_the_json_are_skipped(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    body = json.dumps(task_json("t-2", "running", extra_field={"ignored": True}))
    fake.script_poll(FakeResponse(raw=b"\n\n\r\n   \n" + body.encode()))

    task = await make_client().get_task("t-2")

    assert (task.task_id, task.task_status) == ("t-2", "running")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\n\n{not json", id="not-json-after-keepalive"),
        pytest.param(b'{"task_id": "abc", "task_sta', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\n\n\n", id="only-keepalive"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'{"task_status": "pending", "data": []}', id="no-task-id"),
        pytest.param(b'{"task_id": "x", "task_status": "exploded"}', id="unknown-status"),
        pytest.param(b"<html>Bad gateway page served with 200</html>", id="html"),
    ],
)
async def test_malformed_2xx_is_typed_and_not_retried(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep, raw: bytes
) -> None:
    fake.script_submit(FakeResponse(200, raw=raw))

    with pytest.raises(GeekAIMalformedResponseError) as caught:
        await make_client().submit(request())

    assert caught.value.retryable is False
    assert len(fake.requests_to("POST", GENERATIONS)) == 1
    assert sleeps.calls == []


async def test_a_200_carrying_an_error_message_says_so(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    fake.script_submit(FakeResponse(200, json={"code": 500, "message": "upstream busy"}))

    with pytest.raises(GeekAIMalformedResponseError) as caught:
        await make_client().submit(request())

    assert caught.value.detail == "upstream busy"


def test_task_model_is_tolerant() -> None:
    task = Task.model_validate(
        {
            "task_id": 12345,
            "task_status": "SUCCEEDED",
            "data": {"url": "http://x/1.png", "unknown": 1},
            "error": "",
            "created": 1,
        }
    )
    assert (task.task_id, task.task_status, task.error) == ("12345", "succeed", None)
    assert [d.url for d in task.data] == ["http://x/1.png"]
    assert Task.model_validate({"task_id": "a", "task_status": "queued", "data": None}).data == []
    failed = Task.model_validate({"task_id": "a", "task_status": "failed", "error": "boom"})
    assert failed.error is not None and failed.error.message == "boom"


# -- retries -------------------------------------------------------------------------------


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("make_canned", "least", "most"),
    [
        pytest.param(
            lambda: FakeResponse(429, json={"message": "rpm limit"}, headers={"Retry-After": "2"}),
            2.0,
            2.0,
            id="header-seconds",
        ),
        pytest.param(
            lambda: FakeResponse(429, json={"message": "rpm"}, headers={"Retry-After": "7.5"}),
            7.5,
            7.5,
            id="header-fraction",
        ),
        pytest.param(
            lambda: FakeResponse(
                429, json={"message": "rpm"}, headers={"Retry-After": http_date(30)}
            ),
            25.0,
            30.0,
            id="header-http-date",
        ),
        pytest.param(
            lambda: FakeResponse(429, json={"error": {"message": "rpm", "retry_after": 3}}),
            3.0,
            3.0,
            id="body",
        ),
        pytest.param(
            lambda: FakeResponse(429, json={"message": "rpm"}, headers={"Retry-After": "3600"}),
            60.0,
            60.0,
            id="capped-at-60s",
        ),
    ],
)
async def test_429_sleeps_at_least_retry_after_then_succeeds(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    sleeps: RecordingSleep,
    make_canned: Callable[[], FakeResponse],
    least: float,
    most: float,
) -> None:
    fake.script_submit(make_canned())  # built now: an HTTP-date is relative to the clock

    task = await make_client(backoff_base=0.5).submit(request())

    assert task.task_id in fake.tasks
    assert [r.status for r in fake.requests_to("POST", GENERATIONS)] == [429, 200]
    assert len(sleeps.calls) == 1
    assert least <= sleeps.calls[0] <= most


async def test_429_without_retry_after_backs_off_and_keeps_it_when_giving_up(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    fake.script_submit(
        FakeResponse(429, json={"message": "rpm limit"}),
        FakeResponse(429, json={"message": "rpm limit"}, headers={"Retry-After": "4"}),
    )

    with pytest.raises(GeekAIRateLimitedError) as caught:
        await make_client(max_attempts=2, backoff_base=0.5).submit(request())

    assert caught.value.retry_after == 4.0
    assert caught.value.detail == "rpm limit"
    assert caught.value.retryable is True
    assert len(fake.requests_to("POST", GENERATIONS)) == 2
    assert len(sleeps.calls) == 1 and 0.0 <= sleeps.calls[0] <= 0.5


@pytest.mark.parametrize("statuses", [(500, 503), (502,), (504, 504, 504)])
async def test_5xx_is_retried_then_succeeds(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    sleeps: RecordingSleep,
    statuses: tuple[int, ...],
) -> None:
    client = make_client(backoff_base=0.5, backoff_cap=8.0)
    task = await client.submit(request())
    fake.script_poll(*(FakeResponse(status) for status in statuses))

    polled = await client.get_task(task.task_id)

    assert polled.task_id == task.task_id
    answered = [r.status for r in fake.requests_to("GET", "/api/v1/images/")]
    assert answered == [*statuses, 200]
    assert len(sleeps.calls) == len(statuses)
    for attempt, slept in enumerate(sleeps.calls, start=1):
        assert 0.0 <= slept <= 0.5 * 2 ** (attempt - 1)


async def test_persistent_503_gives_up_after_exactly_max_attempts(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    fake.script_submit(*(FakeResponse(503, json={"message": "overloaded"}) for _ in range(10)))

    with pytest.raises(GeekAIServerError) as caught:
        await make_client(max_attempts=4).submit(request())

    assert caught.value.status == 503
    assert caught.value.detail == "overloaded"
    assert caught.value.retryable is True
    assert len(fake.requests_to("POST", GENERATIONS)) == 4
    assert len(sleeps.calls) == 3


async def test_backoff_is_exponential_and_capped(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    fake.script_submit(*(FakeResponse(503) for _ in range(7)))
    client = make_client(max_attempts=7, backoff_base=0.5, backoff_cap=8.0, rng=UpperBoundRandom())

    with pytest.raises(GeekAIServerError):
        await client.submit(request())

    assert sleeps.calls == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_timeout_is_retried_then_raised(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    fake.script_poll(FakeResponse(delay=5.0), FakeResponse(delay=5.0))
    started = time.monotonic()

    with pytest.raises(GeekAITimeoutError) as caught:
        await make_client(request_timeout=0.3, max_attempts=2).get_task("t-1")

    assert time.monotonic() - started < 2.0
    assert caught.value.status is None and caught.value.retryable is True
    assert len(fake.requests_to("GET", "/api/v1/images/")) == 2
    assert len(sleeps.calls) == 1


async def test_timeout_then_success_on_poll(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    client = make_client(request_timeout=0.3)
    task = await client.submit(request())
    fake.script_poll(FakeResponse(delay=5.0))
    polled = await client.get_task(task.task_id)
    assert polled.task_id == task.task_id
    assert len(fake.requests_to("GET", "/api/v1/images/")) == 2
    assert len(sleeps.calls) == 1


async def test_dropped_connection_is_retried(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    client = make_client()
    task = await client.submit(request())
    fake.script_poll(FakeResponse(disconnect=True))

    assert (await client.get_task(task.task_id)).task_id == task.task_id
    assert [r.status for r in fake.requests_to("GET", "/api/v1/images/")] == [None, 200]
    assert len(sleeps.calls) <= 1  # aiohttp itself may retry a GET on a reused connection


# -- a submit is retried only when it provably never arrived (issue 13) -------------------


@pytest.mark.parametrize(
    ("canned", "error"),
    [
        (FakeResponse(500), GeekAIServerError),
        (FakeResponse(502), GeekAIServerError),
        (FakeResponse(504), GeekAIServerError),
        (FakeResponse(delay=5.0), GeekAITimeoutError),
        (FakeResponse(disconnect=True), GeekAIConnectionError),
    ],
    ids=["500", "502", "504", "read-timeout", "dropped"],
)
async def test_submit_with_an_unknown_outcome_is_not_retried(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    sleeps: RecordingSleep,
    canned: FakeResponse,
    error: type[GeekAIError],
) -> None:
    fake.script_submit(canned)  # a second attempt would succeed and create a task

    with pytest.raises(error):
        await make_client(request_timeout=0.3).submit(request())

    assert len(fake.requests_to("POST", GENERATIONS)) == 1
    assert fake.tasks == {} and sleeps.calls == []


@pytest.mark.parametrize(
    "canned",
    [FakeResponse(503, json={"message": "overloaded"}), FakeResponse(429, json={"message": "rpm"})],
    ids=["503", "429"],
)
async def test_submit_refused_without_processing_is_retried(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep, canned: FakeResponse
) -> None:
    fake.script_submit(canned)

    task = await make_client().submit(request())

    assert list(fake.tasks) == [task.task_id]
    assert len(fake.requests_to("POST", GENERATIONS)) == 2 and len(sleeps.calls) == 1


async def test_submit_that_could_not_connect_is_retried(
    session: aiohttp.ClientSession, sleeps: RecordingSleep
) -> None:
    client = GeekAIClient(
        session, base_url=f"http://127.0.0.1:{closed_port()}/api/v1", api_key=KEY, sleep=sleeps
    )
    with pytest.raises(GeekAIConnectionError) as caught:
        await client.submit(request())
    assert caught.value.not_sent is True
    assert len(sleeps.calls) == 3  # four attempts


# -- every body read is capped (issue 13) -------------------------------------------------


async def test_a_huge_poll_answer_is_refused_without_reading_it_all(
    fake: FakeGeekAI, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    client = make_client(max_body_bytes=1 << 20, max_image_bytes=1 << 20)
    task = await client.submit(request())
    fake.script_poll(FakeResponse(huge=512 << 20), FakeResponse(huge=512 << 20))

    with pytest.raises(GeekAIMalformedResponseError) as caught:
        await client.get_task(task.task_id, max_images=2)

    assert "larger than" in str(caught.value) and caught.value.retryable is False
    assert len(fake.requests_to("GET", "/api/v1/images/")) == 1
    assert fake.streamed_bytes < 16 << 20  # it stopped being read soon after the cap


async def test_the_body_cap_grows_with_the_images_asked_for(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    client = make_client(max_body_bytes=1 << 20, max_image_bytes=3 << 20)
    assert client.body_cap(0) == 1 << 20
    assert client.body_cap(2) == (1 << 20) + 2 * (4 << 20)
    fake.script_submit(FakeResponse(huge=4 << 20))
    with pytest.raises(GeekAIMalformedResponseError):
        await client.submit(request())  # a submit's answer carries no images
    fake.script_poll(FakeResponse(huge=3 << 20))
    task = await client.get_task("t-1", max_images=1)  # 3 MiB fits in 1 + 4 MiB
    assert task.task_id == "t"


async def test_unreachable_server_is_a_connection_error_after_retries(
    session: aiohttp.ClientSession, sleeps: RecordingSleep
) -> None:
    client = GeekAIClient(
        session,
        base_url=f"http://127.0.0.1:{closed_port()}/api/v1",
        api_key=KEY,
        max_attempts=3,
        sleep=sleeps,
    )

    with pytest.raises(GeekAIConnectionError) as caught:
        await client.submit(request())

    assert caught.value.retryable is True and caught.value.status is None
    assert len(sleeps.calls) == 2


# -- request bodies ------------------------------------------------------------------------


async def test_body_holds_exactly_the_set_fields_plus_async(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    await make_client().submit(request(size="1024x1024"))

    assert fake.requests[0].json == {
        "model": "gpt-image-1",
        "prompt": "a red fox in snow",
        "size": "1024x1024",
        "n": 1,
        "async": True,
    }


def test_to_body_sends_every_set_field_and_keeps_extra_body_as_is() -> None:
    extra = {"sequential_image_generation": "auto", "options": {"max_images": 3, "seed": None}}
    full = ImageRequest(
        model="doubao-seedream-4.0",
        prompt="p",
        negative_prompt="blur",
        size="2K",
        aspect_ratio="16:9",
        n=3,
        quality="hd",
        style_preset="3d-model",
        image="https://example.com/ref.png",
        strength=0.4,
        background="transparent",
        response_format="b64_json",
        extra_body=extra,
        output_format="webp",
        watermark=False,
        retries=2,
        mask="data:image/png;base64,AAAA",
    )

    body = full.to_body(run_async=False)

    assert body == {**full.model_dump(), "async": False}
    assert body["extra_body"] == extra and body["watermark"] is False  # False is sent
    assert full.path == "/images/edits" and request().path == "/images/generations"
    assert request().to_body() == {
        "model": "gpt-image-1",
        "prompt": "a red fox in snow",
        "n": 1,
        "async": True,
    }


# -- secrets -------------------------------------------------------------------------------


async def test_the_key_never_appears_in_errors_reprs_or_logs(
    fake: FakeGeekAI,
    make_client: ClientFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.geekai")
    client = make_client(max_attempts=1, request_timeout=0.3)
    echo = f"invalid api key {KEY}"  # a server that echoes the key back
    errors: list[GeekAIError] = []

    async def collect(call: Any) -> None:
        with pytest.raises(GeekAIError) as caught:
            await call
        errors.append(caught.value)

    canned = [
        FakeResponse(401, json={"message": echo}),
        FakeResponse(402, raw=echo.encode()),
        FakeResponse(400, json={"error": {"message": echo}}),
        FakeResponse(413, json={"msg": echo}),
        FakeResponse(429, json={"message": echo}, headers={"Retry-After": "1"}),
        FakeResponse(500, json={"message": echo}),
        FakeResponse(200, raw=b"{broken " + KEY.encode()),
        FakeResponse(200, json={"message": echo}),
        FakeResponse(delay=5.0),
    ]
    fake.script_submit(*canned)
    for _ in canned:
        await collect(client.submit(request()))
    await collect(client.get_task("no-such-task"))
    dead = GeekAIClient(
        session, base_url=f"http://127.0.0.1:{closed_port()}/api/v1", api_key=KEY, max_attempts=1
    )
    await collect(dead.list_models())
    fake.script_task(TaskOutcome(result="failed", pending_seconds=0, running_seconds=0))
    failed = await client.get_task((await client.submit(request())).task_id)
    with pytest.raises(GeekAITaskFailedError) as task_failure:
        failed.raise_for_failure()
    errors.append(task_failure.value)

    expected = {
        GeekAIAuthError,
        GeekAIOutOfBalanceError,
        GeekAIBadRequestError,
        GeekAIPayloadTooLargeError,
        GeekAIRateLimitedError,
        GeekAIServerError,
        GeekAIMalformedResponseError,
        GeekAITimeoutError,
        GeekAINotFoundError,
        GeekAIConnectionError,
        GeekAITaskFailedError,
    }
    assert {type(e) for e in errors} == expected
    for error in errors:
        rendered = "".join(traceback.format_exception(error))  # includes chained causes
        for text in (str(error), repr(error), error.detail, rendered):
            assert KEY not in text, (type(error).__name__, text)
    assert "[redacted]" in errors[0].detail
    for text in (repr(client), str(client), repr(vars(client)), client.base_url, caplog.text):
        assert KEY not in text
    assert f"Bearer {KEY}" == fake.requests[0].headers["Authorization"]  # it was sent, though


# -- models --------------------------------------------------------------------------------


async def test_list_models_reads_every_page(fake: FakeGeekAI, make_client: ClientFactory) -> None:
    fake.models_page_size_cap = 3  # the server serves fewer than the client asks for
    fake.models.append({"id": 42})  # missing name/type/status: still a model
    fake.models.append({"name": "no id at all", "type": "image"})  # unusable: skipped

    models = await make_client().list_models()

    expected_ids = [str(m["id"]) for m in fake.models if "id" in m]
    assert [m.id for m in models] == expected_ids
    assert next(m for m in models if m.id == "gpt-image-1").type == "image"
    assert next(m for m in models if m.id == "42").name is None
    pages = [r.query["page"] for r in fake.requests_to("GET", "/api/v1/models")]
    assert pages == ["1", "2", "3", "4"]  # 10 entries, 3 per page


# -- synchronous generation ----------------------------------------------------------------


async def test_generate_sync_reads_through_keepalive_blank_lines(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    fake.script_task(TaskOutcome(pending_seconds=0.1, running_seconds=0.1))

    images = await make_client().generate_sync(request(n=2, response_format="b64_json"), timeout=5)

    assert fake.keepalives_sent >= 3  # the body really began with blank lines
    assert fake.requests[0].json["async"] is False
    assert len(images) == 2
    for image in images:
        assert image.b64_json is not None
        assert base64.b64decode(image.b64_json).startswith(b"\x89PNG")


async def test_generate_sync_failure_raises_task_failed(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    fake.script_task(TaskOutcome(result="failed", error_code=1301, error_message="unsafe"))

    with pytest.raises(GeekAITaskFailedError) as caught:
        await make_client().generate_sync(request(), timeout=5)

    assert (caught.value.code, caught.value.message) == ("1301", "unsafe")


async def test_generate_sync_times_out_with_its_own_limit(
    fake: FakeGeekAI, make_client: ClientFactory
) -> None:
    fake.script_task(TaskOutcome(result="stuck"))

    with pytest.raises(GeekAITimeoutError):
        await make_client(max_attempts=1, request_timeout=30).generate_sync(request(), timeout=0.3)


# -- small pieces --------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = time.time()
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert 9.0 <= (parse_retry_after(in_ten, now=now) or 0.0) <= 10.0
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


async def test_client_refuses_bad_configuration(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError):
        GeekAIClient(session, base_url="ftp://x", api_key=KEY)
    with pytest.raises(ValueError):
        GeekAIClient(session, base_url="http://x", api_key=" ")
    with pytest.raises(ValueError):
        GeekAIClient(session, base_url="http://x", api_key=KEY, max_attempts=0)
    client = GeekAIClient(session, base_url="https://geekai.co/api/v1/", api_key=KEY)
    assert client.base_url == "https://geekai.co/api/v1"


async def test_429_backs_off_globally_for_every_caller(fake: FakeGeekAI) -> None:
    """After one caller's 429, a different request waits out the same Retry-After."""
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    fake.script_submit(FakeResponse(429, json={"message": "rpm"}, headers={"Retry-After": "4"}))
    async with aiohttp.ClientSession() as session:
        client = GeekAIClient(
            session,
            base_url=fake.base_url,
            api_key=fake.api_key,
            sleep=record,
            monotonic=lambda: 100.0,  # frozen clock: the back-off window never passes
        )
        task = await client.submit(ImageRequest(model="dall-e-3", prompt="a"))
        assert sleeps and sleeps[0] >= 4
        before = len(sleeps)
        await client.get_task(task.task_id)  # another request: it waits too
        assert len(sleeps) == before + 1 and sleeps[-1] >= 4
