"""`python -m bot check`: one line per check, ✓ / ✗ and the fix; exit 0 only if all pass.

Lines marked `!` are worth knowing but do not fail the check (a public bot, a catalog that
differs from GeekAI's list). Every line passes through the redactor: no secret is printed.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import discord

from bot import __version__
from bot.catalog.compare import diff_models
from bot.catalog.spec import Catalog, CatalogError
from bot.geekai import (
    GeekAIAuthError,
    GeekAIClient,
    GeekAIConnectionError,
    GeekAIError,
    GeekAIOutOfBalanceError,
    GeekAIRateLimitedError,
    GeekAITimeoutError,
    ModelInfo,
)
from bot.logs import Redactor
from bot.ops.database_probe import DatabaseFacts, probe_database
from bot.settings import Settings, SettingsError

# View Channels, Send Messages, Manage Messages (remove a member's 🔄 after a reroll), Embed
# Links, Attach Files, Read Message History, Add Reactions: what the bot needs in a channel.
INVITE_PERMISSIONS = 126016
INVITE_SCOPES = "bot applications.commands"
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    notice: bool = False  # passes, but the operator should read it

    @property
    def mark(self) -> str:
        return "✗" if not self.ok else ("!" if self.notice else "✓")

    def line(self) -> str:
        text = f"{self.mark} {self.name}: {self.detail}"
        return f"{text} → {self.fix}" if self.fix and (self.notice or not self.ok) else text


def invite_url(application_id: int) -> str:
    query = urlencode(
        {"client_id": application_id, "permissions": INVITE_PERMISSIONS, "scope": INVITE_SCOPES}
    )
    return f"https://discord.com/oauth2/authorize?{query}"


def version_line() -> CheckResult:
    detail = (
        f"imagine-bot {__version__} (Python {platform.python_version()}, "
        f"discord.py {discord.__version__}, aiohttp {aiohttp.__version__})"
    )
    return CheckResult("version", True, detail)


def database_results(facts: DatabaseFacts) -> list[CheckResult]:
    where = facts.location
    unusable = _database_unusable(facts)
    if unusable is not None:
        return [unusable]
    results = [CheckResult("database", True, f"{where} answers")]
    if facts.version is None or not facts.writable:
        reason = facts.problem or "no write permission on the file or its directory"
        results.append(
            CheckResult(
                "database writable",
                False,
                f"{where} is read-only: {reason}",
                "give the bot's user write access to the file and its directory "
                "(containers: chown -R 10001:10001 the volume)",
            )
        )
        return results
    results.append(CheckResult("database writable", True, "yes"))
    results.append(_migrations_result(facts.version, facts.known))
    results.append(_file_mode_result(facts))
    return results


def _database_unusable(facts: DatabaseFacts) -> CheckResult | None:
    """The one failure that stops the database checks (missing, locked, read-only, closed)."""
    where = facts.location
    if not facts.exists:
        return CheckResult(
            "database",
            False,
            f"{where} does not exist yet ({facts.known} migration(s) pending)",
            "run `python -m bot migrate` (the bot also creates it at start)",
        )
    if facts.locked:
        return CheckResult(
            "database writable",
            False,
            f"{where} is locked by another process ({facts.problem})",
            "run one process per SQLite file (PostgreSQL for several); stop the other one",
        )
    if facts.read_only:
        return CheckResult(
            "database",
            False,
            f"{where} is read-only ({facts.problem or 'no write permission'})",
            "give the bot's user write access to the file and its directory "
            "(containers: chown -R 10001:10001 the volume's folder)",
        )
    if not facts.answers:
        return CheckResult(
            "database",
            False,
            f"cannot open {where}: {facts.problem}",
            "check DATABASE_URL and that the bot's user owns the file and its directory",
        )
    return None


def _migrations_result(version: int, known: int) -> CheckResult:
    """The database's schema `version` against the `known` migrations this code ships."""
    if version < known:
        pending = known - version
        return CheckResult(
            "migrations",
            False,
            f"{pending} pending (database at {version}, code at {known})",
            "run `python -m bot migrate` (the bot also applies them at start)",
        )
    if version > known:
        return CheckResult(
            "migrations",
            False,
            f"database at version {version} is newer than this code ({known})",
            "run the release that wrote it, or restore the backup taken before the upgrade",
        )
    return CheckResult("migrations", True, f"current (version {version})")


def _file_mode_result(facts: DatabaseFacts) -> CheckResult:
    if facts.loose_mode is not None:
        return CheckResult(
            "database file mode",
            False,
            f"{oct(facts.loose_mode)[2:].zfill(4)}: others can read it",
            f"chmod 600 {facts.location} (the bot sets 0600 itself when it starts)",
        )
    return CheckResult("database file mode", True, "0600")


