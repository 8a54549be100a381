"""What every ``workbench`` command shares: its error (one line, an exit code), JSON lines,
warnings, the dataset loaded as the window loads it, and argparse speaking the user's language."""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata

from workbench import i18n
from workbench.i18n import N_, _

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
    sys.stderr.write(_("workbench: warning: {text}").format(text=_one_line(text)) + "\n")


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


# argparse's own words (its usage line, headings, errors), translated in the core catalog. Its
# messages name these exact English texts (Python 3.10 and later); one argparse words differently
# stays English.
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"), N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"), N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"), N_("expected one argument"),
    N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
)


def localise_argparse() -> None:
    """argparse words its usage, headings and errors through gettext's global functions: let it
    find them in our catalog, in the language the rest of the command speaks."""
    argparse._ = i18n._
    argparse.ngettext = i18n.ngettext


# One token: a run of spaces, a run of narrow characters, or one wide (CJK) character.
_TOKENS = re.compile(r"\s+|[^\s\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff"
                     r"\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]+|.")
_NO_LINE_START = set("，。、；：？！）」』》")


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes (a CJK character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def padded(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` terminal columns (a table heading in Chinese)."""
    room = " " * max(0, width - columns(text))
    return text + room if align == "<" else room + text


def wrap_columns(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces or between two
    CJK characters (Chinese has no spaces); a closing punctuation mark never starts a line."""
    lines, line = [], ""
    for token in _TOKENS.findall(" ".join(text.split())):
        if token.isspace():
            line += " " if line else ""
            continue
        if line.strip() and columns(line + token) > width and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = ""
        line += token
    return lines + ([line.rstrip()] if line.strip() else [])


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped by terminal columns instead of characters, so that Chinese help
    text fits the terminal as the English does."""

    def _split_lines(self, text, width):
        return wrap_columns(text, width)

    def _fill_text(self, text, width, indent):
        return "\n".join(indent + line for line in wrap_columns(text, width - len(indent)))
