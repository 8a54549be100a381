"""Keras and TensorFlow error text, cleaned to the lines that say what is wrong."""

from __future__ import annotations

# Lines Keras and TensorFlow wrap around the reason: headers, call arguments, Python frames.
_DECORATION = (
    "Exception encountered", "Arguments", "•", "Traceback", "File ", "[[", "Graph execution",
    "Detected at node",
)


def plain_text(exc: BaseException) -> str:
    """The message without Keras's terminal bold codes."""
    return str(exc).replace("\x1b[1m", "").replace("\x1b[0m", "")


def reason_lines(exc: BaseException) -> list[str]:
    """The message's non-empty lines, less the decoration; never empty."""
    lines = [ln.strip() for ln in plain_text(exc).splitlines() if ln.strip()]
    return [ln for ln in lines if not ln.startswith(_DECORATION)] or [type(exc).__name__]
