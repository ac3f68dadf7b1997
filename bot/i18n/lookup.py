"""Every sentence the bot writes, in English and Simplified Chinese, chosen by locale."""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping

from bot.i18n.catalog_messages import CATALOG_MESSAGES_EN, CATALOG_MESSAGES_ZH
from bot.i18n.vary_messages import VARY_MESSAGES_EN, VARY_MESSAGES_ZH
from bot.quota.messages import QUOTA_MESSAGES_EN, QUOTA_MESSAGES_ZH

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en-US"

EN: dict[str, str] = {
    "status.queued": "🟠 Queued",
    "status.queued_position": "🟠 Queued — position #{position}",
    "status.pending": "🟡 Submitted — waiting for the image service",
    "status.running": "🟢 Running — started {started}",
    "status.delivering": "🟢 Finishing — preparing {count:# image|images}",
    "status.succeeded": "✅ Done in {seconds} s",
    "status.failed": "🔴 Failed — {reason}",
    "status.cancelled": "⚪ Cancelled",
    "embed.model": "Model",
    "embed.size": "Size",
    "embed.count": "Images",
    "embed.time": "Time",
    "embed.negative": "Without",
    "embed.footer": "Job #{job_id}",
    "reason.task_failed": "the image service could not make this image ({code}).",
    "reason.moderation": "the image service refused this prompt (content policy).",
    "reason.bad_request": "the image service rejected the request: {detail}",
    "reason.misconfigured": "the image service is misconfigured; the operator has been told.",
    "reason.out_of_balance": "the image service is out of credit; the operator has been told.",
    "reason.rate_limited": "the image service is busy right now; please try again in a minute.",
    "reason.unavailable": "the image service is unavailable right now; please try again later.",
    "reason.malformed": "the image service gave an answer the bot could not read.",
    "reason.not_found": "the image service lost track of this job.",
    "reason.too_large": "the request was too large for the image service.",
    "reason.timeout": "no result after {duration}, so the job was stopped.",
    "reason.download": "the finished image could not be downloaded.",
    "reason.no_images": "the image service finished without returning an image.",
    "reason.delivery": "the image could not be posted in this channel.",
    "reason.internal": "something went wrong on our side (error {error_id}).",
    "error.prompt_empty": "The prompt is empty: describe the image you want.",
    "error.prompt_too_long": "The prompt is too long: at most {limit} characters.",
    "error.unknown_model": "Unknown model `{model}`. Available: {allowed}.",
    "error.bad_size": "`{model}` does not make {size} images. Allowed sizes: {allowed}.",
    "error.no_size": "`{model}` does not take a size.",
    "error.bad_n": "`{model}` makes at most {max:# image|images} per request (you asked for {n}).",
    "error.n_too_small": "Ask for at least 1 image (`--n {n}` asks for none).",
    "error.no_negative_prompt": "`{model}` does not take a negative prompt.",
    "error.unexpected": "Something went wrong on our side. Error id: `{error_id}`.",
    "error.guild_only": "This command works only in a server.",
    "error.dm_disabled": "Image generation is not available in direct messages here.",
    "error.not_admin": "Only server managers (Manage Server) or the bot's admin role can do this.",
    "error.not_member": "{user} is not a member of this server.",
    "error.foreign_role": "That role belongs to another server.",
    "quota.status.jobs": "Jobs: {running} running, {queued} queued.",
    "error.job_not_found": "Job #{job_id} no longer exists.",
    "error.cooldown": "Slow down a little: try again in {seconds} s. Nothing was charged.",
    "error.blocked_word": "Your prompt contains “{word}”, which is blocked in this server.",
    "models.header": "Models available here (cost in credits per image):",
    "models.line": "**{label}** `{id}`{marker} — sizes: {sizes}; options: {options}; "
    "up to {max_n} per request; {cost:# credit|credits}",
    "error.channel_not_allowed": "Image generation is not enabled in this channel. Try {channels}.",
    "error.missing_permissions": (
        "I can't post results in that channel: I need {permissions}. "
        "Ask a server admin to grant them. Nothing was charged."
    ),
    "error.not_a_result": "Only a finished result can be rerolled or edited.",
    "error.reroll_requester_only": "Only the person who asked for this image can reroll it here.",
    "error.not_your_job": "That is not your job.",
    "error.cannot_cancel": "Job #{job_id} has already finished or is being delivered.",
    "error.guild_not_enabled": (
        "The bot's operator has not enabled image generation in this server."
    ),
    "error.image_gone": "That image is no longer attached to this message.",
    "error.reference_unreadable": (
        "The reference image could not be read ({reason}). Nothing was charged."
    ),
    "error.delete_not_allowed": "Only the requester or a server manager can delete this.",
    "settings.error.bad_reroll_policy": "Unknown policy. Use one of: {allowed}.",
    "settings.error.channel_needed": "Name a text channel of this server to add or remove.",
    "settings.all": "all",
    "settings.show": "Default model: {default_model}\nAllowed models: {allowed_models}\n"
    "Channels: {channels}\nBlocked words: {blocked_words}\nReroll: {reroll_policy}\n"
    "Time zone: {timezone}",
    "settings.confirm.default_model": "The default model is now `{model}`.",
    "settings.confirm.allowed_models": "Members may now use: {models}.",
    "settings.confirm.blocked_words": "{count:# blocked word|blocked words} saved.",
    "settings.confirm.channels": "/imagine may now be used in: {channels}.",
    "settings.confirm.reroll_requester": "Only the requester may reroll a result now.",
    "settings.confirm.reroll_anyone": "Anyone may reroll a result now (charged to them).",
    "ui.edit_title": "Edit the prompt",
    "ui.edit_label": "Prompt",
    "jobs.header": (
        "Your jobs (press a button to cancel one: a queued job is refunded; one GeekAI is"
        " already making keeps its credits):"
    ),
    "jobs.none": "You have no running or queued jobs.",
    "jobs.cancelled": "Job #{job_id} was cancelled and its credits refunded.",
    "jobs.cancelled_kept": (
        "Job #{job_id} was cancelled. GeekAI had already started it, so its"
        " {credits:# credit|credits} stay spent."
    ),
    "jobs.state.queued": "🟠 queued",
    "jobs.state.submitting": "🟡 submitted",
    "jobs.state.pending": "🟡 pending",
    "jobs.state.running": "🟢 running",
    "jobs.state.delivering": "🟢 finishing",
    "jobs.state.succeeded": "✅ done",
    "jobs.state.failed": "🔴 failed",
    "jobs.state.cancelled": "⚪ cancelled",
    "quota.confirm.admin_role": "Bot admins are now: Manage Server, and members with {role}.",
    "quota.confirm.admin_role_cleared": "Bot admins are now: members with Manage Server only.",
    "quota.export.done": "The ledger of this server, {rows} entries.",
    "error.queue_full": "The queue is full right now; please try again in a few minutes.",
    "error.user_queue_full": (
        "You already have {limit:# job|jobs} waiting; wait for one to start."
    ),
}

