"""The drawing canvas: smooth round strokes with the mouse or a tablet pen, eraser, undo, polarity.

The canvas keeps an *ink* image (0 = paper, 255 = full ink) and shows it dark on light or light on
dark; ``image_array()`` hands out what is shown, so the preprocessing sees either polarity.
Strokes are quadratic curves through the midpoints of successive mouse positions.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QEvent, QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from workbench.i18n import _

CANVAS_SIZE = 280
DEFAULT_PEN = 18
MIN_PEN, MAX_PEN = 4, 48
_UNDO_DEPTH = 64
_PAPER_LIGHT, _PAPER_DARK = 250, 12  # not pure white/black: the frame stays visible
_LEVELS = np.arange(256, dtype=np.float32) / 255.0
# Ink (0..255) -> shown grey, indexed by dark_on_light.
_SHOWN = {
    True: (_PAPER_LIGHT * (1.0 - _LEVELS) + 0.5).astype(np.uint8),
    False: (_PAPER_DARK + (255 - _PAPER_DARK) * _LEVELS + 0.5).astype(np.uint8),
}


class DrawCanvasView(QWidget):
    """A square canvas to draw one digit on."""

    drawing_changed = pyqtSignal()  # any change of the picture (each stroke segment, clear, undo)
    stroke_finished = pyqtSignal()
    undo_available_changed = pyqtSignal(bool)
    polarity_changed = pyqtSignal(bool)  # True: dark ink on light paper

    def __init__(self, parent: QWidget | None = None, size: int = CANVAS_SIZE):
        super().__init__(parent)
        self.setObjectName("drawCanvas")
        self.setFixedSize(size, size)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)  # for the pen-size cursor ring
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setCursor(Qt.CrossCursor)
        self.setToolTip(_("Draw with the left mouse button (right button erases).\n"
                          "Ctrl+Z undoes the last stroke, Esc clears."))
        self._ink = QImage(size, size, QImage.Format_Grayscale8)
        self._ink.fill(0)
        self._pen_width = float(DEFAULT_PEN)
        self._eraser = False
        self._dark_on_light = True
        self._history: list[QImage] = []
        # Stroke in progress: the last two points, whether it erases, its pressure-scaled width.
        self._points: list[QPointF] = []
        self._stroke_erases = False
        self._stroke_width = self._pen_width
        self._hover: QPointF | None = None
        self._blank = True
        # A picture given by set_image, used as it is until the user draws on it.
        self._source: np.ndarray | None = None
        self._exact_input: np.ndarray | None = None

    # Settings ------------------------------------------------------------------------------------

    @property
    def pen_width(self) -> float:
        return self._pen_width

    def set_pen_width(self, width: float) -> None:
        self._pen_width = float(min(max(width, MIN_PEN), MAX_PEN))
        self.update()

    @property
    def eraser(self) -> bool:
        return self._eraser

    def set_eraser(self, on: bool) -> None:
        self._eraser = bool(on)
        self.update()

    @property
    def dark_on_light(self) -> bool:
        return self._dark_on_light

    def set_dark_on_light(self, dark_on_light: bool) -> None:
        if bool(dark_on_light) != self._dark_on_light:
            self._dark_on_light = bool(dark_on_light)
            self.polarity_changed.emit(self._dark_on_light)
            self.update()
            self.drawing_changed.emit()

    # The picture ---------------------------------------------------------------------------------

    def is_blank(self) -> bool:
        return self._blank

    def ink_array(self) -> np.ndarray:
        """A copy of the ink (uint8, 255 = full ink), independent of the polarity."""
        return _to_array(self._ink)

    def image_array(self) -> np.ndarray:
        """What the canvas shows, as greyscale uint8 (paper 250 or 12, ink towards 0 or 255)."""
        return _SHOWN[self._dark_on_light][self.ink_array()]

    @property
    def source(self) -> np.ndarray | None:
        """The picture given to ``set_image``, while it has not been drawn on; else None."""
        return self._source

    @property
    def exact_input(self) -> np.ndarray | None:
        """A 28x28 model input given to ``set_image`` (a dataset sample) while untouched."""
        return self._exact_input

    def clear(self) -> None:
        if self._blank and self._source is None:
            return
        self._push_history()
        self._ink.fill(0)
        self._forget_source()
        self._blank = True
        self.update()
        self.drawing_changed.emit()

    def undo(self) -> bool:
        """Take back the last stroke (or clear, or loaded picture); False if there is none."""
        if not self._history:
            return False
        self._ink = self._history.pop()
        self._forget_source()
        self._blank = not bool(self.ink_array().any())
        if not self._history:
            self.undo_available_changed.emit(False)
        self.update()
        self.drawing_changed.emit()
        return True

    def can_undo(self) -> bool:
        return bool(self._history)

    def set_image(self, image: np.ndarray, exact_input: np.ndarray | None = None) -> None:
        """Show a picture (any size, either polarity) on the canvas, ready to be drawn on.

        ``image``: 2-D greyscale (uint8, or float in [0, 1]) or RGB/RGBA uint8. It stays the
        source of the prediction until the user draws; ``exact_input`` (28x28 in [0, 1]) is used
        instead where given, for samples that already are what the model receives.
        """
        grey = _grey_uint8(image)
        h, w = grey.shape
        border = np.concatenate((grey[0], grey[-1], grey[:, 0], grey[:, -1]))
        dark_on_light = float(np.median(border)) > 127.0
        ink = 255 - grey if dark_on_light else grey
        picture = QImage(ink.tobytes(), w, h, w, QImage.Format_Grayscale8).copy()
        size = self._ink.width()
        scaled = picture.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        self._push_history()
        self._ink.fill(0)
        painter = QPainter(self._ink)
        painter.drawImage(
            QPointF((size - scaled.width()) / 2, (size - scaled.height()) / 2), scaled
        )
        painter.end()
        self._source = np.array(image, copy=True)
        self._exact_input = None
        if exact_input is not None:
            self._exact_input = np.asarray(exact_input, dtype=np.float32).reshape(28, 28).copy()
        self._blank = not bool(ink.any())
        self.set_dark_on_light(dark_on_light)
        self.update()
        self.drawing_changed.emit()

    def _forget_source(self) -> None:
        self._source = None
        self._exact_input = None

    def _push_history(self) -> None:
        self._history.append(self._ink.copy())
        del self._history[:-_UNDO_DEPTH]
        if len(self._history) == 1:
            self.undo_available_changed.emit(True)

    # Strokes ------------------------------------------------------------------------------------

    def begin_stroke(self, pos: QPointF, erase: bool = False, pressure: float = 1.0) -> None:
        self._push_history()
        self._forget_source()
        self._stroke_erases = erase or self._eraser
        self._stroke_width = self._pen_width * (0.35 + 0.65 * min(max(pressure, 0.0), 1.0))
        self._points = [QPointF(pos)]
        with self._painter() as painter:
            painter.drawPoint(pos)
        # The placeholder text goes with the first stroke: repaint all of it, not only the ink's
        # rectangle (which left the rest of "Draw a digit here" on screen).
        self.update()
        self._after_paint(pos, pos)

    def extend_stroke(self, pos: QPointF) -> None:
        if not self._points:
            return
        last = self._points[-1]
        if (pos - last).manhattanLength() < 0.5:
            return
        path = QPainterPath()
        if len(self._points) == 1:
            # The first segment runs to the midpoint; later ones curve through each point.
            path.moveTo(last)
            path.lineTo(_mid(last, pos))
        else:
            path.moveTo(_mid(self._points[-2], last))
            path.quadTo(last, _mid(last, pos))
        with self._painter() as painter:
            painter.drawPath(path)
        self._points = [last, QPointF(pos)]
        self._after_paint(path.boundingRect().topLeft(), path.boundingRect().bottomRight())

    def end_stroke(self, pos: QPointF | None = None) -> None:
        if not self._points:
            return
        if pos is not None:
            self.extend_stroke(pos)
        if len(self._points) == 2:
            a, b = self._points
            with self._painter() as painter:
                painter.drawLine(_mid(a, b), b)
            self._after_paint(_mid(a, b), b)
        self._points = []
        self._blank = not bool(self.ink_array().any())
        if self._blank:
            self.update()  # erased to nothing: the placeholder comes back
        self.stroke_finished.emit()

    def is_drawing(self) -> bool:
        return bool(self._points)

    def _painter(self):
        canvas = self

        class _Painting:
            def __enter__(self):
                self.painter = QPainter(canvas._ink)
                self.painter.setRenderHint(QPainter.Antialiasing)
                ink = QColor(0, 0, 0) if canvas._stroke_erases else QColor(255, 255, 255)
                self.painter.setPen(
                    QPen(ink, canvas._stroke_width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
                )
                return self.painter

            def __exit__(self, *exc):
                self.painter.end()

        return _Painting()

    def _after_paint(self, a: QPointF, b: QPointF) -> None:
        if not self._stroke_erases:
            self._blank = False
        r = self._stroke_width / 2 + 2
        self.update(QRectF(a, b).normalized().adjusted(-r, -r, r, r).toAlignedRect())
        self.drawing_changed.emit()

    # Qt events ----------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() in (Qt.LeftButton, Qt.RightButton) and not self._points:
            self.setFocus(Qt.MouseFocusReason)
            self.begin_stroke(QPointF(event.pos()), erase=event.button() == Qt.RightButton)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._hover = QPointF(event.pos())
        if self._points and event.buttons() & (Qt.LeftButton | Qt.RightButton):
            self.extend_stroke(QPointF(event.pos()))
        else:
            self.update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._points and event.button() in (Qt.LeftButton, Qt.RightButton):
            self.end_stroke(QPointF(event.pos()))
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def tabletEvent(self, event) -> None:  # noqa: N802 - Qt API
        # Accepting stops Qt from sending the same movement again as mouse events.
        pos = QPointF(event.posF())
        kind = event.type()
        if kind == QEvent.TabletPress:
            erase = event.pointerType() == event.Eraser
            self.setFocus(Qt.MouseFocusReason)
            self.begin_stroke(pos, erase=erase, pressure=event.pressure())
        elif kind == QEvent.TabletMove and self._points:
            self.extend_stroke(pos)
        elif kind == QEvent.TabletRelease and self._points:
            self.end_stroke(pos)
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def event(self, event) -> bool:
        # Ctrl+Z and Esc belong to the canvas while it has focus, not to the window's Edit ▸ Undo
        # (which undoes model edits): accepting the override delivers them as key presses here.
        if event.type() == QEvent.ShortcutOverride and (
            event.matches(QKeySequence.Undo) or event.key() == Qt.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.matches(QKeySequence.Undo):
            self.undo()
        elif event.key() == Qt.Key_Escape:
            self.clear()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.drawImage(0, 0, self._display_image())
        painter.setRenderHint(QPainter.Antialiasing)
        frame = QColor(120, 120, 120) if self.hasFocus() else QColor(180, 180, 180)
        painter.setPen(QPen(frame, 1))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        if self._blank and not self._points:
            painter.setPen(QColor(150, 150, 150))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            painter.drawText(self.rect(), Qt.AlignCenter, _("Draw a digit here"))
        if self._hover is not None and not self._points:
            # A ring the size of the pen, so the user sees how thick the stroke will be.
            ring = QColor(220, 60, 60) if self._eraser else QColor(60, 120, 220)
            painter.setPen(QPen(ring, 1, Qt.DashLine if self._eraser else Qt.SolidLine))
            r = self._pen_width / 2
            painter.drawEllipse(self._hover, r, r)
        painter.end()

    def _display_image(self) -> QImage:
        shown = self.image_array()
        h, w = shown.shape
        return QImage(shown.tobytes(), w, h, w, QImage.Format_Grayscale8).copy()


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return (a + b) / 2.0


def _to_array(image: QImage) -> np.ndarray:
    ptr = image.constBits()
    ptr.setsize(image.byteCount())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width()].copy()


def _grey_uint8(image: np.ndarray) -> np.ndarray:
    """Any picture as 2-D uint8 for display; transparent pixels become white paper."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape[:2]:
        raise ValueError(_("Expected a greyscale or colour image, got an array of shape "
                           "{shape}.").format(shape=a.shape))
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    f = a.astype(np.float32)
    f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    top = float(f.max(initial=0.0))
    if a.dtype == np.uint16:
        f = f / 257.0
    elif a.dtype.kind == "f" and top <= 1.0:
        f = f * 255.0
    elif top > 255.0:
        f = f * (255.0 / top)
    if f.ndim == 3:
        lum = f[:, :, 0] * 0.299 + f[:, :, 1] * 0.587 + f[:, :, 2] * 0.114
        if f.shape[2] == 4:
            alpha = f[:, :, 3] / 255.0
            lum = alpha * lum + (1.0 - alpha) * 255.0
        f = lum
    return np.ascontiguousarray(np.clip(f + 0.5, 0, 255).astype(np.uint8))


def _demo() -> None:
    """``python -m workbench.ui.draw.canvas``: the canvas alone, with its input's ink mass."""
    from PyQt5.QtWidgets import QLabel, QVBoxLayout

    from workbench.core.digits import preprocess_digit
    from workbench.ui.application import make_application

    app = make_application()
    window = QWidget()
    window.setWindowTitle(_("Draw canvas"))
    layout = QVBoxLayout(window)
    canvas = DrawCanvasView(window)
    info = QLabel(_("Draw a digit"), window)
    layout.addWidget(canvas)
    layout.addWidget(info)

    def _show() -> None:
        digit = preprocess_digit(canvas.image_array())
        info.setText(_("Draw a digit") if digit is None
                     else f"ink mass {digit.sum():.1f} (28x28)")  # not translated: a demo

    canvas.drawing_changed.connect(_show)
    window.show()
    app.exec_()


if __name__ == "__main__":
    _demo()
