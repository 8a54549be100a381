"""The window's status bar: a message too long for the room left of the permanent labels (the
TensorFlow version) ends in "…" instead of being cut under them; the tooltip holds all of it."""

from __future__ import annotations

import time

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QStatusBar, QWidget

_ROOM = 28  # the size grip and the margins around the message


class StatusBarView(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("statusBar")
        self._permanent: list[QWidget] = []
        self.full_message = ""
        self._until = 0.0  # when the message goes (monotonic seconds; 0: it stays)
        self.messageChanged.connect(self._on_message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt API
        self.full_message = text
        self._until = time.monotonic() + timeout / 1000 if timeout > 0 else 0.0
        self.setToolTip(text)
        super().showMessage(self._elided(text), timeout)

    def message_width(self) -> int:
        """The pixels a message may take."""
        taken = sum(w.width() for w in self._permanent if w.isVisible())
        return max(40, self.width() - taken - _ROOM)

    def _elided(self, text: str) -> str:
        return self.fontMetrics().elidedText(text, Qt.ElideRight, self.message_width())

    def _on_message_changed(self, text: str) -> None:
        if not text:
            self.full_message = ""
            self.setToolTip("")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.full_message and self.currentMessage():  # elide it again for the new width
            left = int((self._until - time.monotonic()) * 1000) if self._until else 0
            if not self._until or left > 0:
                super().showMessage(self._elided(self.full_message), max(left, 0))
