"""The window's status bar: a message too long for the room left of the permanent labels (the
TensorFlow version) is drawn ending in "…" instead of running under them; the tooltip holds all
of it. ``currentMessage()`` stays the whole text."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QPainter
from PyQt5.QtWidgets import QStatusBar, QStyle, QStyleOption, QWidget

_MARGIN = 6  # Qt's own margin around the message


class StatusBarView(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("statusBar")
        self._permanent: list[QWidget] = []
        self.messageChanged.connect(self._on_message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def removeWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt API
        if widget in self._permanent:
            self._permanent.remove(widget)
        super().removeWidget(widget)

    def message_width(self) -> int:
        """The pixels a message may take: up to the first permanent widget."""
        right = self.width() - _MARGIN
        for widget in self._permanent:
            if widget.isVisible():
                right = min(right, widget.geometry().left() - _MARGIN)
        return max(20, right - _MARGIN)

    def shown_message(self) -> str:
        """The message as drawn (elided to the room there is)."""
        text = self.currentMessage()
        if not text:
            return ""
        return self.fontMetrics().elidedText(text, Qt.ElideRight, self.message_width())

    def _on_message_changed(self, text: str) -> None:
        self.setToolTip(text)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not self.currentMessage():
            super().paintEvent(event)
            return
        # As QStatusBar paints a message, but elided: Qt's own drawing runs under the labels.
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PE_PanelStatusBar, option, painter, self)
        painter.setPen(self.palette().windowText().color())
        rect = self.rect().adjusted(_MARGIN, 0, 0, 0)
        rect.setWidth(self.message_width())
        painter.drawText(rect, Qt.AlignLeading | Qt.AlignVCenter | Qt.TextSingleLine,
                         self.shown_message())
        painter.end()
