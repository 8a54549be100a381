"""Start the GUI: a QApplication and the main window, shown before TensorFlow is imported."""

from __future__ import annotations

import os
import sys


def prepare_qt_environment() -> None:
    """Settings that must be in place before the QApplication exists.

    On X11, Qt's GLX integration loads Mesa, whose LLVM clashes with the LLVM inside TensorFlow:
    importing TensorFlow afterwards crashes in a static initialiser. Nothing here draws with
    OpenGL, so the integration is switched off unless the user chose one.
    """
    os.environ.setdefault("QT_XCB_GL_INTEGRATION", "none")


def run_gui(argv: list[str] | None = None) -> int:
    prepare_qt_environment()
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Workbench")
    app.setOrganizationName("Workbench")
    from workbench.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec_()
