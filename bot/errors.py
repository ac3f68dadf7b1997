"""Errors whose text is safe to show a user: a catalog key plus its parameters."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected refusal; the cog shows `key` translated into the user's language."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
