"""imagine-bot: a Discord bot that turns /imagine into images from the GeekAI image API."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (a test checks)
