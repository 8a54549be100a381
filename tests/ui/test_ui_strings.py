"""Nothing English slips past the translations (#29): a scan of workbench/ui's source for text
handed straight to Qt (setText, setToolTip, QLabel("..."), addAction("..."), a signal's
emit("...") …) without ``_()``,
``ngettext`` or ``pgettext``; for ``_()`` run at import (a switched language would not reach
it); and for functions that make ``_`` a local name (``path, _ = …``), which breaks ``_()``
there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "workbench" / "ui"

TRANSLATE = {"_", "ngettext", "pgettext", "N_"}
# Methods and functions whose string arguments the user reads.
SETTERS = {
    "setText", "setToolTip", "setStatusTip", "setWhatsThis", "setWindowTitle", "setTitle",
    "setPlaceholderText", "showMessage", "setLabelText", "setSpecialValueText", "setSuffix",
    "setPrefix", "setTabText", "setTabToolTip", "setItemText", "setHtml", "setIconText",
    "setButtonText", "setHeaderLabels", "setHorizontalHeaderLabels",
    "setVerticalHeaderLabels", "addTab", "insertTab", "addItem", "addItems", "insertItem",
    "addAction", "addMenu", "addRow", "addButton", "information", "warning", "critical",
    "question", "about", "getText", "getInt", "getDouble", "getItem", "getSaveFileName",
    "getOpenFileName", "getOpenFileNames", "getExistingDirectory", "setLabel", "emit",
    "QAction", "QPushButton", "QLabel", "QCheckBox", "QGroupBox", "QRadioButton",
    "QToolButton", "QMenu", "QDockWidget", "QMessageBox", "QTableWidgetItem",
    "QTreeWidgetItem", "QListWidgetItem", "QCommandLinkButton", "TextItem", "LabelItem",
}
KEYWORDS = {"text", "title", "label", "toolTip", "statusTip", "windowTitle", "placeholderText"}
LEGEND_CALLS = {"plot", "PlotDataItem", "ScatterPlotItem", "PlotCurveItem"}  # name= is shown
AXES = {"left", "bottom", "right", "top"}  # pyqtgraph's setLabel("bottom", ...)
STRING_METHODS = {"format", "join", "replace", "strip", "rstrip", "lstrip", "upper", "lower",
                  "capitalize", "title"}
LOGGERS = {"log", "logger", "logging", "warnings"}
EXEMPT = "# not translated"  # on the line: a Keras name or a value, shown as it is


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _literals(node: ast.AST):
    """The string constants of an argument expression that reach the user untranslated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        words = re.sub(r"<[^>]*>|&\w+;", "", node.value)  # HTML's tags are not words
        if any(c.isalpha() for c in words) and node.value not in AXES:
            yield node
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            yield from _literals(part)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literals(value)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            yield from _literals(element)
    elif isinstance(node, ast.Call):
        name = _name(node.func)
        if name in TRANSLATE:
            return
        if name in STRING_METHODS and isinstance(node.func, ast.Attribute):
            yield from _literals(node.func.value)
            for arg in node.args:
                yield from _literals(arg)


def untranslated(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        args = []
        receiver = getattr(node.func, "value", None)
        if isinstance(receiver, ast.Name) and receiver.id in LOGGERS:
            continue  # log.warning(...): for the developer's log, in English
        if name in SETTERS:
            args = list(node.args)
            if name == "setLabel" and args:
                args = args[1:]  # the axis
            args += [k.value for k in node.keywords if k.arg in KEYWORDS]
        elif name in LEGEND_CALLS or name in ("addPlot", "PlotItem"):
            args = [k.value for k in node.keywords if k.arg in ("name", "title")]
        for arg in args:
            for literal in _literals(arg):
                line = lines[literal.lineno - 1]
                if EXEMPT not in line and EXEMPT not in lines[node.lineno - 1]:
                    found.append(f"{path.relative_to(UI.parent.parent)}:{literal.lineno}: "
                                 f"{literal.value!r}")
    return found


def _scopes(tree: ast.AST):
    """(scope node, its own statements' nodes) for the module, each class and function."""
    def own(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
                # a nested scope: its decorators and defaults run in this one
                for part in getattr(child, "decorator_list", []):
                    yield part
                    yield from own(part)
                arguments = getattr(child, "args", None)
                if isinstance(arguments, ast.arguments):
                    for default in arguments.defaults + arguments.kw_defaults:
                        if default is not None:
                            yield default
                            yield from own(default)
                continue
            if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                yield child
                continue
            yield child
            yield from own(child)

    scopes = [tree] + [n for n in ast.walk(tree)
                       if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                         ast.ClassDef))]
    for scope in scopes:
        yield scope, list(own(scope))


