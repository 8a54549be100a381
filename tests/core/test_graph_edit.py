"""Graph edits on spec dicts: each returns a new spec in topological order with the output last,
names unique, a sequential spec left sequential, and impossible edits refused in one line."""

from __future__ import annotations

import copy
import random

import pytest

from workbench.core import graph_edit as ge
from workbench.core.graph_edit import GraphEditError
from workbench.core.spec import LayerSpec, ModelSpec


def layer(class_name: str, **config) -> dict:
    return {"class_name": class_name, "config": config}


def chain(*layers: str) -> dict:
    """``chain("Conv2D:stem", "Dense")``: layers, named where a name follows the colon."""
    items = []
    for text in layers:
        class_name, _, name = text.partition(":")
        item = layer(class_name)
        if name:
            item["name"] = name
        items.append(item)
    return {"input_shape": [28, 28, 1], "layers": items}


def wiring(spec: dict) -> list[tuple[str, list[str]]]:
    return list(zip(ge.layer_names(spec), ge.inbound_names(spec)))


def classes(spec: dict) -> list[str]:
    return [item["class_name"] for item in spec["layers"]]


def check_topological(spec: dict) -> None:
    seen = {ge.INPUT}
    for name, inbound in wiring(spec):
        assert set(inbound) <= seen, f"{name} comes before its input {inbound}"
        assert len(set(inbound)) == len(inbound)
        seen.add(name)


def test_names_after_the_row_unless_given_and_unique():
    spec = chain("Conv2D", "MaxPooling2D:pool", "GlobalAveragePooling2D", "Dense")
    assert ge.layer_names(spec) == ["layer1_conv2d", "pool", "layer3_global_average_pooling2d",
                                    "layer4_dense"]
    spec["layers"][3]["name"] = "pool"
    with pytest.raises(GraphEditError, match="already used by layer 2"):
        ge.layer_names(spec)
    spec["layers"][3]["name"] = "input"
    with pytest.raises(GraphEditError, match="input"):
        ge.layer_names(spec)


def test_add_after_in_a_chain_is_a_plain_insert_and_leaves_the_given_spec_alone():
    spec = chain("Conv2D", "Flatten", "Dense")
    before = copy.deepcopy(spec)
    new, index = ge.add_after(spec, "layer1_conv2d", layer("MaxPooling2D"))
    assert spec == before
    assert classes(new) == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert index == 1
    assert not ge.is_graph(new)
    assert all("name" not in item for item in new["layers"])  # still exactly sequential
    first, index = ge.add_after(spec, ge.INPUT, layer("Rescaling"))
    assert classes(first)[0] == "Rescaling" and index == 0
    last, index = ge.add_after(spec, "layer3_dense", layer("Dropout"))
    assert classes(last)[-1] == "Dropout" and index == 3
    empty, index = ge.add_after({"input_shape": [4], "layers": []}, ge.INPUT, layer("Dense"))
    assert classes(empty) == ["Dense"] and index == 0


def test_residual_block_by_add_after_and_merge():
    spec = chain("Conv2D:stem", "Flatten", "Dense")
    spec, index = ge.add_after(spec, "stem", layer("Conv2D"))
    conv_a = ge.layer_names(spec)[index]
    spec, index = ge.add_after(spec, conv_a, layer("Conv2D"))
    conv_b = ge.layer_names(spec)[index]
    spec, index = ge.merge(spec, [conv_b, "stem"], layer("Add"))
    check_topological(spec)
    names = ge.layer_names(spec)
    assert classes(spec) == ["Conv2D", "Conv2D", "Conv2D", "Add", "Flatten", "Dense"]
    assert index == 3
    assert wiring(spec)[:5] == [
        ("stem", ["input"]), (names[1], ["stem"]), (names[2], [names[1]]),
        (names[3], ["stem", names[2]]), (names[4], [names[3]])]
    assert spec["layers"][3]["inbound"] == ["stem", names[2]]
    assert "inbound" not in spec["layers"][4]  # it takes the layer before it
    assert all("name" in item for item in spec["layers"])  # a graph: every name frozen
    # Deleting the merge gives the chain back (its deepest input takes its place).
    back, _ = ge.delete_node(spec, names[3])
    assert classes(back) == ["Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense"]
    assert not ge.is_graph(back)


