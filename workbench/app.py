"""Start the GUI: a QApplication and the main window, shown before TensorFlow is imported."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def prepare_qt_environment() -> None:
    """Settings that must be in place before the QApplication exists.

    On X11, Qt's GLX integration loads Mesa, whose LLVM clashes with the LLVM inside TensorFlow:
    importing TensorFlow afterwards crashes in a static initialiser. Nothing here draws with
    OpenGL, so the integration is switched off unless the user chose one.
    """
    os.environ.setdefault("QT_XCB_GL_INTEGRATION", "none")
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        # Qt wants one and warns on the terminal without it (e.g. under sudo or in a container).
        runtime = Path(tempfile.gettempdir()) / f"runtime-workbench-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def make_application(argv: list[str] | None = None):
    """The QApplication for the app and for each panel run on its own."""
    prepare_qt_environment()
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Workbench")
    app.setOrganizationName("Workbench")
    quit_after = os.environ.get("WORKBENCH_QUIT_AFTER_MS")
    if quit_after:  # smoke tests and benchmarks: open, run the event loop a while, close
        from PyQt5.QtCore import QTimer

        QTimer.singleShot(int(quit_after), app.closeAllWindows)
        QTimer.singleShot(int(quit_after) + 200, app.quit)
    return app


def run_gui(argv: list[str] | None = None) -> int:
    app = make_application(argv)
    from workbench.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec_()