ZH: dict[str, str] = {
    "status.queued": "🟠 排队中",
    "status.queued_position": "🟠 排队中 — 第 {position} 位",
    "status.pending": "🟡 已提交 — 等待绘图服务",
    "status.running": "🟢 生成中 — 开始于 {started}",
    "status.delivering": "🟢 即将完成 — 正在准备 {count} 张图片",
    "status.succeeded": "✅ 完成，用时 {seconds} 秒",
    "status.failed": "🔴 失败 — {reason}",
    "status.cancelled": "⚪ 已取消",
    "embed.model": "模型",
    "embed.size": "尺寸",
    "embed.count": "数量",
    "embed.time": "用时",
    "embed.negative": "排除",
    "embed.footer": "任务 #{job_id}",
    "reason.task_failed": "绘图服务无法生成这张图片（{code}）。",
    "reason.moderation": "绘图服务拒绝了这个提示词（内容政策）。",
    "reason.bad_request": "绘图服务拒绝了请求：{detail}",
    "reason.misconfigured": "绘图服务配置有误，已通知机器人管理员。",
    "reason.out_of_balance": "绘图服务余额不足，已通知机器人管理员。",
    "reason.rate_limited": "绘图服务繁忙，请一分钟后再试。",
    "reason.unavailable": "绘图服务暂时不可用，请稍后再试。",
    "reason.malformed": "绘图服务返回了无法识别的结果。",
    "reason.not_found": "绘图服务找不到这个任务了。",
    "reason.too_large": "请求内容超出绘图服务的大小限制。",
    "reason.timeout": "{duration}内没有结果，任务已停止。",
    "reason.download": "无法下载生成的图片。",
    "reason.no_images": "绘图服务已完成，但没有返回图片。",
    "reason.delivery": "无法在此频道发送图片。",
    "reason.internal": "我们这边出了点问题（错误 {error_id}）。",
    "error.prompt_empty": "提示词为空：请描述你想要的图片。",
    "error.prompt_too_long": "提示词太长：最多 {limit} 个字符。",
    "error.unknown_model": "未知模型 `{model}`。可用模型：{allowed}。",
    "error.bad_size": "`{model}` 不支持 {size} 尺寸。可选尺寸：{allowed}。",
    "error.no_size": "`{model}` 不接受尺寸参数。",
    "error.bad_n": "`{model}` 每次最多生成 {max} 张图片（你要求了 {n} 张）。",
    "error.n_too_small": "请至少要求 1 张图片（`--n {n}` 等于不要图片）。",
    "error.no_negative_prompt": "`{model}` 不支持反向提示词。",
    "error.unexpected": "我们这边出了点问题。错误编号：`{error_id}`。",
    "error.guild_only": "此命令只能在服务器中使用。",
    "error.dm_disabled": "此处不支持在私信中生成图片。",
    "error.not_admin": "只有拥有“管理服务器”权限的成员或机器人管理员身份组可以执行此操作。",
    "error.not_member": "{user} 不是此服务器的成员。",
    "error.foreign_role": "该身份组属于其他服务器。",
    "quota.status.jobs": "任务：{running} 个进行中，{queued} 个排队中。",
    "error.job_not_found": "任务 #{job_id} 已不存在。",
    "error.cooldown": "请稍等：{seconds} 秒后再试。未扣除点数。",
    "error.blocked_word": "你的提示词包含此服务器屏蔽的词语“{word}”。",
    "models.header": "此处可用的模型（每张图片消耗的点数）：",
    "models.line": "**{label}** `{id}`{marker} — 尺寸：{sizes}；选项：{options}；"
    "每次最多 {max_n} 张；{cost} 点",
    "error.channel_not_allowed": "此频道未启用图片生成。请前往 {channels}。",
    "error.missing_permissions": (
        "我无法在该频道发送结果：需要 {permissions} 权限。请联系服务器管理员授予。未扣除点数。"
    ),
    "error.not_a_result": "只有已完成的结果才能重绘或编辑。",
    "error.reroll_requester_only": "在此服务器中，只有发起者可以重绘这张图片。",
    "error.not_your_job": "这不是你的任务。",
    "error.cannot_cancel": "任务 #{job_id} 已完成或正在发送。",
    "error.guild_not_enabled": "机器人的运营者未在此服务器启用图片生成。",
    "error.image_gone": "这张图片已不在此消息中。",
    "error.reference_unreadable": "无法读取参考图片（{reason}）。未扣除任何点数。",
    "error.delete_not_allowed": "只有发起者或服务器管理员可以删除它。",
    "settings.error.bad_reroll_policy": "未知策略。可选：{allowed}。",
    "settings.error.channel_needed": "请指定此服务器中要添加或移除的文字频道。",
    "settings.all": "全部",
    "settings.show": "默认模型：{default_model}\n允许的模型：{allowed_models}\n"
    "频道：{channels}\n屏蔽词：{blocked_words}\n重绘：{reroll_policy}\n"
    "时区：{timezone}",
    "settings.confirm.default_model": "默认模型现为 `{model}`。",
    "settings.confirm.allowed_models": "成员现在可以使用：{models}。",
    "settings.confirm.blocked_words": "已保存 {count} 个屏蔽词。",
    "settings.confirm.channels": "/imagine 现在可以在以下频道使用：{channels}。",
    "settings.confirm.reroll_requester": "现在只有发起者可以重绘结果。",
    "settings.confirm.reroll_anyone": "现在任何人都可以重绘结果（由重绘者支付点数）。",
    "ui.edit_title": "编辑提示词",
    "ui.edit_label": "提示词",
    "jobs.header": (
        "你的任务（点击按钮可取消：排队中的任务会退还点数；GeekAI 已开始生成的任务不退还）："
    ),
    "jobs.none": "你没有进行中或排队中的任务。",
    "jobs.cancelled": "任务 #{job_id} 已取消，点数已退还。",
    "jobs.cancelled_kept": "任务 #{job_id} 已取消。GeekAI 已开始生成，{credits} 点不予退还。",
    "jobs.state.queued": "🟠 排队中",
    "jobs.state.submitting": "🟡 已提交",
    "jobs.state.pending": "🟡 等待中",
    "jobs.state.running": "🟢 生成中",
    "jobs.state.delivering": "🟢 即将完成",
    "jobs.state.succeeded": "✅ 完成",
    "jobs.state.failed": "🔴 失败",
    "jobs.state.cancelled": "⚪ 已取消",
    "quota.confirm.admin_role": (
        "机器人管理员现为：拥有“管理服务器”权限的成员，以及 {role} 身份组的成员。"
    ),
    "quota.confirm.admin_role_cleared": "机器人管理员现为：仅拥有“管理服务器”权限的成员。",
    "quota.export.done": "此服务器的账目，共 {rows} 条。",
    "error.queue_full": "队列已满，请几分钟后再试。",
    "error.user_queue_full": "你已有 {limit} 个任务在排队，请等待其中一个开始。",
}

