"""Run one panel in a window of its own: ``python -m workbench.ui.<panel>.panel [MODEL.keras]``.

The panel gets a ProjectState on the default template; a .keras path on the command line becomes
its trained model (loaded safely once TensorFlow is ready).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PyQt5.QtWidgets import QWidget


def run_panel(make_panel: Callable, title: str, size: tuple[int, int],
              show_error: Callable[[QWidget, str], None] | None = None,
              on_exit: Callable[[QWidget], None] | None = None) -> int:
    from workbench.app import make_application
    from workbench.core.templates import DEFAULT_TEMPLATE, load_template
    from workbench.ui.state import ProjectState

    app = make_application()
    state = ProjectState(load_template(DEFAULT_TEMPLATE))
    panel = make_panel(state)
    panel.setWindowTitle(f"{title} — Workbench")
    panel.resize(*size)
    panel.show()
    if len(sys.argv) > 1:
        path = sys.argv[1]

        def adopt() -> None:
            from workbench.core.modelio import ModelFileError, load_model

            try:
                state.set_trained_model(load_model(path, compile=False))
            except ModelFileError as exc:
                print(f"workbench: {exc}", file=sys.stderr)
                if show_error is not None:
                    show_error(panel, str(exc))
                else:
                    panel.setWindowTitle(f"{title} — {exc}")

        state.tensorflow_ready.connect(adopt)
    state.start_loading_tensorflow()
    code = app.exec_()
    if on_exit is not None:
        on_exit(panel)
    return code
