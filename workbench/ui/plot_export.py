"""Every plot and picture leaves as a file: Save as PNG, Save as SVG and Save numbers as CSV in
its right-click menu (``add_save_menu``), through pyqtgraph's exporters where they fit (PNG and
SVG of a scene or plot, CSV of a plot's curves) and our own CSV of what a picture shows.

File names say what they hold: ``project-run3-loss.png``; the dialog opens in the folder used
last (remembered across sessions).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QEvent, QObject, QSettings, QStandardPaths
from PyQt5.QtWidgets import QAction, QFileDialog, QMenu, QMessageBox, QWidget

from workbench.i18n import N_, _

APP_NAME = "Workbench"
FOLDER_KEY = "plotExportFolder"
FORMATS = (("png", N_("Save as PNG…"), N_("PNG image (*.png)")),
           ("svg", N_("Save as SVG…"), N_("SVG drawing (*.svg)")),
           ("csv", N_("Save numbers as CSV…"), N_("CSV table (*.csv)")))

# What a view's numbers are: a header and rows, or None while it shows nothing.
Table = tuple[Sequence[str], Sequence[Sequence]]
Numbers = Callable[[], Table | None]
Name = str | Callable[[], str]  # in the file name: "loss", or what the view shows now


def export_plot(widget: QWidget, path: str | Path) -> Path:
    """Write a pyqtgraph widget (or the first one inside ``widget``) as PNG or SVG.

    Raises ValueError when there is no plot to export and OSError when the file cannot be written.
    """
    from pyqtgraph.exporters import ImageExporter, SVGExporter

    path = Path(path)
    view = widget if isinstance(widget, pg.GraphicsView) else widget.findChild(pg.GraphicsView)
    if view is None:
        raise ValueError(_("there is no plot to export"))
    # A PlotWidget exports its plot (axes, curves, legend); other views their whole scene
    # (the confusion matrix with its colour bar).
    target = view.getPlotItem() if isinstance(view, pg.PlotWidget) else view.scene()
    if path.suffix.lower() == ".svg":
        SVGExporter(target).export(str(path))
    else:
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp"):
            path = path.with_suffix(".png")
        exporter = ImageExporter(target)
        width = int(max(800, exporter.parameters()["width"]))
        exporter.parameters()["width"] = width  # crisp enough to print
        exporter.export(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(_("{path} could not be written").format(path=path))
    return path


def export_widget(widget: QWidget, path: Path) -> Path:
    """A plain Qt widget (the Data tab's grid) as PNG (its pixels) or SVG (its painting)."""
    if path.suffix.lower() == ".svg":
        from PyQt5.QtCore import QRect, QSize
        from PyQt5.QtGui import QPainter
        from PyQt5.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(widget.width(), widget.height()))
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        painter = QPainter(generator)
        widget.render(painter)
        painter.end()
    elif not widget.grab().save(str(path), "PNG"):
        raise OSError(_("{path} could not be written").format(path=path))
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(_("{path} could not be written").format(path=path))
    return path


def plot_table(view: pg.PlotWidget) -> Table | None:
    """A plot's curves as columns, by pyqtgraph's CSV exporter (x and y of each curve)."""
    import tempfile

    from pyqtgraph.exporters import CSVExporter

    item = view.getPlotItem()
    if not any(c.getData()[0] is not None and len(c.getData()[0]) for c in item.listDataItems()):
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plot.csv"
        CSVExporter(item).export(str(path))
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    return (rows[0], rows[1:]) if rows else None


def image_table(pictures: Sequence[tuple[str, np.ndarray]],
                names: Sequence[str] = ("row", "column")) -> Table | None:
    """Pictures (a title each) in long form: one row per pixel, NaN gaps left out."""
    rows = []
    for title, picture in pictures:
        picture = np.asarray(picture, dtype=np.float64)
        if picture.ndim == 1:
            picture = picture[None, :]
        for (r, c), value in np.ndenumerate(picture.reshape(picture.shape[0], -1)):
            if np.isfinite(value):
                rows.append([title, r, c, f"{value:.7g}"])
    return (["picture", *names, "value"], rows) if rows else None


