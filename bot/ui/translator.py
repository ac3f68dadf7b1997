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
    "quota": "额度",
    "quotas": "额度管理",
    "set-user": "设置用户",
    "set-role": "设置身份组",
    "set-default": "设置默认",
    "grant": "发放",
    "reset": "重置",
    "show": "查看",
    "report": "报告",
    "export": "导出",
    "admin-role": "管理员身份组",
    "user": "用户",
    "credits": "点数",
    "period": "周期",
    "role": "身份组",
    "settings": "设置",
    "timezone": "时区",
    "tz": "时区名",
    "jobs": "任务",
    "reroll-policy": "重绘权限",
    "models": "模型列表",
    "default-model": "默认模型",
    "allowed-models": "允许的模型",
    "blocked-words": "屏蔽词",
    "channels": "频道",
    "words": "词语",
    "channel": "频道名",
    "action": "操作",
    "policy": "策略",
    "mask": "蒙版",
    "output_format": "输出格式",
    "watermark": "水印",
    "state": "状态",
    "Imagine from this image": "以此图画图",
}

# Descriptions and choice names, keyed by their English text.
TEXTS_ZH: dict[str, str] = {
    "Generate images from a text prompt": "根据文字描述生成图片",
    "What to draw": "想画什么",
    "Image model (default: the server's default)": "绘图模型（默认为服务器的默认模型）",
    "What to draw (flags like --ar 16:9 --no trees --n 2 work too)": (
        "想画什么（也可以使用 --ar 16:9 --no 树 --n 2 等参数）"
    ),
    "Image size, e.g. 1024x1024 or 2K": "图片尺寸，例如 1024x1024 或 2K",
    "Aspect ratio, e.g. 16:9 (models that take ratios)": "宽高比，例如 16:9（支持比例的模型）",
    "Quality, e.g. hd or high": "画质，例如 hd 或 high",
    "Style preset (Stable Image)": "风格预设（Stable Image）",
    "Reference image for image-to-image (png, jpg or webp)": "图生图的参考图（png、jpg 或 webp）",
    "How strongly the reference image counts, 0 to 1": "参考图的影响强度，0 到 1",
    "Background: auto, transparent or opaque (GPT Image)": (
        "背景：auto、transparent 或 opaque（GPT Image）"
    ),
    "The image models available here": "此处可用的绘图模型",
    "Show this server's settings": "查看此服务器的设置",
    "The model /imagine uses by default": "/imagine 默认使用的模型",
    "Model id": "模型 ID",
    "Models members may use": "成员可以使用的模型",
    "Comma-separated model ids; empty for all": "以逗号分隔的模型 ID；留空表示全部",
    "Words refused in prompts": "提示词中禁止的词语",
    "Comma-separated words; empty clears the list": "以逗号分隔的词语；留空则清空",
    "Channels where /imagine may be used": "可以使用 /imagine 的频道",
    "add, remove or clear (clear: every channel)": "添加、移除或清空（清空：所有频道）",
    "Channel": "频道",
    "add": "添加",
    "remove": "移除",
    "clear": "清空",
    "How many images": "生成几张图片",
    "What to keep out of the image": "不希望出现在图片中的内容",
    "Show your credits and jobs": "查看你的点数和任务",
    "Manage credit quotas": "管理点数额度",
    "Set a member's credits per period": "设置成员每个周期的点数",
    "Set the credits per period of a role": "设置身份组每个周期的点数",
    "Set the server's default credits": "设置服务器默认点数",
    "Give a member extra credits this period": "本周期为成员额外发放点数",
    "Reset a member's usage this period": "重置成员本周期的用量",
    "Show a member's quota and recent ledger": "查看成员的额度和近期账目",
    "Top users this period": "本周期用量最多的用户",
    "Download this server's ledger as CSV": "以 CSV 下载此服务器的账目",
    "Let a role run admin commands": "允许某身份组使用管理命令",
    "Member": "成员",
    "Role": "身份组",
    "Credits (0 blocks)": "点数（0 表示禁用）",
    "Extra credits": "额外点数",
    "Period": "周期",
    "Role (leave empty to remove)": "身份组（留空则移除）",
    "day": "每天",
    "week": "每周",
    "month": "每月",
    "total": "总计",
    "unlimited": "不限",
    "all": "全部",
    "Only the current day, week or month (default: everything)": (
        "只导出当前的一天、一周或一个月（默认：全部）"
    ),
    "Server settings": "服务器设置",
    "Time zone for quota periods": "额度周期使用的时区",
    "IANA time zone, e.g. Asia/Shanghai": "IANA 时区名，例如 Asia/Shanghai",
    "Your running and queued jobs": "你进行中和排队中的任务",
    "Who may reroll a result": "谁可以重绘结果",
    "requester (default) or anyone": "仅发起者（默认）或任何人",
    "requester": "仅发起者",
    "anyone": "任何人",
    "PNG mask for image: its transparent pixels are repainted (GPT Image 1)": (
        "参考图的 PNG 蒙版：透明像素处将被重绘（GPT Image 1）"
    ),
    "File format: png, jpg or webp (models that offer it)": (
        "文件格式：png、jpg 或 webp（支持的模型）"
    ),
    "AI-generated mark on models that take it": "在支持的模型上添加 AI 生成标识",
    "on or off (default off)": "开启或关闭（默认关闭）",
    "on": "开启",
    "off": "关闭",
}

_NAME_LOCATIONS = frozenset({Where.command_name, Where.group_name, Where.parameter_name})


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
