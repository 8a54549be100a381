"""What every panel is given: the open document and the few services that follow it.

``ProjectState`` *is* the ``Document`` (ui/document.py: the project, undo, dirty and read-only
state, edits) and holds the parts that live beside it, each in its own module:

- ``tensorflow``: TensorFlow's background import (ui/loading.py)
- ``data``: the project's dataset, loaded in the background (ui/loading.py)
- ``trained``: the trained weights and the GUI-side inference model (ui/inference.py)
- ``bus``: status lines and messages between panels (ui/bus.py)
- ``overlays``: curves other panels put on the Training tab's plots (ui/overlays.py)
"""

from __future__ import annotations

import itertools
import os
import time

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core.project import Project
from workbench.ui.bus import MessageBus
from workbench.ui.document import Document
from workbench.ui.inference import TrainedModel
from workbench.ui.loading import DatasetLoader, TensorFlowLoader
from workbench.ui.overlays import RunOverlays

_UNTITLED = itertools.count(1)


class ProjectState(Document):
    sweeping_changed = pyqtSignal(bool)  # a sweep (Experiments tab) started or ended

    def __init__(self, project: Project, parent: QObject | None = None):
        super().__init__(project, parent)
        self.bus = MessageBus(self)
        self.overlays = RunOverlays(self)
        self.project_replaced.connect(self.overlays.clear)  # (before the panels hear of it)
        # Which unsaved project this is, for its drawn samples (draw/samples.py): "" for the
        # window's first; each later one gets its own, so no samples pass from one to the next.
        self.untitled_key = ""
        self.project_replaced.connect(self._on_replaced)
        self.tensorflow = TensorFlowLoader(self)
        # The devices the next run is mirrored over (1: none), from the training settings; a
        # choice of this session, not of the project.
        self.devices = 1
        # A sweep trains its trials beside the window: no run of its own may start meanwhile.
        self.sweeping = False
        self.data = DatasetLoader(self, self)
        self.trained = TrainedModel(self, self)
        # Once TensorFlow is there: inspect the model, then load the dataset (views connect later,
        # so both have started when they hear of it).
        self.tensorflow.ready.connect(self.refresh_inspection)
        self.tensorflow.ready.connect(self.data.load)
        self.data.notice.connect(self.bus.status_message)

    def attach_engine(self, link) -> None:
        """Inspections and Draw's answers come from the engine behind ``link`` (an EngineLink);
        the rest still computes in this process until it moves too (issue 26)."""
        from workbench.ui.engine_inspection import EngineInspection

        self._engine_inspection = EngineInspection(link, self._on_answer, self)
        self.trained.attach_engine(link)
        self.refresh_inspection()

    def refresh_inspection(self) -> None:
        inspection = getattr(self, "_engine_inspection", None)
        if inspection is None:
            super().refresh_inspection()
            return
        self._inspect_timer.stop()
        self._asked = self._generation
        inspection.ask(self._generation, self.spec.copy())

    def tensorboard_folder(self):
        """Where the next run writes its TensorBoard files: beside the saved project when its
        option is on (Train ▸ Write TensorBoard files), else None."""
        if not self.project.tensorboard or self.path is None:
            return None
        from workbench.core.tensorboard import event_folder

        return event_folder(self.path)

    def set_sweeping(self, sweeping: bool) -> None:
        if sweeping != self.sweeping:
            self.sweeping = sweeping
            self.sweeping_changed.emit(sweeping)

    def _on_replaced(self) -> None:
        if self.path is None:
            self.untitled_key = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_UNTITLED)}"
