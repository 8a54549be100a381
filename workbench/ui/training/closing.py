"""Closing the window while a run trains: keep the epochs done, discard them, or cancel.

Keep stops the run within a batch and puts it in the project as Stop does, before the window asks
about unsaved changes, so Save there saves the run with its weights; Discard stops it and leaves
it out. Either way nothing is written after the questions, so a clean quit leaves no recovery.
"""

from __future__ import annotations

from PyQt5.QtWidgets import QMessageBox, QWidget

from workbench.core.run_text import count

APP_NAME = "Workbench"


def ask_keep_run(parent: QWidget, epochs: int) -> str:
    """"keep", "discard" or "cancel": what becomes of the run in progress on closing."""
    done = f"the {count(epochs, 'epoch')} done" if epochs else "it"
    box = QMessageBox(QMessageBox.Question, APP_NAME,
                      f"A run is training. Keep {done} with the project (as Stop would), "
                      "or discard the run?", QMessageBox.NoButton, parent)
    box.setObjectName("closeRunPrompt")
    keep = box.addButton("Keep and quit", QMessageBox.AcceptRole)
    keep.setObjectName("keepRunButton")
    discard = box.addButton("Discard and quit", QMessageBox.DestructiveRole)
    discard.setObjectName("discardRunButton")
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(keep)
    box.exec_()
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