def test_inception_block_by_branches_merge_and_reconnect():
    spec = chain("Conv2D:stem", "Flatten:flat", "Dense:out")
    branches = []
    for kind in ("Conv2D", "Conv2D", "MaxPooling2D"):
        spec, index = ge.branch(spec, "stem", layer(kind))
        assert classes(spec)[index] == kind
        assert classes(spec)[-1] == "Dense"  # the output stays last
        branches.append(ge.layer_names(spec)[index])
        check_topological(spec)
    assert branches == ["conv2d", "conv2d_1", "max_pooling2d"]
    spec, index = ge.merge(spec, branches, layer("Concatenate", axis=-1))
    assert spec["layers"][index]["inbound"] == branches
    assert classes(spec) == ["Conv2D", "Conv2D", "Conv2D", "MaxPooling2D", "Concatenate",
                             "Flatten", "Dense"]  # branches in the order they were made
    spec, index = ge.reconnect(spec, "flat", "stem", "concatenate")
    check_topological(spec)
    assert dict(wiring(spec))["flat"] == ["concatenate"]
    assert classes(spec)[-1] == "Dense" and ge.layer_names(spec)[index] == "flat"
    assert [t for s, t in ge.edges(spec) if s == "stem"] == branches


def test_branch_from_the_output_becomes_the_output():
    spec, index = ge.branch(chain("Dense:a"), "a", layer("Dense"))
    assert index == 1 and ge.inbound_names(spec) == [["input"], ["a"]]
    wide, _ = ge.branch(chain("Flatten:deep", "Dense:out"), ge.INPUT, layer("Flatten"))
    assert classes(wide)[-1] == "Dense"  # wide & deep: a second branch from the input
    assert sorted(t for s, t in ge.edges(wide) if s == "input") == ["deep", "flatten"]


def test_merge_that_takes_the_output_becomes_the_output():
    spec = chain("Dense:a", "Dense:b")
    spec, _ = ge.branch(spec, "a", layer("Dense"))  # beside the output b
    spec, index = ge.merge(spec, ["b", "dense"], layer("Concatenate"))
    assert index == len(spec["layers"]) - 1 and classes(spec)[-1] == "Concatenate"


def test_merge_a_layer_with_its_own_branch():
    spec, _ = ge.branch(chain("Conv2D:stem", "Flatten:flat"), "stem", layer("Conv2D"))
    spec, _ = ge.merge(spec, ["conv2d", "stem"], layer("Add"))
    check_topological(spec)
    assert dict(wiring(spec))["add"] == ["stem", "conv2d"]
    assert dict(wiring(spec))["flat"] == ["add"]
    assert dict(wiring(spec))["conv2d"] == ["stem"]  # not fed by the merge: no cycle


def test_merge_refusals():
    spec = chain("Dense:a", "Dense:b")
    with pytest.raises(GraphEditError, match="two or more"):
        ge.merge(spec, ["a"], layer("Add"))
    with pytest.raises(GraphEditError, match="not a merge layer"):
        ge.merge(spec, ["a", "b"], layer("Dense"))
    with pytest.raises(GraphEditError, match="no layer named 'nope'"):
        ge.merge(spec, ["a", "nope"], layer("Add"))


def test_subtract_takes_exactly_two():
    spec = chain("Dense:a", "Dense:b", "Dense:c")
    with pytest.raises(GraphEditError, match="exactly 2"):
        ge.merge(spec, ["a", "b", "c"], layer("Subtract"))
    spec, _ = ge.merge(spec, ["b", "c"], layer("Subtract"))
    with pytest.raises(GraphEditError, match="exactly 2"):
        ge.connect(spec, "a", "subtract")


