"""`workbench predict` and the Draw tab give the same probabilities for the same picture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.ui.test_draw import give_weights, wait_prediction

ROOT = Path(__file__).resolve().parents[2]


def test_cli_predict_and_the_draw_tab_agree(qtbot, cli, draw_panel, trained, tmp_path):
    panel = draw_panel
    from workbench.actions.predict import predict_image
    from workbench.core.build import build_model
    from workbench.core.modelio import load_model, save_model
    from workbench.core.spec import ModelSpec

    spec, weights, _ = trained
    model = build_model(ModelSpec.from_dict(spec))
    model.set_weights(weights)
    keras_file = save_model(model, tmp_path / "drawn.keras")
    with np.load(ROOT / "resources" / "datasets" / "mnist-10k.npz") as data:
        three = data["x"][data["y"] == 3][2]
    picture = tmp_path / "three.png"
    Image.fromarray(255 - three).resize((180, 180)).save(picture)  # dark ink on light paper

    give_weights(panel, trained)
    assert panel.open_image(picture)
    in_the_tab = wait_prediction(qtbot, panel)

    # The CLI's path, in this process: bit for bit the same numbers.
    cli_path = predict_image(load_model(keras_file), picture)
    np.testing.assert_array_equal(cli_path.probabilities, in_the_tab)
    np.testing.assert_array_equal(cli_path.digit, panel.current_input)

    # And the command itself (it prints 6 decimals).
    proc = cli("predict", keras_file, picture, "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["probabilities"] == [round(float(p), 6) for p in in_the_tab]
    assert answer["predicted"] == int(np.argmax(in_the_tab))
