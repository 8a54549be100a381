"""What every ``workbench`` command shares: its error (one line, an exit code), JSON lines,
warnings, and the dataset loaded as the window loads it."""

from __future__ import annotations

import json
import sys

EXIT_ERROR = 1
EXIT_INVALID = 2


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _warn(text: str) -> None:
    sys.stderr.write(f"workbench: warning: {_one_line(text)}\n")


def _load_dataset(name: str, seed: int | None = 0):
    from workbench.core.datasets import load_dataset

    # The same seed as the GUI uses, so a saved project trains on the same split headless.
    dataset = load_dataset(name, seed=seed or 0)
    if dataset.notice:
        sys.stderr.write(f"workbench: {_one_line(dataset.notice)}\n")
    return dataset


def _one_line(exc) -> str:
    """An error as one terminal line: names from files cannot add lines or escape sequences."""
    from workbench.core.safe_io import shown

    return shown(" ".join(str(exc).split("\n")).strip())
