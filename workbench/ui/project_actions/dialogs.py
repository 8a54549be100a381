"""The questions ProjectActions asks: one method each, so tests can answer them."""

from __future__ import annotations

from PyQt5.QtWidgets import QFileDialog, QMessageBox

from workbench.core.recovery import Recovery
from workbench.i18n import N_, _, ngettext

APP_NAME = "Workbench"
# File dialogs' filters, translated where shown.
PROJECT_FILTER = N_("Workbench projects (*.json)")
OPEN_FILTER = N_("Projects and Keras models (*.json *.keras *.h5 *.hdf5);;Workbench projects "
                 "(*.json);;Keras models (*.keras *.h5 *.hdf5)")


class DialogsMixin:
    """Part of ProjectActions: file dialogs, questions, warnings and status lines."""

    def ask_open_path(self, start: str) -> str:
        path, _kind = QFileDialog.getOpenFileName(self.window, _("Open"), start,
                                                  _(OPEN_FILTER))
        return path

    def ask_save_path(self, caption: str, suggested: str, filters: str) -> str:
        path, _kind = QFileDialog.getSaveFileName(self.window, caption, suggested,
                                                  _(filters))
        return path

    def ask_unsaved(self) -> str:
        """"save", "discard" or "cancel" for the project's unsaved changes."""
        name = self.state.path.name if self.state.path else (self.state.project.name
                                                              or _("Untitled"))
        answer = QMessageBox.question(
            self.window, APP_NAME, _("“{name}” has unsaved changes. Save them first?").format(
                name=name),
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save,
        )
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, recovery: Recovery) -> bool | None:
        """True / False to restore or discard now; None when the answer comes later.

        The question is not modal, so an app started by a script is never stuck behind it.
        """
        box = QMessageBox(QMessageBox.Question, APP_NAME,
                          _("The Workbench did not close cleanly last time.\n\nRestore "
                            "{describe}?").format(describe=recovery.describe()),
                          QMessageBox.NoButton, self.window)
        box.setObjectName("recoveryPrompt")
        restore = box.addButton(_("Restore"), QMessageBox.AcceptRole)
        box.addButton(_("Discard"), QMessageBox.DestructiveRole)
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
                          ngettext("{name} beside the new file already holds {count} drawn "
                                   "sample of another project.\n\nAdd yours to them? (No: "
                                   "yours stay in {source}.)",
                                   "{name} beside the new file already holds {count} drawn "
                                   "samples of another project.\n\nAdd yours to them? (No: "
                                   "yours stay in {source}.)", count).format(
                                       name=target.name, count=count, source=source),
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

