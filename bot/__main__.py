"""`python -m bot` runs the bot; `migrate` applies migrations; `check` checks the set-up."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import aiohttp
import discord

from bot import __version__
from bot.app import Application
from bot.catalog.compare import compare_with_api, format_diff
from bot.catalog.spec import Catalog, CatalogError
from bot.geekai import GeekAIClient, GeekAIError
from bot.logs import Redactor, configure_logging
from bot.ops.check import check
from bot.ops.startup import describe_start_error
from bot.settings import Settings, SettingsError, load_settings
from bot.storage import StorageError, migrate, open_database, schema_version

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_START = 3


async def _run(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Application(settings) as app:
            try:
                await app.run_until_stopped(stop)
            except discord.LoginFailure:
                log.error("Discord refused the bot token: check DISCORD_TOKEN")
                return EXIT_START
            except (aiohttp.ClientError, OSError) as exc:
                log.error("cannot reach Discord at %s: %s", settings.discord_api_base, exc)
                return EXIT_START
            log.info("shutting down")
    except StorageError as exc:
        log.error("database %s: %s", settings.database_display, exc)
        return EXIT_START
    except OSError as exc:  # a database path that cannot be created, a port in use, …
        log.error("%s", describe_start_error(exc, settings))
        return EXIT_START
    return 0


async def _compare_models(settings: Settings) -> int:
    """Print the image models GeekAI lists but the catalog lacks, and the reverse."""
    catalog = Catalog.load_with_override(settings.model_catalog_path)
    async with aiohttp.ClientSession() as session:
        client = GeekAIClient(
            session,
            base_url=settings.geekai_base_url,
            api_key=settings.geekai_api_key.get_secret_value(),
        )
        try:
            diff = await compare_with_api(catalog, client)
        except GeekAIError as exc:
            log.error("cannot list GeekAI's models: %s", exc)
            return EXIT_START
    sys.stdout.write(format_diff(diff) + "\n")
    return 0 if diff.in_sync else 1


async def _migrate(settings: Settings) -> int:
    try:
        db = await open_database(settings.database_url)
        try:
            applied = await migrate(db)
            version = await schema_version(db)
            log.info("schema at version %s (%s applied now)", version, len(applied))
        finally:
            await db.close()
    except StorageError as exc:
        log.error("database %s: %s", settings.database_display, exc)
        return EXIT_START
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run", choices=["run", "migrate", "check", "compare-models"]
    )
    parser.add_argument("--version", action="version", version=f"imagine-bot {__version__}")
    args = parser.parse_args(argv)
    if args.command == "check":
        return asyncio.run(check(_settings_for_check))
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format, Redactor(settings.secrets()))
    try:
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "compare-models":
            return asyncio.run(_compare_models(settings))
        return asyncio.run(_run(settings))
    except CatalogError as exc:
        sys.stderr.write(f"configuration error: MODEL_CATALOG_PATH: {exc}\n")
        return EXIT_CONFIG


def _settings_for_check() -> Settings:
    settings = load_settings()
    # Only errors: `check` prints its own lines, and a retry warning would be noise.
    configure_logging("ERROR", settings.log_format, Redactor(settings.secrets()))
    return settings


if __name__ == "__main__":
    sys.exit(main())
