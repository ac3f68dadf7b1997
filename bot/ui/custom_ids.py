"""Every component custom_id the bot uses, in one place (a contract: messages outlive us).

Format: `imagine:<action>:<job id>[:<image index>]`, far below Discord's 100 characters.
"""

from __future__ import annotations

PREFIX = "imagine"

REROLL = rf"{PREFIX}:reroll:(?P<job_id>[0-9]+)"
EDIT = rf"{PREFIX}:edit:(?P<job_id>[0-9]+)"
IMAGE = rf"{PREFIX}:image:(?P<job_id>[0-9]+):(?P<index>[0-9]+)"
DELETE = rf"{PREFIX}:delete:(?P<job_id>[0-9]+)"
CANCEL = rf"{PREFIX}:cancel:(?P<job_id>[0-9]+)"
EDIT_MODAL = rf"{PREFIX}:edit-modal:(?P<job_id>[0-9]+)"
# A select whose option values are `<image index>:<subtle|strong>`.
VARY = rf"{PREFIX}:vary:(?P<job_id>[0-9]+)"
REGION = rf"{PREFIX}:region:(?P<job_id>[0-9]+)"


def reroll(job_id: int) -> str:
    return f"{PREFIX}:reroll:{job_id}"


def edit(job_id: int) -> str:
    return f"{PREFIX}:edit:{job_id}"


def image(job_id: int, index: int) -> str:
    return f"{PREFIX}:image:{job_id}:{index}"


def delete(job_id: int) -> str:
    return f"{PREFIX}:delete:{job_id}"


def cancel(job_id: int) -> str:
    return f"{PREFIX}:cancel:{job_id}"


def edit_modal(job_id: int) -> str:
    return f"{PREFIX}:edit-modal:{job_id}"


def vary(job_id: int) -> str:
    return f"{PREFIX}:vary:{job_id}"


def vary_value(index: int, kind: str) -> str:
    return f"{index}:{kind}"


def region(job_id: int) -> str:
    return f"{PREFIX}:region:{job_id}"
