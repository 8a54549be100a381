"""Edits that would leave no valid graph are refused with the reason, never half-applied (#13)."""

from __future__ import annotations

from workbench.core.spec import LayerSpec
from workbench.core.templates import load_template
from workbench.ui.document import Document


def test_a_merge_added_to_a_stack_is_refused_with_the_reason(qtbot):
    document = Document(load_template("mnist-mlp"))
    before = document.spec.to_dict()
    refused: list[str] = []
    document.edit_refused.connect(refused.append)
    document.insert_layer(2, LayerSpec.create("Add"))  # the palette's Add on a plain stack
    assert document.spec.to_dict() == before and not document.undo_stack.canUndo()
    assert len(refused) == 1 and "Add joins two or more layers" in refused[0]
    assert "Graph tab" in refused[0]  # where merges are made (tests/ui/test_palette_merge.py)


def test_a_fix_of_a_graph_is_one_undoable_step(qtbot):
    from workbench.core.inspect import inspect_model
    from workbench.core.spec import ModelSpec

    data = load_template("resnet-digits").model.to_dict()
    data["layers"][4]["config"]["filters"] = 8  # block1_conv2: 8 channels, the skip has 16
    document = Document(load_template("resnet-digits"))
    document.set_model(ModelSpec.from_dict(data), "break it")
    repair = inspect_model(document.spec).layers[5].repair
    assert repair is not None and repair.layer.class_name == "Conv2D"
    document.set_model(repair.apply(document.spec), repair.label)
    assert inspect_model(document.spec).ok
    document.undo()
    assert not inspect_model(document.spec).ok


def test_weights_view_knows_which_graph_layers_see_the_raw_input():
    import keras

    from workbench.core.weight_layers import weighted_layers

    x = keras.Input((4,))
    a = keras.layers.Dense(2, name="a")(x)
    b = keras.layers.Dense(2, name="b")(keras.layers.Flatten(name="flat")(x))
    model = keras.Model(x, keras.layers.Dense(1, name="c")(keras.layers.Concatenate()([a, b])))
    assert {layer.name: layer.first for layer in weighted_layers(model)} == {
        "a": True, "b": True, "c": False}
