"""Help ▸ Tutorials and the tutorial card (see controller.py and card.py)."""

from __future__ import annotations


def install(window):
    """Add Help ▸ Tutorials and the tutorial dock to the main window; returns the controller."""
    from workbench.ui.tutorials.controller import TutorialsController

    return TutorialsController(window)
