"""The one app-data folder (recovery, sweeps of unsaved projects, drawn samples), by platformdirs.

``$WORKBENCH_DATA_DIR`` overrides it (the tests point it at a throw-away folder). Versions before
this one let Qt choose the folder for the window (``<data>/Workbench/Workbench`` on every platform)
and used ``~/.local/share/Workbench`` in the CLI; ``legacy_dirs`` names the window's old folder so
that what a crashed session left there is still offered. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "WORKBENCH_DATA_DIR"
APP_NAME = "Workbench"


def data_dir(base_dir: str | os.PathLike | None = None) -> Path:
    """``$WORKBENCH_DATA_DIR``, else ``base_dir``, else the platform's user data folder
    (``~/.local/share/Workbench`` on Linux, ``~/Library/Application Support/Workbench`` on macOS,
    ``%APPDATA%\\Workbench`` on Windows)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    if base_dir:
        return Path(base_dir)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True))


def legacy_dirs(base_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders earlier versions wrote to instead of ``data_dir`` (none when it is overridden)."""
    if os.environ.get(DATA_DIR_ENV) or base_dir:
        return []
    return [data_dir() / APP_NAME]  # Qt's AppDataLocation for organisation = application name