def translation_scope_problems(path: Path) -> list[str]:
    """``_()`` run at import (module or class body, default arguments), ``_("...")`` inside an
    f-string, and ``_`` made local where ``_()`` is called."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(UI.parent.parent)
    found = []
    for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
        found += [f"{where}:{c.lineno}: _() inside an f-string (Babel does not extract it)"
                  for c in ast.walk(fstring) if isinstance(c, ast.Call)
                  and _name(c.func) in TRANSLATE and c.args
                  and isinstance(c.args[0], ast.Constant)]
    for scope, nodes in _scopes(tree):
        calls = [n for n in nodes if isinstance(n, ast.Call) and _name(n.func) == "_"
                 and isinstance(n.func, ast.Name)]
        if isinstance(scope, (ast.Module, ast.ClassDef)):
            found += [f"{where}:{c.lineno}: _() at import (use N_ and translate where shown)"
                      for c in calls]
            continue
        local = [n for n in nodes if isinstance(n, ast.Name) and n.id == "_"
                 and isinstance(n.ctx, ast.Store)]
        arguments = scope.args
        params = [a.arg for a in arguments.args + arguments.kwonlyargs + arguments.posonlyargs]
        if calls and (local or "_" in params):
            found.append(f"{where}:{scope.lineno}: `_` is a local name here, and _() is "
                         "called: rename the throw-away variable")
    return found


def _files(names) -> list[Path]:
    files = []
    for name in names:
        path = UI / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


@pytest.mark.parametrize("name", sorted(p.name for p in UI.iterdir()
                                         if p.suffix == ".py" or (p / "__init__.py").exists()))
def test_no_text_reaches_qt_untranslated(name):
    found = [line for path in _files([name]) for line in untranslated(path)]
    assert found == [], "wrap in _() (or mark the line '# not translated: why'):\n" + \
        "\n".join(found)


def test_translations_are_looked_up_when_shown_and_never_shadowed():
    found = [line for path in sorted(UI.rglob("*.py"))
             for line in translation_scope_problems(path)]
    assert found == [], "\n".join(found)


def test_the_scan_finds_what_it_is_for(tmp_path):
    """The scan itself: each way English can slip through is caught, each right way passes."""
    probe = UI / "_probe_for_test.py"
    probe.write_text(
        "from workbench.i18n import N_, _\n"
        "TITLE = _('at import')\n"
        "def f(label, box, plot, path):\n"
        "    label.setText('Plain English')\n"
        "    label.setToolTip(f'Epoch {path} done')\n"
        "    box.addItems(['one', _('two')])\n"
        "    plot.setLabel('bottom', 'epoch')\n"
        "    plot.plot([1], name='train')\n"
        "    label.setText(_('Fine'))\n"
        "    label.setText(_('{n} fine').format(n=path))\n"
        "    label.setText(f'{path} ({path})')\n"
        "    box.addItem('relu')  # not translated: a Keras name\n"
        "def h(label):\n"
        "    label.setText(f\"<b>{_('Hidden')}</b>\")\n"
        "def g(dialog):\n"
        "    path, _ = dialog.getOpenFileName(None, _('Open'))\n", encoding="utf-8")
    try:
        found = untranslated(probe)
        scope = translation_scope_problems(probe)
    finally:
        probe.unlink()
    texts = [line.split(": ", 1)[1] for line in found]
    assert texts == ["'Plain English'", "'Epoch '", "' done'", "'one'", "'epoch'", "'train'"]
    assert len(scope) == 3 and "f-string" in scope[0] and "at import" in scope[1]
    assert "local name" in scope[2]
