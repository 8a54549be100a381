"""Files written by earlier versions keep their meaning now that a left-out argument means
Keras's default (the 0.1.0 layer table had relu for Conv2D, 64 units, ...)."""

import json
from pathlib import Path

from workbench.core.build import build_model
from workbench.core.project import FORMAT, Project, load_project

DATA = Path(__file__).resolve().parents[1] / "data"
# Keys of a layer's get_config() that name it or depend on Keras's version, not what it computes.
_NOT_MEANING = {"name", "dtype", "trainable", "seed"}


def meaning(layer_config: dict) -> dict:
    return json.loads(json.dumps({k: v for k, v in layer_config.items()
                                  if k not in _NOT_MEANING}, default=str))


def test_a_project_saved_by_0_1_0_builds_what_0_1_0_built():
    project = load_project(DATA / "saved-by-0.1.0.json")
    assert project.migrated_from is None  # the format string stays workbench/1
    assert json.loads((DATA / "saved-by-0.1.0.json").read_text())["format"] == FORMAT
    convs = [layer for layer in project.model.layers if layer.class_name == "Conv2D"]
    assert len(convs) == 2 and all(c.config["activation"] == "relu" for c in convs)

    old = json.loads((DATA / "saved-by-0.1.0.built.json").read_text())["layers"]
    model = build_model(project.model)
    assert [type(layer).__name__ for layer in model.layers] == [e["class_name"] for e in old]
    for layer, before in zip(model.layers, old, strict=True):
        assert meaning(layer.get_config()) == meaning(before["config"]), layer.name


def test_a_format_0_layer_without_arguments_means_what_format_0_meant():
    old = {"format": "workbench", "spec": {"input_shape": [28, 28], "layers": [
        {"type": "Reshape", "params": {}},
        {"type": "Conv2D", "params": {"filters": 8}},
        {"type": "AveragePooling2D", "params": {}},
        {"type": "Flatten", "params": {}},
        {"type": "Dropout", "params": {}},
        {"type": "Dense", "params": {"activation": "softmax"}},
    ]}}
    project = Project.from_dict(old)
    assert project.migrated_from == 0
    conv = project.model.layers[1].config
    assert conv["activation"] == "relu" and conv["kernel_size"] == [3, 3]
    assert conv["filters"] == 8  # what the file says wins
    assert project.model.layers[0].config["target_shape"] == [28, 28, 1]
    assert project.model.layers[2].config["pool_size"] == [2, 2]
    assert project.model.layers[4].config["rate"] == 0.2
    assert project.model.layers[5].config["units"] == 64
    # Written back in format 1, every argument is explicit and means the same.
    again = Project.from_dict(json.loads(json.dumps(project.to_dict())))
    assert again.model == project.model


def test_templates_say_relu_where_they_mean_it():
    from workbench.core.templates import templates

    for template in templates():
        data = json.loads(template.path.read_text())
        for layer in data["model"]["layers"]:
            if layer["class_name"] in ("Conv2D", "Conv1D", "Dense"):
                assert "activation" in layer["config"], (template.key, layer)
