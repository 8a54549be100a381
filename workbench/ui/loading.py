"""The project's dataset, loaded off the GUI thread (numpy arrays and image files: no TensorFlow).

A task of the task runner (named ``dataset-load``); a load that finishes after its owner is gone
delivers nothing. Closing the window joins it.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.ui.document import Document
from workbench.ui.tasks import TaskRunner


class DatasetLoader(QObject):
    """The document's dataset, (re)loaded in the background whenever its name changes.

    ``dataset`` is the loaded one (None until then, or after a failure, when ``error`` says why).
    Nothing loads until ``load`` is first called (the window calls it as it opens); from then on
    a change of the dataset's name loads the new one.
    """

    loaded = pyqtSignal()  # self.dataset is the project's dataset
    failed = pyqtSignal(str)
    notice = pyqtSignal(str)  # a note from the loader, e.g. a download fell back to a cache

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.dataset = None
        # The name (or path) and seed ``dataset`` was loaded with (an engine loads the same).
        self.name, self.seed = "", 0
        self.error = ""
        self._request = 0
        self._started = False  # load() has been called: follow the document's dataset from now
        self._name = document.project.dataset  # the dataset name this loader follows
        self.tasks = TaskRunner(self)
        document.training_changed.connect(self._on_training_changed)
        document.project_replaced.connect(self._on_project_replaced)

    def load(self) -> None:
        """Load the project's dataset in the background; ``loaded`` when ready."""
        from workbench.core.datasets import load_dataset

        self._request += 1
        self._started = True
        request, name = self._request, self.document.project.dataset
        seed = self.document.training.seed or 0
        self._name = name
        if self.tasks.closed:
            return
        self.tasks.start(lambda _state: load_dataset(name, seed=seed), name="dataset-load",
                         on_result=lambda data: self._on_done(request, data, "", (name, seed)),
                         on_error=lambda message: self._on_done(request, None, message),
                         describe_error=str)

    def _on_training_changed(self) -> None:
        name = self.document.project.dataset
        if name != self._name:
            self._name = name
            if self._started:
                self.load()

    def _on_project_replaced(self) -> None:
        changed = self.document.project.dataset != self._name
        self._name = self.document.project.dataset
        if self._started and (changed or self.dataset is None):
            self.load()

    def _on_done(self, request: int, dataset, error: str, source: tuple = ("", 0)) -> None:
        if request != self._request:
            return  # a newer request superseded this one
        if error:
            self.dataset, self.error = None, error
            self.failed.emit(error)
            return
        self.dataset, self.error = dataset, ""
        self.name, self.seed = source
        if dataset.notice:
            self.notice.emit(dataset.notice)
        self.loaded.emit()
