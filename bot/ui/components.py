"""The components of the bot's messages: result buttons, the Vary… menu, /jobs cancel buttons.

They carry custom_ids only (bot/ui/custom_ids.py); clicks are handled by the DynamicItems
the cogs register at start, so they work on messages from before a restart.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.i18n.lookup import t
from bot.jobs.models import Job
from bot.ui import custom_ids

REROLL_EMOJI = "🔄"
REGION_EMOJI = "🖌️"
EDIT_EMOJI = "✏️"
DELETE_EMOJI = "🗑"
CANCEL_EMOJI = "✖️"
VARY_ROW = 3  # below the image buttons (rows 1-2 for up to 10 images)


class ComponentsOnly(discord.ui.View):
    """Carries buttons into a message without registering callbacks: clicks are handled
    by the DynamicItems registered at start, so they survive restarts."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False


def result_buttons(job: Job, images: int) -> ComponentsOnly:
    """🔄 reroll, ✏️ edit prompt, 🗑 delete, 🖌️ edit a region, then one button per image
    (1…n), then one "Vary…" menu: image k subtle / strong (2 × 10 ≤ Discord's 25 options)."""
    view = ComponentsOnly()
    style = discord.ButtonStyle.secondary
    reroll = custom_ids.reroll(job.id)
    view.add_item(discord.ui.Button(emoji=REROLL_EMOJI, style=style, custom_id=reroll))
    view.add_item(
        discord.ui.Button(emoji=EDIT_EMOJI, style=style, custom_id=custom_ids.edit(job.id))
    )
    view.add_item(
        discord.ui.Button(emoji=DELETE_EMOJI, style=style, custom_id=custom_ids.delete(job.id))
    )
    region = custom_ids.region(job.id)
    view.add_item(discord.ui.Button(emoji=REGION_EMOJI, style=style, custom_id=region))
    if images > 1:
        for index in range(1, images + 1):
            view.add_item(
                discord.ui.Button(
                    label=str(index),
                    style=style,
                    custom_id=custom_ids.image(job.id, index),
                    row=1 + (index - 1) // 5,
                )
            )
    if images >= 1:
        view.add_item(vary_menu(job, images))
    return view


def vary_menu(job: Job, images: int) -> discord.ui.Select[ComponentsOnly]:
    loc = job.target.locale
    options = [
        discord.SelectOption(
            label=t(loc, "ui.vary_option", index=index, kind=t(loc, f"ui.vary_{kind}")),
            value=custom_ids.vary_value(index, kind),
        )
        for index in range(1, images + 1)
        for kind in ("subtle", "strong")
    ]
    return discord.ui.Select(
        custom_id=custom_ids.vary(job.id),
        placeholder=t(loc, "ui.vary_placeholder"),
        options=options,
        row=VARY_ROW,
    )


def reroll_button(job_id: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(emoji=REROLL_EMOJI, custom_id=custom_ids.reroll(job_id))


def edit_button(job_id: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(emoji=EDIT_EMOJI, custom_id=custom_ids.edit(job_id))


def image_button(job_id: int, index: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(label=str(index), custom_id=custom_ids.image(job_id, index))


def delete_button(job_id: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(emoji=DELETE_EMOJI, custom_id=custom_ids.delete(job_id))


def cancel_button(job_id: int) -> discord.ui.Button[Any]:
    """A /jobs line's cancel button, labelled with the job's number."""
    return discord.ui.Button(
        emoji=CANCEL_EMOJI, label=f"#{job_id}", custom_id=custom_ids.cancel(job_id)
    )


def region_button(job_id: int) -> discord.ui.Button[Any]:
    return discord.ui.Button(emoji=REGION_EMOJI, custom_id=custom_ids.region(job_id))


def cancel_buttons(job_ids: list[int]) -> ComponentsOnly:
    """/jobs: one cancel button per job (at most 25, Discord's limit per message)."""
    view = ComponentsOnly()
    for job_id in job_ids[:25]:
        view.add_item(cancel_button(job_id))
    return view
