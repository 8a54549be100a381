"""The QApplication of the Workbench, and one panel run in a window of its own.

``make_application`` is the one place a QApplication is made (the app, every panel run alone,
the benchmarks); ``run_panel`` hosts one panel: ``python -m workbench.ui.<panel>.panel
[MODEL.keras]`` (a .keras path becomes the panel's trained model, loaded safely once the engine is
ready). With ``WORKBENCH_QUIT_AFTER_MS`` set (smoke tests, benchmarks) the event loop runs that
long, then the app reports the windows it showed and quits; it exits non-zero when none appeared.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PyQt5.QtWidgets import QWidget

from workbench.i18n import _
from workbench.ui import platform_check

NO_WINDOW_EXIT_CODE = 4  # WORKBENCH_QUIT_AFTER_MS: the time ran out and no window was visible


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


def shown_windows() -> list[QWidget]:
    """The visible top-level windows of a non-zero size."""
    from PyQt5.QtWidgets import QApplication

    return [w for w in QApplication.topLevelWidgets()
            if w.isWindow() and w.isVisible() and w.width() > 0 and w.height() > 0]


def _quit_after(app, ms: int) -> None:
    from PyQt5.QtCore import QTimer

    def report_and_close() -> None:
        windows = shown_windows()
        for window in windows:
            print(f"workbench: shown {window.windowTitle()!r} "
                  f"{window.width()}x{window.height()}", flush=True)
        if not windows:
            print("workbench: no window appeared", file=sys.stderr, flush=True)
            app.exit(NO_WINDOW_EXIT_CODE)
            return
        app.closeAllWindows()
        QTimer.singleShot(200, app.quit)

    QTimer.singleShot(ms, report_and_close)


def _existing_application():
    from PyQt5.QtWidgets import QApplication

    return QApplication.instance()


def make_application(argv: list[str] | None = None):
    """The QApplication for the app and for each panel run on its own.

    Where Qt's X11 plugin could not load (missing system libraries, no display), this says so in
    one line on stderr and exits with ``platform_check.EXIT_CODE`` before Qt aborts.
    """
    from PyQt5.QtCore import Qt
    from PyQt5.QtWidgets import QApplication

    app = _existing_application()
    if app is None:
        prepare_qt_environment()
        problem = platform_check.problem()
        if problem:
            print(problem, file=sys.stderr)
            raise SystemExit(platform_check.EXIT_CODE)
        QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        app = QApplication(argv if argv is not None else sys.argv)
        from workbench.ui.tasks import shutdown_all

        app.aboutToQuit.connect(shutdown_all)  # every task still running: cancelled and joined
        from workbench.ui import language

        # The saved language, else the system's; Chinese without a font for it: English.
        language.startup_note = language.apply_startup_language(app)
        if language.startup_note:
            print(f"workbench: {language.startup_note}", file=sys.stderr)
    app.setApplicationName("Workbench")
    app.setOrganizationName("Workbench")
    quit_after = os.environ.get("WORKBENCH_QUIT_AFTER_MS")
    if quit_after:  # smoke tests and benchmarks: open, run the event loop a while, close
        _quit_after(app, int(quit_after))
    return app


def adopt_model_file(state, path: Path, failed: Callable[[str], None]) -> None:
    """A panel's ``MODEL.keras`` argument: once the engine is ready, the file's bytes go to it
    (``open_model``: loaded safely there) and the model it answers becomes the trained model;
    ``failed(line)`` hears why not."""
    from workbench.core.safe_io import FileRefused
    from workbench.ui.project_actions.opening import file_body, read_model_file

    def adopted(reply: dict | None, error: str) -> None:
        if error:
            failed(error)
        else:
            state.trained.set_trained_model(reply["plain"], list(reply["weights"]))

    def adopt() -> None:
        state.engine.ready.disconnect(adopt)  # once (an engine that restarts is ready again)
        try:
            data = read_model_file(path)
        except FileRefused as exc:
            failed(str(exc))
            return
        state.engine.ask("open_model", file_body(path, data), adopted)

    state.engine.ready.connect(adopt)
    if state.engine.loaded:
        adopt()


def run_panel(make_panel: Callable, title: str, size: tuple[int, int],
              show_error: Callable[[QWidget, str], None] | None = None,
              on_exit: Callable[[QWidget], None] | None = None,
              on_close: Callable[[QWidget], bool] | None = None) -> int:
    """Show ``make_panel(state)`` in a main window of its own, on the default template.

    The window has the Edit menu's Undo/Redo, a View menu (panels add to it) and a status bar
    for the panel's messages. ``on_close(panel)`` may refuse the close (False); ``on_exit(panel)``
    runs after the event loop.
    """
    from PyQt5.QtWidgets import QMainWindow

    from workbench.core.templates import DEFAULT_TEMPLATE, load_template
    from workbench.ui.document import make_undo_actions
    from workbench.ui.state import ProjectState

    app = make_application()

    class PanelWindow(QMainWindow):
        def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
            if on_close is not None and not on_close(panel):
                event.ignore()
                return
            event.accept()

    from workbench.ui.engine_link import close_shared, shared_host

    shared_host()  # the engine's process starts importing TensorFlow now
    app.aboutToQuit.connect(close_shared)
    window = PanelWindow()
    state = ProjectState(load_template(DEFAULT_TEMPLATE), window)
    window.setWindowTitle(f"{title} — Workbench")  # not translated: the app's name
    edit = window.menuBar().addMenu(_("&Edit"))
    for action in make_undo_actions(state, window):
        edit.addAction(action)
    window.view_menu = window.menuBar().addMenu(_("&View"))
    for message in (state.bus.status_message, state.edit_refused):
        message.connect(lambda text: window.statusBar().showMessage(text, 10000))
    panel = make_panel(state)
    window.setCentralWidget(panel)
    window.resize(*size)
    window.show()
    if len(sys.argv) > 1:

        def failed(text: str) -> None:
            print(f"workbench: {text}", file=sys.stderr)
            if show_error is not None:
                show_error(panel, text)
            else:
                window.statusBar().showMessage(text)

        adopt_model_file(state, Path(sys.argv[1]), failed)
    state.data.load()
    code = app.exec_()
    if on_exit is not None:
        on_exit(panel)
    return code
