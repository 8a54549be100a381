"""Graph specs (DESIGN.md, Graphs): names and inbound honoured, bad graphs refused in one line,
branches built as a functional keras.Model, shapes and errors at the node with the fix."""

import numpy as np
import pytest

from workbench.core.build import build_model
from workbench.core.graph import fresh_name, is_sequential
from workbench.core.inspect import inspect_model
from workbench.core.spec import LayerSpec, ModelSpec, SpecError
from workbench.core.tf_loader import load_tensorflow


def layer(class_name, name=None, inbound=None, **config):
    data = {"class_name": class_name, "config": config}
    if name is not None:
        data["name"] = name
    if inbound is not None:
        data["inbound"] = inbound
    return data


def residual(skip_filters=8, padding="same"):
    return {"input_shape": [12, 12, 1], "layers": [
        layer("Conv2D", "stem", filters=8, kernel_size=3, padding="same", activation="relu"),
        layer("Conv2D", "conv_a", filters=8, kernel_size=3, padding=padding),
        layer("Conv2D", "conv_b", filters=skip_filters, kernel_size=3, padding="same"),
        layer("Add", "add", ["conv_b", "stem"]),
        layer("GlobalAveragePooling2D"),
        layer("Dense", units=3, activation="softmax"),
    ]}


def test_sequential_specs_stay_unchanged_and_sequential():
    data = {"input_shape": [4], "layers": [layer("Dense", units=3)]}
    spec = ModelSpec.from_dict(data)
    assert spec.to_dict()["layers"][0].keys() == {"class_name", "config"}
    assert spec.is_sequential() and spec.names() == ["layer1_dense"]
    assert [n.inbound for n in spec.graph()] == [("input",)]
    model = build_model(spec)
    assert type(model).__name__ == "Sequential"


def test_name_and_inbound_are_honoured_and_round_trip():
    spec = ModelSpec.from_dict(residual())
    assert not spec.is_sequential()
    again = ModelSpec.from_dict(spec.to_dict())
    assert again.to_dict() == spec.to_dict()
    assert again.layers[3].inbound == ["conv_b", "stem"] and again.layers[0].name == "stem"
    nodes = spec.graph()
    assert [n.name for n in nodes] == ["stem", "conv_a", "conv_b", "add", "layer5_global_"
                                       "average_pooling2d", "layer6_dense"]
    assert nodes[3].inbound == ("conv_b", "stem") and nodes[3].merges


def test_inbound_is_not_ignored_in_a_stack():
    # Both Dense layers take the input: the first one's output goes nowhere (#19).
    spec = ModelSpec.from_dict({"input_shape": [4], "layers": [
        layer("Dense", "a", units=3), layer("Dense", "b", ["input"], units=2)]})
    assert not spec.is_sequential()
    report = inspect_model(spec)
    assert report.error_index == 0 and "not used" in report.error
    with pytest.raises(SpecError, match="layer 1 .Dense 'a'.: its output is not used"):
        build_model(spec)


@pytest.mark.parametrize("layers, message", [
    ([layer("Dense", "a", units=2), layer("Dense", "a", units=2)],
     r"layer 2 \(Dense 'a'\): the name 'a' is already used by layer 1"),
    ([layer("Dense", "a", ["nowhere"], units=2)],
     r"layer 1 \(Dense 'a'\): it takes 'nowhere', but no layer has that name"),
    ([layer("Dense", "a", ["b"], units=2), layer("Dense", "b", ["a"], units=2)],
     r"'a' → 'b' → 'a' form a cycle"),
    ([layer("Dense", "a", units=2), layer("Add", "m")],
     r"layer 2 \(Add 'm'\): Add merges two or more inputs; it has one \(a\)"),
    ([layer("Dense", "a", units=2), layer("Dense", "b", ["input", "a"], units=2)],
     r"Dense takes one input; it has 2 \(input, a\): merge them first"),
    ([layer("Dense", "a", units=2), layer("Dense", "b", ["input"], units=2),
      layer("Subtract", inbound=["a", "b", "input"])], r"Subtract takes exactly 2 inputs"),
    ([layer("Dense", "input", units=2)], r"the name 'input' is not usable"),
    ([layer("Dense", "a b", units=2)], r"the name 'a b' is not usable"),
    ([layer("Dense", inbound="input", units=2)], r'"inbound" must be a list of layer names'),
])
def test_bad_graphs_are_refused_in_one_line(layers, message):
    with pytest.raises(SpecError, match=message) as caught:
        ModelSpec.from_dict({"input_shape": [4], "layers": layers})
    assert "\n" not in str(caught.value)
    assert caught.value.layer_index is not None


