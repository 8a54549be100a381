"""Autosave, training checkpoints and crash recovery, in plain files (no Qt).

Each running app owns one session folder ``<data dir>/recovery/<stamp>-<pid>/`` holding
``autosave.json`` (the project as it was, plus where it came from), and while a run trains,
``last.npz`` / ``best.npz`` (its latest and best weights). The session holds an exclusive lock on
``lock`` for as long as it lives, so a folder whose lock is free belongs to an app that is gone: if
it still holds an autosave, that app did not close cleanly and its work can be recovered.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.appdata import DATA_DIR_ENV, data_dir, legacy_dirs  # noqa: F401 (re-exported)
from workbench.core.atomic import replacing
from workbench.core.project import Project, ProjectError, write_atomic
from workbench.core.safe_io import FileRefused, open_regular, read_text
from workbench.i18n import N_, _

try:  # POSIX; elsewhere sessions of other processes are taken as ended
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

AUTOSAVE = "autosave.json"
LAST, BEST = "last", "best"
_STALE_DAYS = 30  # recoveries older than this are removed rather than offered


def recovery_root(base_dir: str | os.PathLike | None = None) -> Path:
    """``<data folder>/recovery`` (see ``data_dir``)."""
    return data_dir(base_dir) / "recovery"


def _try_lock(path: Path):
    """An open file holding an exclusive lock on ``path``, or None when another process holds it,
    or when ``path`` is not a regular file of its own (a link is not followed, a FIFO does not
    block: neither is a lock we made)."""
    flags = (os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags, 0o600)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    handle = os.fdopen(fd, "a+")  # kept open for the session's lifetime
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


# Checkpoints ------------------------------------------------------------------------------------


def _metric(logs: dict[str, float] | None) -> tuple[str, float, bool] | None:
    """(name, value, lower_is_better) of the value that ranks epochs: validation first."""
    if not logs:
        return None
    for name, lower in (("val_loss", True), ("val_accuracy", False), ("loss", True),
                        ("accuracy", False)):
        value = logs.get(name)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return name, float(value), lower
    return None


def write_weights_atomic(path: Path, weights: list[np.ndarray], meta: dict[str, Any]) -> None:
    """``np.savez`` through a temporary file in the same folder, fsync, then ``os.replace``."""
    arrays = {f"w{i:04d}": np.asarray(w) for i, w in enumerate(weights)}
    with replacing(path, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)


@dataclass
class Checkpoint:
    epoch: int  # 0-based, as Keras counts
    weights: list[np.ndarray]
    spec: dict[str, Any] | None  # the model spec the weights belong to
    logs: dict[str, float] = field(default_factory=dict)
    kind: str = LAST


def read_checkpoint(path: str | os.PathLike) -> Checkpoint | None:
    """The weights in a checkpoint file, or None when it is missing or unreadable."""
    try:  # a regular file only: a FIFO in its place would block the window's start
        with open_regular(path, "npz", N_("checkpoint")) as stream, \
                np.load(stream, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            names = sorted(k for k in data.files if k.startswith("w"))
            weights = [data[k] for k in names]
        return Checkpoint(int(meta["epoch"]), weights, meta.get("spec"), meta.get("logs") or {},
                          meta.get("kind", LAST))
    except (FileRefused, OSError, ValueError, KeyError, TypeError, EOFError,
            zipfile.BadZipFile):
        return None


class CheckpointWriter:
    """The last and the best weights of the current run, as files.

    ``plan`` decides what an epoch's checkpoint writes (``last``, and ``best`` when it beats the
    run's best so far); ``write`` writes one of them. ``submit`` does both, on the calling thread;
    the GUI hands ``plan``'s items to a task of its task runner instead (``ui/checkpoints.py``),
    so writing never happens on the GUI thread. Nothing is written once the writer is closed.
    """

    def __init__(self, folder: Path | Any):
        self._folder = folder  # a Path, or a callable giving one (created on first use)
        self._lock = threading.Lock()
        self._closed = False
        self._best: float | None = None
        self.errors: list[str] = []
        self.written = 0

    @property
    def folder(self) -> Path:
        return Path(self._folder() if callable(self._folder) else self._folder)

    def begin_run(self) -> None:
        """Forget the best value: a new run starts ranking its own epochs."""
        with self._lock:
            self._best = None

    def plan(self, epoch: int, weights: list[np.ndarray], spec: dict[str, Any] | None,
             logs: dict[str, float] | None = None) -> list[tuple[str, list, dict]]:
        """What to write for this epoch: ``(name, weights, meta)`` for ``last``, and for ``best``
        when it beats the run's best so far (which it then becomes)."""
        meta = {"epoch": int(epoch), "spec": spec, "logs": dict(logs or {}),
                "time": time.time()}
        items = [(LAST, weights, {**meta, "kind": LAST})]
        ranked = _metric(logs)
        with self._lock:
            if ranked is not None:
                name, value, lower = ranked
                better = self._best is None or (value < self._best if lower else value > self._best)
                if better:
                    self._best = value
                    items.append((BEST, weights,
                                  {**meta, "kind": BEST, "monitor": name, "value": value}))
        return items

    def write(self, item: tuple[str, list, dict]) -> None:
        """Write one planned checkpoint now, on the calling thread (errors go to ``errors``);
        nothing once the writer is closed (the session ended or was abandoned)."""
        with self._lock:
            if self._closed:
                return
            name, weights, meta = item
            path = None
            try:
                path = self.folder / f"{name}.npz"
                write_weights_atomic(path, weights, meta)
                self.written += 1
            except OSError as exc:
                self.errors.append(f"{path or name}: {exc.strerror or exc}")

    def submit(self, epoch: int, weights: list[np.ndarray], spec: dict[str, Any] | None,
               logs: dict[str, float] | None = None) -> None:
        """Plan and write this epoch's checkpoints now."""
        for item in self.plan(epoch, weights, spec, logs):
            self.write(item)

    def flush(self, timeout: float = 30.0) -> bool:
        """Everything submitted is on disk (``submit`` writes at once): True."""
        return True

    def discard(self) -> None:
        """Forget the best value and delete the files (after a clean save, or a new project)."""
        with self._lock:
            self._best = None
            if callable(self._folder):
                return  # a lazily created folder that may not exist: nothing to delete
            for kind in (LAST, BEST):
                try:
                    (self.folder / f"{kind}.npz").unlink()
                except FileNotFoundError:
                    pass

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            self._closed = True


