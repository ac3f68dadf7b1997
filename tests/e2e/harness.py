"""Runs the real bot (real discord.py) against the fake Discord and the fake GeekAI."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.jobs.models import Job
from bot.logs import RedactingFilter, Redactor
from bot.settings import Settings
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.geekai_server import FakeGeekAI

# Shaped like a real bot token so the redaction patterns are exercised too.
BOT_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.GfAkEt.fake-bot-token-for-tests-0123456789ab"
STATE_EMOJIS = ("🟠", "🟡", "🟢", "✅", "🔴", "⚪")


def option(name: str, value: object) -> dict[str, Any]:
    kind = 4 if isinstance(value, int) else 3
    return {"name": name, "type": kind, "value": value}


class Harness:
    def __init__(
        self, discord: FakeDiscord, geekai: FakeGeekAI, tmp_path: Path, **overrides: Any
    ) -> None:
        self.discord = discord
        self.geekai = geekai
        self.tmp_path = tmp_path
        self.overrides = overrides
        self.app: Application | None = None
        self.log_stream = io.StringIO()
        self._log_handler: logging.Handler | None = None

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "discord_token": BOT_TOKEN,
            "geekai_api_key": self.geekai.api_key,
            "geekai_base_url": self.geekai.base_url,
            "discord_api_base": self.discord.api_base,
            "discord_gateway_url": self.discord.gateway_url,
            "database_url": f"sqlite:///{self.tmp_path / 'bot.db'}",
            "dev_guild_id": self.discord.guild_id,
            "status_edit_interval": 0.05,
            "geekai_request_timeout": 2.0,
            "geekai_max_attempts": 2,
            "job_timeout_seconds": 30.0,
            "user_cooldown_seconds": 0.0,
            **self.overrides,
        }
        return Settings(_env_file=None, **values)

    def capture_logs(self) -> None:
        """Send every log record through the bot's redacting handler into a buffer."""
        handler = logging.StreamHandler(self.log_stream)
        handler.addFilter(RedactingFilter(Redactor(self.settings().secrets())))
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        self._log_handler = handler

    async def start_bot(self) -> Application:
        identified = self.discord.identify_count
        app = Application(self.settings(), guild_ready_timeout=0.05)
        await app.__aenter__()
        await app.start()
        self.app = app
        # Wait for this bot's own session (a restarted bot identifies again).
        await self.discord.wait_for(lambda: self.discord.identify_count > identified)
        await self.discord.wait_ready()
        bot = app.bot
        assert bot is not None
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        return app

    async def stop_bot(self) -> None:
        if self.app is not None:
            await self.app.close()
            self.app = None

    async def close(self) -> None:
        await self.stop_bot()
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
        self.assert_no_secret_leaked()

    def assert_no_secret_leaked(self) -> None:
        """Every test: no log line and no message shows a token or the API key."""
        secrets = [BOT_TOKEN, self.geekai.api_key]
        secrets += [ix.token for ix in self.discord.interactions.values()]
        texts = [self.log_stream.getvalue()]
        for message in self.discord.messages.values():
            texts.append(message.content or "")
            texts.append(repr(message.embeds) + repr(message.components))
            texts += [s.content or "" for s in message.edits]
        for text in texts:
            for secret in secrets:
                assert secret not in text, "a secret leaked into a log line or a message"

    async def imagine(self, prompt: str, **options: object) -> FakeInteraction:
        opts = [option("prompt", prompt)] + [option(k, v) for k, v in options.items()]
        interaction = await self.discord.send_interaction("imagine", opts)
        await interaction.wait_response()
        return interaction

    async def command(
        self,
        name: str,
        sub: str | None = None,
        *,
        user_id: int | None = None,
        member_permissions: int | None = None,
        locale: str = "en-US",
        **options: object,
    ) -> FakeInteraction:
        """Run `/name [sub] option:value…`; user/role options given as ("user", id)."""
        opts: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            if isinstance(value, tuple) and value[0] == "user":
                uid = int(value[1])
                opts.append({"name": key, "type": 6, "value": str(uid)})
                resolved.setdefault("users", {})[str(uid)] = self.discord.user_payload(uid)
                member = self.discord.member_payload(uid, with_user=False)
                resolved.setdefault("members", {})[str(uid)] = member
            elif isinstance(value, tuple) and value[0] == "role":
                rid = int(value[1])
                opts.append({"name": key, "type": 8, "value": str(rid)})
                role = {
                    "id": str(rid),
                    "name": f"role-{rid}",
                    "permissions": "0",
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": True,
                }
                resolved.setdefault("roles", {})[str(rid)] = role
            else:
                opts.append(option(key, value))
        if sub is not None:
            opts = [{"name": sub, "type": 1, "options": opts}]
        interaction = await self.discord.send_interaction(
            name,
            opts,
            user_id=user_id,
            member_permissions=member_permissions,
            locale=locale,
            resolved=resolved or None,
        )
        await interaction.wait_response()
        return interaction

    async def reply_text(self, interaction: FakeInteraction) -> str:
        return (await self.reply_message(interaction)).content

    async def reply_message(self, interaction: FakeInteraction) -> FakeMessage:
        """The message the user finally sees: a followup, or the edited original."""

        def answered() -> bool:
            if interaction.followup_ids:
                return True
            original = self.discord.messages.get(interaction.original_message_id or 0)
            return original is not None and not original.loading and bool(original.content)

        await self.discord.wait_for(answered)
        if interaction.followup_ids:
            return self.discord.messages[interaction.followup_ids[-1]]
        return self.discord.messages[interaction.original_message_id or 0]

    async def job(self, job_id: int) -> Job:
        assert self.app is not None
        job = await self.app.services.jobs.get(job_id)
        assert job is not None
        return job

    async def charged(self, job_id: int) -> tuple[list[str], int]:
        """The job's ledger rows (kinds, in order) and the credits they add up to."""
        assert self.app is not None and self.app.db is not None
        rows = await self.app.db.fetchall(
            "SELECT kind, amount FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [r[0] for r in rows], sum(r[1] for r in rows)

    async def jobs(self) -> list[Job]:
        assert self.app is not None and self.app.db is not None
        ids = [row[0] for row in await self.app.db.fetchall("SELECT id FROM jobs ORDER BY id")]
        return [await self.job(i) for i in ids]

    async def wait_final(self, message_id: int, timeout: float = 15.0) -> FakeMessage:
        """Wait until the message shows a terminal state (✅, 🔴 or ⚪)."""

        def final() -> bool:
            msg = self.discord.messages.get(message_id)
            return msg is not None and msg.content.startswith(("✅", "🔴", "⚪"))

        await self.discord.wait_for(final, timeout=timeout)
        await self._wait_job_settled(message_id, timeout)
        return self.discord.messages[message_id]

    async def wait_jobs_settled(self, timeout: float = 15.0) -> None:
        """Wait until every job has reached its final state in the database."""
        assert self.app is not None and self.app.db is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            row = await self.app.db.fetchone(
                "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')"
            )
            if row is not None and int(row[0]) == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("jobs still unfinished")

    async def _wait_job_settled(self, message_id: int, timeout: float) -> None:
        """Discord shows the result a moment before its job's final state commits (the
        delivery comes first, so a crash in between re-delivers rather than loses it)."""
        if self.app is None or self.app.db is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            row = await self.app.db.fetchone(
                "SELECT state FROM jobs WHERE message_id = ? ORDER BY id DESC LIMIT 1",
                (message_id,),
            )
            if row is None or row[0] in ("succeeded", "failed", "cancelled"):
                return
            await asyncio.sleep(0.01)

    def states_shown(self, message_id: int) -> list[str]:
        """The state emojis the message showed, in order, without repeats."""
        shown: list[str] = []
        for snapshot in self.discord.messages[message_id].edits:
            content = snapshot.content or ""
            emoji = next((e for e in STATE_EMOJIS if content.startswith(e)), None)
            if emoji and (not shown or shown[-1] != emoji):
                shown.append(emoji)
        return shown


async def settle(seconds: float = 0.2) -> None:
    await asyncio.sleep(seconds)