def naming_of(widget: QWidget) -> tuple[str, int | None]:
    """The project's name and its last run's id, from the panel that holds ``widget``."""
    current = widget
    while current is not None:
        state = getattr(current, "state", None)
        project = getattr(state, "project", None)
        if project is not None:
            path = getattr(state, "path", None)
            name = project.name or (Path(path).stem if path else "") or "project"
            runs = [r.get("id") for r in project.runs if isinstance(r, dict)]
            return name, runs[-1] if runs and isinstance(runs[-1], int) else None
        current = current.parentWidget()
    return "workbench", None


def file_stem(project: str, run: int | None, view: str) -> str:
    """``mnist-cnn-run3-loss``: lower case, no spaces or characters a file system refuses."""
    parts = [project, f"run{run}" if run is not None else "", view]
    text = "-".join(p for p in parts if p)
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.") or "plot"


class SaveMenu(QObject):
    """The Save entries of one view: in its right-click menu, or in pyqtgraph's own menu where
    the plot has one (the Training tab's curves)."""

    def __init__(self, view: QWidget, name: Name, numbers: Numbers | None,
                 settings: QSettings | None = None, target: QWidget | None = None):
        super().__init__(view)
        self.view, self.name, self.numbers = view, name, numbers
        self.target = target or view  # what is drawn into the file
        self.settings = settings or QSettings(APP_NAME, APP_NAME)
        self.actions = {}
        for fmt, text, _kind in FORMATS:
            if fmt == "csv" and numbers is None:
                continue
            action = QAction(_(text), view)
            action.setObjectName(f"{view.objectName() or 'plot'}Save{fmt.upper()}")
            action.triggered.connect(lambda _=False, f=fmt: self.save(f))
            self.actions[fmt] = action
        own_menu = self._viewbox_menu()
        if own_menu is not None:
            own_menu.addSeparator()
            for action in self.actions.values():
                own_menu.addAction(action)
        else:
            watched = view.viewport() if hasattr(view, "viewport") else view
            watched.installEventFilter(self)

    def _viewbox_menu(self) -> QMenu | None:
        if isinstance(self.view, pg.PlotWidget):
            box = self.view.getPlotItem().getViewBox()
            if box.menuEnabled():
                return box.menu
        return None

    def menu(self) -> QMenu:
        menu = QMenu(self.view)
        for action in self.actions.values():
            menu.addAction(action)
        return menu

    def eventFilter(self, watched, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.ContextMenu:
            self.menu().exec_(event.globalPos())
            return True
        return False

    # saving -----------------------------------------------------------------------------------

    def default_path(self, fmt: str) -> Path:
        folder = self.settings.value(FOLDER_KEY, "", type=str)
        if not folder or not Path(folder).is_dir():
            folder = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation) or str(
                Path.home())
        project, run = naming_of(self.view)
        name = self.name() if callable(self.name) else self.name
        return Path(folder) / f"{file_stem(project, run, name)}.{fmt}"

    def ask_path(self, fmt: str) -> Path | None:
        label = next(f for f in FORMATS if f[0] == fmt)
        chosen, _kind = QFileDialog.getSaveFileName(self.view, _(label[1]).rstrip("…"),
                                                    str(self.default_path(fmt)), _(label[2]))
        if not chosen:
            return None
        path = Path(chosen)
        return path if path.suffix else path.with_suffix(f".{fmt}")

    def save(self, fmt: str, path: Path | None = None) -> Path | None:
        path = path or self.ask_path(fmt)
        if path is None:
            return None
        try:
            written = self.write(fmt, Path(path))
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self.view, _("Not saved"), _("{name} was not written: {reason}")
                                .format(name=Path(path).name,
                                        reason=getattr(exc, "strerror", None) or exc))
            return None
        self.settings.setValue(FOLDER_KEY, str(written.resolve().parent))
        return written

    def write(self, fmt: str, path: Path) -> Path:
        if fmt == "csv":
            table = self.numbers() if self.numbers is not None else None
            if table is None:
                raise ValueError(_("the view shows no numbers yet"))
            header, rows = table
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
            return path
        if isinstance(self.target, pg.GraphicsView):
            return export_plot(self.target, path)
        return export_widget(self.target, path)


def add_save_menu(view: QWidget, name: Name, numbers: Numbers | None = None,
                  target: QWidget | None = None) -> SaveMenu:
    """Give ``view`` Save as PNG/SVG (and CSV where ``numbers`` says what it shows). ``name``
    goes into the file name (``loss``, ``confusion-matrix``)."""
    menu = SaveMenu(view, name, numbers, target=target)
    view.save_menu = menu  # kept with the view (and found by tests)
    return menu