# Sessions and recovery --------------------------------------------------------------------------


@dataclass
class Recovery:
    """What an app that did not close cleanly left behind."""

    folder: Path
    data: dict[str, Any]  # {"project": ..., "origin": path or None, "saved": epoch seconds}

    @property
    def origin(self) -> Path | None:
        origin = self.data.get("origin")
        return Path(origin) if isinstance(origin, str) and origin else None

    @property
    def saved(self) -> float:
        saved = self.data.get("saved")
        return float(saved) if isinstance(saved, (int, float)) else 0.0

    @property
    def name(self) -> str:
        """The file it was opened from (what the user saved it as), else the project's name."""
        if self.origin is not None:
            return self.origin.name
        project = self.data.get("project")
        name = project.get("name") if isinstance(project, dict) else None
        return name if isinstance(name, str) and name else "Untitled"

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved)) if self.saved else "?"
        text = f"“{self.name}”, autosaved {when}"
        last = self.checkpoint(LAST)
        if last is not None:
            text += _(", with the weights of epoch {epoch}").format(
                        epoch=last.epoch + 1)
        return text

    def project(self) -> Project:
        """The autosaved project (ProjectError when the autosave cannot be read)."""
        return Project.from_dict(self.data.get("project"))

    def checkpoint(self, kind: str = LAST) -> Checkpoint | None:
        return read_checkpoint(self.folder / f"{kind}.npz")

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class RecoverySession:
    """This app's recovery folder, locked for its lifetime; ``close()`` on a clean exit."""

    def __init__(self, base_dir: str | os.PathLike | None = None):
        self.root = recovery_root(base_dir)
        self._folder: Path | None = None  # created on the first write
        self._lock = None
        self._mutex = threading.Lock()
        self.checkpoints = CheckpointWriter(self._ensure_folder)
        self.closed = False
        # Autosaves may be written by a task while the GUI thread clears the session (a save):
        # ``clear`` counts a generation, and a write asked for before it is dropped after it.
        self._writing = threading.Lock()
        self.generation = 0

    def _ensure_folder(self) -> Path:
        with self._mutex:
            if self._folder is None:
                self.root.mkdir(parents=True, exist_ok=True)
                stamp = time.strftime("%Y%m%d-%H%M%S")
                folder = Path(tempfile.mkdtemp(prefix=f"{stamp}-{os.getpid()}-", dir=self.root))
                self._lock = _try_lock(folder / "lock")
                self._folder = folder
                self.checkpoints._folder = folder
            return self._folder

    @property
    def folder(self) -> Path | None:
        """This session's folder, or None while nothing has been written."""
        return self._folder

    @property
    def autosave_path(self) -> Path | None:
        return self._folder / AUTOSAVE if self._folder is not None else None

    def write_autosave(self, project: Project | dict[str, Any],
                       origin: str | os.PathLike | None, generation: int | None = None) -> bool:
        """Write the recovery copy (any thread); False when nothing was written: the session
        ended, or ``generation`` (``self.generation`` when the write was asked for) is past."""
        if isinstance(project, Project):
            project = project.to_dict()
        data = {"project": project, "origin": str(origin) if origin else None,
                "saved": time.time()}
        text = json.dumps(data) + "\n"
        with self._writing:
            if self.closed or (generation is not None and generation != self.generation):
                return False
            write_atomic(self._ensure_folder() / AUTOSAVE, text)
        return True

    def has_autosave(self) -> bool:
        return self.autosave_path is not None and self.autosave_path.exists()

    def clear(self) -> None:
        """Nothing unsaved any more: remove the autosave and the checkpoints."""
        with self._writing:
            if self.closed:
                return
            self.generation += 1
            self.checkpoints.discard()
            if self.autosave_path is not None:
                try:
                    self.autosave_path.unlink()
                except FileNotFoundError:
                    pass

    def close(self) -> None:
        """A clean exit: remove the whole session folder."""
        with self._writing:
            if self.closed:
                return
            self.closed = True
        self.checkpoints.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._release()

    def abandon(self) -> None:
        """Let go of the lock but leave every file, as a crash would (for tests). Checkpoints
        stop first: what is left never has weights newer than the autosave's run."""
        self.checkpoints.close()
        with self._writing:
            self.closed = True
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def find_recoveries(base_dir: str | os.PathLike | None = None,
                    exclude: Path | None = None) -> list[Recovery]:
    """Recoveries left by apps that ended without closing cleanly, newest first.

    Folders of ended apps with nothing to recover (or too old, or unreadable) are removed.
    """
    roots = [recovery_root(base_dir), *(legacy / "recovery" for legacy in legacy_dirs(base_dir))]
    folders = [f for root in roots if root.is_dir() for f in sorted(root.iterdir())]
    found = []
    for folder in folders:
        # A session folder is one mkdtemp made: a link (to anywhere) is not one to lock, read or
        # remove.
        if folder.is_symlink() or not folder.is_dir() or folder == exclude:
            continue
        lock = _try_lock(folder / "lock") if fcntl is not None else None
        if fcntl is not None and lock is None:
            continue  # a running app owns it
        try:
            try:
                recovery = _read_recovery(folder)
            except FileRefused:  # not what we write (a FIFO, too large): left as it is
                continue
            if recovery is None or time.time() - recovery.saved > _STALE_DAYS * 86400:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                found.append(recovery)
        finally:
            if lock is not None:
                lock.close()
    found.sort(key=lambda r: r.saved, reverse=True)
    return found


def _read_recovery(folder: Path) -> Recovery | None:
    """The recovery in ``folder``; None when there is none to offer (FileRefused: its autosave
    is not a file we could have written)."""
    try:
        data = json.loads(read_text(folder / AUTOSAVE, "project", N_("recovery file")))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("project"), dict):
        return None
    recovery = Recovery(folder, data)
    try:
        recovery.project()
    except ProjectError:
        return None
    return recovery