def test_connect_into_a_merge_and_cycles_refused():
    spec = chain("Conv2D:stem", "Flatten:flat", "Dense:out")
    spec, _ = ge.branch(spec, "stem", layer("Conv2D"))
    spec, _ = ge.branch(spec, "stem", layer("Conv2D"))
    spec, _ = ge.merge(spec, ["conv2d", "conv2d_1"], layer("Concatenate"))
    spec, _ = ge.branch(spec, "stem", layer("MaxPooling2D"))
    spec, index = ge.connect(spec, "max_pooling2d", "concatenate")
    assert spec["layers"][index]["inbound"] == ["conv2d", "conv2d_1", "max_pooling2d"]
    check_topological(spec)
    with pytest.raises(GraphEditError, match="already feeds"):
        ge.connect(spec, "max_pooling2d", "concatenate")
    with pytest.raises(GraphEditError, match="cycle"):
        ge.connect(spec, "concatenate", "conv2d")
    with pytest.raises(GraphEditError, match="cycle"):
        ge.reconnect(spec, "stem", "input", "flat")
    swapped, _ = ge.connect(spec, "concatenate", "flat")  # a plain layer swaps its only input
    assert dict(wiring(swapped))["flat"] == ["concatenate"]


def test_retarget_moves_the_head_of_an_edge():
    spec = chain("Conv2D:stem", "Flatten:flat", "Dense:out")
    for _ in range(2):
        spec, _ = ge.branch(spec, "stem", layer("Conv2D"))
    spec, _ = ge.merge(spec, ["conv2d", "conv2d_1", "stem"], layer("Concatenate"))
    assert dict(wiring(spec))["flat"] == ["concatenate"]  # the merge took the stem's place
    moved, index = ge.retarget(spec, "conv2d_1", "concatenate", "flat")
    check_topological(moved)
    assert dict(wiring(moved))["concatenate"] == ["stem", "conv2d"]
    assert dict(wiring(moved))["flat"] == ["conv2d_1"] and ge.layer_names(moved)[index] == "flat"
    with pytest.raises(GraphEditError, match="needs that input"):
        ge.retarget(spec, "input", "stem", "conv2d")


def test_delete_node_closes_the_chain_and_keeps_the_output():
    spec = chain("Conv2D", "MaxPooling2D", "Flatten", "Dense")
    new, index = ge.delete_node(spec, "layer2_max_pooling2d")
    assert classes(new) == ["Conv2D", "Flatten", "Dense"] and index == 0
    assert not ge.is_graph(new)
    new, index = ge.delete_node(spec, "layer4_dense")
    assert classes(new)[-1] == "Flatten" and index == 2
    new, index = ge.delete_node(spec, "layer1_conv2d")
    assert classes(new)[0] == "MaxPooling2D" and index == 0
    with pytest.raises(GraphEditError, match="no layer named"):
        ge.delete_node(spec, "input")


def test_delete_the_only_layer_of_a_residual_removes_its_merge():
    spec, _ = ge.branch(chain("Conv2D:stem", "Flatten:flat"), "stem", layer("Conv2D"))
    spec, _ = ge.merge(spec, ["conv2d", "stem"], layer("Add"))
    new, _ = ge.delete_node(spec, "conv2d")  # Add(stem, stem) would be no merge at all
    assert classes(new) == ["Conv2D", "Flatten"] and not ge.is_graph(new)


def test_delete_a_shortcut_layer_gives_the_merge_its_input():
    spec = chain("Conv2D:stem", "Conv2D:a", "Conv2D:b", "Flatten")
    spec, _ = ge.branch(spec, "stem", layer("Conv2D"))  # a projection shortcut
    spec, _ = ge.merge(spec, ["conv2d", "b"], layer("Add"))
    assert dict(wiring(spec))["add"] == ["conv2d", "b"]
    new, _ = ge.delete_node(spec, "conv2d")
    assert dict(wiring(new))["add"] == ["stem", "b"]


