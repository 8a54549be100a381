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


class SpecError(ValueError):
    """A readable reason a spec cannot be used, naming the layer and parameter at fault.

    ``layer_index`` is the row in ``spec.layers`` (None: the model as a whole)."""

    def __init__(self, message: str, layer_index: int | None = None, param: str | None = None):
        super().__init__(message)
        self.layer_index = layer_index
        self.param = param
