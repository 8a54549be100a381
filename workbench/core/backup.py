"""A run's backup folder, so a killed run can go on where it was (``train --resume DIR``).

The folder is the Workbench's only when it holds our marker (``workbench-backup.json``: our format
and the run's id); no other folder is used, resumed or removed, whatever it holds, and a link is
never followed. Inside: ``keras/`` the model and optimizer after every epoch in Keras's
``BackupAndRestore`` layout, each file written whole (temporary file, fsync, rename) and only
when the disk has room for it (``tf/``: the multi-worker loop's ``tf.train.CheckpointManager``
instead); ``history.json`` the run's per-epoch values so far (the resumed run reports the whole
run's history); ``final/`` the trained ``.keras`` and project while they are written, before they
are moved to their places. The folder is removed only once they are there.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import stat
import uuid
from pathlib import Path

from workbench.core.atomic import replacing, sync_folder
from workbench.core.safe_io import FileRefused, read_text, shown
from workbench.i18n import N_, _

MARKER = "workbench-backup.json"
FORMAT = "workbench-backup/1"
WEIGHTS = "latest.weights.h5"  # Keras's BackupAndRestore names
METADATA = "training_metadata.json"
_FOLDERS = ("keras", "tf", "final")  # ours, with all they hold, inside a folder of ours
_TEMPORARY = re.compile(r"\.(history|workbench-backup)\..+\.tmp")  # atomic.replacing's
# An HDF5 weights file holds the variables' bytes and about 1-2 KB per variable (measured).
_H5_BYTES_PER_VARIABLE = 4096
_H5_BYTES = 64 * 1024


class BackupError(Exception):
    """One readable line: a folder that is not a backup of ours, or a backup that cannot be used
    or written. It names the folder."""


class Backup:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    @property
    def marker_path(self) -> Path:
        return self.folder / MARKER

    @property
    def history_path(self) -> Path:
        return self.folder / "history.json"

    @property
    def keras_dir(self) -> Path:
        return self.folder / "keras"

    @property
    def checkpoint_dir(self) -> Path:
        """The multi-worker loop's checkpoints (core.multiworker), where Keras's are not."""
        return self.folder / "tf"

    # -- whose folder it is ----------------------------------------------------------------------

    def _marker(self) -> dict | None:
        """Our marker's content; None where the folder is not a backup of ours."""
        if self.folder.is_symlink() or not self.folder.is_dir():
            return None
        try:
            data = json.loads(read_text(self.marker_path, "json", N_("backup marker")))
        except (FileRefused, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == FORMAT else None

    def ours(self) -> bool:
        return self._marker() is not None

    def _empty(self) -> bool:
        """An empty folder (no link) at the backup's place: nothing in it to lose. It is what a
        run killed between removing its marker and its folder leaves, so a new run uses it and
        ``--resume`` removes it (named ``*.backup``)."""
        try:
            return not self.folder.is_symlink() and not os.listdir(self.folder)
        except OSError:
            return False

    def exists(self) -> bool:
        """Whether the folder holds a run of ours that can go on: at least one epoch backed up,
        its results not saved yet."""
        marker = self._marker()
        if marker is None or marker.get("state") == "saved":
            return False
        return ((self.keras_dir / WEIGHTS).is_file()
                or (self.checkpoint_dir / "checkpoint").is_file())

    def _kind(self) -> str | None:
        """What is at the folder's place when it is not a folder (None: nothing, or a folder)."""
        try:
            mode = os.lstat(self.folder).st_mode
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackupError(_("{folder}: cannot be used as a backup folder ({reason})").format(
                                  folder=shown(self.folder), reason=exc.strerror or exc)) from None
        if stat.S_ISLNK(mode):
            return _("a link (links are not followed where the Workbench writes)")
        return None if stat.S_ISDIR(mode) else "a file"

    def check_new(self) -> None:
        """Refuse a new run's backup folder when something is in the way; changes nothing."""
        kind = self._kind()
        if kind is not None:
            raise BackupError(_("{folder}: is {kind}, where the run's backup folder "
                                "goes; nothing was changed: move it, or train with --out "
                                "elsewhere").format(
                                  folder=shown(self.folder), kind=kind))
        if not self.folder.exists() or self._empty():
            return
        if not self.ours():
            raise BackupError(
                _("{folder}: is in the way and is not a Workbench backup folder (it has "
                  "no {marker}); nothing was changed: move it, or train with --out "
                  "elsewhere").format(folder=shown(self.folder), marker=MARKER))
        if self.exists():  # never overwrite (nor silently resume) a killed run
            raise BackupError(
                _("{folder} holds the backup of an interrupted run: go on with it "
                  "(--resume {folder}) or delete that folder to start again").format(
                    folder=shown(self.folder)))

    def check_resume(self) -> None:
        """Refuse a ``--resume`` folder that holds no run of ours to go on with; changes nothing
        (but an empty ``*.backup`` folder, which goes)."""
        kind = self._kind()
        if kind is not None:
            raise BackupError(_("{folder}: is {kind}, not a backup folder; nothing to "
                                "resume").format(folder=shown(self.folder), kind=kind))
        if not self.folder.exists():
            raise BackupError(_("nothing to resume in {folder}: no such folder").format(
                                  folder=shown(self.folder)))
        if self._empty():
            done = _("it is empty")
            if self.folder.name.endswith(".backup"):
                try:  # a backup's name: what a run killed as it removed its backup leaves
                    self.folder.rmdir()
                    done = _("it was empty (its run was saved), and is removed")
                except OSError:
                    pass
            raise BackupError(_("nothing to resume in {folder}: {done}").format(
                                  folder=shown(self.folder), done=done))
        marker = self._marker()
        if marker is None:
            raise BackupError(_("{folder}: nothing to resume: not a Workbench backup "
                                "folder (it has no {marker}); nothing was changed").format(
                                  folder=shown(self.folder), marker=MARKER))
        if not self.exists() and marker.get("state") != "saved":  # saved: the caller ends it
            raise BackupError(_("nothing to resume in {folder}: its run was stopped "
                                "before its first epoch was backed up; start it again "
                                "without --resume").format(folder=shown(self.folder)))

    # -- a run's life ----------------------------------------------------------------------------

    def clear(self) -> None:
        """Before a new run (``check_new`` passed): a backup of ours that holds no run to go on
        with (killed before its first epoch, or its results saved) goes. The folder itself is
        made at the run's first write (``_ensure``), so a run that cannot start leaves none."""
        if self.ours() and self.discard():
            self.check_new()  # someone else's files were in it: refused, naming the folder

    def _ensure(self) -> None:
        """The folder, made with our marker if it is not there; BackupError if it is someone
        else's (it appeared since the run was checked)."""
        if self.ours():
            return
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(self.folder)
        except FileExistsError:
            if not self._empty():
                raise BackupError(_("{folder}: appeared as the run started and is not a "
                                    "Workbench backup folder; it was left as it is").format(
                                      folder=shown(self.folder))) from None
        self._write_marker({"format": FORMAT, "run": uuid.uuid4().hex, "state": "training"})

    def _write_marker(self, data: dict) -> None:
        with replacing(self.marker_path) as tmp:
            tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")

    def mark_saved(self, results: dict | None = None) -> None:
        """The run's results (``{"model", "project"}``: their paths) are in their places: what is
        left here may go, even if the removal is cut short."""
        marker = self._marker()
        if marker is not None:
            self._write_marker({**marker, **(results or {}), "state": "saved"})

    def saved(self) -> dict | None:
        """The results of a run of ours that was saved before its backup was removed (killed in
        between): ``{"model", "project"}``; None otherwise."""
        marker = self._marker()
        if marker is None or marker.get("state") != "saved":
            return None
        return {k: marker.get(k) if isinstance(marker.get(k), str) else None
                for k in ("model", "project")}

    def discard(self) -> list[str]:
        """Remove what the Workbench wrote here, and the folder when nothing else is left; a
        folder without our marker is left as it is. Returns the names left (someone else's)."""
        if not self.ours():
            return []
        for entry in os.scandir(self.folder):
            if entry.name in _FOLDERS and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif ((entry.name == self.history_path.name or _TEMPORARY.fullmatch(entry.name))
                  and not entry.is_dir(follow_symlinks=False)):
                os.unlink(entry.path)
        self.marker_path.unlink(missing_ok=True)  # last: until here the folder is known as ours
        try:
            self.folder.rmdir()
        except OSError:
            return sorted(os.listdir(self.folder)) if self.folder.is_dir() else []
        return []

    # -- history ---------------------------------------------------------------------------------

    def read_history(self) -> dict[str, list[float]]:
        try:
            data = json.loads(read_text(self.history_path, "json", N_("backup history")))
        except (FileRefused, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): [float(x) if x is not None else math.nan for x in v]
                for k, v in data.items() if isinstance(v, list)}

    def write_history(self, history: dict[str, list[float]]) -> None:
        clean = {k: [x if math.isfinite(x) else None for x in v] for k, v in history.items()}
        self._ensure()
        with replacing(self.history_path) as tmp:
            tmp.write_text(json.dumps(clean), encoding="utf-8")

    # -- the model's state -----------------------------------------------------------------------

    def epochs_backed_up(self) -> int:
        try:
            data = json.loads(read_text(self.keras_dir / METADATA, "json", N_("backup metadata")))
            return max(0, int(data["epoch"]))
        except (FileRefused, ValueError, TypeError, KeyError):
            return 0

    def save_state(self, model, epochs: int) -> None:
        """The model and its optimizer after ``epochs`` epochs, in Keras's layout; each file
        whole or not at all, and not started where the disk has no room for it (h5py crashed the
        process on a full disk, leaving half a file)."""
        self._ensure()
        self.keras_dir.mkdir(exist_ok=True)
        optimizer = getattr(model, "optimizer", None)
        variables = [*model.weights, *(optimizer.variables if optimizer is not None else [])]
        needed = _H5_BYTES + sum(_nbytes(v) + _H5_BYTES_PER_VARIABLE for v in variables)
        free = shutil.disk_usage(self.keras_dir).free
        if needed > free:
            raise BackupError(_("no room for the backup in {folder}: it needs about "
                                "{mb} and {mb2} are free").format(
                                  folder=shown(self.folder), mb=_mb(needed),
                                  mb2=_mb(free)))
        with replacing(self.keras_dir / WEIGHTS, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        with replacing(self.keras_dir / METADATA) as tmp:
            tmp.write_text(json.dumps({"epoch": int(epochs), "batch": 0}), encoding="utf-8")

    def keras_callback(self, keras):
        """Keras's ``BackupAndRestore`` on this folder, with ``save_state``'s writes; a backup
        that does not fit the model is a ``BackupError`` naming the layer, and the backup is kept
        (Keras removes nothing: the folder goes once the results are saved)."""
        backup = self

        class _BackupAndRestore(keras.callbacks.BackupAndRestore):
            restored_epochs = 0

            def on_train_begin(self, logs=None):
                try:
                    super().on_train_begin(logs)
                except (ValueError, OSError) as exc:
                    raise BackupError(_unfit(exc, backup.folder)) from None
                self.restored_epochs = backup.epochs_backed_up()

            def on_epoch_end(self, epoch, logs=None):
                backup.save_state(self.model, epoch + 1)

        return _BackupAndRestore(str(self.keras_dir), delete_checkpoint=False)

    # -- the results -----------------------------------------------------------------------------

    def staged(self, name: str) -> Path:
        """Where a result is written before it is moved to its place (inside this folder, so a
        kill leaves nothing beside the results)."""
        self._ensure()
        folder = self.folder / "final"
        folder.mkdir(exist_ok=True)
        return folder / name

    def publish(self, moves: list[tuple[Path, Path]]) -> None:
        """Move staged results to their places: a rename each (a whole copy, renamed, where the
        place is on another disk), made durable before the backup may go."""
        for source, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                with replacing(target, suffix=target.suffix) as tmp:
                    shutil.copyfile(source, tmp)
            sync_folder(target.parent)


def _nbytes(variable) -> int:
    import numpy as np

    try:
        itemsize = np.dtype(getattr(variable.dtype, "as_numpy_dtype", variable.dtype)).itemsize
    except TypeError:
        itemsize = 8
    return int(np.prod(variable.shape)) * itemsize


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _unfit(exc: BaseException, folder: Path) -> str:
    """Keras's refusal to load the backup's weights, as one line: the first layer that differs,
    what it expects and what the backup holds (Keras lists objects by their repr)."""
    text = str(exc)
    layer = re.search(r"for object <\w+ name=([^,>]+)", text)
    shapes = re.search(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))", text)
    if shapes:
        name = f"layer {layer.group(1)}" if layer else "a layer"
        detail = f"{name} expects {shapes.group(1)}, found {shapes.group(2)}"
    else:
        detail = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
        detail = re.sub(r"<[^>]*>", "", detail)[:200]
    if isinstance(exc, OSError):
        return (_("the backup in {folder} cannot be read ({detail}); it is kept as it is").format(
                    folder=shown(folder), detail=shown(detail)))
    return (_("the backup's weights do not fit this model: {detail} (was {folder} made "
              "by another model?); the backup is kept as it is").format(
                detail=shown(detail), folder=shown(folder)))
