"""Localized command names, descriptions and choices for Discord clients (zh-CN).

discord.py passes every command string through this translator when it syncs, so the cogs
keep plain English (the command names README lists) and a Chinese client shows the Chinese of
`bot/i18n/locales/zh-CN.json` (`command_names`, `command_texts`). English
locales get the English text explicitly: Discord shows en-GB text to en-US users when en-US
is missing, so the base language is always spelled out.
"""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n.lookup import COMMAND_NAMES_ZH, COMMAND_TEXTS_ZH

ENGLISH = (Locale.american_english, Locale.british_english)

_NAME_LOCATIONS = frozenset({Where.command_name, Where.group_name, Where.parameter_name})


def translate_zh(text: str, location: Where) -> str | None:
    if location in _NAME_LOCATIONS:
        return COMMAND_NAMES_ZH.get(text)
    return COMMAND_TEXTS_ZH.get(text)


class ImagineTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale in ENGLISH:
            return string.message
        if locale is Locale.chinese:
            return translate_zh(string.message, context.location)
        return None
