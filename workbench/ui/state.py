"""What every panel is given: the open document and the few services that follow it.

``ProjectState`` *is* the ``Document`` (ui/document.py: the project, undo, dirty and read-only
state, edits) and holds the parts that live beside it, each in its own module:

- ``engine``: the link to the engine, the process that owns TensorFlow (ui/engine_link.py):
  ``engine.loaded``, ``engine.ready``, ``engine.failed``, and every request
- ``data``: the project's dataset, loaded in the background (ui/loading.py)
- ``trained``: the trained weights, mirrored into the engine's views model (ui/inference.py)
- ``bus``: status lines and messages between panels (ui/bus.py)
- ``overlays``: curves other panels put on the Training tab's plots (ui/overlays.py)
"""

from __future__ import annotations

import itertools
import os
import time

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core.project import Project
from workbench.core.spec import ModelSpec
from workbench.ui.bus import MessageBus
from workbench.ui.document import Document
from workbench.ui.engine_inspection import EngineInspection
from workbench.ui.engine_link import EngineLink
from workbench.ui.inference import TrainedModel
from workbench.ui.loading import DatasetLoader
from workbench.ui.overlays import RunOverlays

_UNTITLED = itertools.count(1)


class ProjectState(Document):
    sweeping_changed = pyqtSignal(bool)  # a sweep (Experiments tab) started or ended

    def __init__(self, project: Project, parent: QObject | None = None, engine=None):
        """``engine``: an ``EngineLink``, an ``EngineHost`` or an engine (in-process, spawned,
        remote); None: the app's shared engine (ui/engine_link.py)."""
        super().__init__(project, parent)
        self.bus = MessageBus(self)
        self.overlays = RunOverlays(self)
        self.project_replaced.connect(self.overlays.clear)  # (before the panels hear of it)
        # Which unsaved project this is, for its drawn samples (draw/samples.py): "" for the
        # window's first; each later one gets its own, so no samples pass from one to the next.
        self.untitled_key = ""
        self.project_replaced.connect(self._on_replaced)
        # The devices the next run is mirrored over (1: none), from the training settings; a
        # choice of this session, not of the project.
        self.devices = 1
        # A sweep trains its trials beside the window: no run of its own may start meanwhile.
        self.sweeping = False
        self.data = DatasetLoader(self, self)
        self.trained = TrainedModel(self, self)
        self.data.notice.connect(self.bus.status_message)
        self.engine: EngineLink | None = None
        self._engine_inspection: EngineInspection | None = None
        self.attach_engine(engine if isinstance(engine, EngineLink) else EngineLink(engine, self))

    def attach_engine(self, link: EngineLink) -> None:
        """Work with the engine behind ``link`` from now on (at start; tests): inspections, the
        views' model, runs. Once it is ready the model is inspected (views connect later, so they
        hear of it after the state). Engine ▸ Connect keeps the link and moves it to another
        engine instead (``EngineLink.use_host``): the panels stay connected to its signals."""
        if self.engine is not None:
            self.engine.ready.disconnect(self.refresh_inspection)
            if self.engine.parent() is self:
                self.engine.close()
        self.engine = link
        if self._engine_inspection is not None:
            self._engine_inspection.deleteLater()
        self._engine_inspection = EngineInspection(link, self._on_answer, self)
        self.trained.attach_engine(link)
        link.ready.connect(self.refresh_inspection)
        if link.loaded:
            self.refresh_inspection()

    def _can_inspect(self) -> bool:
        return self._engine_inspection is not None

    def _ask_inspection(self, generation: int, spec: ModelSpec) -> None:
        self._engine_inspection.ask(generation, spec)

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
