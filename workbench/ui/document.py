"""The open project as one evented model: the project, its undo stack, dirty and read-only state.

Views read the ``Document`` and connect to its signals; they never keep their own copy of layer
settings. Every model or training edit goes through an undoable command on ``undo_stack`` (the
model edits are in ui/model_edits.py). The inspection (shapes, parameters, errors) is recomputed
by Keras after each edit, debounced, by whoever ``_ask_inspection`` asks (``ProjectState``: the
engine, in its own process); the GUI thread never waits for it. Until the newest edit's answer
arrives the views show the last one (``inspection_current`` False; ``checking_changed`` after a
moment); an answer not of the newest edit is dropped. A bare ``Document`` (no engine) asks no
one: it has no inspection.

The document refuses edits while it is not ``editable``: while a run trains (``busy``) and for a
model opened read-only (``read_only`` holds why). ``editable_changed`` tells the builder's widgets
to grey out; an edit attempted anyway (a key, a script) is dropped and ``edit_refused`` says why.
"""

from __future__ import annotations

from pathlib import Path

from PyQt5 import sip
from PyQt5.QtCore import QObject, QTimer, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QUndoCommand, QUndoStack

from workbench.core.inspect import ModelInspection
from workbench.core.project import Project
from workbench.core.spec import ModelSpec, TrainConfig
from workbench.i18n import N_, _
from workbench.ui.model_edits import ModelEdits

BUSY_REASON = N_("a run is training: stop it to change the model")
CHECKING_DELAY_MS = 250  # an answer slower than this shows "checking…" (faster ones: no flicker)


class _TrainingEdit(QUndoCommand):
    def __init__(self, document: Document, before: tuple, after: tuple, text: str, key: str):
        super().__init__(text)
        self._document, self._before, self._after, self._key = document, before, after, key

    def id(self) -> int:
        return 2

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, _TrainingEdit) or other._key != self._key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._document._apply_training(*self._after)

    def undo(self) -> None:
        self._document._apply_training(*self._before)


