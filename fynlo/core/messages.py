"""Errors as one human line (health checks, commands): never a traceback, never a wall of text."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
