"""A plain notice for views that show trained results while the model has been edited since:
which run they come from and what changed, so an old network's figures never pass for the
current model's."""

from __future__ import annotations

from PyQt5.QtWidgets import QLabel, QWidget

from workbench.core.changes import model_changes, summary
from workbench.i18n import _


def previous_model_note(state) -> str:
    """"" while the weights belong to the model as it is now (or there are none); else one
    sentence saying whose results these are and what was edited since."""
    trained = state.trained.trained_spec
    if state.trained.weights is None or trained is None:
        return ""
    current = state.spec.to_dict()
    if trained == current:
        return ""
    run = state.trained.weights_run
    changes = summary(model_changes(trained, current))
    if run is None:
        text = _("Previous model: these are the results of the model trained earlier, from "
                 "before your edits{changes}. Train to see the current model's.")
    else:
        text = _("Previous model: these are the results of run {run}, from before your "
                 "edits{changes}. Train to see the current model's.")
    return text.format(run=run, changes=_(" ({changes})").format(changes=changes)
                       if changes else "")


class PreviousModelNotice(QLabel):
    """Shown (amber) only while the state's weights belong to an earlier version of the model."""

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("previousModelNotice")
        self.state = state
        self.setWordWrap(True)
        self.setStyleSheet("QLabel { background: #fff4d6; border: 1px solid #e0c070;"
                           " border-radius: 3px; color: #6b4e00; padding: 3px 6px; }")
        for signal in (state.model_changed, state.trained.weights_updated,
                       state.project_replaced):
            signal.connect(self.refresh)
        self.refresh()

    def retranslate(self) -> None:
        self.refresh()

    def refresh(self, *_args) -> None:
        text = previous_model_note(self.state)
        self.setText(text)
        self.setVisible(bool(text))