class Document(ModelEdits, QObject):
    """The open project; its model edits (``insert_layer``, ``set_layer_param``, ...) are in
    ui/model_edits.py."""

    model_changed = pyqtSignal()  # layers or input shape edited
    inspection_changed = pyqtSignal()  # a new ModelInspection (after model_changed, debounced)
    checking_changed = pyqtSignal(bool)  # True: the newest edit's inspection is slow in coming
    training_changed = pyqtSignal()  # TrainConfig or dataset name edited
    selection_changed = pyqtSignal(int)  # the selected layer index (-1: none)
    project_replaced = pyqtSignal()  # New / Open / template: everything changed
    runs_changed = pyqtSignal()
    busy_changed = pyqtSignal(bool)  # a run is training
    dirty_changed = pyqtSignal(bool)
    editable_changed = pyqtSignal(bool)  # False while busy or read-only
    edit_refused = pyqtSignal(str)  # an edit was dropped; why, in one line

    def __init__(self, project: Project, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        # A bound method (not a lambda) so PyQt drops the connection when this object goes: the
        # stack emits cleanChanged while it is being destroyed after us.
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.inspection: ModelInspection | None = None
        self.selected = -1
        self.busy = False
        self.read_only = ""  # why the open model cannot be edited ("" when it can)
        self._inspect_timer = QTimer(self, singleShot=True, interval=15)
        self._inspect_timer.timeout.connect(self.refresh_inspection)
        self._checking_timer = QTimer(self, singleShot=True, interval=CHECKING_DELAY_MS)
        self._checking_timer.timeout.connect(self._on_checking_slow)
        self.checking = False  # "checking…" is shown
        self._generation = 0  # counts model changes; an inspection answers for one of them
        self._inspected = -1  # the generation ``inspection`` is of
        self._asked = self._answered = -1  # the newest generation asked about / answered
        self.model_changed.connect(self._on_model_changed)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    # Read access ---------------------------------------------------------------------------------

    @property
    def spec(self) -> ModelSpec:
        return self.project.model

    @property
    def training(self) -> TrainConfig:
        return self.project.training

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def editable(self) -> bool:
        return not self.busy and not self.read_only

    @property
    def not_editable_reason(self) -> str:
        """Why the model cannot be edited now, in the current language ("" when it can)."""
        return _(self.read_only) if self.read_only else (_(BUSY_REASON) if self.busy else "")

    # Inspection ----------------------------------------------------------------------------------

    def _on_model_changed(self) -> None:
        self._generation += 1
        self._inspect_timer.start()
        if not self._checking_timer.isActive() and not self.checking:
            self._checking_timer.start()

    def refresh_inspection(self) -> None:
        """Ask for the inspection of the spec as it is now; the answer comes to ``_on_answer``
        (a newer request makes an older one's answer stale: it is dropped)."""
        if not self._can_inspect():
            return
        self._inspect_timer.stop()
        self._asked = self._generation
        self._ask_inspection(self._generation, self.spec.copy())

    def _can_inspect(self) -> bool:
        """Whether anyone answers ``_ask_inspection`` now (a subclass with an engine)."""
        return False

    def _ask_inspection(self, generation: int, spec: ModelSpec) -> None:
        """Send ``spec`` to be inspected; the answer is ``_on_answer((generation, inspection,
        failure))`` on the GUI thread."""

    def _on_answer(self, answer: tuple) -> None:
        generation, inspection, failure = answer
        self._answered = max(self._answered, generation)
        if failure:  # Keras itself failed (out of memory, ...): the model cannot be checked
            inspection = ModelInspection(tuple(self.spec.input_shape), error=failure)
        self._on_inspected(inspection, generation)

    def _on_inspected(self, inspection: ModelInspection, generation: int) -> None:
        if generation != self._generation or sip.isdeleted(self):
            return  # a newer edit's inspection is on its way
        self.inspection, self._inspected = inspection, generation
        self._checking_timer.stop()
        if self.checking:
            self.checking = False
            self.checking_changed.emit(False)
        self.inspection_changed.emit()

    def _on_checking_slow(self) -> None:
        if self.inspection_pending and not self.checking:
            self.checking = True
            self.checking_changed.emit(True)

    @property
    def inspection_pending(self) -> bool:
        """True between an edit and its inspection's answer."""
        return self._inspect_timer.isActive() or self._asked > self._answered

    @property
    def inspection_current(self) -> bool:
        """True when ``inspection`` is Keras's answer for the model as it is now."""
        return self.inspection is not None and self._inspected == self._generation

    def stop_inspection(self) -> None:
        """Drop a pending inspection (before the document goes): its answer will be ignored."""
        self._inspect_timer.stop()
        self._checking_timer.stop()
        self._answered = self._asked = self._generation + 1

    # Undo / redo ---------------------------------------------------------------------------------

    def _refuse(self) -> bool:
        """True (and ``edit_refused``) when edits are not allowed now."""
        if self.editable:
            return False
        self.edit_refused.emit(_("Not changed: {reason}").format(reason=self.not_editable_reason))
        return True

    def undo(self) -> None:
        if self.undo_stack.canUndo() and not self._refuse():
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_stack.canRedo() and not self._refuse():
            self.undo_stack.redo()

    # Selection -----------------------------------------------------------------------------------

    def select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.selection_changed.emit(index)

    # Training settings (undoable) -----------------------------------------------------------------

    def set_training(self, config: TrainConfig, dataset: str | None = None,
                     key: str = "training") -> None:
        before = (self.training.to_dict(), self.project.dataset)
        after = (config.to_dict(), dataset or self.project.dataset)
        if after != before and not self._refuse():
            self.undo_stack.push(_TrainingEdit(self, before, after, _("Training settings"), key))

    def set_dataset(self, name: str) -> None:
        self.set_training(self.training, name, key="dataset")

    def _apply_training(self, config: dict, dataset: str) -> None:
        self.project.training = TrainConfig.from_dict(config)
        self.project.dataset = dataset
        self.training_changed.emit()

    # Whole project ------------------------------------------------------------------------------

    def replace_project(self, project: Project, path: Path | None = None,
                        read_only: str = "") -> None:
        """Open another project; ``read_only`` (why it cannot be edited) makes it read-only."""
        was_editable = self.editable
        self.project = project
        self.path = path
        self.read_only = read_only
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.selected = len(project.model.layers) - 1 if project.model.layers else -1
        self.project_replaced.emit()
        self.model_changed.emit()
        self.training_changed.emit()
        self.runs_changed.emit()
        self.selection_changed.emit(self.selected)
        self.dirty_changed.emit(False)
        if self.editable != was_editable:
            self.editable_changed.emit(self.editable)
        self.refresh_inspection()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.undo_stack.setClean()
        self.dirty_changed.emit(False)

    def mark_unsaved(self) -> None:
        """Count the project as changed (a recovered or imported project has not been saved)."""
        self.undo_stack.resetClean()
        self.dirty_changed.emit(True)

    def add_run(self, record: dict) -> None:
        self.project.runs.append(record)
        self.runs_changed.emit()
        # A finished run is worth saving: count it as an unsaved change.
        self.mark_unsaved()

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            was_editable = self.editable
            self.busy = busy
            self.busy_changed.emit(busy)
            if self.editable != was_editable:
                self.editable_changed.emit(self.editable)


def redo_shortcuts() -> list[QKeySequence]:
    """The platform's Redo keys (``QKeySequence.Redo``), and Ctrl+Y where the platform lacks it."""
    keys = list(QKeySequence.keyBindings(QKeySequence.Redo))
    ctrl_y = QKeySequence("Ctrl+Y")
    if ctrl_y not in keys:
        keys.append(ctrl_y)
    return keys


def make_undo_actions(document: Document, parent: QObject,
                      keys: bool = True) -> tuple[QAction, QAction]:
    """Undo and Redo for ``document``, greyed while it is not editable and refused then (the
    stack's own ``createUndoAction`` would undo a model a run is training). ``keys``: Edit ▸
    Undo/Redo's, each bound once in the window; the toolbars' buttons have none."""
    stack = document.undo_stack
    undo = QAction(_("&Undo"), parent, objectName="undoAction" if keys else "")
    redo = QAction(_("&Redo"), parent, objectName="redoAction" if keys else "")
    if keys:
        undo.setShortcuts(QKeySequence.Undo)
        redo.setShortcuts(redo_shortcuts())
    undo.triggered.connect(lambda _checked=False: document.undo())
    redo.triggered.connect(lambda _checked=False: document.redo())

    def update(*_args) -> None:
        try:
            undo.setEnabled(document.editable and stack.canUndo())
            redo.setEnabled(document.editable and stack.canRedo())
            undo.setText(_("&Undo {step}").format(step=stack.undoText()).strip())
            redo.setText(_("&Redo {step}").format(step=stack.redoText()).strip())
        except RuntimeError:  # the stack or the actions go first when the window is torn down
            pass

    stack.indexChanged.connect(update)
    stack.cleanChanged.connect(update)
    document.editable_changed.connect(update)
    undo.retranslate = update  # after Help ▸ Language (ui/retranslate.py)
    update()
    return undo, redo
