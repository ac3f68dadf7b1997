"""Quota sentences in English and Simplified Chinese, to be merged into bot/i18n.py.

Keys are namespaced `quota.*`. Both catalogs have the same keys and the same
`{placeholders}` (tests/quota/test_policy.py checks it). Times use Discord timestamp
markup so each reader sees them in their own time zone: `<t:UNIX:R>` → "in 3 hours".

How a cog composes them (values in braces are plain numbers unless noted):
* refusal of /imagine: the QuotaExceededError / QuotaBlockedError key and params as is;
* an allowance: `quota.allowance` with `{period}` = the text of `quota.period.<period>`,
  or `quota.allowance.unlimited` / `quota.allowance.blocked`;
* /quota: `quota.status.header` (+ `quota.source.<source>` as `{source}`), then
  `quota.status.usage` or `quota.status.usage_unlimited`, then `quota.status.resets` or
  `quota.status.never_resets`, optionally `quota.status.granted` and `quota.status.held`;
* admin confirmations: `quota.confirm.*` with `{allowance}` an already rendered allowance.
"""

from __future__ import annotations

QUOTA_MESSAGES_EN: dict[str, str] = {
    # Refusals of /imagine (one line each).
    "quota.exceeded": (
        "Not enough credits: this needs {needed}, you have {left} left. "
        "Your credits reset <t:{resets_at}:R>."
    ),
    "quota.exceeded_total": (
        "Not enough credits: this needs {needed}, you have {left} left, "
        "and your allowance does not reset. Ask a server admin for more."
    ),
    "quota.blocked": "You cannot generate images in this server (your allowance is 0 credits).",
    "quota.ceiling_user": (
        "You reached the bot's daily limit for one member across all servers: {left:# credit|"
        "credits} left today, this needs {needed}. It resets <t:{resets_at}:R>. "
        "Nothing was charged."
    ),
    "quota.ceiling_guild": (
        "This server reached the bot's daily limit: {left:# credit|credits} left today, "
        "this needs {needed}. It resets <t:{resets_at}:R>. Nothing was charged."
    ),
    # Allowances.
    "quota.allowance": "{credits:# credit|credits} {period}",
    "quota.allowance.unlimited": "unlimited",
    "quota.allowance.blocked": "blocked (0 credits)",
    "quota.period.day": "per day",
    "quota.period.week": "per week",
    "quota.period.month": "per month",
    "quota.period.total": "in total",
    "quota.period.unlimited": "unlimited",
    "quota.source.owner": "bot owner",
    "quota.source.user": "set for you",
    "quota.source.role": "from one of your roles",
    "quota.source.guild": "server default",
    "quota.source.global": "bot default",
    # /quota
    "quota.status.header": "Your allowance: {allowance} ({source}).",
    "quota.status.usage": "Used {used} · left {left}.",
    "quota.status.usage_unlimited": "Used {used}.",
    "quota.status.resets": "Resets <t:{resets_at}:R>.",
    "quota.status.never_resets": "This allowance does not reset.",
    "quota.status.granted": "Includes {granted:# extra credit|extra credits} granted by an admin.",
    "quota.status.held": "Jobs in progress: {jobs}, holding {credits:# credit|credits}.",
    # Admin confirmations.
    "quota.confirm.set_user": "<@{user_id}> now has {allowance}.",
    "quota.confirm.set_role": "Members with <@&{role_id}> now get {allowance} (unless a user "
    "setting or a more generous role applies).",
    "quota.confirm.set_default": "Server default is now {allowance}.",
    "quota.confirm.clear_user": "<@{user_id}> has no personal setting any more; "
    "their allowance is now {allowance}.",
    "quota.confirm.clear_role": "<@&{role_id}> no longer has its own allowance.",
    "quota.confirm.grant": "Granted {credits:# extra credit|extra credits} to <@{user_id}> "
    "for this period. "
    "Allowance {allowance}; {left} left.",
    "quota.confirm.reset": "Usage of <@{user_id}> for this period was reset "
    "({credits:# credit|credits} given back). Allowance {allowance}; {left} left.",
    "quota.confirm.timezone": "Quota periods in this server now follow {timezone}.",
    # /quotas show and report
    "quota.show.header": "<@{user_id}>: {allowance} ({source}). Used {used}, left {left}.",
    "quota.show.entry": "<t:{at}:f> · {kind} {amount} {job}",
    "quota.show.empty": "No ledger entries yet.",
    "quota.report.header": "Top users since <t:{since}:f>:",
    "quota.report.row": "{rank}. <@{user_id}> — {used:# credit|credits}",
    "quota.report.empty": "Nobody has used any credits in this period.",
    "quota.chart.members": "Credits used per member this period",
    "quota.chart.daily": "Credits used per day, last {days} days",
    "quota.chart.caption": "Chart: #n are the ranks above; below, credits per day.",
    "quota.kind.reserve": "reserved",
    "quota.kind.commit": "settled",
    "quota.kind.refund": "refunded",
    "quota.kind.grant": "granted",
    "quota.kind.adjust": "adjusted",
    # Admin input refused (nothing was changed).
    "quota.error.bad_credits": (
        "Credits must be a whole number from {min} to {max} (got {value}). Nothing was changed."
    ),
    "quota.error.bad_period": (
        "Unknown period `{period}`. Use one of: {allowed}. Nothing was changed."
    ),
    "quota.error.bad_timezone": (
        "Unknown time zone `{timezone}`. Use an IANA name such as Europe/Berlin or "
        "Asia/Shanghai. Nothing was changed."
    ),
}

