"""Curves that one panel puts on the Training tab's plots beside its runs (a sweep's trials).

An evented set held by the project state (``state.overlays``): the Experiments tab adds and
removes entries, the Training tab draws what the set holds; the two share nothing else. A new
project empties it (its trials belong to the project that was open).
"""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal


class RunOverlays(QObject):
    changed = pyqtSignal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._records: dict[str, dict] = {}

    def add(self, key: str, record: dict) -> None:
        """``record``: ``{"label": "trial 3", "history": {...}}`` (Keras history names),
        optionally ``"color"`` (an index into the comparison colours) and ``"initial_epoch"``."""
        self._records[key] = {**record, "key": key}
        self.changed.emit()

    def remove(self, key: str) -> None:
        if self._records.pop(key, None) is not None:
            self.changed.emit()

    def clear(self) -> None:
        if self._records:
            self._records.clear()
            self.changed.emit()

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def records(self) -> dict[str, dict]:
        return dict(self._records)
