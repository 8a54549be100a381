"""The window's dataset as an engine request names it: a built-in by its name; the project's own
file or folder sent once by its content's hash (engine/datacache.py). No TensorFlow.

``EngineData.ensure`` is for the GUI thread: it names a built-in at once, and hashes and
sends a file in a task of its own (a progress bar in the window's status bar while chunks go,
ui/engine_upload.py), then answers on the GUI thread; ``sent_body`` does the same, blocking, on
a worker thread (a sweep's). The hash of a file is kept while its size and modification time
stay the same, and an engine known to hold it is not asked again. The body names the dataset
as the window loaded it: its name, its seed and the ``subset`` calls that cut the window's copy
(``Dataset.subsets``), so the engine makes the same copy."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject

from workbench.core.datasets import dataset_names
from workbench.engine import datacache
from workbench.ui.engine_upload import UploadBar
from workbench.ui.tasks import TaskRunner

_hashes: dict[tuple, str] = {}  # (path, size, mtime_ns) -> SHA-256 of the file (or its tar)
_present: set[tuple[int, str]] = set()  # (id of the engine, hash): the engine holds it
_lock = threading.Lock()


def sent_body(engine, dataset, name: str, seed: int | None) -> dict:
    """Blocking (a worker thread: a sweep's): ``named_body``, and for a file of the user's its
    hash, sent to ``engine`` first if it may lack it (``request`` from any thread; the same
    caches as ``EngineData.ensure``). DataCacheError, EngineError."""
    body = named_body(dataset, name, seed)
    if name in dataset_names():
        return body
    known = _known_hash(name)
    with _lock:
        present = known is not None and (id(engine), known) in _present
    if present:
        return {**body, "dataset_hash": known}
    key = _stat_key(name)
    digest, _sent = datacache.send(engine.request, name)
    with _lock:
        if key is not None and not Path(name).is_dir():
            _hashes[key] = digest
        _present.add((id(engine), digest))
    return {**body, "dataset_hash": digest}


def named_body(dataset, name: str, seed: int | None = 0) -> dict[str, Any]:
    """The request's words for the window's ``dataset`` (loaded as ``name`` with ``seed``)."""
    body: dict[str, Any] = {"dataset": str(name), "seed": int(seed or 0)}
    subsets = getattr(dataset, "subsets", ())
    if subsets:
        body["subset"] = [list(call) for call in subsets]
    return body


class EngineData(QObject):
    """``ensure(link, dataset, name, seed, done)``: ``done(body, "")`` on the GUI thread with the
    dataset's part of a request once the engine has it, or ``done(None, error_line)``."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = TaskRunner(self)

    def ensure(self, link, dataset, name: str, seed: int | None,
               done: Callable[[dict | None, str], None]) -> None:
        body = named_body(dataset, name, seed)
        if name in dataset_names():
            done(body, "")
            return
        engine = link.engine
        known = _known_hash(name)
        with _lock:
            present = known is not None and (id(engine), known) in _present
        if present:
            done({**body, "dataset_hash": known}, "")
            return
        if self.runner.closed:
            return
        bar = UploadBar(self, Path(name).name)
        self.runner.start(_send, link, name, bar.report, name="engine-data-send",
                          on_result=lambda digest: self._sent(engine, body, digest, done),
                          on_error=lambda message: done(None, message), describe_error=str,
                          on_finished=lambda task: bar.finish(task.status == "finished"))

    def _sent(self, engine, body: dict, digest: str, done) -> None:
        with _lock:
            _present.add((id(engine), digest))
        done({**body, "dataset_hash": digest}, "")

    def close(self) -> None:
        self.runner.cancel_all()


def _stat_key(path: str) -> tuple | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def _known_hash(path: str) -> str | None:
    key = _stat_key(path)
    with _lock:
        return None if key is None or Path(path).is_dir() else _hashes.get(key)


def _folder_key(path: str) -> tuple | None:
    """A folder dataset's files as its loader reads them, with their sizes and times: the same
    key while no image is added, removed or changed (a walk, far cheaper than packing it)."""
    from workbench.core.datasets.folders import image_files

    try:
        files = [p for paths in image_files(Path(path)).values() for p in paths]
        stats = [os.stat(p) for p in files]
    except OSError:
        return None
    return (str(Path(path).resolve()), tuple(files), tuple(s.st_size for s in stats),
            tuple(s.st_mtime_ns for s in stats))


def _send(state, link, path: str, progress: Callable[[int, int], None]) -> str:
    """In the task: the file's (or folder's) hash; sent to the engine first if it lacks it. A
    folder the engine was sent unchanged is not packed and hashed again."""
    folder = Path(path).is_dir()
    key = _folder_key(path) if folder else _stat_key(path)
    with _lock:
        known = _hashes.get(key) if key is not None else None
        if known is not None and (id(link.engine), known) in _present:
            return known

    def chunk_sent(sent: int, total: int) -> None:
        state.check()  # cancelled (the window closed): stop between chunks
        progress(sent, total)

    digest, _sent = datacache.send(link.request, path, chunk_sent)
    if key is not None:
        with _lock:
            _hashes[key] = digest
    return digest