EN.update(QUOTA_MESSAGES_EN)
ZH.update(QUOTA_MESSAGES_ZH)
EN.update(CATALOG_MESSAGES_EN)
ZH.update(CATALOG_MESSAGES_ZH)
EN.update(VARY_MESSAGES_EN)
ZH.update(VARY_MESSAGES_ZH)

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN, "zh": ZH}


def language_of(locale: str | None) -> str:
    """Discord locale → catalog: zh-CN / zh-TW → Chinese, anything else → English."""
    if locale and locale.lower().startswith("zh"):
        return "zh"
    return "en"


def format_duration(locale: str | None, seconds: float) -> str:
    """A short, natural duration: "45 seconds", "1 minute", "10 minutes" / "45 秒", "10 分钟"."""
    zh = language_of(locale) == "zh"
    if seconds < 120:
        value = max(1, round(seconds))
        return f"{value} 秒" if zh else f"{value} second{'s' if value != 1 else ''}"
    value = round(seconds / 60)
    return f"{value} 分钟" if zh else f"{value} minute{'s' if value != 1 else ''}"


class _Formatter(string.Formatter):
    """`{n:# image|images}` → "1 image" / "3 images": English plurals inside templates."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("#") and "|" in format_spec:
            one, other = format_spec[1:].strip().split("|", 1)
            return f"{value} {one if value == 1 else other}"
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def t(locale: str | None, key: str, **params: object) -> str:
    """The sentence `key` in the locale's language, English if it has no translation."""
    catalog = CATALOGS[language_of(locale)]
    template = catalog.get(key) or EN.get(key)
    if template is None:
        log.error("missing message key %s", key)
        return key
    try:
        return _FORMATTER.vformat(template, (), params)
    except (KeyError, IndexError, ValueError):
        log.exception("bad parameters for message key %s", key)
        return EN.get(key, key)
