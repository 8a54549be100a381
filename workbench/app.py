"""Start the GUI: a QApplication and the main window, shown before TensorFlow is imported."""

from __future__ import annotations

import sys


def run_gui(argv: list[str] | None = None) -> int:
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
