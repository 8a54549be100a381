"""The main window's hidden tabs, built after its first paint (issue 26: the window shows sooner).

Each tab starts as a placeholder with its title at its place; after the window's first paint the
real panels replace them one per turn of the event loop, the current tab staying where it was.
A panel asked for before then (``MainWindow.__getattr__``, a tab picked, a menu) is built at
once. A panel starts from the state as it is, so one built late shows what one built at start
would show.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt5 import sip
from PyQt5.QtCore import QEvent, QObject, QTimer
from PyQt5.QtWidgets import QTabWidget, QWidget


class LazyTabs(QObject):
    """``specs``: (attribute, tab title, build) in tab order; ``build()`` returns the panel."""

    def __init__(self, window: QWidget, tabs: QTabWidget,
                 specs: list[tuple[str, str, Callable[[], QWidget]]]):
        super().__init__(window)
        self.window, self.tabs = window, tabs
        self._builds: dict[str, Callable[[], QWidget]] = {}
        self._placeholders: dict[str, QWidget] = {}
        self._after: dict[str, list[Callable[[QWidget], None]]] = {}
        for name, title, build in specs:
            placeholder = QWidget(tabs, objectName=f"{name}Placeholder")
            tabs.addTab(placeholder, title)
            self._builds[name], self._placeholders[name] = build, placeholder
        tabs.currentChanged.connect(self._on_current_changed)
        window.installEventFilter(self)

    def pending(self) -> list[str]:
        return list(self._builds)

    def when_built(self, name: str, callback: Callable[[QWidget], None]) -> None:
        """``callback(panel)`` once panel ``name`` exists (now, where it does already)."""
        if name in self._builds:
            self._after.setdefault(name, []).append(callback)
        else:
            callback(getattr(self.window, name))

    def build(self, name: str) -> QWidget:
        build = self._builds.pop(name)
        placeholder = self._placeholders.pop(name)
        panel = build()
        setattr(self.window, name, panel)
        tabs = self.tabs
        index = tabs.indexOf(placeholder)
        current = tabs.currentIndex()
        blocked = tabs.blockSignals(True)  # the swap is no change of tab
        try:
            tabs.insertTab(index, panel, tabs.tabText(index))
            tabs.removeTab(index + 1)
            tabs.setCurrentIndex(current)
        finally:
            tabs.blockSignals(blocked)
        placeholder.deleteLater()
        for callback in self._after.pop(name, []):
            callback(panel)
        return panel

    def build_all(self) -> None:
        for name in self.pending():
            if name in self._builds:  # (a callback may have built another)
                self.build(name)

    def _build_next(self) -> None:
        if sip.isdeleted(self.window) or not self._builds:
            return
        self.build(next(iter(self._builds)))
        if self._builds:
            QTimer.singleShot(0, self._build_next)  # input and paints between panels

    def _on_current_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        for name, placeholder in list(self._placeholders.items()):
            if placeholder is widget:
                self.build(name)
                self.tabs.setCurrentWidget(getattr(self.window, name))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.window and event.type() == QEvent.Paint:
            self.window.removeEventFilter(self)
            QTimer.singleShot(0, self._build_next)  # after the whole first paint pass
        return False
