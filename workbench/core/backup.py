"""A run's backup folder, so a killed run can go on where it was (``train --resume DIR``).

``keras/`` holds Keras's ``BackupAndRestore`` state (model, optimizer, epoch), written after every
epoch (``tf/``: the multi-worker loop's ``tf.train.CheckpointManager`` instead); ``history.json``
the run's per-epoch values so far (the resumed run reports the whole run's history, not only the
epochs after the restart).
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

    @property
    def checkpoint_dir(self) -> Path:
        """The multi-worker loop's checkpoints (core.multiworker), where Keras's are not."""
        return self.folder / "tf"

    def exists(self) -> bool:
        """Whether the folder holds an interrupted run (a backup of at least one epoch)."""
        return any(d.is_dir() and any(d.iterdir())
                   for d in (self.folder / "keras", self.checkpoint_dir))

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
