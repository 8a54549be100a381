"""Closing the window while a run trains: keep the epochs done, discard them, or cancel.

Keep stops the run within a batch and puts it in the project as Stop does, before the window asks
about unsaved changes, so Save there saves the run with its weights; Discard stops it and leaves
it out. Either way nothing is written after the questions, so a clean quit leaves no recovery.
"""

from __future__ import annotations

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QMessageBox

from workbench.core.run_text import count
from workbench.i18n import _

APP_NAME = "Workbench"


def _question(epochs: int) -> str:
    if epochs:
        return _("A run is training. Keep the {epochs} done with the project (as Stop would), or "
                 "discard the run?").format(epochs=count(epochs, "epoch"))
    return _("A run is training. Keep it with the project (as Stop would), or discard the run?")


def ask_keep_run(panel, epochs: int) -> str:
    """"keep", "discard" or "cancel": what becomes of ``panel``'s run in progress on closing.
    The question counts the epochs done as they end (the run goes on while it is open: it said
    "Keep the 4 epochs" and kept 7)."""
    box = QMessageBox(QMessageBox.Question, APP_NAME, _question(epochs),
                      QMessageBox.NoButton, panel)
    box.setObjectName("closeRunPrompt")
    keep = box.addButton(_("Keep and quit"), QMessageBox.AcceptRole)
    keep.setObjectName("keepRunButton")
    discard = box.addButton(_("Discard and quit"), QMessageBox.DestructiveRole)
    discard.setObjectName("discardRunButton")
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(keep)

    def recount(*_args) -> None:  # after the panel has counted the epoch that just ended
        QTimer.singleShot(0, lambda: box.setText(_question(panel.epochs_done)))

    panel.epoch_ended.connect(recount)
    try:
        box.exec_()
    finally:
        panel.epoch_ended.disconnect(recount)
    return {keep: "keep", discard: "discard"}.get(box.clickedButton(), "cancel")


def end_run_for_close(panel) -> bool:
    """Ask about ``panel``'s run in progress (a TrainingPanel), then stop it and deliver its end
    at once: kept in the project, or left out. True when the window may close."""
    if not panel.is_training:
        return True
    answer = ask_keep_run(panel, panel.epochs_done)
    if answer == "cancel" or not panel.is_training:
        return not panel.is_training  # (it may have ended while the question was open)
    panel.discard_run = answer == "discard"
    panel.finish_run()  # within a batch: the run is in the project before the save question
    return True
