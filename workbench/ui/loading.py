"""TensorFlow's import and the project's dataset, loaded off the GUI thread.

Both are tasks of the task runner (named ``tensorflow-import`` and ``dataset-load``); a load
that finishes after its owner is gone delivers nothing. Closing the window joins them.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core import tf_loader
from workbench.ui.document import Document
from workbench.ui.tasks import TaskRunner


class TensorFlowLoader(QObject):
    """Imports TensorFlow once, in the background; ``ready`` or ``failed(message)`` after."""

    ready = pyqtSignal()
    failed = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = TaskRunner(self)

    @property
    def loaded(self) -> bool:
        return tf_loader.is_loaded()

    def start(self) -> None:
        if self.tasks.closed:
            return
        from workbench.core.distribute import split_cpu  # (a run can then be mirrored on 2)

        self.tasks.start(lambda _state: tf_loader.load_tensorflow(setup=split_cpu),
                         name="tensorflow-import",
                         on_result=lambda _modules: self.ready.emit(), on_error=self.failed.emit,
                         describe_error=lambda exc: f"TensorFlow could not be loaded: {exc}")


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
        self.tasks = TaskRunner(self)
        document.training_changed.connect(self._on_training_changed)
        document.project_replaced.connect(self._on_project_replaced)

    def load(self) -> None:
        """Load the project's dataset in the background; ``loaded`` when ready."""
        from workbench.core.datasets import load_dataset

        self._request += 1
        request, name = self._request, self.document.project.dataset
        seed = self.document.training.seed or 0
        self._name = name
        if self.tasks.closed:
            return
        self.tasks.start(lambda _state: load_dataset(name, seed=seed), name="dataset-load",
                         on_result=lambda dataset: self._on_done(request, dataset, ""),
                         on_error=lambda message: self._on_done(request, None, message),
                         describe_error=str)

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
