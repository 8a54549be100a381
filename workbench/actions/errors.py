"""The error every action raises for input that does not fit it."""

from __future__ import annotations


class ActionError(Exception):
    """One readable sentence on why this input cannot be used (a usage error, not a crash)."""
