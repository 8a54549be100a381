"""The training settings' Devices: what TensorFlow sees, and a run mirrored over the one chosen
through the same action as ``train --strategy mirrored --devices N``."""

from __future__ import annotations

from types import SimpleNamespace

from PyQt5.QtWidgets import QComboBox

from tests.ui.test_training import configure, train_once
from workbench.core.distribute import WINDOW_CPU_DEVICES, device_choices


def seen(gpus: int, cpus: int):
    devices = {"GPU": [object()] * gpus, "CPU": [object()] * cpus}
    return SimpleNamespace(config=SimpleNamespace(list_logical_devices=devices.__getitem__))


def test_device_choices_follow_what_tensorflow_sees():
    assert device_choices(seen(0, 1)) == [("One device", 1)]
    assert device_choices(seen(0, 2)) == [("One device", 1),
                                          ("Mirrored over 2 logical CPU devices", 2)]
    assert device_choices(seen(1, 2)) == [("One device", 1)]  # one GPU: nothing to mirror
    assert [n for _, n in device_choices(seen(4, 1))] == [1, 2, 3, 4]
    assert device_choices(seen(2, 1))[-1] == ("Mirrored over 2 GPUs", 2)


def offered(chooser) -> list[tuple[str, int]]:
    return [(chooser.itemText(i), chooser.itemData(i)) for i in range(chooser.count())]


def test_the_choices_are_the_engines(qtbot, app_engine, monkeypatch):
    """The window never asks TensorFlow itself: a GPU engine's answer is what it offers."""
    import dataclasses

    from workbench.ui.main_window import MainWindow

    handlers = app_engine.server.handlers
    four = {"kind": "GPU", "name": "Test GPU", "count": 4,
            "choices": device_choices(seen(4, 1))}
    monkeypatch.setitem(handlers, "device", dataclasses.replace(
        handlers["device"], fn=lambda call: {"device": four}))
    w = MainWindow(load_dataset=False)
    qtbot.addWidget(w)
    chooser = w.findChild(QComboBox, "devicesChooser")
    qtbot.waitUntil(lambda: chooser.count() == 4, timeout=10_000)
    assert offered(chooser)[-1] == ("Mirrored over 4 GPUs", 4)


def test_a_run_mirrored_over_the_devices_chosen(qtbot, window, app_engine):
    w, state = window, window.state
    chooser = w.findChild(QComboBox, "devicesChooser")
    qtbot.waitUntil(lambda: chooser.count() > 1, timeout=10_000)  # the engine's answer
    offered = [(chooser.itemText(i), chooser.itemData(i)) for i in range(chooser.count())]
    assert offered == [tuple(c) for c in app_engine.request("device")["device"]["choices"]]
    # TensorFlow started with the CPU split as the window splits it (tests/conftest.py), here as
    # in the whole suite: a run is really mirrored over 2 devices.
    assert offered[-1] == (f"Mirrored over {WINDOW_CPU_DEVICES} logical CPU devices",
                           WINDOW_CPU_DEVICES)
    chooser.setCurrentIndex(chooser.count() - 1)
    chooser.activated.emit(chooser.count() - 1)
    devices = offered[-1][1]
    assert state.devices == devices
    configure(state, epochs=1, batch_size=32)
    outcome = train_once(qtbot, w)
    assert outcome.result.status == "completed", outcome.result.message
    assert devices == WINDOW_CPU_DEVICES
    assert outcome.record.to_dict()["replicas"] == WINDOW_CPU_DEVICES
