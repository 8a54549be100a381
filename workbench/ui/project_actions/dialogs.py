"""The questions ProjectActions asks: one method each, so tests can answer them."""

from __future__ import annotations

from PyQt5.QtWidgets import QFileDialog, QMessageBox

from workbench.core.recovery import Recovery

APP_NAME = "Workbench"
PROJECT_FILTER = "Workbench projects (*.json)"
OPEN_FILTER = ("Projects and Keras models (*.json *.keras *.h5 *.hdf5);;"
               "Workbench projects (*.json);;Keras models (*.keras *.h5 *.hdf5)")


class DialogsMixin:
    """Part of ProjectActions: file dialogs, questions, warnings and status lines."""

    def ask_open_path(self, start: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", start, OPEN_FILTER)
        return path

    def ask_save_path(self, caption: str, suggested: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self.window, caption, suggested, filters)
        return path

    def ask_unsaved(self) -> str:
        """"save", "discard" or "cancel" for the project's unsaved changes."""
        name = self.state.path.name if self.state.path else (self.state.project.name
                                                              or "Untitled")
        answer = QMessageBox.question(
            self.window, APP_NAME, f"“{name}” has unsaved changes. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save,
        )
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, recovery: Recovery) -> bool | None:
        """True / False to restore or discard now; None when the answer comes later.

        The question is not modal, so an app started by a script is never stuck behind it.
        """
        box = QMessageBox(QMessageBox.Question, APP_NAME,
                          "The Workbench did not close cleanly last time.\n\n"
                          f"Restore {recovery.describe()}?",
                          QMessageBox.NoButton, self.window)
        box.setObjectName("recoveryPrompt")
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        box.addButton("Discard", QMessageBox.DestructiveRole)
        box.setDefaultButton(restore)
        box.setModal(False)
        box.buttonClicked.connect(
            lambda button: self._on_restore_answer(recovery, button is restore))
        self._restore_box = box
        box.show()
        return None

    def ask_merge_samples(self, source, target, count: int) -> bool:
        """True: add the drawn samples at ``source`` to the ``count`` already in ``target``
        (another project's file, by its name), False: leave both as they are."""
        box = QMessageBox(QMessageBox.Question, APP_NAME,
                          f"{target.name} beside the new file already holds {count} drawn "
                          f"sample{'s' if count != 1 else ''} of another project.\n\n"
                          f"Add yours to them? (No: yours stay in {source}.)",
                          QMessageBox.Yes | QMessageBox.No, self.window)
        box.setObjectName("mergeSamplesPrompt")
        box.setDefaultButton(QMessageBox.No)
        return box.exec_() == QMessageBox.Yes

    def warn(self, text: str) -> None:
        self.last_warning = text
        QMessageBox.warning(self.window, APP_NAME, text)

    def inform(self, text: str) -> None:
        self.last_warning = text
        QMessageBox.information(self.window, APP_NAME, text)

    def _status(self, text: str, ms: int = 10_000) -> None:
        self.window.statusBar().showMessage(text, ms)

