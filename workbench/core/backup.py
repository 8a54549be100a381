"""A run's backup folder, so a killed run can go on where it was (``train --resume DIR``).

``keras/`` holds Keras's ``BackupAndRestore`` state (model, optimizer, epoch), written after every
epoch; ``history.json`` the run's per-epoch values so far (the resumed run reports the whole
run's history, not only the epochs after the restart).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from workbench.core.atomic import replacing


class Backup:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @property
    def history_path(self) -> Path:
        return self.folder / "history.json"

    def exists(self) -> bool:
        """Whether the folder holds an interrupted run (Keras's backup of at least one epoch)."""
        keras_dir = self.folder / "keras"
        return keras_dir.is_dir() and any(keras_dir.iterdir())

    def read_history(self) -> dict[str, list[float]]:
        try:
            data = json.loads(self.history_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): [float(x) if x is not None else math.nan for x in v]
                for k, v in data.items() if isinstance(v, list)}

    def write_history(self, history: dict[str, list[float]]) -> None:
        clean = {k: [x if math.isfinite(x) else None for x in v] for k, v in history.items()}
        with replacing(self.history_path) as tmp:
            tmp.write_text(json.dumps(clean), encoding="utf-8")

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
