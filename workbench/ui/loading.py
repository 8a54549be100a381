"""TensorFlow's import and the project's dataset, loaded off the GUI thread.

Results are polled from the GUI thread rather than signalled from the loader threads: a thread
that finishes after its owner is gone then touches nothing of Qt. The threads are named
``tensorflow-import`` and ``dataset-load`` (daemons: they may outlive a window).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from workbench.core import tf_loader
from workbench.ui.document import Document


class _Background(QObject):
    """``run(work, name, done)``: ``work()`` in a daemon thread, ``done(result)`` on the GUI
    thread after."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pending: list[tuple[Future, Callable]] = []
        self._timer = QTimer(self, interval=30)
        self._timer.timeout.connect(self._poll)

    def run(self, work: Callable, name: str, done: Callable) -> None:
        future: Future = Future()

        def target():
            future.set_result(work())

        threading.Thread(target=target, name=name, daemon=True).start()
        self._pending.append((future, done))
        self._timer.start()

    def _poll(self) -> None:
        finished, pending = [], []
        for item in self._pending:  # one pass: a future may finish while we look
            (finished if item[0].done() else pending).append(item)
        self._pending = pending
        if not self._pending:
            self._timer.stop()
        for future, done in finished:
            done(future.result())


class TensorFlowLoader(QObject):
    """Imports TensorFlow once, in the background; ``ready`` or ``failed(message)`` after."""

    ready = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._background = _Background(self)

    @property
    def loaded(self) -> bool:
        return tf_loader.is_loaded()

    def start(self) -> None:
        def work() -> str:
            try:
                tf_loader.load_tensorflow()
                return ""
            except Exception as exc:  # noqa: BLE001 - shown to the user
                return f"TensorFlow could not be loaded: {exc}"

        self._background.run(work, "tensorflow-import", self._on_done)

    def _on_done(self, error: str) -> None:
        if error:
            self.failed.emit(error)
        else:
            self.ready.emit()


class DatasetLoader(QObject):
    """The document's dataset, (re)loaded in the background whenever its name changes.

    ``dataset`` is the loaded one (None until then, or after a failure, when ``error`` says why).
    Loading waits for TensorFlow (``start`` is called when it is ready).
    """

    loaded = pyqtSignal()  # self.dataset is the project's dataset
    failed = pyqtSignal(str)
    notice = pyqtSignal(str)  # a note from the loader, e.g. a download fell back to a cache

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.dataset = None
        self.error = ""
        self._request = 0
        self._name = document.project.dataset  # the dataset name this loader follows
        self._background = _Background(self)
        document.training_changed.connect(self._on_training_changed)
        document.project_replaced.connect(self._on_project_replaced)

    def load(self) -> None:
        """Load the project's dataset in the background; ``loaded`` when ready."""
        from workbench.core.datasets import load_dataset

        self._request += 1
        request, name = self._request, self.document.project.dataset
        seed = self.document.training.seed or 0
        self._name = name

        def work():
            try:
                return request, load_dataset(name, seed=seed), ""
            except Exception as exc:  # noqa: BLE001 - DatasetError and anything unexpected
                return request, None, str(exc)

        self._background.run(work, "dataset-load", lambda result: self._on_done(*result))

    def _on_training_changed(self) -> None:
        name = self.document.project.dataset
        if name != self._name:
            self._name = name
            if tf_loader.is_loaded():
                self.load()

    def _on_project_replaced(self) -> None:
        changed = self.document.project.dataset != self._name
        self._name = self.document.project.dataset
        if tf_loader.is_loaded() and (changed or self.dataset is None):
            self.load()

    def _on_done(self, request: int, dataset, error: str) -> None:
        if request != self._request:
            return  # a newer request superseded this one
        if error:
            self.dataset, self.error = None, error
            self.failed.emit(error)
            return
        self.dataset, self.error = dataset, ""
        if dataset.notice:
            self.notice.emit(dataset.notice)
        self.loaded.emit()
