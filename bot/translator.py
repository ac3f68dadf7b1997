"""Localized command names, descriptions and choices for Discord clients (zh-CN).

discord.py passes every command string through this translator when it syncs, so the cogs
keep plain English (SPEC §3's names) and a Chinese client shows the Chinese below. English
locales get the English text explicitly: Discord shows en-GB text to en-US users when en-US
is missing, so the base language is always spelled out.
"""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where

ENGLISH = (Locale.american_english, Locale.british_english)

# Names: commands, groups, subcommands, options. Lower case, ≤ 32 characters.
NAMES_ZH: dict[str, str] = {
    "imagine": "画图",
    "prompt": "提示词",
    "model": "模型",
    "size": "尺寸",
    "aspect_ratio": "宽高比",
    "n": "数量",
    "quality": "质量",
    "negative_prompt": "反向提示词",
    "style": "风格",
    "image": "参考图",
    "strength": "参考强度",
    "background": "背景",
}

# Descriptions and choice names, keyed by their English text.
TEXTS_ZH: dict[str, str] = {
    "Generate images from a text prompt": "根据文字描述生成图片",
    "What to draw": "想画什么",
    "Image model (default: the server's default)": "绘图模型（默认为服务器的默认模型）",
    "Image size, e.g. 1024x1024": "图片尺寸，例如 1024x1024",
    "How many images": "生成几张图片",
    "What to keep out of the image": "不希望出现在图片中的内容",
}

_NAME_LOCATIONS = frozenset(
    {Where.command_name, Where.group_name, Where.parameter_name}
)


def translate_zh(text: str, location: Where) -> str | None:
    if location in _NAME_LOCATIONS:
        return NAMES_ZH.get(text)
    return TEXTS_ZH.get(text)


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
