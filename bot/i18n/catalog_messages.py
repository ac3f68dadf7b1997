"""Refusals of /imagine options, in English and Simplified Chinese, to be merged into
bot/i18n.py.

Both dicts have the same keys and the same `{placeholders}` (tests/test_catalog.py checks
it). Every refusal is one line that names the problem and, where there are any, the allowed
values. Keys already in bot/i18n.py and reused by the catalog: error.prompt_empty,
error.prompt_too_long, error.unknown_model, error.bad_size, error.no_size, error.bad_n,
error.no_negative_prompt.
"""

from __future__ import annotations

CATALOG_MESSAGES_EN: dict[str, str] = {
    "error.model_not_allowed": "`{model}` is not enabled in this server. Available: {allowed}.",
    "error.bad_size_or_custom": (
        "`{model}` does not make {size} images. Allowed sizes: {allowed}, "
        "or a custom size written WxH."
    ),
    "error.size_side": (
        "`{model}` cannot make {size} images: each side must be {min}–{max} pixels."
    ),
    "error.size_multiple": (
        "`{model}` cannot make {size} images: both sides must be multiples of {multiple}."
    ),
    "error.size_pixels": (
        "`{model}` cannot make {size} images ({pixels} pixels): "
        "allowed are {min}–{max} pixels in total."
    ),
    "error.size_ratio": (
        "`{model}` cannot make {size} images: the width:height ratio must be "
        "between {min} and {max}."
    ),
    "error.no_aspect_ratio": (
        "`{model}` does not take an aspect ratio; choose a size instead: {allowed}."
    ),
    "error.no_size_use_ratio": (
        "`{model}` does not take a size; choose an aspect ratio instead: {allowed}."
    ),
    "error.bad_aspect_ratio": (
        "`{model}` does not make {value} images. Allowed aspect ratios: {allowed}."
    ),
    "error.no_quality": "`{model}` does not take a quality setting.",
    "error.bad_quality": "`{model}` has no quality `{value}`. Allowed qualities: {allowed}.",
    "error.no_style": "`{model}` does not take a style.",
    "error.bad_style": "`{model}` has no style `{value}`. Allowed styles: {allowed}.",
    "error.no_background": "`{model}` does not take a background setting.",
    "error.bad_background": (
        "`{model}` has no background `{value}`. Allowed backgrounds: {allowed}."
    ),
    "error.no_image_input": ("`{model}` does not take an input image. Models that do: {allowed}."),
    "error.attachment_not_image": (
        "`{filename}` is not an image the bot can use ({content_type}). Allowed: {allowed}."
    ),
    "error.attachment_too_large": (
        "`{filename}` is {size_mb} MB; input images may be at most {limit_mb} MB."
    ),
    "error.no_strength": "`{model}` does not take a strength.",
    "error.strength_needs_image": "Strength applies only with an input image: attach one.",
    "error.bad_strength": "Strength must be between {min} and {max} (you gave {value}).",
    "error.no_sequential": "`{model}` does not make image groups.",
    "error.bad_sequential": (
        "`{model}` makes groups of 2 to {max} images (you asked for {value})."
    ),
    "error.sequential_with_n": "Ask for several images (n) or an image group, not both.",
    "error.flag_needs_value": "`{flag}` needs a value, e.g. `{example}`.",
    "error.bad_flag_number": "`{flag}` needs a number, not `{value}`.",
}

CATALOG_MESSAGES_ZH: dict[str, str] = {
    "error.model_not_allowed": "本服务器未启用 `{model}`。可用模型：{allowed}。",
    "error.bad_size_or_custom": (
        "`{model}` 不支持 {size} 尺寸。可选尺寸：{allowed}，或按 宽x高 填写自定义尺寸。"
    ),
    "error.size_side": "`{model}` 无法生成 {size} 的图片：每条边须在 {min}–{max} 像素之间。",
    "error.size_multiple": "`{model}` 无法生成 {size} 的图片：宽和高都必须是 {multiple} 的倍数。",
    "error.size_pixels": (
        "`{model}` 无法生成 {size} 的图片（{pixels} 像素）：总像素须在 {min}–{max} 之间。"
    ),
    "error.size_ratio": "`{model}` 无法生成 {size} 的图片：宽高比须在 {min} 到 {max} 之间。",
    "error.no_aspect_ratio": "`{model}` 不接受宽高比参数，请改为选择尺寸：{allowed}。",
    "error.no_size_use_ratio": "`{model}` 不接受尺寸参数，请改为选择宽高比：{allowed}。",
    "error.bad_aspect_ratio": "`{model}` 不支持 {value} 的宽高比。可选宽高比：{allowed}。",
    "error.no_quality": "`{model}` 不接受画质参数。",
    "error.bad_quality": "`{model}` 没有 `{value}` 画质。可选画质：{allowed}。",
    "error.no_style": "`{model}` 不接受风格参数。",
    "error.bad_style": "`{model}` 没有 `{value}` 风格。可选风格：{allowed}。",
    "error.no_background": "`{model}` 不接受背景参数。",
    "error.bad_background": "`{model}` 没有 `{value}` 背景选项。可选背景：{allowed}。",
    "error.no_image_input": "`{model}` 不接受输入图片。支持输入图片的模型：{allowed}。",
    "error.attachment_not_image": (
        "`{filename}` 不是可用的图片（{content_type}）。支持的格式：{allowed}。"
    ),
    "error.attachment_too_large": "`{filename}` 大小为 {size_mb} MB；输入图片最大 {limit_mb} MB。",
    "error.no_strength": "`{model}` 不接受参考强度参数。",
    "error.strength_needs_image": "参考强度只在有输入图片时生效：请附上一张图片。",
    "error.bad_strength": "参考强度须在 {min} 到 {max} 之间（你填写的是 {value}）。",
    "error.no_sequential": "`{model}` 不支持组图生成。",
    "error.bad_sequential": "`{model}` 每组生成 2 到 {max} 张图片（你要求了 {value} 张）。",
    "error.sequential_with_n": "请在多张图片（n）和组图之间选择其一，不能同时使用。",
    "error.flag_needs_value": "`{flag}` 需要一个值，例如 `{example}`。",
    "error.bad_flag_number": "`{flag}` 需要一个数字，而不是 `{value}`。",
}