def test_a_graph_builds_a_functional_model_with_keras_counts():
    _, keras = load_tensorflow()
    spec = ModelSpec.from_dict(residual())
    model = build_model(spec)
    assert type(model).__name__ == "Functional"
    assert {"stem", "conv_a", "conv_b", "add"} <= {layer.name for layer in model.layers}
    # The same graph in plain Keras.
    x = keras.Input((12, 12, 1))
    stem = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    a = keras.layers.Conv2D(8, 3, padding="same")(stem)
    b = keras.layers.Conv2D(8, 3, padding="same")(a)
    y = keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([b, stem])))
    plain = keras.Model(x, y)
    assert model.count_params() == plain.count_params() == inspect_model(spec).total_params
    out = model(np.zeros((2, 12, 12, 1), "float32"))
    assert out.shape == (2, 3)


def test_forward_references_are_sorted_topologically():
    spec = ModelSpec.from_dict({"input_shape": [4], "layers": [
        layer("Dense", "late", ["early"], units=2),
        layer("Dense", "early", ["input"], units=3),
        layer("Concatenate", "join", ["late", "early"]),
    ]})
    assert [n.name for n in spec.graph()] == ["early", "late", "join"]
    report = inspect_model(spec)
    assert report.ok and report.layers[2].output_shape == (5,)
    assert report.order == [1, 0, 2]
    assert build_model(spec).output_shape == (None, 5)


def test_merge_of_unequal_channels_says_which_shapes_and_offers_a_1x1_conv():
    spec = ModelSpec.from_dict(residual(skip_filters=16))
    report = inspect_model(spec)
    info = report.layers[3]
    assert report.error_index == 3
    assert "(12, 12, 16) from 'conv_b' and (12, 12, 8) from 'stem'" in info.error
    assert info.repair is not None and info.fix.class_name == "Conv2D"
    assert info.fix.config["kernel_size"] == [1, 1] and info.fix.config["filters"] == 16
    fixed = info.repair.apply(spec)
    assert inspect_model(fixed).ok
    assert fixed.layers[3].inbound == ["stem"] and fixed.layers[4].inbound[1] == fixed.names()[3]
    assert report.layers[2].output_shape == (12, 12, 16)  # shapes up to the merge are known
    assert report.layers[4].output_shape is None
    assert "layer 4 (Add 'add')" in report.error_text()


def test_merge_of_unequal_sizes_offers_padding_same():
    spec = ModelSpec.from_dict(residual(padding="valid"))
    info = inspect_model(spec).layers[3]
    assert "(10, 10, 8) from 'conv_b' and (12, 12, 8) from 'stem'" in info.error
    assert info.repair.changes == {"padding": "same"} and info.repair.target == 1
    assert info.fix is None
    assert inspect_model(info.repair.apply(spec)).ok


def test_concatenate_of_an_image_and_a_vector_offers_flatten():
    spec = ModelSpec.from_dict({"input_shape": [6, 6, 1], "layers": [
        layer("Conv2D", "conv", filters=2, kernel_size=3),
        layer("Flatten", "flat", ["input"]),
        layer("Concatenate", "join", ["conv", "flat"]),
        layer("Dense", units=2),
    ]})
    info = inspect_model(spec).layers[2]
    assert "Concatenate needs inputs whose shapes match except along axis -1" in info.error
    assert info.fix.class_name == "Flatten" and info.repair.source == "conv"
    fixed = info.repair.apply(spec)
    report = inspect_model(fixed)
    assert report.ok, report.error_text()
    assert report.output_shape == (2,)


