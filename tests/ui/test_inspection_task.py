"""Keras's inspection of each edit is the engine's (#13, #26): off the GUI thread, on the engine's
inspect lane, the only thread that creates its Keras layers; a newer edit supersedes the older
request (the inspection in hand stops at its next layer) and only the newest edit's answer is
shown."""

from __future__ import annotations

import threading

import pytest

from workbench.core import inspect as inspection
from workbench.core.templates import load_template
from workbench.ui.state import ProjectState


@pytest.fixture
def document(qtbot):
    document = ProjectState(load_template("resnet-digits"))  # the tests' in-process engine
    qtbot.waitUntil(lambda: document.inspection_current, timeout=60_000)
    yield document
    document.stop_inspection()


def test_a_newer_edit_supersedes_the_pending_inspection(qtbot, document, monkeypatch):
    made_on: set[str] = set()
    original = inspection.make_layer

    def recording(*args, **kwargs):
        made_on.add(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(inspection, "make_layer", recording)
    shown = []
    document.inspection_changed.connect(lambda: shown.append(document.inspection))
    index = document.spec.names().index("block1_conv1")
    document.set_layer_param(index, "filters", 20)
    document.refresh_inspection()  # what the debounce timer does
    assert not document.inspection_current  # the views keep the last answer meanwhile
    document.set_layer_param(index, "filters", 24)
    document.refresh_inspection()
    qtbot.waitUntil(lambda: not document.inspection_pending, timeout=20_000)
    document.refresh_inspection()  # a third request after both: the older answers came first
    qtbot.waitUntil(lambda: not document.inspection_pending, timeout=20_000)
    assert document.inspection_current
    assert all(r.by_name("block1_conv1").output_shape == (14, 14, 24) for r in shown)
    assert shown[0].by_name("block1_conv1").output_shape == (14, 14, 24)
    assert made_on and threading.main_thread().name not in made_on  # never the GUI thread
    assert all(name.startswith("engine-") for name in made_on)


def test_an_inspection_stops_at_its_check():
    class Stop(Exception):
        pass

    calls = []

    def check():
        calls.append(1)
        if len(calls) > 3:
            raise Stop

    spec = load_template("inception-block").model
    with pytest.raises(Stop):
        inspection.inspect_model(spec, check=check)
    assert len(calls) == 4 and inspection.inspect_model(spec).ok  # nothing left half-done
