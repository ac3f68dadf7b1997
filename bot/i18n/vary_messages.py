"""Sentences of the vary / region / image-to-image features, in English and Simplified
Chinese, merged into bot/i18n.py (same keys and placeholders: tests/test_i18n.py)."""

from __future__ import annotations

VARY_MESSAGES_EN: dict[str, str] = {
    "error.no_output_format": "`{model}` does not take an output format.",
    "error.bad_output_format": (
        "`{model}` has no output format `{value}`. Allowed formats: {allowed}."
    ),
    "error.no_mask": "`{model}` does not take a mask. Models that do: {allowed}.",
    "error.mask_needs_image": "A mask needs the image it applies to: attach it as `image` too.",
    "error.mask_not_png": (
        "The mask `{filename}` must be a PNG whose transparent pixels mark the region to change."
    ),
    "error.mask_no_alpha": (
        "The mask has no transparency: erase the region to change (make it transparent) "
        "and save it as PNG."
    ),
    "error.mask_opaque": (
        "The mask has no transparent pixel: erase the region to change, then save it as PNG."
    ),
    "error.mask_size": (
        "The mask is {mask_size} but the image is {image_size}: use the same size "
        "(or at least the same aspect ratio)."
    ),
    "error.mask_unreadable": "The image or the mask could not be read: {reason}.",
    "error.no_image_in_message": (
        "That message has no image (attachment or embedded image) to start from."
    ),
    "error.bad_strength_text": "Strength is a number from 0 to 1 (you wrote “{value}”).",
    "error.bad_image_number": "Choose an image number from 1 to {count}.",
    "error.no_mask_model": "No model here can edit a region (none takes a mask).",
    "ui.vary_placeholder": "Vary…",
    "ui.vary_option": "Image {index} · {kind}",
    "ui.vary_subtle": "subtle",
    "ui.vary_strong": "strong",
    "embed.variation": "Variation",
    "embed.variation_value": "Job #{job_id} · image {index} · {kind}",
    "embed.variation_fallback": "`{model}` takes no reference image, so `{vary_model}` ran.",
    "ui.region_title": "Edit a region",
    "ui.region_image_label": "Image number (1–{count})",
    "ui.region_prompt_label": "What to paint in the erased area",
    "ui.region_placeholder": "Next you attach the image and a PNG mask (transparent = change)",
    "region.howto": (
        "**Edit a region of image {index}** (Discord cannot paint, so you draw the mask):\n"
        "1. Save the image: {url}\n"
        "2. In any editor, erase the area to change so it is transparent; save it as PNG "
        "at the same size.\n"
        "3. Run this and attach the image and your PNG:\n"
        "```\n/imagine prompt:{prompt} model:{model} image: mask:\n```"
    ),
    "ui.from_image_title": "Imagine from this image",
    "ui.from_image_prompt": "Prompt",
    "ui.from_image_strength": "Strength, 0 to 1 (optional)",
    "settings.confirm.watermark_on": (
        "Watermark on: models that support it ({models}) now add an AI-generated mark."
    ),
    "settings.confirm.watermark_off": "Watermark off: images get no AI-generated mark.",
    "settings.watermark_line": "Watermark: {state}",
    "settings.on": "on",
    "settings.off": "off",
    "models.can_vary": "varies images",
    "models.takes_mask": "edits regions (mask)",
    "models.formats": "formats {formats}",
}

VARY_MESSAGES_ZH: dict[str, str] = {
    "error.no_output_format": "`{model}` 不接受输出格式参数。",
    "error.bad_output_format": "`{model}` 没有 `{value}` 输出格式。可选格式：{allowed}。",
    "error.no_mask": "`{model}` 不接受蒙版。支持蒙版的模型：{allowed}。",
    "error.mask_needs_image": "蒙版需要对应的原图：请同时用 `image` 附上图片。",
    "error.mask_not_png": "蒙版 `{filename}` 必须是 PNG，用透明像素标出要修改的区域。",
    "error.mask_no_alpha": "蒙版没有透明通道：请把要修改的区域擦除为透明，并保存为 PNG。",
    "error.mask_opaque": "蒙版中没有透明像素：请擦除要修改的区域，再保存为 PNG。",
    "error.mask_size": (
        "蒙版尺寸为 {mask_size}，而图片为 {image_size}：请使用相同尺寸（至少相同宽高比）。"
    ),
    "error.mask_unreadable": "无法读取图片或蒙版：{reason}。",
    "error.no_image_in_message": "该消息中没有可用的图片（附件或嵌入图片）。",
    "error.bad_strength_text": "参考强度是 0 到 1 之间的数字（你填写的是“{value}”）。",
    "error.bad_image_number": "请选择 1 到 {count} 之间的图片编号。",
    "error.no_mask_model": "此处没有可以局部重绘的模型（没有模型支持蒙版）。",
    "ui.vary_placeholder": "变体…",
    "ui.vary_option": "图 {index} · {kind}",
    "ui.vary_subtle": "轻微变化",
    "ui.vary_strong": "强烈变化",
    "embed.variation": "变体",
    "embed.variation_value": "任务 #{job_id} · 图 {index} · {kind}",
    "embed.variation_fallback": "`{model}` 不接受参考图，因此改用 `{vary_model}`。",
    "ui.region_title": "局部重绘",
    "ui.region_image_label": "图片编号（1–{count}）",
    "ui.region_prompt_label": "擦除区域中要画的内容",
    "ui.region_placeholder": "之后请附上原图和 PNG 蒙版（透明处将被修改）",
    "region.howto": (
        "**局部重绘图 {index}**（Discord 无法直接涂抹，请自行制作蒙版）：\n"
        "1. 保存图片：{url}\n"
        "2. 在任意编辑器中把要修改的区域擦除为透明，按相同尺寸保存为 PNG。\n"
        "3. 运行下面的命令，并附上原图和你的 PNG：\n"
        "```\n/imagine prompt:{prompt} model:{model} image: mask:\n```"
    ),
    "ui.from_image_title": "以此图画图",
    "ui.from_image_prompt": "提示词",
    "ui.from_image_strength": "参考强度，0 到 1（可选）",
    "settings.confirm.watermark_on": "水印已开启：支持的模型（{models}）会添加 AI 生成标识。",
    "settings.confirm.watermark_off": "水印已关闭：图片不再添加 AI 生成标识。",
    "settings.watermark_line": "水印：{state}",
    "settings.on": "开启",
    "settings.off": "关闭",
    "models.can_vary": "可生成变体",
    "models.takes_mask": "可局部重绘（蒙版）",
    "models.formats": "格式 {formats}",
}
