"""The training panel under its controls on a ProjectState of its own, without the main window
(for the benchmarks; ``python -m workbench.ui.training.panel`` shows it through run_panel)."""

from __future__ import annotations

from PyQt5.QtWidgets import QWidget

from workbench.ui.state import ProjectState
from workbench.ui.training.panel import TrainingPanel, controls_and_panel


def panel_window(project) -> tuple[QWidget, ProjectState, TrainingPanel]:
    """The training panel under its controls in a widget of its own, on a new ProjectState."""
    state = ProjectState(project)
    window, panel = controls_and_panel(state)
    state.setParent(window)
    return window, state, panel