def test_delete_edge():
    spec = chain("Dense:out")
    for _ in range(3):
        spec, _ = ge.branch(spec, ge.INPUT, layer("Dense"))
    spec, index = ge.merge(spec, ["dense", "dense_1", "dense_2", "out"], layer("Add"))
    assert spec["layers"][index]["inbound"] == ["dense", "dense_1", "dense_2", "out"]
    new, index = ge.delete_edge(spec, "dense", "add")
    assert new["layers"][index]["inbound"] == ["dense_1", "dense_2", "out"]
    assert "dense" in ge.layer_names(new)  # the source stays, as a loose branch
    new, _ = ge.delete_edge(new, "out", "add")
    with pytest.raises(GraphEditError, match="two or more inputs"):
        ge.delete_edge(new, "dense_2", "add")
    with pytest.raises(GraphEditError, match="needs an input"):
        ge.delete_edge(new, "input", "dense_2")
    with pytest.raises(GraphEditError, match="does not feed"):
        ge.delete_edge(new, "dense", "add")


def test_rename_follows_references():
    spec, _ = ge.branch(chain("Conv2D:stem", "Flatten", "Dense"), "stem", layer("Conv2D"))
    spec, _ = ge.merge(spec, ["conv2d", "stem"], layer("Add"))
    spec, index = ge.rename(spec, "stem", "trunk")
    assert ge.layer_names(spec)[index] == "trunk"
    assert dict(wiring(spec))["add"] == ["trunk", "conv2d"]
    for bad in ("", "input", "has space", "1st", "conv2d"):
        with pytest.raises(GraphEditError):
            ge.rename(spec, "trunk", bad)


def test_dangling_names_in_the_given_spec_are_reported():
    spec = chain("Dense:a", "Dense:b")
    spec["layers"][1]["inbound"] = ["ghost"]
    with pytest.raises(GraphEditError, match="'ghost'"):
        ge.add_after(spec, "a", layer("Dense"))


def test_other_keys_survive():
    spec = chain("Dense")
    spec["layers"][0]["config"] = {"units": 3}
    spec["extra"] = {"kept": True}
    new, _ = ge.add_after(spec, "layer1_dense", layer("Dense", units=2))
    assert new["extra"] == {"kept": True}
    assert [item["config"] for item in new["layers"]] == [{"units": 3}, {"units": 2}]


def test_random_edit_sequences_stay_well_formed():
    """Any sequence of edits (refused ones aside) keeps the spec a DAG in topological order,
    names unique, every merge with two or more distinct inputs."""
    rng = random.Random(13)
    kinds = ["Dense", "Conv2D", "Flatten"]

    def layer(class_name: str) -> dict:  # noqa: F811 - complete layers, as the GUI adds them
        return LayerSpec.create(class_name).to_dict()

    for _ in range(40):
        spec = {"input_shape": [8], "layers": [{**layer("Dense"), "name": "out"}]}
        for _ in range(12):
            names = [ge.INPUT, *ge.layer_names(spec)]
            op = rng.choice(["add", "branch", "merge", "connect", "reconnect", "delete",
                             "delete_edge"] if len(names) > 1 else ["add"])

            def pick(names=names):
                return rng.choice(names)

            try:
                if op == "add":
                    spec, _ = ge.add_after(spec, pick(), layer(rng.choice(kinds)))
                elif op == "branch":
                    spec, _ = ge.branch(spec, pick(), layer(rng.choice(kinds)))
                elif op == "merge":
                    spec, _ = ge.merge(spec, rng.sample(names, min(len(names), 2)), layer("Add"))
                elif op == "connect":
                    spec, _ = ge.connect(spec, pick(), rng.choice(names[1:]))
                elif op == "reconnect":
                    target = rng.choice(names[1:])
                    source = rng.choice(dict(wiring(spec))[target])
                    spec, _ = ge.reconnect(spec, target, source, pick())
                elif op == "delete" and len(names) > 2:
                    spec, _ = ge.delete_node(spec, rng.choice(names[1:]))
                elif op == "delete_edge" and ge.edges(spec):
                    source, target = rng.choice(ge.edges(spec))
                    spec, _ = ge.delete_edge(spec, source, target)
            except GraphEditError:
                pass
            check_topological(spec)
            ModelSpec.from_dict(spec)  # core/graph.py's own checks agree
            for name, inbound in wiring(spec):
                kind = next(i["class_name"] for n, i in zip(ge.layer_names(spec), spec["layers"])
                            if n == name)
                assert len(inbound) >= (2 if kind == "Add" else 1)
                if kind != "Add":
                    assert len(inbound) == 1
