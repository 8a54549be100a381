"""Bad graphs in the window (#13): a project file with a cycle, a dangling inbound name, a merge
with one input or a name used twice is refused by File ▸ Open with one readable line naming the
layer; an edit in the Graph tab that would make a cycle is refused in one line too. Nothing
changes (the CLI's side: tests/core/test_graph_downstream.py)."""

from __future__ import annotations

import json

import pytest
from PyQt5.QtWidgets import QMessageBox

from workbench.ui.main_window import MainWindow


def dense(name: str, inbound: list[str] | None = None, class_name: str = "Dense") -> dict:
    layer = {"class_name": class_name, "name": name,
             "config": {"units": 2} if class_name == "Dense" else {}}
    if inbound is not None:
        layer["inbound"] = inbound
    return layer


BAD = {
    "cycle": ([dense("a", ["b"]), dense("b", ["a"])], "cycle"),
    "dangling": ([dense("a"), dense("b", ["nowhere"])], "nowhere"),
    "one-input merge": ([dense("a"), dense("b"), dense("sum", ["b"], "Add")], "one"),
    "duplicate names": ([dense("a"), dense("a")], "already used"),
}


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    w = MainWindow()
    qtbot.addWidget(w)
    w.messages = shown
    return w


def test_bad_graph_files_and_a_cycle_by_clicking_are_one_line_each(window, tmp_path):
    w = window
    before = (w.state.project.to_dict(), w.state.path)
    for what, (layers, words) in BAD.items():
        path = tmp_path / f"{what.replace(' ', '-')}.json"
        path.write_text(json.dumps({"format": "workbench/1",
                                    "model": {"input_shape": [4], "layers": layers}}))
        assert not w.project_actions.open_path(path), what
        reason = w.messages[-1].split("\n\n", 1)[-1]
        assert "\n" not in reason and words in reason and "Traceback" not in reason, reason
        assert "layer" in reason, reason  # which layer is at fault
        assert (w.state.project.to_dict(), w.state.path) == before
    assert len(w.messages) == len(BAD)

    graph = w.graph_panel
    names = w.state.spec.names()
    assert not graph.connect_into(names[-1], names[1])  # the output back into a Conv2D
    text = graph.message.text()
    assert "cycle" in text and "\n" not in text and w.state.project.to_dict() == before[0]