def test_strided_branch_offers_a_projection_shortcut():
    spec = ModelSpec.from_dict({"input_shape": [8, 8, 4], "layers": [
        layer("Conv2D", "down", filters=8, kernel_size=3, strides=2, padding="same"),
        layer("Add", "add", ["down", "input"]),
    ]})
    info = inspect_model(spec).layers[1]
    assert info.fix.config["strides"] == [2, 2] and info.fix.config["filters"] == 8
    assert inspect_model(info.repair.apply(spec)).ok


def test_stack_fixes_stay_plain_inserts():
    spec = ModelSpec.from_dict({"input_shape": [784], "layers": [
        layer("Conv2D", filters=2, kernel_size=3)]})
    info = inspect_model(spec).layers[0]
    fixed = info.repair.apply(spec)
    assert fixed.is_sequential() and [x.class_name for x in fixed.layers] == ["Reshape", "Conv2D"]
    assert all(x.name is None for x in fixed.layers)


def test_named_freezes_names_and_fresh_names_are_unique():
    spec = ModelSpec.from_dict({"input_shape": [4], "layers": [
        layer("Dense", units=2), layer("Dense", units=2)]})
    named = spec.named()
    assert [x.name for x in named.layers] == ["layer1_dense", "layer2_dense"]
    assert named.layers[1].inbound == ["layer1_dense"] and is_sequential(named.layers)
    assert fresh_name("Dense", ["dense", "dense_1"]) == "dense_2"
    assert fresh_name("Add", []) == "add"


def test_independent_branches_keep_their_shapes_when_one_fails():
    spec = ModelSpec.from_dict({"input_shape": [4], "layers": [
        layer("Conv2D", "bad", filters=2, kernel_size=3),
        layer("Dense", "good", ["input"], units=3),
        layer("Concatenate", inbound=["bad", "good"]),
    ]})
    report = inspect_model(spec)
    assert report.error_index == 0 and report.layers[1].output_shape == (3,)
    assert report.layers[2].output_shape is None


def test_create_takes_name_and_inbound():
    add = LayerSpec.create("Add", name="sum", inbound=["a", "b"])
    assert add.to_dict() == {"class_name": "Add", "name": "sum", "inbound": ["a", "b"],
                             "config": {}}


def test_shapes_kept_from_an_earlier_inspection_are_keras_own():
    from workbench.core.inspect import clear_cache

    spec = ModelSpec.from_dict(residual())
    first = inspect_model(spec)
    clear_cache()
    fresh = inspect_model(spec)
    again = inspect_model(spec)  # every node answered from the cache
    shapes = [(i.output_shape, i.params) for i in fresh.layers]
    assert shapes == [(i.output_shape, i.params) for i in first.layers]
    assert shapes == [(i.output_shape, i.params) for i in again.layers]
    # An edit upstream changes what its consumers get: they are asked again.
    edited = spec.to_dict()
    edited["layers"][0]["config"]["filters"] = 4
    edited["layers"][2]["config"]["filters"] = 4
    report = inspect_model(ModelSpec.from_dict(edited))
    assert report.ok and report.layers[3].output_shape == (12, 12, 4)
    assert report.layers[5].params == 4 * 3 + 3
    assert inspect_model(ModelSpec.from_dict(residual(skip_filters=16))).error_index == 3


@pytest.mark.parametrize("input_shape, target, fixed", [
    ([32, 32], [28, 28, 1], [32, 32, 1]),  # a grey folder's pictures: the channel axis kept
    ([32, 32, 3], [28, 28, 1], [32, 32, 3]),  # colour ones: their own shape
    ([32, 32], [784], [1024]),  # a flat target: all the values
])
def test_a_reshape_that_no_longer_holds_its_input_offers_a_target_that_does(input_shape, target,
                                                                            fixed):
    spec = ModelSpec.from_dict({"input_shape": input_shape, "layers": [
        {"class_name": "Reshape", "config": {"target_shape": target}},
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 2}},
    ]})
    info = inspect_model(spec).layers[0]
    assert info.error and info.repair is not None
    assert info.repair.changes == {"target_shape": fixed}
    assert inspect_model(info.repair.apply(spec)).ok
