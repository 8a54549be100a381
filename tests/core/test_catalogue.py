"""The layer table holds Keras's truth: defaults, required arguments and input ranks come from the
real Keras classes, so an argument left out of a spec means what it means to Keras."""

import inspect as pyinspect

import pytest

from workbench.core.catalogue import CATALOGUE, merges, passes_through
from workbench.core.layers import make_layer
from workbench.core.spec import LayerSpec, ModelSpec
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def keras():
    return load_tensorflow()[1]


def same_as_keras(param, ours, theirs) -> bool:
    """Keras's default in the table's own form: activation None is 'linear', 3 is [3, 3]."""
    if param.name == "activation" and theirs is None:
        theirs = "linear"
    if param.kind == "ints" and isinstance(theirs, int) and not isinstance(theirs, bool):
        theirs = [theirs] * max(1, param.length)
    if isinstance(theirs, tuple):
        theirs = list(theirs)
    return ours == theirs


def test_every_default_and_required_flag_is_keras_own(keras):
    empty = pyinspect.Parameter.empty
    for name, ltype in CATALOGUE.items():
        signature = pyinspect.signature(getattr(keras.layers, name).__init__).parameters
        for param in ltype.params:
            assert param.name in signature, f"{name} has no argument {param.name}"
            keras_default = signature[param.name].default
            assert param.required == (keras_default is empty), (name, param.name)
            if not param.required:
                assert same_as_keras(param, param.default, keras_default), (
                    f"{name}.{param.name}: the table says {param.default!r}, "
                    f"Keras {keras_default!r}")
                assert param.check(param.default) is None, (name, param.name)


def test_suggested_values_are_separate_complete_and_valid():
    for name, ltype in CATALOGUE.items():
        names = {p.name for p in ltype.params}
        assert set(ltype.suggested) <= names, name
        for param in ltype.params:
            if param.required:
                assert param.name in ltype.suggested, f"{name}.{param.name} needs a suggestion"
        spec = LayerSpec.create(name)  # what the palette adds
        spec.validate()
        assert set(spec.config) == names
    assert LayerSpec.create("Conv2D").config["activation"] == "relu"  # the palette's choice
    assert CATALOGUE["Conv2D"].param("activation").default == "linear"  # Keras's truth


def test_left_out_means_keras_default_and_required_must_be_given():
    conv = LayerSpec.from_dict({"class_name": "Conv2D",
                                "config": {"filters": 8, "kernel_size": 3}})
    assert conv.config["activation"] == "linear" and conv.config["kernel_size"] == [3, 3]
    assert LayerSpec.from_dict({"class_name": "Dense",
                                "config": {"units": 4, "activation": None}}
                               ).config["activation"] == "linear"
    with pytest.raises(ValueError, match="units is required"):
        LayerSpec.from_dict({"class_name": "Dense", "config": {}}, 0)
    with pytest.raises(ValueError, match="layer 2 .Dropout.: rate is required"):
        ModelSpec.from_dict({"input_shape": [4], "layers": [
            {"class_name": "Flatten"}, {"class_name": "Dropout", "config": {}}]})


@pytest.mark.parametrize("name", [n for n, t in CATALOGUE.items() if t.input_rank is not None])
def test_input_rank_is_the_rank_keras_accepts(keras, name):
    ltype = CATALOGUE[name]
    shapes = {1: (16,), 2: (8, 6), 3: (8, 8, 2)}
    for rank, shape in shapes.items():
        layer = make_layer(LayerSpec.create(name))
        try:
            layer(keras.Input(shape))
            works = True
        except Exception:  # noqa: BLE001 - Keras refuses with several types
            works = False
        if rank == ltype.input_rank:
            assert works, (name, rank)
        elif not ltype.training_only:  # augmentation takes any image-like array unchecked
            assert not works, (name, rank)


def test_training_only_merge_and_pass_through_fields():
    training_only = {n for n, t in CATALOGUE.items() if t.training_only}
    assert training_only == {"Dropout", "GaussianNoise", "SpatialDropout2D", "RandomRotation",
                             "RandomZoom", "RandomTranslation"}
    merging = {n for n, t in CATALOGUE.items() if t.merges}
    assert merging == {"Add", "Concatenate", "Multiply", "Average", "Subtract", "Maximum",
                       "Minimum"}
    assert all(merges(n) for n in merging) and not merges("Dense")
    for name in training_only | {"Flatten", "Reshape"}:
        assert passes_through(name), name
    for name in ("Dense", "Conv2D", "MaxPooling2D", "BatchNormalization", "UnknownLayer"):
        assert not passes_through(name), name


@pytest.mark.parametrize("name", [n for n, t in CATALOGUE.items() if t.merges])
def test_merge_layers_join_inputs_as_keras_does(keras, name):
    """Two equal inputs merge; the table's (empty or axis) settings are Keras's constructor's."""
    layer = make_layer(LayerSpec.create(name))
    out = layer([keras.Input((4, 3)), keras.Input((4, 3))])
    assert tuple(out.shape[1:]) == ((4, 6) if name == "Concatenate" else (4, 3))
