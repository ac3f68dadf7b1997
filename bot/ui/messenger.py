"""Edits a job's status message: coalesced, throttled, and routed around Discord's limits.

While the interaction token is young (< ~14 min) edits go through the interaction webhook;
after that, or once the token is refused, through the bot token's channel routes. A status
message deleted mid-job is replaced by a new message in the channel.

A webhook edit never outlives the token: discord.py sleeps out a 429's retry_after and
retries 5xx answers itself, so each webhook call runs under a timeout of the token's
remaining life — and the final result's under at most `final_webhook_budget` seconds.
When that runs out, or the final edit still meets a 5xx / 429, the result goes through the
bot token instead (the same message edited in the channel, or a new message): a result is
never left behind an empty "thinking…". The final view is rendered when it is sent (again
for the fallback), so the time it shows is the true time from the request to delivery.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.jobs.models import Job
from bot.media.fit import ImageFile
from bot.ui.render import StatusView

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord's JSON error codes (Discord API reference, "JSON Error Codes").
UNKNOWN_MESSAGE = 10008
INVALID_WEBHOOK_TOKEN = 50027
UNKNOWN_WEBHOOK = 10015


class DeliveryError(Exception):
    """The status message could not be edited or replaced (e.g. missing permissions)."""


@dataclass
class _MessageState:
    shown: StatusView | None = None
    wanted: StatusView | None = None
    last_edit: float = float("-inf")
    flusher: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    forget_after: bool = False  # `show_once`: drop this state once the edit is done


class Messenger:
    def __init__(
        self,
        client: discord.Client,
        *,
        token_ttl: float,
        edit_interval: float,
        on_message_id: Callable[[int, int], Awaitable[None]],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        final_webhook_budget: float = 30.0,
    ) -> None:
        self._final_budget = final_webhook_budget
        self._client = client
        self._on_message_id = on_message_id
        self._message_ids: dict[int, int] = {}
        self._token_ttl = token_ttl
        self._interval = edit_interval
        self._clock = clock
        self._monotonic = monotonic
        self._states: dict[int, _MessageState] = {}
        self._dead_tokens: set[int] = set()

    async def show(self, job: Job, view: StatusView) -> None:
        """Ask for `view` to be shown soon; consecutive calls coalesce. Never raises."""
        self.show_nowait(job, view)

    def show_nowait(self, job: Job, view: StatusView) -> None:
        """`show` for synchronous callers (e.g. scheduler callbacks)."""
        state = self._states.setdefault(job.id, _MessageState())
        state.wanted, state.forget_after = view, False
        if state.flusher is None or state.flusher.done():
            state.flusher = asyncio.create_task(self._flush(job, state))

    def show_once(self, job: Job, view: StatusView) -> None:
        """Show `view`, then forget the job: another process of a fleet may run it, and
        nothing here should hold its state (or edit its message) after this one edit."""
        self.show_nowait(job, view)
        state = self._states[job.id]
        state.forget_after = True

    async def finish(
        self,
        job: Job,
        view: StatusView,
        files: Sequence[ImageFile] = (),
        components: discord.ui.View | None = None,
        *,
        render: Callable[[], StatusView] | None = None,
    ) -> int:
        """Show the final view (with files) now, after any pending edit. Returns the message id.

        `render`, if given, builds the view at the moment it is sent (and again if it has
        to be sent another way), so that times in it are true. Raises DeliveryError if it
        cannot be shown at all.
        """
        state = self._states.setdefault(job.id, _MessageState())
        state.wanted = None
        if state.flusher is not None and not state.flusher.done():
            state.flusher.cancel()
        try:
            async with state.lock:
                await self._wait_interval(state)
                message_id = await self._edit(
                    job, view, files, components, render=render, final=True
                )
                state.shown, state.last_edit = view, self._monotonic()
                return message_id
        finally:
            self._states.pop(job.id, None)
            self._message_ids.pop(job.id, None)

    async def add_reaction(self, job: Job, message_id: int, emoji: str) -> None:
        """React on a result (the reroll affordance); a missing permission is only logged."""
        channel = self._client.get_partial_messageable(
            job.target.channel_id, guild_id=job.target.guild_id
        )
        try:
            await channel.get_partial_message(message_id).add_reaction(emoji)
        except discord.HTTPException as exc:
            why = "missing Add Reactions permission" if exc.status == 403 else _describe(exc)
            log.warning("job %s: could not add %s (%s)", job.id, emoji, why)

    async def close(self) -> None:
        """Cancel pending status edits (shutdown); the next run re-renders from the DB."""
        flushers = [s.flusher for s in self._states.values() if s.flusher is not None]
        for task in flushers:
            task.cancel()
        await asyncio.gather(*flushers, return_exceptions=True)
        self._states.clear()

    def forget(self, job_id: int) -> None:
        self._message_ids.pop(job_id, None)
        state = self._states.pop(job_id, None)
        if state is not None and state.flusher is not None:
            state.flusher.cancel()

    async def _wait_interval(self, state: _MessageState) -> None:
        delay = state.last_edit + self._interval - self._monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _flush(self, job: Job, state: _MessageState) -> None:
        try:
            await self._flush_once(job, state)
        finally:
            if state.forget_after and state.wanted is None and self._states.get(job.id) is state:
                del self._states[job.id]

    async def _flush_once(self, job: Job, state: _MessageState) -> None:
        async with state.lock:
            await self._wait_interval(state)
            view, state.wanted = state.wanted, None
            if view is None or view == state.shown:
                return
            try:
                await self._edit(job, view, ())
            except DeliveryError as exc:
                log.warning("job %s: status edit failed: %s", job.id, exc)
                return
            state.shown, state.last_edit = view, self._monotonic()
        if state.wanted is not None and state.wanted != state.shown:
            # A newer view arrived while we were editing.
            state.flusher = asyncio.create_task(self._flush(job, state))

    def _token_usable(self, job: Job) -> bool:
        target = job.target
        if not target.interaction_token or target.application_id is None:
            return False
        if target.interaction_id in self._dead_tokens:
            return False
        return self._token_left(job) > 0

    def _token_left(self, job: Job) -> float:
        created = job.target.interaction_created_at or 0.0
        return created + self._token_ttl - self._clock()

    async def _edit(
        self,
        job: Job,
        view: StatusView,
        files: Sequence[ImageFile],
        components: discord.ui.View | None = None,
        *,
        render: Callable[[], StatusView] | None = None,
        final: bool = False,
    ) -> int:
        """Edit the status message; returns its id, recording it when it is new."""
        known = self._message_ids.get(job.id, job.message_id)

        def message() -> _Message:
            return _Message(render() if render is not None else view, files, components)

        message_id = await self._route_edit(job, known, message, final=final)
        if message_id != known:
            self._message_ids[job.id] = message_id
            await self._on_message_id(job.id, message_id)
        return message_id

    async def _route_edit(
        self,
        job: Job,
        message_id: int | None,
        message: Callable[[], _Message],
        *,
        final: bool = False,
    ) -> int:
        if self._token_usable(job):
            budget = self._token_left(job)
            if final:
                budget = min(budget, self._final_budget)
            try:
                async with asyncio.timeout(budget):
                    return await self._edit_with_token(job, message_id, message())
            except TimeoutError:
                # A long 429 or a 5xx storm that discord.py is still sleeping out.
                log.warning(
                    "job %s: webhook edit not through after %.1fs, using the bot token",
                    job.id,
                    budget,
                )
                if not final and self._token_left(job) > 0:
                    raise DeliveryError("webhook edit timed out") from None
            except discord.HTTPException as exc:
                if exc.code in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK) or exc.status == 401:
                    self._dead_tokens.add(job.target.interaction_id or 0)
                    log.info("job %s: interaction token refused, using channel edits", job.id)
                elif final and (exc.status >= 500 or exc.status == 429):
                    log.warning(
                        "job %s: webhook edit failed (%s), delivering with the bot token",
                        job.id,
                        _describe(exc),
                    )
                elif exc.code != UNKNOWN_MESSAGE:
                    raise DeliveryError(_describe(exc)) from None
        return await self._edit_in_channel(job, message_id, message(), final=final)

    async def _edit_with_token(self, job: Job, message_id: int | None, message: _Message) -> int:
        target = job.target
        assert target.application_id is not None and target.interaction_token is not None
        webhook = discord.Webhook.partial(
            target.application_id, target.interaction_token, client=self._client
        )
        # "@original" addresses the interaction's response before we know its id.
        message_ref: int = message_id or "@original"  # type: ignore[assignment]
        with message.edit_kwargs() as kwargs:
            edited = await webhook.edit_message(message_ref, **kwargs)
        return edited.id

    async def _edit_in_channel(
        self, job: Job, message_id: int | None, message: _Message, *, final: bool = False
    ) -> int:
        target = job.target
        channel = self._client.get_partial_messageable(target.channel_id, guild_id=target.guild_id)
        try:
            if message_id is not None:
                try:
                    partial = channel.get_partial_message(message_id)
                    with message.edit_kwargs() as kwargs:
                        edited = await partial.edit(**kwargs)
                    return edited.id
                except discord.NotFound:
                    log.info("job %s: status message gone, posting a new one", job.id)
                except discord.DiscordServerError as exc:
                    if not final:
                        raise
                    # discord.py has already retried; the result must not wait on it.
                    log.warning(
                        "job %s: editing the result failed (%s), posting it as a new message",
                        job.id,
                        _describe(exc),
                    )
            reference = None
            if job.target.reply_to_message_id is not None:
                reference = discord.MessageReference(
                    message_id=job.target.reply_to_message_id,
                    channel_id=job.target.channel_id,
                    fail_if_not_exists=False,
                )
            with message.send_kwargs() as kwargs:
                sent = await channel.send(reference=reference, **kwargs)  # type: ignore[arg-type]
            return sent.id
        except discord.HTTPException as exc:
            raise DeliveryError(_describe(exc)) from None


@dataclass(frozen=True)
class _Message:
    """One edit's worth of message: text, embed, files and (final only) buttons.

    Each Discord call takes its arguments in a `with` block: its uploads are made for that
    call alone (a discord.File is single use) and closed when the call is over.
    """

    view: StatusView
    files: Sequence[ImageFile]
    components: discord.ui.View | None

    @contextmanager
    def edit_kwargs(self) -> Iterator[dict[str, Any]]:
        with _uploads(self.files) as uploads:
            kwargs: dict[str, Any] = {
                "content": self.view.content,
                "embed": discord.Embed.from_dict(self.view.embed),
                "attachments": uploads,
                "allowed_mentions": NO_MENTIONS,
            }
            if self.components is not None:
                kwargs["view"] = self.components
            yield kwargs

    @contextmanager
    def send_kwargs(self) -> Iterator[dict[str, Any]]:
        with self.edit_kwargs() as kwargs:
            kwargs["files"] = kwargs.pop("attachments")
            yield kwargs


@contextmanager
def _uploads(files: Sequence[ImageFile]) -> Iterator[list[discord.File]]:
    """The files for one Discord call, each closed with its buffer once the call is over.

    Not before: discord.py rewinds and re-reads them on each retry of the request. Closing
    the discord.File is not enough: it does not own a file object it is given, so its
    close() only gives the BytesIO back its own close() (leaving a reference cycle), and
    aiohttp has copied the image into that BytesIO (`getbuffer()` unshares the bytes); left
    open, every delivered image would stay in memory until a full garbage collection.
    """
    uploads = [discord.File(io.BytesIO(f.data), filename=f.filename) for f in files]
    try:
        yield uploads
    finally:
        for upload in uploads:
            upload.close()  # first: until then the BytesIO's close() is discord.py's no-op
            upload.fp.close()


def _describe(exc: discord.HTTPException) -> str:
    return f"HTTP {exc.status} (code {exc.code})"