def geekai_results(
    catalog: Catalog | None, models: list[ModelInfo] | GeekAIError
) -> list[CheckResult]:
    if isinstance(models, GeekAIError):
        return [_geekai_failure(models)]
    results = [CheckResult("GeekAI", True, f"reachable, key accepted ({len(models)} model(s))")]
    if catalog is None:
        return results
    diff = diff_models(catalog, models)
    if diff.in_sync:
        results.append(CheckResult("model catalog", True, "matches GeekAI's image models"))
    else:
        parts = [
            f"{len(diff.missing_at_api)} catalog model(s) not offered"
            + (f" ({', '.join(diff.missing_at_api[:5])})" if diff.missing_at_api else ""),
            f"{len(diff.missing_in_catalog)} new at GeekAI",
            f"{len(diff.deprecated_at_api)} deprecated",
        ]
        results.append(
            CheckResult(
                "model catalog",
                True,
                "; ".join(parts),
                "see `python -m bot compare-models`; MODEL_CATALOG_PATH adds or replaces models",
                notice=True,
            )
        )
    return results


def _geekai_failure(exc: GeekAIError) -> CheckResult:
    match exc:
        case GeekAIAuthError():
            return CheckResult(
                "GeekAI", False, f"the API key was refused ({exc})", "set a valid GEEKAI_API_KEY"
            )
        case GeekAIOutOfBalanceError():
            return CheckResult(
                "GeekAI", False, f"the account is out of balance ({exc})", "top up at GeekAI"
            )
        case GeekAIRateLimitedError():
            return CheckResult(
                "GeekAI", False, f"rate limited ({exc})", "wait, or ask GeekAI for a higher limit"
            )
        case GeekAIConnectionError() | GeekAITimeoutError():
            return CheckResult(
                "GeekAI",
                False,
                f"unreachable ({exc})",
                "check GEEKAI_BASE_URL (geekai.dev overseas), DNS, proxy and firewall",
            )
    return CheckResult("GeekAI", False, str(exc), "check GEEKAI_BASE_URL and GeekAI's status")


async def _discord_get(
    session: aiohttp.ClientSession, settings: Settings, path: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bot {settings.discord_token.get_secret_value()}"}
    async with session.get(
        settings.discord_api_base + path, headers=headers, allow_redirects=False
    ) as response:
        try:
            payload = await response.json(content_type=None)
        except ValueError:
            payload = None
        return response.status, payload


async def discord_results(session: aiohttp.ClientSession, settings: Settings) -> list[CheckResult]:
    try:
        status, me = await _discord_get(session, settings, "/users/@me")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [
            CheckResult(
                "Discord",
                False,
                f"unreachable at {settings.discord_api_base} ({type(exc).__name__})",
                "check DISCORD_API_BASE, DNS, proxy and firewall",
            )
        ]
    if status == 401:
        return [
            CheckResult(
                "Discord token",
                False,
                "refused (401)",
                "Developer Portal → your app → Bot → Reset Token, then set DISCORD_TOKEN",
            )
        ]
    if status != 200 or not isinstance(me, dict):
        return [
            CheckResult("Discord token", False, f"HTTP {status}", "retry; see Discord's status")
        ]
    if not me.get("bot"):
        return [
            CheckResult(
                "Discord token", False, "not a bot token", "use the token from the Bot page"
            )
        ]
    results = [
        CheckResult("Discord token", True, f"accepted: {me.get('username')} ({me.get('id')})")
    ]
    results += await _application_results(session, settings)
    return results


async def _application_results(
    session: aiohttp.ClientSession, settings: Settings
) -> list[CheckResult]:
    """The bot's application: its id, whether it is public, and its invite link."""
    status, app = await _discord_get(session, settings, "/applications/@me")
    if status != 200 or not isinstance(app, dict):
        return [CheckResult("application", False, f"HTTP {status}", "retry later")]
    app_id = int(app["id"])
    results = [CheckResult("application", True, f"id {app_id}")]
    if app.get("bot_public"):
        results.append(
            CheckResult(
                "public bot",
                True,
                "on: anyone with the invite link can add the bot to a server",
                "turn Public Bot off (Developer Portal → Bot) or set GUILD_ALLOWLIST",
                notice=True,
            )
        )
    else:
        results.append(CheckResult("public bot", True, "off: only you can add it"))
    results.append(CheckResult("invite", True, invite_url(app_id)))
    return results


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check after settings, in the order an operator fixes things."""
    results = [CheckResult("settings", True, "valid")]
    results += database_results(await probe_database(settings.database_url))
    catalog: Catalog | None = None
    try:
        catalog = Catalog.load_with_override(settings.model_catalog_path)
    except CatalogError as exc:
        results.append(CheckResult("model catalog", False, str(exc), "fix MODEL_CATALOG_PATH"))
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = GeekAIClient(
            session,
            base_url=settings.geekai_base_url,
            api_key=settings.geekai_api_key.get_secret_value(),
            request_timeout=REQUEST_TIMEOUT,
            max_attempts=1,
        )
        models: list[ModelInfo] | GeekAIError
        try:
            models = await client.list_models()
        except GeekAIError as exc:
            models = exc
        results += geekai_results(catalog, models)
        results += await discord_results(session, settings)
    return results


async def check(
    load: Callable[[], Settings], out: Callable[[str], object] = sys.stdout.write
) -> int:
    """Print every check; 0 if all passed, else 1."""
    out(version_line().line() + "\n")
    try:
        settings = load()
    except SettingsError as exc:
        out(CheckResult("settings", False, str(exc)).line() + "\n")
        return 1
    redact = Redactor(settings.secrets())
    results = await run_checks(settings)
    for result in results:
        out(redact(result.line()) + "\n")
    return 0 if all(r.ok for r in results) else 1
