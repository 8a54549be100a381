"""The progress bar of a dataset being sent to the engine, in the window's status bar: shown from
the first chunk (a dataset the engine holds already shows nothing), gone when the sending ends.
A remote engine's upload can take minutes; ``engine_data`` feeds it (``report`` from any
thread: the sending task's).
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtWidgets import QMainWindow, QProgressBar, QWidget

from workbench.core.safe_io import shown
from workbench.i18n import _


def _window(owner: QObject | None) -> QMainWindow | None:
    while owner is not None and not isinstance(owner, QWidget):
        owner = owner.parent()
    window = owner.window() if owner is not None else None
    return window if isinstance(window, QMainWindow) else None


class UploadBar(QObject):
    """A progress bar in the status bar of ``owner``'s window (``owner``: a widget, or an object
    inside one) while the dataset ``name`` is sent."""

    reported = pyqtSignal(int, int)

    def __init__(self, owner: QObject, name: str):
        super().__init__(owner)
        self.name = shown(name)
        window = _window(owner)
        self.status = window.statusBar() if window is not None else None
        self.bar = QProgressBar(objectName="uploadProgress", maximum=1000)
        self.bar.setFormat(_("Sending {name} to the engine… %p%").format(name=self.name))
        self.bar.setMaximumWidth(320)
        self.bar.hide()
        if self.status is not None:
            self.status.addPermanentWidget(self.bar)
        self.reported.connect(self._show)

    def report(self, sent: int, total: int) -> None:
        self.reported.emit(sent, total)  # queued to the GUI thread from the sending task's

    def _show(self, sent: int, total: int) -> None:
        self.bar.setToolTip(_("{sent:.1f} of {total:.1f} MB").format(sent=sent / 1e6,
                                                                     total=total / 1e6))
        self.bar.setValue(round(1000 * sent / max(total, 1)))
        self.bar.show()

    def finish(self, sent: bool) -> None:
        """The sending ended (``sent``: whole): the bar goes, and says so if chunks went."""
        if self.status is not None:
            self.status.removeWidget(self.bar)
            if sent and self.bar.value() > 0:
                self.status.showMessage(_("Sent {name} to the engine").format(name=self.name),
                                        10000)
        self.bar.deleteLater()
        self.deleteLater()