QUOTA_MESSAGES_ZH: dict[str, str] = {
    "quota.exceeded": (
        "点数不足：本次需要 {needed} 点，你还剩 {left} 点。点数将于 <t:{resets_at}:R> 重置。"
    ),
    "quota.exceeded_total": (
        "点数不足：本次需要 {needed} 点，你还剩 {left} 点，且你的额度不会重置。请联系服务器管理员。"
    ),
    "quota.blocked": "你无法在此服务器生成图片（你的额度为 0 点）。",
    "quota.ceiling_user": (
        "你已达到本机器人对每位成员（所有服务器合计）的每日上限：今天还剩 {left} 点，"
        "本次需要 {needed} 点。<t:{resets_at}:R> 重置。未扣除任何点数。"
    ),
    "quota.ceiling_guild": (
        "本服务器已达到本机器人的每日上限：今天还剩 {left} 点，本次需要 {needed} 点。"
        "<t:{resets_at}:R> 重置。未扣除任何点数。"
    ),
    "quota.allowance": "{period} {credits} 点",
    "quota.allowance.unlimited": "不限额",
    "quota.allowance.blocked": "已禁用（0 点）",
    "quota.period.day": "每天",
    "quota.period.week": "每周",
    "quota.period.month": "每月",
    "quota.period.total": "总计",
    "quota.period.unlimited": "不限",
    "quota.source.owner": "机器人所有者",
    "quota.source.user": "为你单独设置",
    "quota.source.role": "来自你的身份组",
    "quota.source.guild": "服务器默认",
    "quota.source.global": "机器人默认",
    "quota.status.header": "你的额度：{allowance}（{source}）。",
    "quota.status.usage": "已用 {used} 点 · 剩余 {left} 点。",
    "quota.status.usage_unlimited": "已用 {used} 点。",
    "quota.status.resets": "将于 <t:{resets_at}:R> 重置。",
    "quota.status.never_resets": "此额度不会重置。",
    "quota.status.granted": "其中包含管理员额外发放的 {granted} 点。",
    "quota.status.held": "{jobs} 个进行中的任务占用了 {credits} 点。",
    "quota.confirm.set_user": "<@{user_id}> 的额度现为 {allowance}。",
    "quota.confirm.set_role": "拥有 <@&{role_id}> 的成员现获得 {allowance}"
    "（除非有单独设置或更优厚的身份组额度）。",
    "quota.confirm.set_default": "服务器默认额度现为 {allowance}。",
    "quota.confirm.clear_user": "已移除 <@{user_id}> 的单独设置，其额度现为 {allowance}。",
    "quota.confirm.clear_role": "<@&{role_id}> 不再有单独的额度。",
    "quota.confirm.grant": "已为 <@{user_id}> 在本周期额外发放 {credits} 点。"
    "额度 {allowance}，剩余 {left} 点。",
    "quota.confirm.reset": "已重置 <@{user_id}> 本周期的用量（退回 {credits} 点）。"
    "额度 {allowance}，剩余 {left} 点。",
    "quota.confirm.timezone": "此服务器的额度周期现按 {timezone} 时区计算。",
    "quota.show.header": "<@{user_id}>：{allowance}（{source}）。已用 {used} 点，剩余 {left} 点。",
    "quota.show.entry": "<t:{at}:f> · {kind} {amount} {job}",
    "quota.show.empty": "暂无账目记录。",
    "quota.report.header": "自 <t:{since}:f> 起用量最多的用户：",
    "quota.report.row": "{rank}. <@{user_id}> — {used} 点",
    "quota.report.empty": "本周期内还没有人使用点数。",
    "quota.chart.members": "本周期每位成员使用的点数",
    "quota.chart.daily": "最近 {days} 天每日使用的点数",
    "quota.chart.caption": "图表：#n 对应上面的排名；下方为每日用量。",
    "quota.kind.reserve": "预留",
    "quota.kind.commit": "结算",
    "quota.kind.refund": "退还",
    "quota.kind.grant": "发放",
    "quota.kind.adjust": "调整",
    "quota.error.bad_credits": (
        "点数必须是 {min} 到 {max} 之间的整数（收到 {value}）。未做任何更改。"
    ),
    "quota.error.bad_period": "未知周期 `{period}`。可选：{allowed}。未做任何更改。",
    "quota.error.bad_timezone": (
        "未知时区 `{timezone}`。请使用 IANA 时区名，例如 Europe/Berlin 或 Asia/Shanghai。"
        "未做任何更改。"
    ),
}
